// SPDX-License-Identifier: GPL-2.0

//! `fcntl(fd, F_MQ_PEEK, &attr)`: copy a message out of a POSIX message queue without
//! dequeuing it.
//!
//! This module is the F_MQ_PEEK provider of the mq-peek dev kernel: it registers with
//! `mq_peek_register()` (see `kernel/patches/`) and the core hands it every
//! `fcntl(F_MQ_PEEK)` call, pinning this module for the duration of the call.  Without the
//! module the command fails with `EINVAL`, as any unknown `fcntl()` command does.
//!
//! The ABI is the one of the RFC series "ipc/mqueue: add fcntl(F_MQ_PEEK) for
//! non-destructive message inspection" (`include/mq_peek.h` documents it for user space):
//!
//! ```c
//! #include <mqueue.h>
//! #include <stdio.h>
//! #include "mq_peek.h"
//!
//! int main(void)
//! {
//!         mqd_t q = mq_open("/demo", O_RDWR | O_CREAT, 0600, NULL);
//!         char buf[8192];
//!         struct mq_peek_attr pa = { .offset = 0, .buf_len = sizeof(buf), .buf = buf };
//!         int n;
//!
//!         mq_send(q, "hello", 5, 3);
//!         n = fcntl(q, F_MQ_PEEK, &pa);          /* 5, pa.msg_prio == 3 */
//!         printf("%.*s (prio %u), still queued\n", n, buf, pa.msg_prio);
//!         pa.buf = NULL;
//!         pa.buf_len = 0;                        /* length query: full length, no copy */
//!         n = fcntl(q, F_MQ_PEEK, &pa);          /* 5 */
//!         return 0;
//! }
//! ```
//!
//! Beyond the RFC:
//! - the 32-bit layout of `struct mq_peek_attr` is read for compat callers;
//! - `buf == NULL && buf_len == 0` returns the full length of the message;
//! - a dump (offsets 0, 1, ..., n-1, or the reverse) costs O(n), not O(n²): the position of
//!   the last peek is kept per queue and reused while the queue's generation and
//!   modification count (added by the dev-kernel series) are unchanged;
//! - `info->lock` is never held for more than [`WALK_BATCH`] list steps or one [`CHUNK`] of
//!   copying: a long walk or a long message is done in pieces, the lock dropped in between,
//!   and the peek restarted if the queue changed meanwhile (`EAGAIN` after
//!   [`MAX_RESTARTS`]).
//!
//! The queue is never changed: messages are copied into a kernel buffer under the queue's
//! spinlock with plain memory copies, the lock is dropped, and only then is user memory
//! touched.  Nothing is woken, no notification fires, no timestamp moves.
//!
//! Counters are in `/sys/kernel/debug/mq_peek/` (calls, cursor hits, list steps walked,
//! restarts, the longest single hold of a queue's lock in nanoseconds, the holds longer
//! than 100 µs); writing 0 resets.
//! Writing 0 to `use_cursor` there makes every peek walk from the head, as the RFC's
//! implementation does; `make bench` uses it to measure both algorithms in one run.

use core::{
    mem::{offset_of, size_of},
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    alloc::KVVec,
    bindings,
    error::to_result,
    ffi::{c_long, c_void},
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    uaccess::{UserPtr, UserSlice},
};

module! {
    type: MqPeek,
    name: "mq_peek",
    author: "mq-peek developers",
    description: "fcntl(F_MQ_PEEK): non-destructive reads of POSIX message queues",
    license: "GPL",
}

/// The most bytes copied in one hold of a queue's lock.
pub const CHUNK: usize = 64 * 1024;

/// The most list steps walked in one hold of a queue's lock.
pub const WALK_BATCH: usize = 1024;

/// How often a peek restarts because the queue changed while its lock was dropped
/// (between two chunks or two walk batches) before it gives up with `EAGAIN`.
pub const MAX_RESTARTS: u32 = 16;

/// The registered provider, the cursor table and the debugfs files; torn down in `Drop`.
struct MqPeek {
    ops: Pin<KBox<Provider>>,
    cursors: *mut Cursors,
    debugfs: stats::Debugfs,
}

