// SPDX-License-Identifier: GPL-2.0

//! Typed views of the C objects behind a POSIX message queue.
//!
//! This is the only file that touches `struct mqueue_inode_info`, the message tree, `struct
//! msg_msg` and its segments.  Everything it hands out is tied by a lifetime to a borrow of
//! the queue's lock guard, so the compiler checks that no position in the tree and no
//! message is used after `info->lock` is released.  Positions that must survive a release
//! (a walk or a copy done in several holds) are turned into [`Saved`] values, which can only
//! be turned back into live ones by [`Guard::resume`], and only if the queue's version is
//! unchanged.
//!
//! Layouts come from the kernel's own headers through the bindings (see the dev-kernel
//! series); nothing here copies a C definition.

use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, container_of, prelude::*, types::Opaque};

/// An open POSIX message queue, `struct mqueue_inode_info`.
///
/// # Invariants
///
/// The wrapped object is a live, initialised queue for as long as a `&Queue` exists: every
/// `&Queue` comes from [`Queue::from_file`], whose caller keeps the file (and with it the
/// queue's inode) referenced for the lifetime of the borrow.
#[repr(transparent)]
pub(crate) struct Queue(Opaque<bindings::mqueue_inode_info>);

impl Queue {
    /// Returns the queue behind `file`, or `EBADF` if `file` is not a POSIX message queue
    /// opened for reading (peeking reveals content, exactly like `mq_receive`).
    ///
    /// # Safety
    ///
    /// `file` must point to an open file to which the caller holds a reference for all of
    /// `'a`.
    pub(crate) unsafe fn from_file<'a>(file: *mut bindings::file) -> Result<&'a Queue> {
        // SAFETY: `file` is a valid open file (the function's safety requirement).
        let info = NonNull::new(unsafe { bindings::mqueue_file_info(file) }).ok_or(EBADF)?;
        // SAFETY: As above; `f_mode` does not change while the file is open.
        if unsafe { (*file).f_mode } & bindings::FMODE_READ == 0 {
            return Err(EBADF);
        }
        // INVARIANT: `mqueue_file_info()` returned the queue of `file`, which lives at least
        // as long as the file, which the caller keeps open for `'a`.
        // SAFETY: `Queue` is a transparent wrapper of the C struct, so the cast is sound, and
        // the object is live for `'a` as just argued.
        Ok(unsafe { &*info.as_ptr().cast::<Queue>() })
    }

    fn raw(&self) -> *mut bindings::mqueue_inode_info {
        self.0.get()
    }

    /// The queue's `mq_msgsize`, the upper bound of any message's length.
    pub(crate) fn msgsize(&self) -> usize {
        // SAFETY: The queue is live (type invariant); `mq_msgsize` is set when the queue is
        // created and never changes afterwards, so it may be read without the lock.
        let size = unsafe { (*self.raw()).attr.mq_msgsize };
        usize::try_from(size).unwrap_or(0)
    }

    /// The number of queued messages (`mq_curmsgs`) read without the lock, as `READ_ONCE()`
    /// does: only an estimate, stale as soon as it is read.  For sizing, never for a result.
    pub(crate) fn len_hint(&self) -> usize {
        // SAFETY: The queue is live (type invariant); the field is an aligned `long`, which
        // the insert and remove paths store whole under the lock: a volatile load sees an old
        // or a new value, never a torn one.
        let n =
            unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.raw()).attr.mq_curmsgs)) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Takes `info->lock`; the returned guard releases it.
    pub(crate) fn lock(&self) -> Guard<'_> {
        // SAFETY: The queue is live (type invariant) and its lock is initialised.
        unsafe { bindings::spin_lock(core::ptr::addr_of_mut!((*self.raw()).lock)) };
        // INVARIANT: The lock was just taken by this thread.
        Guard {
            q: self,
            _not_send: PhantomData,
        }
    }
}

/// What identifies the state of a queue's message tree (patch 6 of the series).
///
/// While a queue's version is unchanged, nothing has been inserted into or removed from its
/// tree: `queue_id` identifies the queue (unique per boot, global across IPC namespaces,
/// never reused), `changes` counts every insertion into and removal from its tree.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) queue_id: u64,
    pub(crate) changes: u64,
}

