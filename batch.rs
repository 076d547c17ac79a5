// SPDX-License-Identifier: GPL-2.0

//! F_MQ_PEEK_BATCH: as many whole messages as fit, in receive order, with the queue's
//! version.
//!
//! Records are gathered under the queue's lock into a kernel buffer of at most [`STAGE`]
//! bytes and copied to the caller's buffer with the lock dropped.  The lock is held within
//! F_MQ_PEEK's bounds ([`WALK_BATCH`] list steps, [`CHUNK`] bytes of copying); a record
//! too large for one hold goes through F_MQ_PEEK's own machinery ([`Snapshot::take_at`]).
//!
//! All records of one call come from one version of the queue: when the queue changes
//! between two holds the call ends with the records it has.  It always makes progress: if
//! the queue changes before the first record is taken, the call finds it in one hold, as
//! F_MQ_PEEK does; and a first message too long for the buffer is truncated to fit.

use crate::{
    attr::{align_record, BatchArgs, BatchOut, Record},
    cursor,
    peek::{enomsg, Hold, Snapshot, CHUNK, WALK_BATCH},
    queue::{Msg, Queue, Reader, Version},
    stats::Stats,
};
use kernel::{
    alloc::KVVec,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// The largest kernel buffer of records, and the largest record copied in one hold.
const STAGE: usize = CHUNK;

/// The caller's record buffer and the records staged for it.
struct Out {
    buf: UserPtr,
    len: usize,
    /// Bytes of `buf` written: whole records, each padded to `Record::ALIGN` where it fits.
    written: usize,
    /// Records in those bytes.
    count: usize,
    stage: KVVec<u8>,
    stage_cap: usize,
    /// Records in `stage`.
    staged: usize,
    /// A write to `buf` faulted: the call ends with the records written whole before it.
    faulted: bool,
}

impl Out {
    fn records(&self) -> usize {
        self.count + self.staged
    }

    /// Bytes of the caller's buffer not yet written or staged.
    #[inline]
    fn room(&self) -> usize {
        self.len - self.written - self.stage.len()
    }

    /// The bytes a record of `data` payload bytes takes, with its padding where the
    /// caller's buffer has room for it.
    #[inline]
    fn record_size(&self, data: usize) -> usize {
        let end = Record::SIZE + data;
        align_record(end).min(self.room()).max(end)
    }

    /// Appends a record: the header of `msg`, `data` bytes of payload from `r`, padding.
    /// The caller checked that `record_size(data)` bytes fit in the stage and the buffer.
    #[inline]
    fn push(&mut self, msg: &Msg, mut r: Reader<'_>, data: usize) {
        let size = self.record_size(data);
        let at = self.stage.len();
        let spare = &mut self.stage.spare_capacity_mut()[..size];
        let end = Record::SIZE + data;
        // Zero padding, so that no stale kernel bytes reach user space: one word over the
        // record's last eight bytes, before the payload overwrites its front part.
        let word = size > end && size >= Record::SIZE + 8;
        if word {
            // SAFETY: `size - 8 .. size` lies inside `spare`.
            unsafe {
                core::ptr::write_unaligned(spare.as_mut_ptr().add(size - 8).cast::<u64>(), 0)
            };
        }
        let got = r.read(&mut spare[Record::SIZE..end]);
        let hdr = Record {
            msg_len: msg.len() as u64,
            data_len: got as u64,
            msg_prio: msg.priority(),
            reserved: 0,
        };
        // SAFETY: `spare` holds `size >= Record::SIZE` bytes, so the header fits.
        unsafe { core::ptr::write_unaligned(spare.as_mut_ptr().cast::<Record>(), hdr) };
        // The rest of the padding, where the word did not cover it: a record cut short by
        // the end of the buffer, or a short read (`got < data` cannot happen; if it did,
        // the record would still be well formed).
        if got < data || (size > end && !word) {
            for d in &mut spare[Record::SIZE + got..] {
                d.write(0);
            }
        }
        // SAFETY: The `size` bytes after the old length were all initialised just above.
        unsafe { self.stage.set_len(at + size) };
        self.staged += 1;
    }

    /// Copies the staged records to the caller's buffer.  On a fault, writes whole records
    /// one at a time up to the one that faults, so that only whole records are counted.
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
            while done < stage.len() {
                let r = Record::parse(&stage[done..]);
                let end = align_record(done + Record::SIZE + r.data_len as usize).min(stage.len());
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

    /// Writes one record straight from a snapshot (too large for the stage).
    fn write_record(&mut self, hdr: &Record, data: &[u8]) {
        let end = Record::SIZE + data.len();
        let size = self.record_size(data.len());
        let zeros = [0u8; Record::ALIGN];
        let mut w = UserSlice::new(self.buf.wrapping_add(self.written), size).writer();
        if w.write_slice(hdr.as_bytes()).is_ok()
            && w.write_slice(data).is_ok()
            && w.write_slice(&zeros[..size - end]).is_ok()
        {
            self.written += size;
            self.count += 1;
        } else {
            self.faulted = true;
        }
    }
}

/// What one hold of the lock ended with.
enum Ended {
    /// The caller's buffer is full, or the queue has no more messages.
    Done,
    /// The step budget of the hold is used up; go on in the next hold.
    Pause,
    /// The stage is full; copy it out, then go on.
    Flush,
    /// The next record is larger than the stage: take it with F_MQ_PEEK's machinery,
    /// at most this many payload bytes.
    Big(usize),
}

/// `fcntl(fd, F_MQ_PEEK_BATCH, ubatch)` on the queue `q`.
pub(crate) fn peek_batch(q: &Queue, stats: &Stats, ubatch: UserPtr) -> Result<usize> {
    let args = BatchArgs::read(ubatch)?;
    if args.flags != 0 || args.reserved != [0; 3] || args.buf_len < Record::SIZE as u64 {
        return Err(EINVAL);
    }
    let first = args.offset as usize;
    let len = usize::try_from(args.buf_len).unwrap_or(usize::MAX);
    stats.add(&stats.calls, 1);
    let stage_cap = len.min(STAGE);
    let mut out = Out {
        buf: UserPtr::try_from(args.buf).map_err(|_| EFAULT)?,
        len,
        written: 0,
        count: 0,
        stage: KVVec::with_capacity(stage_cap, GFP_KERNEL)?,
        stage_cap,
        staged: 0,
        faulted: false,
    };
    let mut version: Option<Version> = None;
    let mut curmsgs = 0;
    let mut next = None;
    let mut single = false;

    while !out.faulted {
        let g = Hold::new(q, stats);
        if version.is_some_and(|v| v != g.version()) {
            if out.records() > 0 {
                break;
            }
            // Nothing taken yet: start over, and find the first record in one hold so that
            // no amount of traffic can starve the call.
            stats.add(&stats.fallbacks, 1);
            single = true;
            version = None;
            next = None;
        }
        let v = *version.get_or_insert_with(|| {
            curmsgs = g.len();
            g.version()
        });
        let index = first.saturating_add(out.records());
        if index >= curmsgs {
            break;
        }
        let (pos, at) = match next.take().and_then(|(s, at)| Some((g.resume(&s)?, at))) {
            Some(resumed) => resumed,
            None => {
                let mut hit = false;
                let start = cursor::start(&g, index, true, &mut hit).ok_or_else(enomsg)?;
                stats.add(&stats.cursor_hits, u64::from(hit));
                start
            }
        };
        let budget = if single { usize::MAX } else { WALK_BATCH };
        let (mut pos, at, mut steps) = cursor::walk(pos, at, index, budget).ok_or_else(enomsg)?;
        if at != index {
            stats.add(&stats.steps, steps as u64);
            next = Some((pos.save(), at));
            continue;
        }
        single = false;

        let mut index = index;
        let mut last = None;
        let end = loop {
            let msg = pos.msg();
            let data = if Record::SIZE + msg.len() <= out.room() {
                msg.len()
            } else if out.records() == 0 {
                out.room() - Record::SIZE
            } else {
                break Ended::Done;
            };
            if out.record_size(data) > out.stage_cap - out.stage.len() {
                break if out.staged == 0 {
                    Ended::Big(data)
                } else {
                    Ended::Flush
                };
            }
            out.push(msg, pos.reader(), data);
            last = Some(pos);
            index += 1;
            if index >= curmsgs || out.room() < Record::SIZE {
                break Ended::Done;
            }
            pos = pos.step(true).ok_or_else(enomsg)?;
            steps += 1;
            if steps >= WALK_BATCH {
                break Ended::Pause;
            }
        };
        stats.add(&stats.steps, steps as u64);
        if let Some(p) = last {
            p.remember(index - 1);
        }
        match end {
            Ended::Done => break,
            Ended::Pause => {
                next = Some((pos.save(), index));
                continue;
            }
            Ended::Flush => {
                next = Some((pos.save(), index));
                drop(g);
                out.flush();
            }
            Ended::Big(data) => {
                drop(g);
                out.flush();
                if out.faulted {
                    break;
                }
                let mut snap = Snapshot::new();
                match snap.take_at(q, stats, index, data) {
                    Ok(()) => (),
                    // What is taken stays taken.
                    Err(_) if out.records() > 0 => break,
                    // The queue shrank meanwhile: the next hold sees its new version.
                    Err(e) if e == enomsg() => continue,
                    Err(e) => return Err(e),
                };
                if out.records() > 0 && snap.version != v {
                    break;
                }
                version = Some(snap.version);
                curmsgs = snap.curmsgs;
                let hdr = Record {
                    msg_len: snap.len as u64,
                    data_len: snap.bytes().len() as u64,
                    msg_prio: snap.prio,
                    reserved: 0,
                };
                out.write_record(&hdr, snap.bytes());
            }
        }
    }
    out.flush();
    if out.count == 0 && out.faulted {
        return Err(EFAULT);
    }
    let v = version.unwrap_or(Version {
        generation: 0,
        mod_seq: 0,
    });
    BatchOut {
        used: out.written as u64,
        curmsgs: curmsgs as u64,
        generation: v.generation,
        mod_seq: v.mod_seq,
    }
    .write(ubatch)?;
    Ok(out.count)
}
