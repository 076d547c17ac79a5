// SPDX-License-Identifier: GPL-2.0
//! POSIX message queue calls (nix), and fcntl(F_MQ_PEEK) / fcntl(F_MQ_PEEK_BATCH) of
//! include/mq_peek.h (raw fcntl: nix cannot pass a command it does not know).

use nix::errno::Errno;
use nix::mqueue::{self, MQ_OFlag, MqAttr, MqdT};
use nix::sys::stat::{self, FileStat, Mode};
use nix::unistd::{Gid, Uid};
use nix::NixPath;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// `F_LINUX_SPECIFIC_BASE + 17` and `+ 18`, see include/mq_peek.h.
pub const F_MQ_PEEK: libc::c_int = 1024 + 17;
pub const F_MQ_PEEK_BATCH: libc::c_int = 1024 + 18;

/// `struct mq_peek_attr` (64-bit layout; the tool is 64-bit).
#[repr(C)]
struct PeekAttr {
    offset: i32,
    msg_prio: u32,
    buf_len: usize,
    buf: *mut u8,
}
const _: () = assert!(std::mem::size_of::<PeekAttr>() == 24);

/// `struct mq_peek_batch`, version 3 (/work/notes/batch-abi-v3.md, include/mq_peek.h):
/// one layout for every caller, self-describing by its `size` field.
#[repr(C)]
#[derive(Default)]
struct PeekBatch {
    size: u32,
    flags: u32,
    buf: u64,
    buf_len: u64,
    offset: u64,
    used: u64,
    curmsgs: u64,
    queue_id: u64,
    changes: u64,
}
/// `MQ_PEEK_BATCH_SIZE_VER0`.
const BATCH_SIZE_VER0: u32 = 64;
const _: () = assert!(std::mem::size_of::<PeekBatch>() == BATCH_SIZE_VER0 as usize);

/// `sizeof(struct mq_peek_record)`, and the alignment of the records in a batch.
pub const RECORD_HEADER: usize = 24;
pub const RECORD_ALIGN: usize = 8;

/// `MQ_PEEK_RECORD_SIZE(data_len)`.
pub fn record_size(data_len: u64) -> u64 {
    let a = RECORD_ALIGN as u64;
    data_len
        .div_ceil(a)
        .saturating_mul(a)
        .saturating_add(RECORD_HEADER as u64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub flags: i64,
    pub maxmsg: i64,
    pub msgsize: i64,
    pub curmsgs: i64,
}

/// What one F_MQ_PEEK_BATCH call reported besides the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    pub records: usize,
    pub used: usize,
    pub curmsgs: u64,
    /// (queue_id, changes): equal in two calls means the same messages in the same order.
    pub version: (u64, u64),
    /// The kernel wrote only the out fields, and a `used` that can be: the v3 layout.
    pub sane: bool,
}

/// One record of a batch: the message's full length, its priority and the copied bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub msg_len: u64,
    pub prio: u32,
    pub data: &'a [u8],
}

/// Splits the first `used` bytes of a batch buffer into `count` records, checking every
/// length against the buffer (a kernel bug must not become an out-of-bounds read).
pub fn parse_records(buf: &[u8], used: usize, count: usize) -> Result<Vec<Record<'_>>, String> {
    let buf = buf
        .get(..used)
        .ok_or_else(|| format!("batch used {used} bytes of a {}-byte buffer", buf.len()))?;
    let mut out = Vec::with_capacity(count);
    let mut at = 0usize;
    for i in 0..count {
        let h = buf
            .get(at..at + RECORD_HEADER)
            .ok_or_else(|| format!("record {i} starts past the {used} bytes used"))?;
        let rec_len = u32::from_ne_bytes(h[0..4].try_into().unwrap());
        let prio = u32::from_ne_bytes(h[4..8].try_into().unwrap());
        let msg_len = u64::from_ne_bytes(h[8..16].try_into().unwrap());
        let data_len = u64::from_ne_bytes(h[16..24].try_into().unwrap());
        if data_len > msg_len {
            return Err(format!(
                "record {i}: {data_len} bytes copied of a {msg_len}-byte message"
            ));
        }
        if u64::from(rec_len) != record_size(data_len) {
            return Err(format!(
                "record {i}: rec_len {rec_len} for {data_len} bytes of data"
            ));
        }
        let size = rec_len as usize;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| format!("record {i} ends past the {used} bytes used"))?;
        let data = &buf[at + RECORD_HEADER..at + RECORD_HEADER + data_len as usize];
        out.push(Record {
            msg_len,
            prio,
            data,
        });
        at = end;
    }
    if at != buf.len() {
        return Err(format!(
            "{count} records take {at} bytes, the kernel said {used}"
        ));
    }
    Ok(out)
}

/// An open queue descriptor, closed on drop.
pub struct Queue {
    mqd: Option<MqdT>,
}