/// `info->lock` of a queue, held.
///
/// # Invariants
///
/// The lock of `q` is held by the current thread for the lifetime of the guard.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub(crate) struct Guard<'q> {
    q: &'q Queue,
    /// A spinlock must be released on the CPU that took it.
    _not_send: PhantomData<*mut ()>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this thread (type invariant) and released exactly once.
        unsafe { bindings::spin_unlock(core::ptr::addr_of_mut!((*self.q.raw()).lock)) };
    }
}

/// The `msg_list` head of the tree node `rb`.
///
/// # Safety
///
/// `rb` must be the `rb_node` of a live `struct posix_msg_tree_node`.
unsafe fn list_of(rb: NonNull<bindings::rb_node>) -> NonNull<bindings::list_head> {
    // SAFETY: Per the requirements, `rb` is embedded in a `posix_msg_tree_node`.
    let node = unsafe { container_of!(rb.as_ptr(), bindings::posix_msg_tree_node, rb_node) };
    // SAFETY: `node` is live; this only computes the address of a field, which is not null.
    unsafe { NonNull::new_unchecked(core::ptr::addr_of!((*node).msg_list).cast_mut()) }
}

impl<'q> Guard<'q> {
    fn raw(&self) -> *mut bindings::mqueue_inode_info {
        self.q.raw()
    }

    /// The queue's current version.
    pub(crate) fn version(&self) -> Version {
        let info = self.raw();
        // SAFETY: The lock is held (type invariant), so the field is stable.
        let queue_id = unsafe { (*info).queue_id };
        // SAFETY: As above.
        let changes = unsafe { (*info).changes };
        Version { queue_id, changes }
    }

    /// The number of queued messages (`mq_curmsgs`).
    pub(crate) fn len(&self) -> usize {
        // SAFETY: The lock is held (type invariant).
        usize::try_from(unsafe { (*self.raw()).attr.mq_curmsgs }).unwrap_or(0)
    }

    /// The oldest message of tree node `rb`, or if its list is empty, of the next node
    /// towards lower priorities, and so on; `None` past the lowest.  Nodes are never empty
    /// in practice; `msg_get()` still copes with one, and so do we.
    ///
    /// # Safety
    ///
    /// `rb` must be null or a node of this queue's tree.
    #[inline]
    unsafe fn first_from(&self, mut rb: *mut bindings::rb_node) -> Option<Pos<'_>> {
        while let Some(node) = NonNull::new(rb) {
            // SAFETY: `node` is a node of this queue's tree (the safety requirement), live
            // while the lock is held (type invariant).
            let head = unsafe { list_of(node) };
            // SAFETY: As above: the list head is live.
            let link = unsafe { (*head.as_ptr()).next };
            if let Some(link) = NonNull::new(link).filter(|&l| l != head) {
                // INVARIANT: `node` is in this queue's tree and `link` is on its list.
                return Some(Pos {
                    guard: self,
                    node,
                    link,
                });
            }
            // SAFETY: As above; `rb_prev` only reads the tree.
            rb = unsafe { bindings::rb_prev(node.as_ptr()) };
        }
        None
    }

    /// The newest message of tree node `rb`, or if its list is empty, of the next node
    /// towards higher priorities, and so on; `None` past the highest.
    ///
    /// # Safety
    ///
    /// `rb` must be null or a node of this queue's tree.
    #[inline]
    unsafe fn last_from(&self, mut rb: *mut bindings::rb_node) -> Option<Pos<'_>> {
        while let Some(node) = NonNull::new(rb) {
            // SAFETY: `node` is a node of this queue's tree (the safety requirement), live
            // while the lock is held (type invariant).
            let head = unsafe { list_of(node) };
            // SAFETY: As above: the list head is live.
            let link = unsafe { (*head.as_ptr()).prev };
            if let Some(link) = NonNull::new(link).filter(|&l| l != head) {
                // INVARIANT: `node` is in this queue's tree and `link` is on its list.
                return Some(Pos {
                    guard: self,
                    node,
                    link,
                });
            }
            // SAFETY: As above; `rb_next` only reads the tree.
            rb = unsafe { bindings::rb_next(node.as_ptr()) };
        }
        None
    }

    /// The message `mq_receive()` would return next: highest priority, oldest.
    pub(crate) fn first(&self) -> Option<Pos<'_>> {
        // SAFETY: The lock is held (type invariant); the field is the tree's cached
        // rightmost node.
        let rb = unsafe { (*self.raw()).msg_tree_rightmost };
        // SAFETY: `rb` is null or the tree's rightmost node.
        unsafe { self.first_from(rb) }
    }

    /// The message `mq_receive()` would return last: lowest priority, newest.
    pub(crate) fn last(&self) -> Option<Pos<'_>> {
        // SAFETY: The lock is held (type invariant); `rb_first` only reads the tree.
        let rb = unsafe { bindings::rb_first(core::ptr::addr_of!((*self.raw()).msg_tree)) };
        // SAFETY: `rb` is null or the tree's leftmost node.
        unsafe { self.last_from(rb) }
    }

    /// Turns a saved position back into a live one if the queue's version is unchanged since
    /// it was saved, else `None`.
    pub(crate) fn resume(&self, saved: &Saved) -> Option<Pos<'_>> {
        // INVARIANT: With the version unchanged nothing was inserted or removed since the
        // position was found in this queue's tree, so its node and message are still there.
        (self.version() == saved.version).then_some(Pos {
            guard: self,
            node: saved.node,
            link: saved.link,
        })
    }

    /// Like [`Guard::resume`], for a copy in progress.
    pub(crate) fn resume_read(&self, saved: &SavedRead) -> Option<Reader<'_>> {
        let pos = self.resume(&saved.at)?;
        // INVARIANT: The message is the one the reader was saved from (same version, same
        // position), so its segments are the ones `seg` and `base` describe.
        Some(Reader {
            msg: pos.msg(),
            pos,
            done: saved.done,
            base: saved.base,
            seg: saved.seg,
        })
    }

    /// The position of the last peek of this queue and its index in receive order, if the
    /// queue has not changed since (`struct mq_peek_pos`, patch 7).
    pub(crate) fn cursor(&self) -> Option<(Pos<'_>, usize)> {
        // SAFETY: The lock is held (type invariant); `peek_pos` is protected by it.
        let p = unsafe { &(*self.raw()).peek_pos };
        let node = NonNull::new(p.node)?;
        let link = NonNull::new(p.link)?;
        // SAFETY: As above.
        if p.seq != unsafe { (*self.raw()).changes } {
            return None;
        }
        let index = p.index;
        // INVARIANT: Saved by `Pos::remember` with the current `changes`: nothing was
        // inserted or removed since, so the node and the message are still in the tree.
        Some((
            Pos {
                guard: self,
                node,
                link,
            },
            index,
        ))
    }
}

