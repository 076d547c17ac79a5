// SPDX-License-Identifier: GPL-2.0
//! IPC namespaces and the mqueue filesystem that lists a namespace's queues.
//!
//! mq_open() and friends act on the IPC namespace of the calling thread; the names of the
//! queues are only visible through an mqueue filesystem, and a mount shows the queues of
//! the namespace it was mounted in, which need not be the caller's.  So:
//!
//! - `--ipc-ns PID|PATH` joins that namespace (setns), and `list` then mounts a private
//!   instance of the mqueue filesystem in a private mount namespace: the mount belongs to
//!   the joined namespace by construction, and no one else sees it;
//! - without it, `list` reads /dev/mqueue, and every row is built from the queue's own
//!   descriptor, checked to be the very inode listed, so a /dev/mqueue of another
//!   namespace is detected instead of being mixed with this one's queues.

use crate::error::{Code, Fail, Res};
use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::mount::{self, MntFlags, MsFlags};
use nix::sched::{self, CloneFlags};
use nix::sys::stat::Mode;
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

pub const MQUEUE_MAGIC: i64 = 0x1980_0202;
pub const DEV_MQUEUE: &str = "/dev/mqueue";

/// The namespace file named by `--ipc-ns`: a PID, or a path such as /proc/PID/ns/ipc or
/// a bind mount of one.
pub fn ns_path(spec: &OsStr) -> PathBuf {
    let b = spec.as_bytes();
    if !b.is_empty() && b.iter().all(|b| b.is_ascii_digit()) {
        PathBuf::from(format!("/proc/{}/ns/ipc", spec.to_string_lossy()))
    } else {
        PathBuf::from(spec)
    }
}

/// Moves this (single-threaded) process into the IPC namespace `spec`.
pub fn enter(spec: &OsStr) -> Res<()> {
    let nsfile = ns_path(spec);
    let pid = nsfile.as_os_str() != spec;
    // Printed escaped, as queue names are: a path may hold any bytes.
    let spec = crate::names::escape(spec.as_bytes());
    let path = crate::names::escape(nsfile.as_os_str().as_bytes());
    let f = std::fs::File::open(&nsfile).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Fail::new(
            Code::Permission,
            format!("--ipc-ns {spec}: {path}: permission denied"),
        ),
        // Not "no such queue": the namespace is missing, not a queue.
        std::io::ErrorKind::NotFound if pid => {
            Fail::new(Code::Failure, format!("--ipc-ns {spec}: no such process"))
        }
        _ => Fail::new(
            Code::Failure,
            format!("--ipc-ns {spec}: {path}: {}", crate::error::io_text(&e)),
        ),
    })?;
    sched::setns(&f, CloneFlags::CLONE_NEWIPC).map_err(|e| match e {
        Errno::EPERM => Fail::new(
            Code::Permission,
            format!("--ipc-ns {spec}: joining an IPC namespace needs CAP_SYS_ADMIN"),
        ),
        Errno::EINVAL => Fail::new(
            Code::Usage,
            format!("--ipc-ns {spec}: {path} is not an IPC namespace"),
        ),
        e => Fail::new(
            Code::Failure,
            format!("--ipc-ns {spec}: setns: {}", e.desc()),
        ),
    })
}

/// Where this process sees the queue names of its IPC namespace.
pub enum MqueueDir {
    /// /dev/mqueue, a mount that may belong to another namespace (rows are checked).
    Shared(PathBuf),
    /// A private mount of this namespace's own instance, reached through its descriptor.
    Private(OwnedFd),
}

impl MqueueDir {
    pub fn path(&self) -> PathBuf {
        match self {
            MqueueDir::Shared(p) => p.clone(),
            MqueueDir::Private(fd) => PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
        }
    }

    /// True when the mount is this namespace's instance by construction.
    pub fn own(&self) -> bool {
        matches!(self, MqueueDir::Private(_))
    }
}

/// /dev/mqueue, if an mqueue filesystem is mounted there.
pub fn dev_mqueue() -> Res<MqueueDir> {
    match nix::sys::statfs::statfs(DEV_MQUEUE) {
        Ok(s) if s.filesystem_type().0 == MQUEUE_MAGIC => {
            Ok(MqueueDir::Shared(PathBuf::from(DEV_MQUEUE)))
        }
        Ok(_) | Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Err(Fail::new(
            Code::Failure,
            format!(
                "{DEV_MQUEUE} is not mounted: mount it with 'mount -t mqueue none {DEV_MQUEUE}' \
                 (or list through a private mount: mqpeek --ipc-ns /proc/self/ns/ipc list)"
            ),
        )),
        Err(e) => Err(Fail::new(
            Code::Failure,
            format!("{DEV_MQUEUE}: {}", e.desc()),
        )),
    }
}

/// Mounts the mqueue filesystem of the current IPC namespace where only this process
/// sees it: a private mount namespace, a mount on a fresh temporary directory, kept
/// through a descriptor and detached at once, and the directory removed.
pub fn private_mqueue() -> Res<MqueueDir> {
    let fail = |what: &str, e: Errno| {
        let code = if e == Errno::EPERM {
            Code::Permission
        } else {
            Code::Failure
        };
        Fail::new(
            code,
            format!(
                "cannot mount this namespace's mqueue filesystem: {what}: {}",
                e.desc()
            ),
        )
    };
    sched::unshare(CloneFlags::CLONE_NEWNS).map_err(|e| fail("unshare(CLONE_NEWNS)", e))?;
    mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| fail("making the mounts private", e))?;
    let dir = tempfile::Builder::new()
        .prefix(".mqpeek-mnt-")
        .tempdir()
        .map_err(|e| Fail::io("temporary directory", e))?;
    mount::mount(
        Some("mqueue"),
        dir.path(),
        Some("mqueue"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| fail("mount -t mqueue", e))?;
    let fd = fcntl::open(
        dir.path(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    );
    // Detach it whatever happened: the descriptor keeps it alive, nothing else sees it.
    let _ = mount::umount2(dir.path(), MntFlags::MNT_DETACH);
    let fd = fd.map_err(|e| fail("opening the mount", e))?;
    drop(dir);
    Ok(MqueueDir::Private(fd))
}
