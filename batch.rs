// SPDX-License-Identifier: GPL-2.0

//! F_MQ_PEEK_BATCH: as many whole messages as fit, in receive order, with the queue's
//! version.
//!
//! Records are gathered under the queue's lock into a kernel buffer of at most [`STAGE`]
//! bytes, sized to what the call can use ([`stage_size`]) and on the stack when that is
//! small ([`STACK_STAGE`]), and copied to the caller's buffer with the lock dropped.  The lock is held within F_MQ_PEEK's bounds
//! ([`WALK_BATCH`] list steps, [`CHUNK`] bytes of copying); a record too large for one hold
//! goes through F_MQ_PEEK's own machinery ([`Snapshot::take_at`]).
//!
//! All records of one call come from one version of the queue: when the queue changes
//! between two holds the call ends with the records it has.  It always makes progress: if
//! the queue changes before the first record is taken, the call finds it in one hold, as
//! F_MQ_PEEK does; and a first message too long for the buffer is truncated to fill it.
//!
//! A record is written only when its whole `rec_len` (header, payload, zero padding to a
//! multiple of 8) fits in what is left of the buffer, so `used` is always the sum of the
//! records' `rec_len`.  A fault after the first record ends the call with the records
//! written whole before the first byte that could not be written; bytes between `used`
//! and the faulting address may have been written (the part of the record that faulted).

use crate::{
    attr::{first_record_cap, BatchArgs, BatchOut, Record},
    cursor::{Lost, Start},
    kbuf::KBuf,
    peek::{enomsg, Section, Snapshot, CHUNK, WALK_BATCH},
    queue::{copy_bytes, Msg, Pos, Queue, Reader, Saved, Version},
    stats::Stats,
};
use core::mem::MaybeUninit;
use kernel::{
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// The largest kernel buffer of records, and the largest record copied in one hold.
const STAGE: usize = CHUNK;

/// Stages of at most this many bytes live on the stack, as F_MQ_PEEK's short copies do
/// ([`crate::peek::SMALL`]): a batch of a few short messages allocates nothing.
const STACK_STAGE: usize = 512;

/// The kernel buffer records are staged in: memory of [`peek_batch`]'s frame, on its stack if
/// small enough, else allocated (one slice either way: nothing to decide per record), and how
/// much of it is staged.
struct Stage<'s> {
    buf: &'s mut [MaybeUninit<u8>],
    /// Bytes of `buf` initialised: the records staged.
    len: usize,
}

impl Stage<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    /// The most bytes the stage holds.
    #[inline]
    fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes staged.
    #[inline]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: The first `len` bytes of `buf` are initialised (see `set_len`).
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// The room after the bytes staged.
    #[inline]
    fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.buf[self.len..]
    }

    /// Sets the number of bytes staged.
    ///
    /// # Safety
    ///
    /// The first `n` bytes of the buffer must be initialised.
    #[inline]
    unsafe fn set_len(&mut self, n: usize) {
        self.len = n;
    }
}

/// The caller's record buffer and the records staged for it.
struct Out<'s> {
    buf: UserPtr,
    len: usize,
    /// Bytes of `buf` written: whole records.
    written: usize,
    /// Records in those bytes.
    count: usize,
    stage: Stage<'s>,
    /// Records in `stage`.
    staged: usize,
    /// A write to `buf` faulted: the call ends with the records written whole before it.
    faulted: bool,
}