/// A message in the tree of a locked queue.
///
/// # Invariants
///
/// `node` is the `rb_node` of a `posix_msg_tree_node` in the tree of the queue whose lock
/// `guard` holds, and `link` is the `m_list` of a `msg_msg` on that node's list.
#[derive(Clone, Copy)]
pub(crate) struct Pos<'g> {
    guard: &'g Guard<'g>,
    node: NonNull<bindings::rb_node>,
    link: NonNull<bindings::list_head>,
}

impl<'g> Pos<'g> {
    /// The `msg_list` head of this position's tree node.
    fn head(&self) -> NonNull<bindings::list_head> {
        // SAFETY: `node` is a live node of the tree (type invariant; the lock is held).
        unsafe { list_of(self.node) }
    }

    /// The next message in receive order: the next one of this priority, else the oldest of
    /// the next lower priority; `None` after the last message.
    #[inline]
    pub(crate) fn move_next(self) -> Option<Pos<'g>> {
        // SAFETY: `link` is a live entry of the node's list (type invariant).
        let next = unsafe { (*self.link.as_ptr()).next };
        if let Some(link) = NonNull::new(next).filter(|&l| l != self.head()) {
            // INVARIANT: `link` is on the same node's list.
            return Some(Pos { link, ..self });
        }
        // SAFETY: `node` is a live node of the tree; `rb_prev` only reads the tree.
        let rb = unsafe { bindings::rb_prev(self.node.as_ptr()) };
        // SAFETY: `rb` is null or a node of this queue's tree.
        unsafe { self.guard.first_from(rb) }
    }

    /// The previous message in receive order: the previous one of this priority, else the
    /// newest of the next higher priority; `None` before the first message.
    #[inline]
    pub(crate) fn move_prev(self) -> Option<Pos<'g>> {
        // SAFETY: `link` is a live entry of the node's list (type invariant).
        let prev = unsafe { (*self.link.as_ptr()).prev };
        if let Some(link) = NonNull::new(prev).filter(|&l| l != self.head()) {
            // INVARIANT: `link` is on the same node's list.
            return Some(Pos { link, ..self });
        }
        // SAFETY: `node` is a live node of the tree; `rb_next` only reads the tree.
        let rb = unsafe { bindings::rb_next(self.node.as_ptr()) };
        // SAFETY: `rb` is null or a node of this queue's tree.
        unsafe { self.guard.last_from(rb) }
    }

    /// Saves this position for a later hold of the lock.
    pub(crate) fn save(&self) -> Saved {
        Saved {
            version: self.guard.version(),
            node: self.node,
            link: self.link,
        }
    }

    /// Records this position, the message at `index`, as the queue's last peek position.
    pub(crate) fn remember(&self, index: usize) {
        let info = self.guard.raw();
        // SAFETY: The lock is held (type invariant of `Guard`), which protects `changes`.
        let seq = unsafe { (*info).changes };
        // SAFETY: As above: the lock protects `peek_pos` too, and the core never reads it.
        unsafe {
            (*info).peek_pos = bindings::mq_peek_pos {
                node: self.node.as_ptr(),
                link: self.link.as_ptr(),
                seq,
                index,
            }
        };
    }

    /// The message at this position.
    pub(crate) fn msg(&self) -> &'g Msg {
        // SAFETY: `link` is the `m_list` of a live `msg_msg` (type invariant), which stays
        // live while the lock is held, i.e. for `'g`; `Msg` is a transparent wrapper.
        unsafe { &*container_of!(self.link.as_ptr(), bindings::msg_msg, m_list).cast::<Msg>() }
    }

    /// The message's first `n` payload bytes if they all lie in the `msg_msg` itself (its
    /// first `DATALEN_MSG`): a short message's whole payload, with no segment to follow.
    #[inline]
    pub(crate) fn payload_head(self, n: usize) -> Option<&'g [u8]> {
        let msg = self.msg();
        if n > msg.len() || n > bindings::DATALEN_MSG {
            return None;
        }
        // SAFETY: The payload starts right after the `msg_msg` header, whose piece holds its
        // first `min(m_ts, DATALEN_MSG)` bytes, and `n` is at most both.  The message is live
        // and unchanged while the lock is held, i.e. for `'g`.
        Some(unsafe { core::slice::from_raw_parts(msg.raw().add(1).cast::<u8>(), n) })
    }

    /// A reader of the message's payload from its first byte.
    pub(crate) fn reader(self) -> Reader<'g> {
        // INVARIANT: No segment followed yet: the bytes from 0 are in the `msg_msg` itself.
        Reader {
            msg: self.msg(),
            pos: self,
            done: 0,
            base: 0,
            seg: None,
        }
    }
}