/// The status line of a queue's file ("QSIZE:... NOTIFY:... SIGNO:... NOTIFY_PID:...").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    pub qsize: u64,
    pub notify: i32,
    pub signo: i32,
    pub notify_pid: i32,
}

/// Parses the status line; None if it is not one.
pub fn parse_status(s: &str) -> Option<Status> {
    let field = |key: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(key).and_then(|v| v.parse::<i64>().ok()))
    };
    Some(Status {
        qsize: u64::try_from(field("QSIZE:")?).ok()?,
        notify: field("NOTIFY:")? as i32,
        signo: field("SIGNO:")? as i32,
        notify_pid: field("NOTIFY_PID:")? as i32,
    })
}

impl Queue {
    /// Opens an existing queue for reading, without blocking.
    pub fn open<P: ?Sized + NixPath>(name: &P) -> nix::Result<Queue> {
        let f = MQ_OFlag::O_RDONLY | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC;
        Ok(Queue {
            mqd: Some(mqueue::mq_open(name, f, Mode::empty(), None)?),
        })
    }

    /// Opens an existing queue for sending, without blocking.
    pub fn open_write<P: ?Sized + NixPath>(name: &P) -> nix::Result<Queue> {
        let f = MQ_OFlag::O_WRONLY | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC;
        Ok(Queue {
            mqd: Some(mqueue::mq_open(name, f, Mode::empty(), None)?),
        })
    }

    /// Creates a new queue (EEXIST if the name is taken), read-write and non-blocking so
    /// a full queue fails a send instead of hanging it.
    pub fn create<P: ?Sized + NixPath>(
        name: &P,
        mode: u32,
        maxmsg: i64,
        msgsize: i64,
    ) -> nix::Result<Queue> {
        let f = MQ_OFlag::O_RDWR
            | MQ_OFlag::O_CREAT
            | MQ_OFlag::O_EXCL
            | MQ_OFlag::O_NONBLOCK
            | MQ_OFlag::O_CLOEXEC;
        let a = MqAttr::new(0, maxmsg, msgsize, 0);
        Ok(Queue {
            mqd: Some(mqueue::mq_open(
                name,
                f,
                Mode::from_bits_truncate(mode),
                Some(&a),
            )?),
        })
    }

    /// The queue open as `fd`, taken over (for /proc/PID/fd/N, which opens like a file).
    pub fn from_fd(fd: std::os::fd::OwnedFd) -> Queue {
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: `fd` is an open descriptor we own, handed over whole: the MqdT closes it.
        Queue {
            mqd: Some(unsafe { MqdT::from_raw_fd(fd.into_raw_fd()) }),
        }
    }

    fn mqd(&self) -> &MqdT {
        self.mqd.as_ref().expect("open queue")
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.mqd().as_fd()
    }

    pub fn attr(&self) -> nix::Result<Attr> {
        let a = mqueue::mq_getattr(self.mqd())?;
        Ok(Attr {
            flags: a.flags(),
            maxmsg: a.maxmsg(),
            msgsize: a.msgsize(),
            curmsgs: a.curmsgs(),
        })
    }

    /// The queue's inode: mode, owner, times, and (dev, ino) to tell queues apart.
    pub fn stat(&self) -> nix::Result<FileStat> {
        stat::fstat(self.fd())
    }

    /// The status line, read from the descriptor itself (not from a path, which may be
    /// in another namespace's mqueue filesystem).
    pub fn status(&self) -> nix::Result<Status> {
        let mut b = [0u8; 128];
        let n = nix::sys::uio::pread(self.fd(), &mut b, 0)?;
        parse_status(&String::from_utf8_lossy(&b[..n])).ok_or(Errno::EIO)
    }

    pub fn send(&self, data: &[u8], prio: u32) -> nix::Result<()> {
        mqueue::mq_send(self.mqd(), data, prio)
    }

    pub fn fchown(&self, uid: u32, gid: u32) -> nix::Result<()> {
        nix::unistd::fchown(
            self.fd(),
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
        )
    }

    pub fn fchmod(&self, mode: u32) -> nix::Result<()> {
        stat::fchmod(self.fd(), Mode::from_bits_truncate(mode))
    }

    /// fcntl(F_MQ_PEEK): `buf` None is the length query (buf NULL, buf_len 0).
    /// Returns (bytes copied or full length, priority).
    pub fn peek_raw(&self, offset: i32, buf: Option<&mut [u8]>) -> nix::Result<(usize, u32)> {
        let (ptr, len) = match buf {
            Some(b) => (b.as_mut_ptr(), b.len()),
            None => (std::ptr::null_mut(), 0),
        };
        let mut pa = PeekAttr {
            offset,
            msg_prio: 0,
            buf_len: len,
            buf: ptr,
        };
        // SAFETY: `pa` is a valid struct mq_peek_attr for the duration of the call; its
        // buffer is `buf` (writable for `len` bytes) or the length query (NULL, 0).  The
        // kernel writes at most `len` bytes there and only `msg_prio` in `pa`.
        let r = unsafe { libc::fcntl(self.fd().as_raw_fd(), F_MQ_PEEK, &mut pa as *mut PeekAttr) };
        Errno::result(r).map(|r| (r as usize, pa.msg_prio))
    }