// SAFETY: `cursors` is owned by this struct and only freed in `Drop`; shared access goes
// through `CURSORS`, whose users are all done by then (see `Drop`).
unsafe impl Send for MqPeek {}
// SAFETY: `MqPeek` itself is never used through a shared reference.
unsafe impl Sync for MqPeek {}

/// The `struct mq_peek_ops` handed to the core.
struct Provider(bindings::mq_peek_ops);

// SAFETY: `Provider` is only read after initialisation, by the core and by `Drop`; its
// `owner` pointer is this module's `THIS_MODULE`, which may be used from any thread.
unsafe impl Send for Provider {}
// SAFETY: As above, shared references only ever read it.
unsafe impl Sync for Provider {}

/// The cursor table while the module is loaded, else null.
static CURSORS: AtomicPtr<Cursors> = AtomicPtr::new(core::ptr::null_mut());

impl kernel::Module for MqPeek {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let cursors = KBox::into_raw(Cursors::new()?);
        CURSORS.store(cursors, Ordering::Release);
        let register = || -> Result<Pin<KBox<Provider>>> {
            let ops = KBox::pin(
                Provider(bindings::mq_peek_ops {
                    owner: module.as_ptr(),
                    peek: Some(peek_callback),
                }),
                GFP_KERNEL,
            )?;
            // SAFETY: `ops` is pinned in a heap allocation that `Drop` frees only after
            // `mq_peek_unregister()` has returned, after which the core no longer uses it.
            to_result(unsafe { bindings::mq_peek_register(&ops.0) })?;
            Ok(ops)
        };
        let ops = match register() {
            Ok(ops) => ops,
            Err(e) => {
                CURSORS.store(core::ptr::null_mut(), Ordering::Release);
                // SAFETY: `cursors` came from `KBox::into_raw` above and, with no provider
                // registered, nobody else can have seen it.
                drop(unsafe { KBox::from_raw(cursors) });
                return Err(e);
            }
        };
        pr_info!("F_MQ_PEEK provider registered\n");
        Ok(MqPeek {
            ops,
            cursors,
            debugfs: stats::Debugfs::new(),
        })
    }
}

impl Drop for MqPeek {
    fn drop(&mut self) {
        // SAFETY: `self.ops` was registered in `init`; unregistering waits until no caller
        // can still reach it.
        unsafe { bindings::mq_peek_unregister(&self.ops.0) };
        // Module exit runs only when no call holds a reference to this module, and no new
        // call can find the provider any more: nobody uses the cursor table now.
        CURSORS.store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: `self.cursors` came from `KBox::into_raw` in `init`; see above.
        drop(unsafe { KBox::from_raw(self.cursors) });
        self.debugfs.remove();
        pr_info!(
            "F_MQ_PEEK provider unregistered ({} calls, longest lock hold {} ns)\n",
            stats::CALLS.load(Ordering::Relaxed),
            stats::MAX_HOLD_NS.load(Ordering::Relaxed)
        );
    }
}

/// Called by the core for `fcntl(fd, F_MQ_PEEK, uattr)`.
///
/// # Safety
///
/// `file` must point to an open file that stays open for the duration of the call; the
/// core guarantees this (it holds the descriptor's reference).
unsafe extern "C" fn peek_callback(
    file: *mut bindings::file,
    uattr: *mut c_void,
    compat: bool,
) -> c_long {
    // SAFETY: The caller guarantees that `file` is valid for the duration of this call.
    match unsafe { queue::Queue::from_file(file) } {
        Ok(q) => match peek(&q, uattr as UserPtr, compat) {
            Ok(len) => len as c_long,
            Err(e) => e.to_errno() as c_long,
        },
        Err(e) => e.to_errno() as c_long,
    }
}

/// Where the fields of `struct mq_peek_attr` are for one caller ABI.
struct AttrLayout {
    size: usize,
    msg_prio: usize,
    buf_len: usize,
    buf: usize,
    /// Width of `buf_len` and `buf`: 8 for a 64-bit caller, 4 for a compat caller.
    word: usize,
}