/// Copies `n` bytes from `src` to `dst`: up to 32 bytes inline, in at most four loads and
/// four stores of overlapping words, more with `memcpy()`.  A short message's payload is
/// copied in fewer instructions than a call and return of `memcpy()` take (under QEMU's TCG,
/// where each call and return ends a translation block, several times fewer).
///
/// # Safety
///
/// As for [`core::ptr::copy_nonoverlapping`]: `src` valid for reads and `dst` for writes of
/// `n` bytes, the two not overlapping.
#[inline(always)]
pub(crate) unsafe fn copy_bytes(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: Each access below reads `src + i .. src + i + w` or writes `dst + i .. dst + i +
    // w` with `0 <= i` and `i + w <= n` (`w` the width of the access, at most `n` in its
    // branch), which the caller guarantees valid; the accesses are unaligned ones.
    unsafe {
        if n > 32 {
            core::ptr::copy_nonoverlapping(src, dst, n);
        } else if n >= 16 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(8).cast::<u64>().read_unaligned();
            let c = src.add(n - 16).cast::<u64>().read_unaligned();
            let d = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(8).cast::<u64>().write_unaligned(b);
            dst.add(n - 16).cast::<u64>().write_unaligned(c);
            dst.add(n - 8).cast::<u64>().write_unaligned(d);
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            let (a, b, c) = (*src, *src.add(n / 2), *src.add(n - 1));
            *dst = a;
            *dst.add(n / 2) = b;
            *dst.add(n - 1) = c;
        }
    }
}

/// A position kept while the lock is released; see [`Guard::resume`].
#[derive(Clone, Copy)]
pub(crate) struct Saved {
    version: Version,
    node: NonNull<bindings::rb_node>,
    link: NonNull<bindings::list_head>,
}