    /// fcntl(F_MQ_PEEK_BATCH) from index `offset` into `buf`.
    pub fn batch_raw(&self, offset: u64, buf: &mut [u8]) -> nix::Result<BatchInfo> {
        let mut b = PeekBatch {
            size: BATCH_SIZE_VER0,
            buf: buf.as_mut_ptr() as u64,
            buf_len: buf.len() as u64,
            offset,
            ..Default::default()
        };
        // SAFETY: `b` is a valid struct mq_peek_batch of `size` 64 bytes with zero flags;
        // its buffer is `buf`, writable for `buf.len()` bytes, which bounds what the
        // kernel writes there; in `b` it writes only the out fields.
        let r = unsafe {
            libc::fcntl(
                self.fd().as_raw_fd(),
                F_MQ_PEEK_BATCH,
                &mut b as *mut PeekBatch,
            )
        };
        let n = Errno::result(r)?;
        let sane = b.size == BATCH_SIZE_VER0
            && b.flags == 0
            && b.offset == offset
            && b.buf_len == buf.len() as u64
            && b.used <= b.buf_len
            && b.used.is_multiple_of(RECORD_ALIGN as u64)
            && (n == 0) == (b.used == 0);
        Ok(BatchInfo {
            records: n as usize,
            used: b.used as usize,
            curmsgs: b.curmsgs,
            version: (b.queue_id, b.changes),
            sane,
        })
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Some(q) = self.mqd.take() {
            let _ = mqueue::mq_close(q);
        }
    }
}

pub fn unlink<P: ?Sized + NixPath>(name: &P) -> nix::Result<()> {
    mqueue::mq_unlink(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(buf: &mut Vec<u8>, msg_len: u64, prio: u32, data: &[u8]) {
        let rec_len = record_size(data.len() as u64) as u32;
        buf.extend_from_slice(&rec_len.to_ne_bytes());
        buf.extend_from_slice(&prio.to_ne_bytes());
        buf.extend_from_slice(&msg_len.to_ne_bytes());
        buf.extend_from_slice(&(data.len() as u64).to_ne_bytes());
        buf.extend_from_slice(data);
        while !buf.len().is_multiple_of(8) {
            buf.push(0);
        }
    }

    #[test]
    fn record_size_matches_the_header_macro() {
        assert_eq!(record_size(0), 24);
        assert_eq!(record_size(1), 32);
        assert_eq!(record_size(8), 32);
        assert_eq!(record_size(9), 40);
    }

    #[test]
    fn records_parse() {
        let mut b = Vec::new();
        rec(&mut b, 3, 9, b"abc");
        rec(&mut b, 0, 1, b"");
        rec(&mut b, 100, 2, b"0123456789"); // truncated
        let used = b.len();
        b.resize(used + 64, 0xee); // the rest of the buffer
        let r = parse_records(&b, used, 3).unwrap();
        assert_eq!(
            r,
            vec![
                Record {
                    msg_len: 3,
                    prio: 9,
                    data: b"abc"
                },
                Record {
                    msg_len: 0,
                    prio: 1,
                    data: b""
                },
                Record {
                    msg_len: 100,
                    prio: 2,
                    data: b"0123456789"
                },
            ]
        );
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        let mut b = Vec::new();
        rec(&mut b, 3, 9, b"abc");
        let used = b.len();
        assert!(parse_records(&b, used + 1, 1).is_err()); // used past the buffer
        assert!(parse_records(&b, used, 2).is_err()); // more records than bytes
        assert!(parse_records(&b, used - 8, 1).is_err()); // record past used
        let mut big = b.clone();
        big[16..24].copy_from_slice(&u64::MAX.to_ne_bytes()); // data_len huge
        big[8..16].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert!(parse_records(&big, used, 1).is_err());
        let mut worse = b.clone();
        worse[16..24].copy_from_slice(&4u64.to_ne_bytes()); // data_len > msg_len
        assert!(parse_records(&worse, used, 1).is_err());
        let mut badlen = b.clone();
        badlen[0..4].copy_from_slice(&40u32.to_ne_bytes()); // rec_len not 24 + 3 rounded
        assert!(parse_records(&badlen, used, 1).is_err());
        assert!(parse_records(&b, used, 0).is_err()); // bytes left over
    }

    #[test]
    fn status_line() {
        let s = "QSIZE:124        NOTIFY:0     SIGNO:10    NOTIFY_PID:77    \n";
        assert_eq!(
            parse_status(s),
            Some(Status {
                qsize: 124,
                notify: 0,
                signo: 10,
                notify_pid: 77
            })
        );
        assert_eq!(parse_status("hello"), None);
    }
}
