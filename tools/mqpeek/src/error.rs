// SPDX-License-Identifier: GPL-2.0
//! Failures and the exit status each one maps to.

use nix::errno::Errno;
use std::io;

/// The exit status of mqpeek, one per kind of failure a script may want to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Anything not listed below (I/O errors, no mqueue filesystem, ...).
    Failure = 1,
    /// Bad command line (clap's own status for usage errors).
    Usage = 2,
    NoSuchQueue = 3,
    Permission = 4,
    /// The kernel has no fcntl(F_MQ_PEEK) (mq_peek.ko not loaded).
    NoPeek = 5,
    /// Not an image, unsupported version, truncated, corrupt, or out of the POSIX ranges.
    BadImage = 6,
    /// The queue cannot be created within /proc/sys/fs/mqueue/* or RLIMIT_MSGQUEUE.
    Limits = 7,
    /// restore: the queue exists and --force was not given.
    Exists = 8,
    /// The queue kept changing while it was read; nothing was written.
    Busy = 9,
}

/// The exit status table, shown by --help and in the man page.
pub const EXIT_STATUS: &str = "\
Exit status:
  0    success
  1    other failure (I/O error, no mqueue filesystem, ...)
  2    usage error
  3    no such queue
  4    permission denied (including a failed owner change on restore)
  5    the kernel has no fcntl(F_MQ_PEEK) (load mq_peek.ko)
  6    invalid image: not an image, unknown version, truncated, corrupt
       (checksum mismatch), or outside the POSIX ranges (priority >= 32768, ...)
  7    over a limit: /proc/sys/fs/mqueue/{msg_max,msgsize_max,queues_max} or
       RLIMIT_MSGQUEUE
  8    restore: the queue exists (use --force to replace it)
  9    the queue kept changing while it was read; nothing was written
  141  killed by SIGPIPE: the reader of the output went away (like cat or ls)";

/// A failure, with the message the user sees and the exit status.
#[derive(Debug)]
pub struct Fail {
    pub code: Code,
    pub msg: String,
    /// Standard output was closed by its reader: leave quietly, as other tools do.
    pub broken_pipe: bool,
}

pub type Res<T> = Result<T, Fail>;

impl Fail {
    pub fn new(code: Code, msg: impl Into<String>) -> Fail {
        Fail {
            code,
            msg: msg.into(),
            broken_pipe: false,
        }
    }

    /// The same failure, already reported: main prints nothing more.
    pub fn quiet(mut self) -> Fail {
        self.msg.clear();
        self
    }

    /// A failure of a call on queue `name`, classified by its errno.
    pub fn queue(name: impl std::fmt::Display, e: Errno) -> Fail {
        match e {
            Errno::ENOENT => Fail::new(Code::NoSuchQueue, format!("{name}: no such queue")),
            Errno::EACCES | Errno::EPERM => {
                Fail::new(Code::Permission, format!("{name}: permission denied"))
            }
            _ => Fail::new(Code::Failure, format!("{name}: {}", e.desc())),
        }
    }

    /// A failure writing standard output or a file.
    pub fn io(what: impl std::fmt::Display, e: io::Error) -> Fail {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Fail {
                code: Code::Failure,
                msg: String::new(),
                broken_pipe: true,
            };
        }
        let code = match e.kind() {
            io::ErrorKind::NotFound => Code::Failure,
            io::ErrorKind::PermissionDenied => Code::Permission,
            _ => Code::Failure,
        };
        Fail::new(code, format!("{what}: {}", io_text(&e)))
    }
}

/// Standard output errors: EPIPE becomes the quiet exit, anything else a failure.
pub fn out(e: io::Error) -> Fail {
    Fail::io("standard output", e)
}

/// An I/O error as a sentence of the tool: the description without Rust's "(os error N)".
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}
