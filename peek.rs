// SPDX-License-Identifier: GPL-2.0

//! F_MQ_PEEK: a kernel copy of one message, taken under the queue's lock.
//!
//! The lock is held for bounded time as an optimisation, never at the price of a failure:
//!
//! 1. In the first hold the message is found (at most [`WALK_BATCH`] list steps per hold,
//!    from the nearest known position, see [`crate::cursor`]) and `ENOMSG` answered.  Its
//!    first `min(buf_len, length)` bytes are copied right there if they fit in a small
//!    buffer on the stack ([`SMALL`]), so small messages need no allocation at all; or, up
//!    to a page, if a buffer of exactly that size can be had right there without sleeping
//!    ([`KBuf::alloc_nowait`]: a slab allocation, bounded), so that such a copy takes one
//!    hold, as the RFC's does.
//! 2. Otherwise the lock is dropped, exactly `min(buf_len, length)` bytes are allocated,
//!    and the copy goes on in holds of at most [`CHUNK`] bytes each, continuing from the
//!    segment where the previous hold stopped.
//! 3. Between holds the queue may change.  A position saved in one hold is used in the next
//!    only if the queue's version is unchanged (see [`crate::queue::Guard::resume`]);
//!    otherwise the call does what the RFC does, in one hold: find the message at the index
//!    now, and copy it whole.  That hold needs a buffer large enough for whatever message is
//!    there, so at worst it allocates the RFC's `min(buf_len, mq_msgsize)` once more.
//!
//! So a call never fails because the queue was busy, never allocates more than the RFC
//! does, and returns a message that was at the index at one instant during the call, whole
//! (or truncated to `buf_len`) however busy the queue is.

use crate::{
    attr::PeekRequest,
    cursor::{Found, Lost, Start},
    kbuf::KBuf,
    queue::{Guard, Pos, Queue, Version},
    stats::Stats,
};
use core::{cell::Cell, mem::MaybeUninit, ops::Deref};
use kernel::{
    bindings,
    prelude::*,
    time::Ktime,
    uaccess::{UserPtr, UserSlice},
};

/// Messages whose copy fits in this many bytes are copied to the stack: no allocation.
pub(crate) const SMALL: usize = 256;

/// The most bytes copied in one hold of a queue's lock.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The most list steps walked in one hold of a queue's lock (about 25 µs with 4 KiB
/// messages that each miss the TLB, under QEMU's TCG).
pub(crate) const WALK_BATCH: usize = 256;

pub(crate) fn enomsg() -> Error {
    Error::from_errno(-(bindings::ENOMSG as i32))
}

/// One critical section on a queue's lock: the lock's [`Guard`], and what the section
/// does (list steps, bytes copied, its duration), recorded while statistics are being
/// collected.
pub(crate) struct Section<'q, 's> {
    guard: Guard<'q>,
    stats: &'s Stats,
    since: Option<Ktime>,
    steps: Cell<usize>,
    bytes: Cell<usize>,
}

impl<'q, 's> Section<'q, 's> {
    #[inline]
    pub(crate) fn new(q: &'q Queue, stats: &'s Stats) -> Self {
        let guard = q.lock();
        Section {
            guard,
            stats,
            since: stats.hold_timer(),
            steps: Cell::new(0),
            bytes: Cell::new(0),
        }
    }

    /// Counts `n` list steps walked in this section.
    #[inline]
    pub(crate) fn walked(&self, n: usize) {
        self.steps.set(self.steps.get() + n);
    }

    /// Whether this section is being timed, i.e. statistics are on: what it counts is used.
    #[inline]
    pub(crate) fn timed(&self) -> bool {
        self.since.is_some()
    }

    /// Counts `n` payload bytes copied in this section.
    #[inline]
    pub(crate) fn copied(&self, n: usize) {
        self.bytes.set(self.bytes.get() + n);
    }

    /// [`Guard::find`], counted.
    #[inline]
    pub(crate) fn find(
        &self,
        index: usize,
        from: Start,
        budget: usize,
    ) -> core::result::Result<Found<'_>, Lost> {
        let found = self.guard.find(index, from, budget)?;
        self.walked(found.steps);
        self.stats
            .add(&self.stats.cursor_hits, u64::from(found.cursor_hit));
        Ok(found)
    }
}