impl Out<'_> {
    fn records(&self) -> usize {
        self.count + self.staged
    }

    /// Bytes of the caller's buffer not yet written or staged.
    #[inline]
    fn room(&self) -> usize {
        self.len - self.written - self.stage.len()
    }

    /// The payload bytes of the record of a message of `len` bytes, or `None` if its record
    /// does not fit whole: all of it if it fits, else, for a first record, as many bytes as
    /// fill the buffer.
    #[inline]
    fn data_for(&self, len: usize) -> Option<usize> {
        if Record::len_of(len) <= self.room() {
            Some(len)
        } else if self.records() == 0 {
            Some(len.min(first_record_cap(self.room())))
        } else {
            None
        }
    }

    /// Appends a record: the header of `msg`, `data` bytes of payload from `r`, padding.
    /// The caller checked that `Record::len_of(data)` bytes fit in the stage and the buffer.
    #[inline]
    fn push(&mut self, g: &Section<'_, '_>, msg: &Msg, mut r: Reader<'_>, data: usize) {
        let size = Record::len_of(data);
        let at = self.stage.len();
        let spare = &mut self.stage.spare_capacity_mut()[..size];
        let end = Record::SIZE + data;
        // Zero padding, so that no stale kernel bytes reach user space: one word over the
        // record's last eight bytes (there is padding only after at least one payload byte,
        // so they lie past the header), before the payload overwrites its front part.
        if size > end {
            // SAFETY: `size - 8 .. size` lies inside `spare`, as `size >= Record::SIZE + 8`.
            unsafe {
                core::ptr::write_unaligned(spare.as_mut_ptr().add(size - 8).cast::<u64>(), 0)
            };
        }
        let got = r.read(&mut spare[Record::SIZE..end]);
        g.copied(got);
        // A short read cannot happen (a message has all its segments); if it did, the record
        // would still be well formed: its rest zeroed, its `data_len` what was read.
        spare[Record::SIZE + got..end].fill(MaybeUninit::new(0));
        let mut hdr = Record::new(msg.priority(), msg.len(), got);
        hdr.rec_len = size as u32;
        // SAFETY: `spare` holds `size >= Record::SIZE` bytes, so the header fits.
        unsafe { core::ptr::write_unaligned(spare.as_mut_ptr().cast::<Record>(), hdr) };
        // SAFETY: The `size` bytes after the old length were all initialised just above.
        unsafe { self.stage.set_len(at + size) };
        self.staged += 1;
    }

    /// Stages the records of whole messages from `pos`, the message at `index`, on, for as
    /// long as each ends in the stage at most at `limit` (at most where the caller's buffer
    /// ends): what [`Out::push`] does for a record that fits whole, which nearly every record
    /// of a call is, in a loop whose state fits in registers.  Stops before a record that
    /// does not fit ([`Run::NoFit`]), or after the record of the message at `stop - 1` or one
    /// after which the caller's buffer has no room for a header (before `room_end`,
    /// [`Run::Last`]).  Returns where it stopped: the message and its index.
    #[inline(always)]
    fn stage_whole<'g>(
        &mut self,
        mut pos: Pos<'g>,
        mut index: usize,
        stop: usize,
        room_end: usize,
        limit: usize,
    ) -> (Pos<'g>, usize, Run) {
        let limit = limit.min(self.stage.capacity());
        // `index < stop`: the caller takes at least the message at `index`.
        let last = stop - 1;
        let first = index;
        let base = self.stage.buf.as_mut_ptr().cast::<u8>();
        let mut at = self.stage.len();
        let run = loop {
            let msg = pos.msg();
            let len = msg.len();
            let head = pos.payload_head(len);
            let size = Record::len_of(len);
            // Saturating: a record that cannot fit ends past `limit` whatever its length.
            let end = at.saturating_add(size);
            if end > limit {
                break Run::NoFit;
            }
            // SAFETY: `at <= end <= limit <= self.stage.buf.len()`: the record's `size` bytes
            // (`end` did not saturate) lie in the stage.
            let rec = unsafe { base.add(at) };
            // Zero padding, so that no stale kernel bytes reach user space: one word over the
            // record's last eight bytes, before the payload and the header overwrite what of
            // it is theirs.
            // SAFETY: `size >= Record::SIZE >= 8`, so the word is the record's last eight bytes.
            unsafe { rec.add(size).sub(8).cast::<u64>().write_unaligned(0) };
            // SAFETY: `size >= Record::SIZE + len`: the payload's `len` bytes after the header
            // lie in the record.
            let data = unsafe { rec.add(Record::SIZE) };
            let got = match head {
                Some(src) => {
                    // SAFETY: `src` holds `len` bytes, `data` has room for them, and a queued
                    // message cannot overlap the stage, which this call owns.
                    unsafe { copy_bytes(src.as_ptr(), data, len) };
                    len
                }
                // SAFETY: As above, `data` has room for `len` bytes, which nothing else refers
                // to while `read_long` runs.
                None => read_long(pos, unsafe {
                    core::slice::from_raw_parts_mut(data.cast::<MaybeUninit<u8>>(), len)
                }),
            };
            let hdr = Record {
                // At most the stage's size, 64 KiB: this never truncates.
                rec_len: size as u32,
                msg_prio: msg.priority(),
                msg_len: len as u64,
                data_len: got as u64,
            };
            // SAFETY: The record holds at least `Record::SIZE` bytes.
            unsafe { rec.cast::<Record>().write_unaligned(hdr) };
            at = end;
            if index >= last || at.saturating_add(Record::SIZE) > room_end {
                break Run::Last;
            }
            let Some(next) = pos.move_next() else {
                break Run::Lost;
            };
            pos = next;
            index += 1;
        };
        // SAFETY: The bytes up to `at` are initialised: those before the old length were, and
        // each record after it was written whole (header, payload, padding) just above.
        unsafe { self.stage.set_len(at) };
        // Records staged: one per message from `first` to `index`, that one unless it did not
        // fit.
        self.staged += index - first + usize::from(!matches!(run, Run::NoFit));
        (pos, index, run)
    }

    /// The payload bytes of the records staged from offset `from` of the stage on.
    fn payload_from(&self, mut from: usize) -> usize {
        let stage = self.stage.as_slice();
        let mut n = 0;
        while let Some(rec) = stage.get(from..from + Record::SIZE) {
            let rec_len = u32::from_ne_bytes(rec[..4].try_into().unwrap_or_default()) as usize;
            n += u64::from_ne_bytes(rec[16..].try_into().unwrap_or_default()) as usize;
            from += rec_len.max(Record::SIZE);
        }
        n
    }

    /// Copies the staged records to the caller's buffer.  On a fault, writes them again one
    /// at a time, up to the first one that faults: exactly the records before the first
    /// byte that cannot be written are counted.
    fn flush(&mut self) {
        let stage = self.stage.as_slice();
        if stage.is_empty() {
            return;
        }
        let mut done = stage.len();
        if UserSlice::new(self.buf.wrapping_add(self.written), done)
            .writer()
            .write_slice(stage)
            .is_ok()
        {
            self.count += self.staged;
        } else {
            self.faulted = true;
            done = 0;
            for _ in 0..self.staged {
                let mut rec_len = [0u8; 4];
                rec_len.copy_from_slice(&stage[done..done + 4]);
                let end = done + u32::from_ne_bytes(rec_len) as usize;
                if UserSlice::new(self.buf.wrapping_add(self.written + done), end - done)
                    .writer()
                    .write_slice(&stage[done..end])
                    .is_err()
                {
                    break;
                }
                done = end;
                self.count += 1;
            }
        }
        self.written += done;
        self.staged = 0;
        // SAFETY: Bytes need no drop; the stage is refilled from the start.
        unsafe { self.stage.set_len(0) };
    }

    /// Writes one record straight from a snapshot (too large for the stage).  The caller
    /// checked that `hdr.rec_len` bytes fit.
    fn write_record(&mut self, hdr: &Record, data: &[u8]) {
        let size = hdr.rec_len as usize;
        let pad = size - Record::SIZE - data.len();
        let zeros = [0u8; Record::ALIGN];
        let mut w = UserSlice::new(self.buf.wrapping_add(self.written), size).writer();
        if w.write_slice(hdr.as_bytes()).is_ok()
            && w.write_slice(data).is_ok()
            && w.write_slice(&zeros[..pad]).is_ok()
        {
            self.written += size;
            self.count += 1;
        } else {
            self.faulted = true;
        }
    }
}

