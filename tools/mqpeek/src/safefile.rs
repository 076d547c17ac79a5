// SPDX-License-Identifier: GPL-2.0
//! Files written so that a SIGKILL at any instant leaves either no file or the whole file,
//! and nothing else behind: an unnamed file (O_TMPFILE) is written, given mode 0600,
//! synced, and only then linked under its name; the directory is synced after.  Where the
//! filesystem has no O_TMPFILE, a named temporary file `.mqpeek-PID-RANDOM.tmp` is used,
//! which the next run removes once process PID is gone (`stale_temps`).

use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{self, Mode};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// An unpredictable 64-bit number: the standard library's hasher keys come from
/// getrandom, fresh per RandomState.
pub fn random() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()))
}

pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A file in `dir` with no name yet, or a named temporary one where O_TMPFILE is missing.
struct Unnamed {
    file: File,
    temp: Option<PathBuf>,
}

impl Unnamed {
    fn new(dir: &Path) -> io::Result<Unnamed> {
        let m = Mode::from_bits_truncate(0o600);
        match fcntl::open(
            dir,
            OFlag::O_TMPFILE | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            m,
        ) {
            Ok(fd) => {
                return Ok(Unnamed {
                    file: File::from(fd),
                    temp: None,
                });
            }
            Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
        }
        loop {
            let p = dir.join(format!(
                ".mqpeek-{}-{:016x}.tmp",
                std::process::id(),
                random()
            ));
            let fl = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW;
            match fcntl::open(&p, fl | OFlag::O_CLOEXEC, m) {
                Ok(fd) => {
                    return Ok(Unnamed {
                        file: File::from(fd),
                        temp: Some(p),
                    });
                }
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes `bytes`, sets mode 0600 exactly (whatever the umask), syncs.
    fn fill(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        stat::fchmod(&self.file, Mode::from_bits_truncate(0o600))?;
        self.file.sync_all()
    }

    /// Gives the file the name `to`; fails with EEXIST if that exists (never replaces).
    fn link(&mut self, to: &Path) -> io::Result<()> {
        let r = match &self.temp {
            // Through /proc: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
            None => nix::unistd::linkat(
                AT_FDCWD,
                format!("/proc/self/fd/{}", self.file.as_raw_fd()).as_str(),
                AT_FDCWD,
                to,
                AtFlags::AT_SYMLINK_FOLLOW,
            ),
            Some(t) => nix::unistd::linkat(AT_FDCWD, t, AT_FDCWD, to, AtFlags::empty()),
        };
        r.map_err(io::Error::from)
    }
}

impl Drop for Unnamed {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            let _ = std::fs::remove_file(t);
        }
    }
}

/// Creates `path` holding `bytes`, mode 0600, synced with its directory; EEXIST (an
/// io::ErrorKind::AlreadyExists) if the name exists, whatever it is (file, symlink, ...).
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    let mut u = Unnamed::new(dir)?;
    u.fill(bytes)?;
    u.link(path)?;
    drop(u);
    sync_dir(dir)
}

/// Replaces `path` (a file, a symlink itself, not what it points to) with a file holding
/// `bytes`, atomically: a reader sees the old file or the whole new one.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    let mut u = Unnamed::new(dir)?;
    u.fill(bytes)?;
    let t = match &u.temp {
        Some(t) => t.clone(),
        None => loop {
            let t = dir.join(format!(
                ".mqpeek-{}-{:016x}.tmp",
                std::process::id(),
                random()
            ));
            match u.link(&t) {
                Ok(()) => break t,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        },
    };
    let r = std::fs::rename(&t, path);
    if r.is_err() {
        let _ = std::fs::remove_file(&t);
    }
    u.temp = None;
    r?;
    sync_dir(dir)
}

/// True while process `pid` exists (it may be another program by now: then its files
/// are merely kept a little longer).
pub fn alive(pid: i32) -> bool {
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(Errno::ESRCH)
    )
}

/// The PID in a name `PREFIX<PID>-...`, if it is one.
pub fn pid_of(name: &str, prefix: &str) -> Option<i32> {
    let rest = name.strip_prefix(prefix)?;
    rest.split('-').next()?.parse().ok()
}

/// Removes the temporary files `.mqpeek-PID-*.tmp` in `dir` left by processes that are
/// gone (a SIGKILL between their creation and their rename); returns their paths.
pub fn stale_temps(dir: &Path) -> Vec<PathBuf> {
    let me = nix::unistd::geteuid().as_raw();
    let mut gone = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return gone;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str() else { continue };
        let Some(pid) = pid_of(n, ".mqpeek-") else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        let ours = e.metadata().is_ok_and(|m| m.uid() == me && m.is_file());
        if n.ends_with(".tmp") && ours && !alive(pid) && std::fs::remove_file(e.path()).is_ok() {
            gone.push(e.path());
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_new_never_replaces_and_is_0600() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("img");
        create_new(&p, b"one").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(m, 0o600);
        let e = create_new(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let l = d.path().join("link");
        std::os::unix::fs::symlink(d.path().join("target"), &l).unwrap();
        assert!(create_new(&l, b"x").is_err());
        assert!(!d.path().join("target").exists());
        replace(&l, b"new").unwrap();
        assert!(!d.path().join("target").exists());
        assert_eq!(std::fs::read(&l).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn stale_temps_of_dead_processes_go() {
        let d = tempfile::tempdir().unwrap();
        // PID 0x3fffffff is above pid_max: no such process.
        let dead = d.path().join(".mqpeek-1073741823-00.tmp");
        let live = d
            .path()
            .join(format!(".mqpeek-{}-00.tmp", std::process::id()));
        std::fs::write(&dead, b"").unwrap();
        std::fs::write(&live, b"").unwrap();
        assert_eq!(stale_temps(d.path()), vec![dead.clone()]);
        assert!(!dead.exists() && live.exists());
        assert_eq!(pid_of(".mqpeek-12-ab.tmp", ".mqpeek-"), Some(12));
    }
}