const NATIVE: AttrLayout = AttrLayout {
    size: size_of::<bindings::mq_peek_attr>(),
    msg_prio: offset_of!(bindings::mq_peek_attr, msg_prio),
    buf_len: offset_of!(bindings::mq_peek_attr, buf_len),
    buf: offset_of!(bindings::mq_peek_attr, buf),
    // `__kernel_size_t` is `usize` in the bindings.
    word: size_of::<usize>(),
};

#[cfg(CONFIG_COMPAT)]
const COMPAT: AttrLayout = AttrLayout {
    size: size_of::<bindings::compat_mq_peek_attr>(),
    msg_prio: offset_of!(bindings::compat_mq_peek_attr, msg_prio),
    buf_len: offset_of!(bindings::compat_mq_peek_attr, buf_len),
    buf: offset_of!(bindings::compat_mq_peek_attr, buf),
    word: size_of::<bindings::compat_size_t>(),
};

/// `offset` is the first field in both layouts.
const OFFSET: usize = offset_of!(bindings::mq_peek_attr, offset);

/// A decoded `struct mq_peek_attr`.
struct Request {
    offset: i32,
    buf_len: usize,
    buf: UserPtr,
}

impl AttrLayout {
    fn for_caller(compat: bool) -> &'static AttrLayout {
        #[cfg(CONFIG_COMPAT)]
        if compat {
            return &COMPAT;
        }
        let _ = compat;
        &NATIVE
    }

    /// Reads and decodes the caller's attr.
    fn read(&self, uattr: UserPtr) -> Result<Request> {
        let mut raw = [0u8; size_of::<bindings::mq_peek_attr>()];
        let raw = &mut raw[..self.size];
        UserSlice::new(uattr, self.size).reader().read_slice(raw)?;
        let word = |at: usize| -> usize {
            let mut b = [0u8; size_of::<usize>()];
            b[..self.word].copy_from_slice(&raw[at..at + self.word]);
            // Zero-extends a 4-byte compat word on this little-endian machine.
            usize::from_le_bytes(b)
        };
        let mut off = [0u8; 4];
        off.copy_from_slice(&raw[OFFSET..OFFSET + 4]);
        Ok(Request {
            offset: i32::from_ne_bytes(off),
            buf_len: word(self.buf_len),
            buf: word(self.buf),
        })
    }

    /// Writes `msg_prio` back; no other byte of the caller's attr is written.
    fn write_prio(&self, uattr: UserPtr, prio: u32) -> Result {
        UserSlice::new(uattr + self.msg_prio, size_of::<u32>())
            .writer()
            .write_slice(&prio.to_ne_bytes())
    }
}

/// The body of `fcntl(F_MQ_PEEK)` once the file is known to be a readable queue.
fn peek(q: &queue::Queue, uattr: UserPtr, compat: bool) -> Result<usize> {
    let layout = AttrLayout::for_caller(compat);
    let req = layout.read(uattr)?;
    let index = usize::try_from(req.offset).map_err(|_| EINVAL)?;
    let length_query = req.buf == 0 && req.buf_len == 0;
    if !length_query && (req.buf == 0 || req.buf_len == 0) {
        return Err(EINVAL);
    }
    stats::CALLS.fetch_add(1, Ordering::Relaxed);

    // Allocate before locking: no message is longer than mq_msgsize, which is fixed when
    // the queue is created.  Accounted to the caller's memory cgroup.
    let want = if length_query {
        0
    } else {
        req.buf_len.min(q.msgsize())
    };
    let mut kbuf = KVVec::<u8>::with_capacity(want, GFP_KERNEL_ACCOUNT)?;

    let mut restarts = 0;
    let (prio, len) = loop {
        if let Some(found) = copy_message(q, index, want, &mut kbuf)? {
            break found;
        }
        stats::RESTARTS.fetch_add(1, Ordering::Relaxed);
        restarts += 1;
        if restarts >= MAX_RESTARTS {
            return Err(EAGAIN);
        }
    };

    // No lock is held from here on: user memory may fault and sleep.
    let ret = if length_query {
        len
    } else {
        UserSlice::new(req.buf, kbuf.len())
            .writer()
            .write_slice(&kbuf)?;
        kbuf.len()
    };
    layout.write_prio(uattr, prio)?;
    Ok(ret)
}