/// A queued message, `struct msg_msg`, borrowed from a locked queue.
#[repr(transparent)]
pub(crate) struct Msg(Opaque<bindings::msg_msg>);

impl Msg {
    fn raw(&self) -> *mut bindings::msg_msg {
        self.0.get()
    }

    /// The priority (`mq_send`'s `msg_prio`), stored in `m_type`.
    pub(crate) fn priority(&self) -> u32 {
        // SAFETY: The message is live while it is borrowed (the lock is held).
        let t = unsafe { (*self.raw()).m_type };
        // Priorities are below MQ_PRIO_MAX (32768), so this never truncates.
        t as u32
    }

    /// The full payload length.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: As in `priority`.
        unsafe { (*self.raw()).m_ts }
    }
}

/// A copy of a message's payload in progress: where the next byte is.
///
/// # Invariants
///
/// `done <= msg.len()`; `seg` is `None` while byte `done` is in the `msg_msg` itself (the
/// first `DATALEN_MSG` bytes), else the segment of `msg` that holds bytes `base..` up to
/// `base + DATALEN_SEG`, with `base <= done`.
pub(crate) struct Reader<'g> {
    msg: &'g Msg,
    pos: Pos<'g>,
    done: usize,
    base: usize,
    seg: Option<NonNull<bindings::msg_msgseg>>,
}

impl<'g> Reader<'g> {
    /// The message being read.
    pub(crate) fn msg(&self) -> &'g Msg {
        self.msg
    }

    /// Payload bytes copied so far.
    pub(crate) fn done(&self) -> usize {
        self.done
    }

    /// Copies the next payload bytes into `dst`, as many as fit and the message has left, and
    /// returns how many that was; the first that many bytes of `dst` are then initialised.
    /// Plain memory copies only: this runs under a spinlock.  Continues from the segment the
    /// previous call ended in, so a whole copy in pieces costs O(length).
    #[inline]
    pub(crate) fn read(&mut self, dst: &mut [MaybeUninit<u8>]) -> usize {
        let start = self.done;
        let end = start.saturating_add(dst.len()).min(self.msg.len());
        while self.done < end {
            let (data, len) = match self.seg {
                // SAFETY: The payload starts right after the `msg_msg` header.
                None => (
                    unsafe { self.msg.raw().add(1).cast::<u8>() },
                    bindings::DATALEN_MSG,
                ),
                // SAFETY: A segment's payload starts right after its header.
                Some(s) => (
                    unsafe { s.as_ptr().add(1).cast::<u8>() },
                    bindings::DATALEN_SEG,
                ),
            };
            let at = self.done - self.base;
            if at == len {
                // SAFETY: The message is live (the lock is held); `next` of the current piece
                // is the following segment or null.
                let next = unsafe {
                    match self.seg {
                        None => (*self.msg.raw()).next,
                        Some(s) => (*s.as_ptr()).next,
                    }
                };
                // A message of `m_ts` bytes has segments up to byte `m_ts`, so this never
                // stops early; if it did, the caller would see a short count, not garbage.
                let Some(next) = NonNull::new(next) else {
                    break;
                };
                // INVARIANT: `next` holds the bytes from `done` on, so `done` is its `base`.
                self.seg = Some(next);
                self.base = self.done;
                continue;
            }
            let k = (len - at).min(end - self.done);
            let out = self.done - start;
            // SAFETY: `data + at .. data + at + k` lies inside the current piece, which holds
            // payload bytes `base..base + len` of a live message, and `out + k <= end - start
            // <= dst.len()`.  Source and destination cannot overlap: one is a queued message,
            // the other a buffer owned by the caller.
            unsafe {
                core::ptr::copy_nonoverlapping(data.add(at), dst.as_mut_ptr().add(out).cast(), k)
            };
            // INVARIANT: `done` stays inside the current piece or at its end, and `<= end`.
            self.done += k;
        }
        self.done - start
    }

    /// Saves the copy's progress for a later hold of the lock; see [`Guard::resume_read`].
    pub(crate) fn save(&self) -> SavedRead {
        SavedRead {
            at: self.pos.save(),
            done: self.done,
            base: self.base,
            seg: self.seg,
        }
    }
}

/// A copy in progress kept while the lock is released; see [`Guard::resume_read`].
#[derive(Clone, Copy)]
pub(crate) struct SavedRead {
    at: Saved,
    done: usize,
    base: usize,
    seg: Option<NonNull<bindings::msg_msgseg>>,
}