/// Where [`Out::stage_whole`] stopped.
enum Run {
    /// It staged the record of the message it stopped at: the hold's last.
    Last,
    /// The record of the message it stopped at does not fit whole.
    NoFit,
    /// It staged the record of the message it stopped at, and found no message after it
    /// although the queue's length said there was one.
    Lost,
}

/// Copies the payload of a message longer than its `msg_msg` holds into `dst` (its length):
/// F_MQ_PEEK's segment walk, out of [`Out::stage_whole`]'s loop.  A short read cannot happen
/// (a message has all its segments); if it did, the record would still be well formed: its
/// rest zeroed, its `data_len` what was read.
#[inline(never)]
fn read_long(pos: Pos<'_>, dst: &mut [MaybeUninit<u8>]) -> usize {
    let got = pos.reader().read(dst);
    dst[got..].fill(MaybeUninit::new(0));
    got
}

/// What one hold of the lock ended with.
enum Ended {
    /// The caller's buffer is full, or the queue has no more messages.
    Done,
    /// The step budget of the hold is used up; go on in the next hold from the saved
    /// position, at this index.
    Pause(Saved, usize),
    /// The stage is full; copy it out, then go on from the saved position, at this index.
    Flush(Saved, usize),
    /// The next record is larger than the stage: take it with F_MQ_PEEK's machinery, at
    /// most this many payload bytes.
    Big(usize),
}