/// Copies the first `want` bytes of the message at `index` into `out`.  Returns its
/// priority and full length, or `None` if the queue changed while the lock was dropped
/// (the caller starts again).
///
/// The queue's lock is held for at most [`WALK_BATCH`] list steps or [`CHUNK`] bytes of
/// copying at a time; in between, the position is saved and re-validated against the
/// queue's version (generation and modification count).
fn copy_message(
    q: &queue::Queue,
    index: usize,
    want: usize,
    out: &mut KVVec<u8>,
) -> Result<Option<(u32, usize)>> {
    // SAFETY: Shrinking the length of a vector of bytes (which need no drop) is sound.
    unsafe { out.set_len(0) };
    let mut resume_at: Option<queue::SavedPos> = None;
    let (saved, prio, len, total) = loop {
        let locked = q.lock();
        let (pos, at, exact) = match resume_at {
            None => start(&locked, index).ok_or_else(enomsg)?,
            Some(s) => match locked.resume(&s) {
                Some(p) => (p, s.index, false),
                None => return Ok(None),
            },
        };
        let (pos, at) = walk(pos, at, index).ok_or_else(enomsg)?;
        if at != index {
            resume_at = Some(pos.save(at));
            continue; // drops the lock
        }
        if !exact {
            remember(&pos, index);
        }
        let msg = pos.msg();
        let total = want.min(msg.len());
        msg.copy_range(out, 0, total.min(CHUNK));
        break (pos.save(index), msg.priority(), msg.len(), total);
    };
    while out.len() < total {
        let locked = q.lock();
        let Some(pos) = locked.resume(&saved) else {
            return Ok(None);
        };
        let from = out.len();
        pos.msg().copy_range(out, from, (total - from).min(CHUNK));
    }
    Ok(Some((prio, len)))
}

fn enomsg() -> Error {
    Error::from_errno(-(bindings::ENOMSG as i32))
}

/// The cursor slot of a queue, while the module is loaded.
fn slot_of(id: usize) -> Option<&'static SpinLock<Option<queue::SavedPos>>> {
    let cursors = CURSORS.load(Ordering::Acquire);
    // SAFETY: The table outlives every call of the provider (see `MqPeek::drop`).
    unsafe { cursors.as_ref() }.map(|c| c.slot(id))
}

/// Where to start walking to the message at `index`: the head, the tail, or the position
/// of the previous peek of this queue if the queue has not changed since, whichever is
/// nearest.  Also says whether that is exactly the saved position (nothing to remember).
fn start<'l, 'q>(
    locked: &'l queue::Locked<'q>,
    index: usize,
) -> Option<(queue::Pos<'l, 'q>, usize, bool)> {
    let n = locked.len();
    if index >= n {
        return None;
    }
    let mut best = (index, locked.first()?, 0usize);
    if stats::USE_CURSOR.load(Ordering::Relaxed) == 0 {
        return Some((best.1, best.2, false)); // the RFC's walk from the head
    }
    if n - 1 - index < best.0 {
        best = (n - 1 - index, locked.last()?, n - 1);
    }
    let saved = slot_of(locked.id()).and_then(|s| *s.lock());
    if let Some(s) = saved {
        if let Some(p) = locked.resume(&s) {
            let d = index.abs_diff(s.index);
            if d < best.0 || d == 0 {
                stats::add(&stats::CURSOR_HITS, 1);
                return Some((p, s.index, d == 0));
            }
        }
    }
    Some((best.1, best.2, false))
}

/// Walks from `pos` (the message at index `at`) towards `index`, at most [`WALK_BATCH`]
/// steps (unbounded with `use_cursor` off).  Returns where it stopped, or `None` if the
/// tree ended early.
fn walk<'l, 'q>(
    mut pos: queue::Pos<'l, 'q>,
    mut at: usize,
    index: usize,
) -> Option<(queue::Pos<'l, 'q>, usize)> {
    // With the cursor off, behave exactly like the RFC: one walk, however long.
    let batch = if stats::USE_CURSOR.load(Ordering::Relaxed) == 0 {
        usize::MAX
    } else {
        WALK_BATCH
    };
    let mut steps = 0;
    while at != index && steps < batch {
        if at < index {
            pos = pos.next()?;
            at += 1;
        } else {
            pos = pos.prev()?;
            at -= 1;
        }
        steps += 1;
    }
    stats::add(&stats::STEPS, steps as u64);
    Some((pos, at))
}