impl<'q> Deref for Section<'q, '_> {
    type Target = Guard<'q>;

    fn deref(&self) -> &Guard<'q> {
        &self.guard
    }
}

impl Drop for Section<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        // Runs before `guard` is dropped, i.e. while the lock is still held.
        self.stats
            .section_done(self.since, self.steps.get(), self.bytes.get());
    }
}

/// A kernel copy of the first bytes of one message, with what the caller reports about it.
pub(crate) struct Snapshot {
    pub(crate) prio: u32,
    /// The message's full length.
    pub(crate) len: usize,
    /// The queue's version and length in the hold the copy was made in.
    pub(crate) version: Version,
    pub(crate) curmsgs: usize,
    small: [MaybeUninit<u8>; SMALL],
    /// Allocated only if the copy does not fit in `small` (`None` costs nothing to drop).
    heap: Option<KBuf>,
    /// Bytes copied into `small`; unused once `heap` holds the copy.
    n: usize,
    in_heap: bool,
}

impl Snapshot {
    pub(crate) fn new() -> Self {
        Snapshot {
            prio: 0,
            len: 0,
            version: Version {
                queue_id: 0,
                changes: 0,
            },
            curmsgs: 0,
            small: [MaybeUninit::uninit(); SMALL],
            heap: None,
            n: 0,
            in_heap: false,
        }
    }

    /// The bytes copied.
    pub(crate) fn bytes(&self) -> &[u8] {
        if let (true, Some(heap)) = (self.in_heap, &self.heap) {
            return heap.as_slice();
        }
        // SAFETY: `take` initialised the first `n` bytes of `small`.
        unsafe { core::slice::from_raw_parts(self.small.as_ptr().cast::<u8>(), self.n) }
    }

    /// Copies the first `want` bytes of the message at `pos` in this hold if a buffer large
    /// enough is at hand (the preallocated one, else the stack); `false` if not.
    #[inline]
    fn take(&mut self, g: &Section<'_, '_>, pos: Pos<'_>, want: usize) -> bool {
        let msg = pos.msg();
        let n = want.min(msg.len());
        let mut r = pos.reader();
        if let Some(heap) = self.heap.as_mut().filter(|h| h.capacity() >= n) {
            // SAFETY: Bytes need no drop; the buffer is refilled from the start.
            unsafe { heap.set_len(0) };
            let k = r.read(&mut heap.spare_capacity_mut()[..n]);
            // SAFETY: `read` initialised the first `k <= n <= capacity` bytes of the spare
            // capacity, which starts at 0.
            unsafe { heap.set_len(k) };
            self.in_heap = true;
        } else if n <= SMALL {
            self.n = r.read(&mut self.small[..n]);
            self.in_heap = false;
        } else {
            return false;
        }
        g.copied(n);
        self.prio = msg.priority();
        self.len = msg.len();
        self.version = g.version();
        self.curmsgs = g.len();
        true
    }
}

impl Snapshot {
    /// Takes a snapshot of the first `want` bytes of the message at `index` in receive
    /// order; `ENOMSG` if there is none.  Filled in place: the caller's stack holds it.
    pub(crate) fn take_at(
        &mut self,
        q: &Queue,
        stats: &Stats,
        index: usize,
        want: usize,
    ) -> Result {
        if !stats.use_cursor() {
            // The RFC's algorithm, for `make bench` to compare: its allocation up front,
            // then a walk from the head and the copy in one hold.
            if want > SMALL {
                self.heap = Some(KBuf::alloc(want.min(q.msgsize()))?);
            }
            return one_hold(q, stats, index, want, false, self);
        }
        if !bounded(q, stats, index, want, self)? {
            stats.add(&stats.fallbacks, 1);
            one_hold(q, stats, index, want, true, self)?;
        }
        Ok(())
    }
}