/// One F_MQ_PEEK_BATCH call: the caller's buffer, and where the call is in the queue.
struct Batch<'a> {
    q: &'a Queue,
    stats: &'a Stats,
    out: Out<'a>,
    /// The index of the first message asked for.
    first: usize,
    /// The version all records come from, and the queue's length then; `None` until the
    /// first hold.
    version: Option<(Version, usize)>,
    /// Where the next hold goes on: a position saved in the last one, at its index.
    next: Option<(Saved, usize)>,
    /// The queue changed before the first record was taken: find it in one hold.
    single: bool,
}

impl<'a> Batch<'a> {
    /// The index of the next record's message.
    fn index(&self) -> usize {
        self.first.saturating_add(self.out.records())
    }

    /// One hold of the queue's lock: walks towards the next record's message, then stages
    /// records until the buffer, the stage or the step budget is full.  `None` once the
    /// call is done.
    fn hold(&mut self) -> Result<Option<Ended>> {
        let g = Section::new(self.q, self.stats);
        if self.version.is_some_and(|(v, _)| v != g.version()) {
            if self.out.records() > 0 {
                return Ok(None);
            }
            // Nothing taken yet: start over, and find the first record in one hold so that
            // no amount of traffic can starve the call.
            self.stats.add(&self.stats.fallbacks, 1);
            self.single = true;
            self.version = None;
            self.next = None;
        }
        let (_, curmsgs) = *self.version.get_or_insert_with(|| (g.version(), g.len()));
        let index = self.index();
        if index >= curmsgs {
            return Ok(None);
        }
        let from = match self.next.take() {
            Some((saved, at)) => Start::Saved(saved, at),
            None => Start::Nearest,
        };
        let budget = if self.single { usize::MAX } else { WALK_BATCH };
        // With the version unchanged the saved position is valid and `index` is below the
        // queue's length: the walk cannot get lost.
        let found = g.find(index, from, budget).map_err(|_: Lost| enomsg())?;
        let (pos, steps) = (found.pos, found.steps);
        if found.at != index {
            return Ok(Some(Ended::Pause(pos.save(), found.at)));
        }
        self.single = false;

        // Nothing is written to the caller's buffer while the lock is held: this hold may stage
        // records up to the stage's end or the buffer's, whichever comes first...
        let room_end = self.out.len.saturating_sub(self.out.written);
        let limit = room_end.min(self.out.stage.capacity());
        // ... and take messages up to the queue's end or the end of its step budget (one step
        // from each record to the next), whichever comes first.
        let stop = curmsgs.min(
            index
                .saturating_add(WALK_BATCH.saturating_sub(steps))
                .saturating_add(1),
        );
        let from = self.out.stage.len();
        let (pos, at, run) = self.out.stage_whole(pos, index, stop, room_end, limit);
        g.walked(at - index);
        if g.timed() {
            g.copied(self.out.payload_from(from));
        }
        let end = match run {
            Run::Lost => return Err(enomsg()),
            Run::Last if at + 1 >= curmsgs || self.out.room() < Record::SIZE => Ended::Done,
            // Go on from this message in the next hold: one step to the next.
            Run::Last => Ended::Pause(pos.save(), at),
            Run::NoFit => self.not_whole(&g, pos, at),
        };
        pos.remember(at);
        Ok(Some(end))
    }

    /// The record of the message at `pos`, index `index`, does not fit whole in what is left
    /// of the stage or of the caller's buffer.
    fn not_whole(&mut self, g: &Section<'_, '_>, pos: Pos<'_>, index: usize) -> Ended {
        let msg = pos.msg();
        let Some(data) = self.out.data_for(msg.len()) else {
            return Ended::Done;
        };
        if Record::len_of(data) > self.out.stage.capacity() - self.out.stage.len() {
            return if self.out.staged == 0 {
                // A first record takes as much of whatever message is at `index` as fills
                // the buffer, decided again by the snapshot from the message it finds (the
                // queue may change once the lock is dropped); a later one is taken only from
                // this same version, in which the message and its length are the ones seen
                // here.
                Ended::Big(if self.out.records() == 0 {
                    first_record_cap(self.out.room())
                } else {
                    msg.len()
                })
            } else {
                Ended::Flush(pos.save(), index)
            };
        }
        // The call's first record, truncated to fill the buffer (one that fits whole was
        // staged by `stage_whole`): nothing fits after it.
        self.out.push(g, msg, pos.reader(), data);
        Ended::Done
    }