/// Saves `pos`, the message at `index`, as its queue's cursor.
fn remember(pos: &queue::Pos<'_, '_>, index: usize) {
    if let Some(slot) = slot_of(pos.queue_id()) {
        *slot.lock() = Some(pos.save(index));
    }
}

/// The last position peeked in up to [`Cursors::SLOTS`] queues, by hash of the queue.
struct Cursors {
    slots: KVec<Pin<KBox<SpinLock<Option<queue::SavedPos>>>>>,
}

impl Cursors {
    const SLOTS: usize = 64;

    fn new() -> Result<KBox<Cursors>> {
        let mut slots = KVec::with_capacity(Self::SLOTS, GFP_KERNEL)?;
        for _ in 0..Self::SLOTS {
            slots.push(
                KBox::pin_init(new_spinlock!(None, "mq_peek_cursor"), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(KBox::new(Cursors { slots }, GFP_KERNEL)?)
    }

    /// A queue's slot.  Taken only inside that queue's `info->lock`, never two at once.
    fn slot(&self, id: usize) -> &SpinLock<Option<queue::SavedPos>> {
        // Fibonacci hashing of the queue's address.
        let h = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (usize::BITS - 6);
        &self.slots[h % Self::SLOTS]
    }
}

/// Counters, readable in `/sys/kernel/debug/mq_peek/`.
mod stats {
    use core::sync::atomic::{AtomicU64, Ordering};
    use kernel::bindings;
    #[cfg(CONFIG_DEBUG_FS)]
    use kernel::{c_str, str::CStr};

    pub(crate) static CALLS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static CURSOR_HITS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static STEPS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static RESTARTS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static MAX_HOLD_NS: AtomicU64 = AtomicU64::new(0);
    pub(crate) static HOLDS_OVER_100US: AtomicU64 = AtomicU64::new(0);
    /// 0 makes every peek walk from the head in one hold of the lock, as the RFC does
    /// (for `make bench`).
    pub(crate) static USE_CURSOR: AtomicU64 = AtomicU64::new(1);

    /// Records one hold of a queue's lock.
    pub(crate) fn hold(ns: u64) {
        // A plain load first: the read-modify-write is only needed for a new maximum.
        if ns > MAX_HOLD_NS.load(Ordering::Relaxed) {
            MAX_HOLD_NS.fetch_max(ns, Ordering::Relaxed);
        }
        // Long holds are rare; counting them tells one stray maximum (an interrupt, a
        // virtual CPU descheduled by its host) from a pattern.
        if ns > 100_000 {
            add(&HOLDS_OVER_100US, 1);
        }
    }

    /// Adds `n` to a counter; skips the atomic read-modify-write when there is nothing to add.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The debugfs directory (`/sys/kernel/debug/mq_peek/`).
    pub(crate) struct Debugfs(*mut bindings::dentry);

    impl Debugfs {
        #[cfg(CONFIG_DEBUG_FS)]
        pub(crate) fn new() -> Debugfs {
            let files: [(&CStr, &AtomicU64); 7] = [
                (c_str!("use_cursor"), &USE_CURSOR),
                (c_str!("calls"), &CALLS),
                (c_str!("cursor_hits"), &CURSOR_HITS),
                (c_str!("steps"), &STEPS),
                (c_str!("restarts"), &RESTARTS),
                (c_str!("max_hold_ns"), &MAX_HOLD_NS),
                (c_str!("holds_over_100us"), &HOLDS_OVER_100US),
            ];
            let root = core::ptr::null_mut();
            // SAFETY: The name is a valid C string; a null parent means the debugfs root.
            let dir =
                unsafe { bindings::debugfs_create_dir(c_str!("mq_peek").as_char_ptr(), root) };
            for (name, value) in files {
                // SAFETY: `value` is a static, so it outlives the file, which `remove`
                // deletes at module exit.  debugfs reads and writes the u64 with plain
                // accesses, which on x86-64 are as atomic as `AtomicU64`'s.  With an error
                // pointer as parent the call does nothing.
                unsafe {
                    bindings::debugfs_create_u64(name.as_char_ptr(), 0o600, dir, value.as_ptr())
                };
            }
            Debugfs(dir)
        }

        #[cfg(CONFIG_DEBUG_FS)]
        pub(crate) fn remove(&mut self) {
            // SAFETY: `self.0` came from `debugfs_create_dir` (an error pointer is ignored).
            unsafe { bindings::debugfs_remove(self.0) };
            self.0 = core::ptr::null_mut();
        }

        #[cfg(not(CONFIG_DEBUG_FS))]
        pub(crate) fn new() -> Debugfs {
            Debugfs(core::ptr::null_mut())
        }

        #[cfg(not(CONFIG_DEBUG_FS))]
        pub(crate) fn remove(&mut self) {}
    }
}

/// The raw view of a queue: the only place that touches C structures directly.
mod queue {
    use super::stats;
    use core::{mem::size_of, ptr::NonNull};
    use kernel::{alloc::KVVec, bindings, container_of, prelude::*, time::Ktime};

    /// An open POSIX message queue, valid while the caller's file reference is held.
    pub(crate) struct Queue {
        info: NonNull<bindings::mqueue_inode_info>,
    }

    impl Queue {
        /// Returns the queue behind `file`, or `EBADF` if `file` is not a POSIX message
        /// queue opened for reading (peeking reveals content, exactly like `mq_receive`).
        ///
        /// # Safety
        ///
        /// `file` must point to an open file, and the returned `Queue` must not be used
        /// after that reference to the file is dropped.
        pub(crate) unsafe fn from_file(file: *mut bindings::file) -> Result<Queue> {
            // SAFETY: `file` is valid per the function's safety requirements.
            let info = unsafe { bindings::mqueue_file_info(file) };
            let info = NonNull::new(info).ok_or(EBADF)?;
            // SAFETY: `file` is valid; `f_mode` does not change while the file is open.
            if unsafe { (*file).f_mode } & bindings::FMODE_READ == 0 {
                return Err(EBADF);
            }
            Ok(Queue { info })
        }

        /// The queue's `mq_msgsize`, the upper bound of any message's length.
        pub(crate) fn msgsize(&self) -> usize {
            // SAFETY: `info` is valid (type invariant); `mq_msgsize` is set when the
            // queue is created and never changes afterwards, so no lock is needed.
            let size = unsafe { (*self.info.as_ptr()).attr.mq_msgsize };
            usize::try_from(size).unwrap_or(0)
        }

        /// Takes `info->lock`; it is released when the guard is dropped.
        pub(crate) fn lock(&self) -> Locked<'_> {
            // SAFETY: `info` is valid (type invariant) and its lock is initialised.
            unsafe { bindings::spin_lock(core::ptr::addr_of_mut!((*self.info.as_ptr()).lock)) };
            Locked {
                q: self,
                since: Ktime::ktime_get(),
            }
        }
    }

    /// `info->lock` is held for the lifetime of this guard.
    pub(crate) struct Locked<'q> {
        q: &'q Queue,
        since: Ktime,
    }

    impl Drop for Locked<'_> {
        fn drop(&mut self) {
            let held = (Ktime::ktime_get() - self.since).to_ns();
            // SAFETY: The lock was taken by `Queue::lock` and is released exactly once.
            unsafe { bindings::spin_unlock(core::ptr::addr_of_mut!((*self.q.info.as_ptr()).lock)) };
            stats::hold(u64::try_from(held).unwrap_or(0));
        }
    }