/// Steps 1 and 2 of the module comment: bounded holds.  `Ok(false)` if the queue changed
/// between two holds (step 3 follows).
fn bounded(
    q: &Queue,
    stats: &Stats,
    index: usize,
    want: usize,
    snap: &mut Snapshot,
) -> Result<bool> {
    // Reach the message, at most WALK_BATCH steps per hold.
    let mut from = Start::Nearest;
    let (saved, n) = loop {
        let g = Section::new(q, stats);
        let found = match g.find(index, from, WALK_BATCH) {
            Ok(found) => found,
            Err(Lost::Changed) => return Ok(false),
            Err(Lost::NoMessage) => return Err(enomsg()),
        };
        if found.at != index {
            from = Start::Saved(found.pos.save(), found.at);
            continue;
        }
        if found.steps != 0 {
            found.pos.remember(index);
        }
        if snap.take(&g, found.pos, want) {
            return Ok(true);
        }
        let n = want.min(found.pos.msg().len());
        // A copy of at most a page: try for its buffer right here, without sleeping, and
        // copy in this hold as the RFC does; else (or if that fails) drop the lock first.
        // `snap.heap` is `None` here (a buffer would have served the first `take`), so the
        // assignment frees nothing under the lock; with a buffer of exactly `n > SMALL`
        // bytes the second `take` always copies.
        if let Some(heap) = KBuf::alloc_nowait(n) {
            debug_assert!(snap.heap.is_none());
            snap.heap = Some(heap);
            if snap.take(&g, found.pos, want) {
                return Ok(true);
            }
        }
        break (found.pos.save(), n);
    };

    // Allocate exactly what this message needs, with the lock dropped.  Never more than
    // the RFC's min(buf_len, mq_msgsize): no failure the RFC would not have.
    let heap = snap.heap.insert(KBuf::alloc(n)?);

    // Copy, at most CHUNK bytes per hold, resuming in the segment where the last hold
    // stopped.
    let mut reading = None;
    loop {
        let g = Section::new(q, stats);
        let mut r = match reading {
            None => match g.resume(&saved) {
                Some(pos) => pos.reader(),
                None => return Ok(false),
            },
            Some(ref s) => match g.resume_read(s) {
                Some(r) => r,
                None => return Ok(false),
            },
        };
        let k = (n - r.done()).min(CHUNK);
        let got = r.read(&mut heap.spare_capacity_mut()[..k]);
        g.copied(got);
        // SAFETY: `read` initialised the next `got <= k` bytes after the current length, and
        // `k <= n - done` fits in the spare capacity of the `n` bytes allocated.
        unsafe { heap.set_len(heap.len() + got) };
        if got < k || r.done() == n {
            snap.prio = r.msg().priority();
            snap.len = r.msg().len();
            snap.version = g.version();
            snap.curmsgs = g.len();
            snap.in_heap = true;
            return Ok(true);
        }
        reading = Some(r.save());
    }
}

/// Step 3 of the module comment: find the message and copy it in one hold of the lock, as
/// the RFC does (`use_cursor` off: exactly the RFC's walk from the head).
fn one_hold(
    q: &Queue,
    stats: &Stats,
    index: usize,
    want: usize,
    use_cursor: bool,
    snap: &mut Snapshot,
) -> Result {
    loop {
        let g = Section::new(q, stats);
        let from = if use_cursor {
            Start::Nearest
        } else {
            Start::Head
        };
        // Never `Lost::Changed`: the walk does not start from a saved position.
        let found = g.find(index, from, usize::MAX).map_err(|_| enomsg())?;
        if use_cursor {
            found.pos.remember(index);
        }
        if snap.take(&g, found.pos, want) {
            return Ok(());
        }
        drop(g);
        // Enough for any message of this queue, so the next hold cannot need more.
        snap.heap = Some(KBuf::alloc(want.min(q.msgsize()))?);
    }
}

/// `fcntl(fd, F_MQ_PEEK, uattr)` on the queue `q`.
pub(crate) fn peek(q: &Queue, stats: &Stats, uattr: UserPtr, compat: bool) -> Result<usize> {
    let req = PeekRequest::read(uattr, compat)?;
    let index = usize::try_from(req.offset).map_err(|_| EINVAL)?;
    let length_query = req.buf == 0 && req.buf_len == 0 && stats.length_query();
    if !length_query && (req.buf == 0 || req.buf_len == 0) {
        return Err(EINVAL);
    }
    stats.add(&stats.calls, 1);
    let mut snap = Snapshot::new();
    snap.take_at(q, stats, index, req.buf_len)?;
    // No lock is held from here on: user memory may fault and sleep.
    let ret = if length_query {
        snap.len
    } else {
        let bytes = snap.bytes();
        UserSlice::new(req.buf, bytes.len())
            .writer()
            .write_slice(bytes)?;
        bytes.len()
    };
    PeekRequest::write_prio(uattr, snap.prio)?;
    Ok(ret)
}