    /// Takes the next record, too large for the stage, with F_MQ_PEEK's machinery: at most
    /// `want` payload bytes.  `false` if the call ends here.
    fn take_big(&mut self, want: usize) -> Result<bool> {
        let index = self.index();
        let mut snap = Snapshot::new();
        match snap.take_at(self.q, self.stats, index, want) {
            Ok(()) => (),
            // What is taken stays taken.
            Err(_) if self.out.records() > 0 => return Ok(false),
            // The queue shrank meanwhile: the next hold sees its new version.
            Err(e) if e == enomsg() => return Ok(true),
            Err(e) => return Err(e),
        };
        if self.out.records() > 0
            && (self.version.map(|(v, _)| v) != Some(snap.version)
                || snap.bytes().len() != snap.len)
        {
            return Ok(false);
        }
        self.version = Some((snap.version, snap.curmsgs));
        let hdr = Record::new(snap.prio, snap.len, snap.bytes().len());
        self.out.write_record(&hdr, snap.bytes());
        Ok(!self.out.faulted)
    }

    /// Runs the call to its end.
    fn run(&mut self) -> Result {
        while !self.out.faulted {
            match self.hold()? {
                None | Some(Ended::Done) => break,
                Some(Ended::Pause(saved, at)) => self.next = Some((saved, at)),
                Some(Ended::Flush(saved, at)) => {
                    self.next = Some((saved, at));
                    self.out.flush();
                }
                Some(Ended::Big(want)) => {
                    self.out.flush();
                    if self.out.faulted || !self.take_big(want)? {
                        break;
                    }
                }
            }
        }
        self.out.flush();
        Ok(())
    }
}

/// The stage of a call from index `first` with a buffer of `len` bytes: what the call can
/// use, at most [`STAGE`].  That is the records of the messages queued from `first` on, each
/// counted at the queue's largest record, by the queue's length read without the lock, but
/// never less than one such record.
///
/// The length is only an estimate, but nothing depends on it beyond speed: the stage always
/// holds one record of any message of the queue up to `min(len, STAGE)` bytes, so a record
/// takes the `Big` path exactly when it would with a stage of `min(len, STAGE)`, and whether
/// a record is written whole or (alone) truncated depends on the caller's buffer only.  If
/// the queue has grown since, the stage fills sooner and is flushed one more time.  The
/// allocation is never larger than before, so this adds no failure.
fn stage_size(q: &Queue, first: usize, len: usize) -> usize {
    let per = Record::len_of(q.msgsize());
    let queued = q.len_hint().saturating_sub(first).max(1);
    len.min(STAGE).min(queued.saturating_mul(per))
}

/// `fcntl(fd, F_MQ_PEEK_BATCH, ubatch)` on the queue `q`.
pub(crate) fn peek_batch(q: &Queue, stats: &Stats, ubatch: UserPtr) -> Result<usize> {
    let args = BatchArgs::read(ubatch)?;
    if args.flags != 0 || args.buf_len < Record::SIZE as u64 {
        return Err(EINVAL);
    }
    let len = usize::try_from(args.buf_len).unwrap_or(usize::MAX);
    stats.add(&stats.calls, 1);
    let first = usize::try_from(args.offset).unwrap_or(usize::MAX);
    let stage_cap = stage_size(q, first, len);
    // The stage, owned by this frame: on the stack if small enough, else allocated.
    let mut stack = [MaybeUninit::<u8>::uninit(); STACK_STAGE];
    let mut heap: KBuf;
    let stage = if stage_cap <= STACK_STAGE {
        &mut stack[..stage_cap]
    } else {
        heap = KBuf::alloc(stage_cap)?;
        &mut heap.spare_capacity_mut()[..stage_cap]
    };
    let mut batch = Batch {
        q,
        stats,
        out: Out {
            buf: UserPtr::try_from(args.buf).map_err(|_| EFAULT)?,
            len,
            written: 0,
            count: 0,
            stage: Stage { buf: stage, len: 0 },
            staged: 0,
            faulted: false,
        },
        // An offset past what any queue can hold is past the end of this one.
        first,
        version: None,
        next: None,
        single: false,
    };
    batch.run()?;
    let out = &batch.out;
    if out.count == 0 && out.faulted {
        return Err(EFAULT);
    }
    let (v, curmsgs) = batch.version.unwrap_or((
        Version {
            queue_id: 0,
            changes: 0,
        },
        0,
    ));
    BatchOut {
        used: out.written as u64,
        curmsgs: curmsgs as u64,
        queue_id: v.queue_id,
        changes: v.changes,
    }
    .write(ubatch)?;
    Ok(out.count)
}