    /// What identifies the state of a queue's message tree.  Equal versions, read under
    /// the lock, mean the tree has not been modified in between: `generation` is unique to
    /// one queue among all queues ever created (so a new queue at a freed queue's address
    /// cannot match), `mod_seq` counts every insertion and removal.
    #[derive(Clone, Copy, PartialEq, Eq)]
    struct Version {
        info: usize,
        generation: u64,
        mod_seq: u64,
    }

    /// A position saved for a later hold of the lock; see [`Locked::resume`].
    #[derive(Clone, Copy)]
    pub(crate) struct SavedPos {
        version: Version,
        node: *mut bindings::rb_node,
        link: *mut bindings::list_head,
        pub(crate) index: usize,
    }

    // SAFETY: The pointers in a `SavedPos` are only dereferenced after `Locked::resume`
    // has proved, under the queue's lock, that they still point into that queue's tree;
    // which thread carries them around does not matter.
    unsafe impl Send for SavedPos {}

    /// A message in the tree of a locked queue: its priority node and its list entry.
    #[derive(Clone, Copy)]
    pub(crate) struct Pos<'l, 'q> {
        locked: &'l Locked<'q>,
        node: *mut bindings::rb_node,
        link: *mut bindings::list_head,
    }

    /// The `msg_list` head of the tree node `rb`.
    ///
    /// # Safety
    ///
    /// `rb` must be the `rb_node` of a live `posix_msg_tree_node`.
    unsafe fn list_of(rb: *mut bindings::rb_node) -> *mut bindings::list_head {
        // SAFETY: Per the requirements, `rb` is embedded in a `posix_msg_tree_node`.
        let node = unsafe { container_of!(rb, bindings::posix_msg_tree_node, rb_node) };
        // SAFETY: `node` is live; this only computes a field address.
        unsafe { core::ptr::addr_of!((*node).msg_list).cast_mut() }
    }

