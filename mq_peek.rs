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
//! Beyond the RFC it reads the 32-bit layout of `struct mq_peek_attr` for compat callers,
//! and `buf == NULL && buf_len == 0` returns the full length of the message.
//!
//! The queue is never changed: the message is copied into a kernel buffer under the
//! queue's spinlock with plain memory copies, the lock is dropped, and only then is user
//! memory touched.  Nothing is woken, no notification fires, no timestamp moves.

use core::mem::{offset_of, size_of};
use kernel::{
    alloc::KVVec,
    bindings,
    error::to_result,
    ffi::{c_long, c_void},
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

module! {
    type: MqPeek,
    name: "mq_peek",
    author: "mq-peek developers",
    description: "fcntl(F_MQ_PEEK): non-destructive reads of POSIX message queues",
    license: "GPL",
}

/// The registered provider; unregistered when the module is dropped.
struct MqPeek {
    ops: Pin<KBox<Provider>>,
}

/// The `struct mq_peek_ops` handed to the core.
struct Provider(bindings::mq_peek_ops);

// SAFETY: `Provider` is only read after initialisation, by the core and by `Drop`; its
// `owner` pointer is this module's `THIS_MODULE`, which may be used from any thread.
unsafe impl Send for Provider {}
// SAFETY: As above, shared references only ever read it.
unsafe impl Sync for Provider {}

impl kernel::Module for MqPeek {
    fn init(module: &'static ThisModule) -> Result<Self> {
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
        pr_info!("F_MQ_PEEK provider registered\n");
        Ok(MqPeek { ops })
    }
}

impl Drop for MqPeek {
    fn drop(&mut self) {
        // SAFETY: `self.ops` was registered in `init`; unregistering waits until no caller
        // can still reach it.
        unsafe { bindings::mq_peek_unregister(&self.ops.0) };
        pr_info!("F_MQ_PEEK provider unregistered\n");
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

    // Allocate before locking: no message is longer than mq_msgsize, which is fixed when
    // the queue is created.  Accounted to the caller's memory cgroup.
    let want = if length_query {
        0
    } else {
        req.buf_len.min(q.msgsize())
    };
    let mut kbuf = KVVec::<u8>::with_capacity(want, GFP_KERNEL_ACCOUNT)?;

    let (prio, len) = {
        let locked = q.lock();
        let msg = locked.nth(index).ok_or(enomsg())?;
        if !length_query {
            msg.copy_prefix(&mut kbuf, want);
        }
        (msg.priority(), msg.len())
    }; // `info->lock` is released here, before any user access.

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

fn enomsg() -> Error {
    Error::from_errno(-(bindings::ENOMSG as i32))
}

/// The raw view of a queue: the only place that touches C structures directly.
mod queue {
    use core::{marker::PhantomData, mem::size_of, ptr::NonNull};
    use kernel::{alloc::KVVec, bindings, container_of, prelude::*};

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
            unsafe { bindings::spin_lock(&mut (*self.info.as_ptr()).lock) };
            Locked { q: self }
        }
    }

    /// `info->lock` is held for the lifetime of this guard.
    pub(crate) struct Locked<'a> {
        q: &'a Queue,
    }

    impl Drop for Locked<'_> {
        fn drop(&mut self) {
            // SAFETY: The lock was taken by `Queue::lock` and is released exactly once.
            unsafe { bindings::spin_unlock(&mut (*self.q.info.as_ptr()).lock) };
        }
    }

    impl<'a> Locked<'a> {
        /// The message at `index` in receive order: the tree holds one node per
        /// priority, highest rightmost; each node lists its messages oldest first.
        pub(crate) fn nth(&self, mut index: usize) -> Option<Msg<'_>> {
            let info = self.q.info.as_ptr();
            // SAFETY: The lock is held, so the tree, its nodes and their message lists
            // are stable; every pointer followed below is a live node or message.
            unsafe {
                if index >= usize::try_from((*info).attr.mq_curmsgs).unwrap_or(0) {
                    return None;
                }
                let mut rb = (*info).msg_tree_rightmost;
                while !rb.is_null() {
                    let node = container_of!(rb, bindings::posix_msg_tree_node, rb_node);
                    let head: *const bindings::list_head = &(*node).msg_list;
                    let mut pos = (*head).next as *const bindings::list_head;
                    while pos != head {
                        if index == 0 {
                            let msg = container_of!(pos, bindings::msg_msg, m_list);
                            return Some(Msg {
                                msg,
                                _lock: PhantomData,
                            });
                        }
                        index -= 1;
                        pos = (*pos).next;
                    }
                    rb = bindings::rb_prev(rb);
                }
            }
            None
        }
    }

    /// A queued message, borrowed from a locked queue.
    pub(crate) struct Msg<'a> {
        msg: *const bindings::msg_msg,
        _lock: PhantomData<&'a Locked<'a>>,
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

        /// Appends the first `min(n, len)` payload bytes to `out`, which must have room
        /// for them.  Plain memory copies only: this runs under a spinlock.
        pub(crate) fn copy_prefix(&self, out: &mut KVVec<u8>, n: usize) {
            let mut left = n.min(self.len()).min(out.capacity() - out.len());
            // SAFETY: The message is live (lock held).  Its payload is `m_ts` bytes: the
            // first `DATALEN_MSG` right after the `msg_msg` header, the rest in the chain
            // of `msg_msgseg`s, each holding up to `DATALEN_SEG` bytes after its header.
            // We never read more than `m_ts` bytes in total, so every segment we follow
            // exists.  `out` has room for `left` more bytes, checked above.
            unsafe {
                let mut src = self.msg.cast::<u8>().add(size_of::<bindings::msg_msg>());
                let mut chunk = bindings::DATALEN_MSG;
                let mut seg = (*self.msg).next;
                loop {
                    let k = left.min(chunk);
                    let dst = out.as_mut_ptr().add(out.len());
                    core::ptr::copy_nonoverlapping(src, dst, k);
                    out.set_len(out.len() + k);
                    left -= k;
                    if left == 0 || seg.is_null() {
                        break;
                    }
                    src = seg.cast::<u8>().add(size_of::<bindings::msg_msgseg>());
                    chunk = bindings::DATALEN_SEG;
                    seg = (*seg).next;
                }
            }
        }
    }
}
