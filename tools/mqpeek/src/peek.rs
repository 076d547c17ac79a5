// SPDX-License-Identifier: GPL-2.0
//! Reading a queue without changing it: which interface the kernel has, and consistent
//! reads of every message.
//!
//! Support is detected without relying on any extension of the RFC: F_MQ_PEEK_BATCH with
//! a valid buffer either works (the batched read) or fails with EINVAL (not there); then
//! F_MQ_PEEK with a real one-byte buffer at offset 0 either copies or says ENOMSG (empty
//! queue) when the command exists, and fails with EINVAL only when it does not.  The
//! length query (buf NULL, buf_len 0) is used only if it works; a kernel that implements
//! the RFC exactly is read with buffers of mq_msgsize bytes.

use crate::error::{Code, Fail, Res};
use crate::image::Message;
use crate::mq::{parse_records, record_size, Attr, Queue};
use crate::names::QName;
use nix::errno::Errno;

/// How many times a read is started again when the queue changed under it.
pub const RETRIES: usize = 5;
/// The buffer of one F_MQ_PEEK_BATCH call.
const BATCH_BUF: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// fcntl(F_MQ_PEEK_BATCH): whole chunks of the queue, each with the queue's version.
    Batch,
    /// fcntl(F_MQ_PEEK), one message per call; `length_query` if buf NULL/len 0 works.
    Peek { length_query: bool },
}

fn no_peek() -> Fail {
    Fail::new(
        Code::NoPeek,
        "the kernel has no fcntl(F_MQ_PEEK): load mq_peek.ko",
    )
}

/// Finds out what the kernel offers, on the open queue `q`.
pub fn probe(q: &Queue, name: &QName) -> Res<Method> {
    let mut buf = vec![0u8; 4096];
    let curmsgs = q.attr().map_err(|e| Fail::queue(name, e))?.curmsgs as u64;
    match q.batch_raw(0, &mut buf) {
        // A kernel of an older, incompatible F_MQ_PEEK_BATCH layout may take our struct
        // for its own and write elsewhere: only the v3 answer is used.
        Ok(i) if i.sane && i.curmsgs == curmsgs => return Ok(Method::Batch),
        Ok(_) => {}
        // EINVAL: no F_MQ_PEEK_BATCH (or no provider at all: F_MQ_PEEK says which).
        // E2BIG and EFAULT cannot come from our valid version-0 struct on a kernel of the
        // v3 ABI: they mean an older, incompatible layout, which is not used either.
        Err(Errno::EINVAL | Errno::E2BIG | Errno::EFAULT) => {}
        Err(e) => return Err(Fail::queue(name, e)),
    }
    let mut one = [0u8; 1];
    match q.peek_raw(0, Some(&mut one)) {
        Ok(_) | Err(Errno::ENOMSG) => {}
        Err(Errno::EINVAL) => return Err(no_peek()),
        Err(e) => return Err(Fail::queue(name, e)),
    }
    let length_query = match q.peek_raw(0, None) {
        Ok(_) | Err(Errno::ENOMSG) => true,
        Err(Errno::EINVAL) => false,
        Err(e) => return Err(Fail::queue(name, e)),
    };
    Ok(Method::Peek { length_query })
}

/// A read of (part of) a queue that is known to be consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub attr: Attr,
    /// Index of the first message read.
    pub first: u64,
    pub messages: Vec<Message>,
}

/// Which messages to read.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub first: u64,
    pub count: Option<usize>,
}

impl Range {
    pub const ALL: Range = Range {
        first: 0,
        count: None,
    };
    fn full(&self, n: usize) -> bool {
        self.count.is_some_and(|c| n >= c)
    }
}

pub struct Reader<'a> {
    pub q: &'a Queue,
    pub name: &'a QName,
    pub method: Method,
}

fn changed(e: Errno, name: &QName) -> Fail {
    match e {
        // The module went away between calls.
        Errno::EINVAL => no_peek(),
        e => Fail::queue(name, e),
    }
}