    impl<'q> Locked<'q> {
        fn info(&self) -> *mut bindings::mqueue_inode_info {
            self.q.info.as_ptr()
        }

        /// Identifies the queue (its address) for the cursor table.
        pub(crate) fn id(&self) -> usize {
            self.info() as usize
        }

        fn version(&self) -> Version {
            let info = self.info();
            // SAFETY: The lock is held, so the fields are stable.
            unsafe {
                Version {
                    info: info as usize,
                    generation: (*info).generation,
                    mod_seq: (*info).mod_seq,
                }
            }
        }

        /// The number of queued messages (`mq_curmsgs`).
        pub(crate) fn len(&self) -> usize {
            // SAFETY: The lock is held.
            usize::try_from(unsafe { (*self.info()).attr.mq_curmsgs }).unwrap_or(0)
        }

        /// The first message with a non-empty list, starting at tree node `rb` and moving
        /// towards lower priorities (`rb_prev`) or higher ones (`rb_next`).  Nodes are
        /// never empty in practice; `msg_get()` still copes with one, and so do we.
        fn scan(&self, mut rb: *mut bindings::rb_node, downwards: bool) -> Option<Pos<'_, 'q>> {
            while !rb.is_null() {
                // SAFETY: The lock is held and `rb` is a node of this queue's tree, so it
                // is live, and so are its list and the messages on it.
                unsafe {
                    let head = list_of(rb);
                    if (*head).next != head {
                        let link = if downwards {
                            (*head).next
                        } else {
                            (*head).prev
                        };
                        return Some(Pos {
                            locked: self,
                            node: rb,
                            link,
                        });
                    }
                    rb = if downwards {
                        bindings::rb_prev(rb)
                    } else {
                        bindings::rb_next(rb)
                    };
                }
            }
            None
        }

        /// The message `mq_receive()` would return next: highest priority, oldest.
        pub(crate) fn first(&self) -> Option<Pos<'_, 'q>> {
            // SAFETY: The lock is held; the field is the tree's cached rightmost node.
            self.scan(unsafe { (*self.info()).msg_tree_rightmost }, true)
        }

        /// The message `mq_receive()` would return last: lowest priority, newest.
        pub(crate) fn last(&self) -> Option<Pos<'_, 'q>> {
            // SAFETY: The lock is held; `rb_first` only reads the tree.
            self.scan(
                unsafe { bindings::rb_first(core::ptr::addr_of!((*self.info()).msg_tree)) },
                false,
            )
        }

        /// Turns a saved position back into a live one if the tree has not changed since
        /// it was saved, else `None`.
        pub(crate) fn resume(&self, saved: &SavedPos) -> Option<Pos<'_, 'q>> {
            // Unchanged version: the node and the message it recorded are still in the
            // tree, since nothing was inserted or removed, and this is the same queue.
            (self.version() == saved.version).then_some(Pos {
                locked: self,
                node: saved.node,
                link: saved.link,
            })
        }
    }

    impl<'l, 'q> Pos<'l, 'q> {
        /// The next message in receive order.
        pub(crate) fn next(self) -> Option<Pos<'l, 'q>> {
            self.step(true)
        }

