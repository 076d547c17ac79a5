// SPDX-License-Identifier: GPL-2.0
//! POSIX message queue calls and fcntl(F_MQ_PEEK), over libc.

use std::ffi::CString;
use std::io;

/// `F_LINUX_SPECIFIC_BASE + 17`, see include/mq_peek.h.
pub const F_MQ_PEEK: libc::c_int = 1024 + 17;

/// `struct mq_peek_attr` of include/mq_peek.h (64-bit layout; the tool is 64-bit).
#[repr(C)]
struct PeekAttr {
    offset: i32,
    msg_prio: u32,
    buf_len: usize,
    buf: *mut u8,
}
const _: () = assert!(std::mem::size_of::<PeekAttr>() == 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub flags: i64,
    pub maxmsg: i64,
    pub msgsize: i64,
    pub curmsgs: i64,
}

/// An open queue descriptor, closed on drop.
pub struct Queue {
    fd: libc::mqd_t,
}

fn cname(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Queue {
    pub fn open(name: &str, flags: libc::c_int) -> io::Result<Queue> {
        let n = cname(name)?;
        // SAFETY: `n` is a valid C string; without O_CREAT no further arguments are read.
        let fd = unsafe { libc::mq_open(n.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Queue { fd })
    }

    /// Creates a new queue; fails with EEXIST if it exists.
    pub fn create(name: &str, mode: u32, maxmsg: i64, msgsize: i64) -> io::Result<Queue> {
        let n = cname(name)?;
        // SAFETY: an all-zero mq_attr is a valid value.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        a.mq_maxmsg = maxmsg;
        a.mq_msgsize = msgsize;
        // SAFETY: valid C string; with O_CREAT, mode and a valid mq_attr pointer follow.
        let fd = unsafe {
            libc::mq_open(
                n.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                mode as libc::mode_t,
                &a as *const libc::mq_attr,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Queue { fd })
    }

    pub fn attr(&self) -> io::Result<Attr> {
        // SAFETY: an all-zero mq_attr is a valid value.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: `self.fd` is an open queue descriptor and `a` is writable.
        if unsafe { libc::mq_getattr(self.fd, &mut a) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Attr {
            flags: a.mq_flags,
            maxmsg: a.mq_maxmsg,
            msgsize: a.mq_msgsize,
            curmsgs: a.mq_curmsgs,
        })
    }

    fn peek_raw(&self, offset: i32, buf: &mut [u8]) -> io::Result<(usize, u32)> {
        let mut pa = PeekAttr {
            offset,
            msg_prio: 0,
            buf_len: buf.len(),
            buf: if buf.is_empty() {
                std::ptr::null_mut()
            } else {
                buf.as_mut_ptr()
            },
        };
        // SAFETY: `pa` is a valid struct mq_peek_attr whose buffer is `buf` (or the
        // length query: NULL and 0); the kernel writes at most `buf.len()` bytes to it.
        let r = unsafe { libc::fcntl(self.fd, F_MQ_PEEK, &mut pa as *mut PeekAttr) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((r as usize, pa.msg_prio))
    }

    /// The full length and priority of the message at `offset`, or None past the end.
    pub fn peek_len(&self, offset: i32) -> io::Result<Option<(usize, u32)>> {
        match self.peek_raw(offset, &mut []) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.raw_os_error() == Some(libc::ENOMSG) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The message at `offset` (priority, payload), or None past the end.  Retries while
    /// the kernel says EAGAIN (a large message and a busy queue).
    pub fn peek(&self, offset: i32) -> io::Result<Option<(u32, Vec<u8>)>> {
        for _ in 0..100 {
            let Some((len, _)) = self.peek_len(offset)? else {
                return Ok(None);
            };
            // One spare byte tells a message that grew meanwhile from one that did not.
            let mut buf = vec![0u8; len + 1];
            match self.peek_raw(offset, &mut buf) {
                Ok((n, prio)) if n <= len => {
                    buf.truncate(n);
                    return Ok(Some((prio, buf)));
                }
                Ok(_) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOMSG) => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::from_raw_os_error(libc::EAGAIN))
    }

    pub fn send(&self, data: &[u8], prio: u32) -> io::Result<()> {
        // SAFETY: `data` is valid for `data.len()` bytes.
        let r = unsafe { libc::mq_send(self.fd, data.as_ptr().cast(), data.len(), prio) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn fchown(&self, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: a queue descriptor is a file descriptor.
        if unsafe { libc::fchown(self.fd, uid, gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: `self.fd` is open and owned.
        unsafe { libc::mq_close(self.fd) };
    }
}

pub fn unlink(name: &str) -> io::Result<()> {
    let n = cname(name)?;
    // SAFETY: valid C string.
    if unsafe { libc::mq_unlink(n.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