impl Reader<'_> {
    /// Reads `range` so that the result is a state the queue really had.  With the batched
    /// read every call reports the queue's version, and equal versions prove nothing
    /// changed.  With F_MQ_PEEK the queue is read `passes` times (1 or 2) and the reads
    /// and the message counts around them must agree.  Starts again when the queue
    /// changed, at most RETRIES times.
    pub fn snapshot(&self, range: Range, passes: usize, what: &str) -> Res<Snapshot> {
        for attempt in 0..RETRIES {
            if attempt > 0 {
                crate::note(&format!(
                    "{}: the queue changed during the {what}, reading it again",
                    self.name
                ));
            }
            let before = self.q.attr().map_err(|e| Fail::queue(self.name, e))?;
            let got = match self.method {
                Method::Batch => self.batch_pass(range)?,
                Method::Peek { length_query } => {
                    let mut first = None;
                    let mut agree = true;
                    for _ in 0..passes.max(1) {
                        let pass = self.peek_pass(range, length_query, before.msgsize)?;
                        agree &= pass.is_some() && (first.is_none() || first == pass);
                        first = first.or(pass);
                    }
                    let after = self.q.attr().map_err(|e| Fail::queue(self.name, e))?;
                    let n = first.as_ref().map_or(0, Vec::len);
                    let want = (after.curmsgs as u64).saturating_sub(range.first) as usize;
                    let want = range.count.map_or(want, |c| want.min(c));
                    (agree && before.curmsgs == after.curmsgs && n == want)
                        .then(|| (first.unwrap_or_default(), after.curmsgs as u64))
                }
            };
            if let Some((messages, curmsgs)) = got {
                return Ok(Snapshot {
                    attr: Attr {
                        curmsgs: curmsgs as i64,
                        ..before
                    },
                    first: range.first,
                    messages,
                });
            }
        }
        Err(Fail::new(
            Code::Busy,
            format!(
                "{}: the queue kept changing during the {what} ({RETRIES} tries); nothing written",
                self.name
            ),
        ))
    }

    /// One pass of F_MQ_PEEK_BATCH calls; None if the version changed between calls.
    fn batch_pass(&self, range: Range) -> Res<Option<(Vec<Message>, u64)>> {
        let mut buf = vec![0u8; BATCH_BUF];
        let mut off = range.first;
        let mut msgs = Vec::new();
        let mut version = None;
        let mut curmsgs;
        let mut regrown = false;
        loop {
            let info = self
                .q
                .batch_raw(off, &mut buf)
                .map_err(|e| changed(e, self.name))?;
            if *version.get_or_insert(info.version) != info.version {
                return Ok(None);
            }
            curmsgs = info.curmsgs;
            if info.records == 0 || range.full(msgs.len()) {
                break;
            }
            let recs = parse_records(&buf, info.used, info.records).map_err(|e| {
                Fail::new(
                    Code::Failure,
                    format!("{}: F_MQ_PEEK_BATCH returned bad records: {e}", self.name),
                )
            })?;
            let mut truncated = None;
            for r in recs {
                if (r.data.len() as u64) < r.msg_len {
                    // Only a message bigger than the whole buffer: read it again alone
                    // in a buffer of its size.
                    truncated = Some(r.msg_len);
                    break;
                }
                msgs.push(Message {
                    prio: r.prio,
                    data: r.data.to_vec(),
                });
                off += 1;
                if range.full(msgs.len()) {
                    break;
                }
            }
            if let Some(len) = truncated {
                if regrown && buf.len() as u64 >= record_size(len) {
                    return Err(Fail::new(
                        Code::Failure,
                        format!(
                            "{}: F_MQ_PEEK_BATCH truncated a message that fits",
                            self.name
                        ),
                    ));
                }
                buf = vec![0u8; record_size(len) as usize];
                regrown = true;
                continue;
            }
            regrown = false;
            if off >= curmsgs || range.full(msgs.len()) {
                break;
            }
        }
        Ok(Some((msgs, curmsgs)))
    }

    /// One pass of F_MQ_PEEK calls; None if a message grew under the read.
    fn peek_pass(
        &self,
        range: Range,
        length_query: bool,
        msgsize: i64,
    ) -> Res<Option<Vec<Message>>> {
        let mut msgs = Vec::new();
        // Without the length query, one buffer of mq_msgsize bytes holds any message.
        let mut big = if length_query {
            Vec::new()
        } else {
            vec![0u8; msgsize.max(1) as usize]
        };
        // F_MQ_PEEK's offset is an int; no queue holds 2^31 messages (maxmsg is at most
        // 65536), so an index past that is past the end.
        let Ok(mut off) = i32::try_from(range.first) else {
            return Ok(Some(msgs));
        };
        while !range.full(msgs.len()) {
            let r = if length_query {
                match self.q.peek_raw(off, None) {
                    Ok((len, _)) => {
                        // One spare byte tells a message that grew from one that did not.
                        let mut b = vec![0u8; len + 1];
                        match self.q.peek_raw(off, Some(&mut b)) {
                            Ok((n, _)) if n > len => return Ok(None),
                            Ok((n, prio)) => {
                                b.truncate(n);
                                Ok((b, prio))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            } else {
                self.q
                    .peek_raw(off, Some(&mut big))
                    .map(|(n, prio)| (big[..n].to_vec(), prio))
            };
            match r {
                Ok((data, prio)) => msgs.push(Message { prio, data }),
                Err(Errno::ENOMSG) => break,
                Err(e) => return Err(changed(e, self.name)),
            }
            off += 1;
        }
        Ok(Some(msgs))
    }
}