        /// The previous message in receive order.
        pub(crate) fn prev(self) -> Option<Pos<'l, 'q>> {
            self.step(false)
        }

        /// The neighbour in receive order: within this priority's list (oldest first),
        /// else the first message of the next lower priority (`forward`) or the last of
        /// the next higher one.
        fn step(self, forward: bool) -> Option<Pos<'l, 'q>> {
            // SAFETY: `self` points into the tree of the queue whose lock `self.locked`
            // holds (it was found or resumed under it), so node and list entry are live.
            unsafe {
                let head = list_of(self.node);
                let link = if forward {
                    (*self.link).next
                } else {
                    (*self.link).prev
                };
                if link != head {
                    return Some(Pos { link, ..self });
                }
                let rb = if forward {
                    bindings::rb_prev(self.node)
                } else {
                    bindings::rb_next(self.node)
                };
                self.locked.scan(rb, forward)
            }
        }

        /// The queue this position is in (see [`Locked::id`]).
        pub(crate) fn queue_id(&self) -> usize {
            self.locked.id()
        }

        /// Saves this position (the message at `index`) for a later hold of the lock.
        pub(crate) fn save(&self, index: usize) -> SavedPos {
            SavedPos {
                version: self.locked.version(),
                node: self.node,
                link: self.link,
                index,
            }
        }

        /// The message at this position.
        pub(crate) fn msg(&self) -> Msg<'l> {
            // SAFETY: `link` is the `m_list` of a live `msg_msg` on this queue.
            let msg = unsafe { container_of!(self.link, bindings::msg_msg, m_list) };
            Msg {
                msg,
                _locked: core::marker::PhantomData,
            }
        }
    }

    /// A queued message, borrowed from a locked queue.
    pub(crate) struct Msg<'l> {
        msg: *const bindings::msg_msg,
        _locked: core::marker::PhantomData<&'l ()>,
    }

    impl Msg<'_> {
        /// The priority (`mq_send`'s `msg_prio`), stored in `m_type`.
        pub(crate) fn priority(&self) -> u32 {
            // SAFETY: The message is live while the lock is held (the borrow of `Locked`).
            let t = unsafe { (*self.msg).m_type };
            // Priorities are below MQ_PRIO_MAX (32768), so this never truncates.
            t as u32
        }

        /// The full payload length.
        pub(crate) fn len(&self) -> usize {
            // SAFETY: As in `priority`.
            unsafe { (*self.msg).m_ts }
        }

        /// Appends payload bytes `from..from + n` (clamped to the message) to `out`, which
        /// must have room for them.  Plain memory copies only: this runs under a spinlock.
        pub(crate) fn copy_range(&self, out: &mut KVVec<u8>, from: usize, n: usize) {
            let end = from
                .saturating_add(n)
                .min(self.len())
                .min(from + (out.capacity() - out.len()));
            let (mut at, mut left) = (from, end.saturating_sub(from));
            // SAFETY: The message is live (lock held).  Its payload is `m_ts` bytes: the
            // first `DATALEN_MSG` right after the `msg_msg` header, the rest in the chain
            // of `msg_msgseg`s, each holding up to `DATALEN_SEG` bytes after its header.
            // We never read past byte `m_ts`, so every segment we follow exists.  `out`
            // has room for `left` more bytes, checked above.
            unsafe {
                let mut src = self.msg.cast::<u8>().add(size_of::<bindings::msg_msg>());
                let mut chunk = bindings::DATALEN_MSG;
                let mut seg = (*self.msg).next;
                while left > 0 {
                    if at < chunk {
                        let k = left.min(chunk - at);
                        let dst = out.as_mut_ptr().add(out.len());
                        core::ptr::copy_nonoverlapping(src.add(at), dst, k);
                        out.set_len(out.len() + k);
                        left -= k;
                        at += k;
                    }
                    if left == 0 || seg.is_null() {
                        break;
                    }
                    at -= chunk;
                    src = seg.cast::<u8>().add(size_of::<bindings::msg_msgseg>());
                    chunk = bindings::DATALEN_SEG;
                    seg = (*seg).next;
                }
            }
        }
    }
}
