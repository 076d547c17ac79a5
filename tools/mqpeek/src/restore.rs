// SPDX-License-Identifier: GPL-2.0
//! `mqpeek restore`: re-create a queue from an image without ever losing one.
//!
//! POSIX queues cannot be renamed, so replacing one (`--force`) goes:
//!
//! 1. The image is checked whole (checksum, POSIX ranges, the namespace's and the
//!    caller's limits) before anything is touched.
//! 2. The existing queue is opened and copied into memory with F_MQ_PEEK (a consistent
//!    copy: its contents in receive order, attributes, mode, owner).  No copy, no
//!    replacement.
//! 3. The new queue is built under a temporary, unpredictable name (mode 0600, O_EXCL):
//!    created, filled, given its mode and owner, and read back.  This proves on the real
//!    kernel, with the old queue still in place, every step that can fail for a reason of
//!    the image or of the limits (msg_max, msgsize_max, queues_max, RLIMIT_MSGQUEUE,
//!    priorities, sizes, ownership).  It is then removed.  Any failure so far leaves the
//!    old queue untouched: this needs room for both queues at once.
//! 4. With SIGINT, SIGTERM, SIGHUP and SIGQUIT held off, the old name is unlinked (the
//!    copy is refreshed from the still-open old queue, which is what it held at the
//!    unlink), and the queue is created under the name and filled again.
//! 5. If that fails all the same (another process took the name or the resources in
//!    between), the old queue is re-created from the copy; if even that fails, the copy
//!    is written to an image file (0600) whose path is printed.
//!
//! What remains: a SIGKILL or a crash between the unlink and the end of step 4 loses
//! the old queue (the copy is in memory only); processes that had the old queue open
//! keep using it (unlinked) after the replacement; a message sent to the old queue
//! between the unlink and our re-read is kept, one sent after that is not.

use crate::error::{Code, Fail, Res};
use crate::image::{Image, Message};
use crate::limits::{self, Limits, Problem};
use crate::mq::{self, Queue};
use crate::peek::{self, Range, Reader};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use std::io::Write;

pub struct Opts {
    pub file: String,
    pub name: Option<String>,
    pub force: bool,
    pub no_owner: bool,
    pub maxmsg: Option<i64>,
    pub msgsize: Option<i64>,
    pub dry_run: bool,
}

pub fn qname(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

fn check_name(name: &str) -> Res<()> {
    // NAME_MAX (255) bounds the name without its slash.
    if name.len() < 2 || name[1..].contains('/') || name.len() - 1 > 255 {
        return Err(Fail::new(
            Code::Usage,
            format!("{name}: a queue name is /NAME, at most 255 bytes, no other '/'"),
        ));
    }
    Ok(())
}

fn read_num(path: &str, default: i64) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// CAP_SYS_RESOURCE in the effective set (bit 24 of CapEff).
fn privileged() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << 24) != 0)
}

/// The limits of this process in its (current) IPC namespace.
pub fn read_limits() -> Limits {
    let rl = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MSGQUEUE)
        .map(|(soft, _)| soft)
        .unwrap_or(libc::RLIM_INFINITY);
    Limits {
        msg_max: read_num("/proc/sys/fs/mqueue/msg_max", 10),
        msgsize_max: read_num("/proc/sys/fs/mqueue/msgsize_max", 8192),
        queues_max: read_num("/proc/sys/fs/mqueue/queues_max", 256) as u64,
        rlimit: (rl != libc::RLIM_INFINITY).then_some(rl),
        privileged: privileged(),
    }
}

/// What the kernel said when a queue could not be created, in terms of the limits.
fn create_fail(name: &str, e: Errno, maxmsg: i64, msgsize: i64, both: bool) -> Fail {
    let l = read_limits();
    let two = if both {
        " (replacing a queue needs room for the old and the new one at once)"
    } else {
        ""
    };
    match e {
        Errno::EINVAL => Fail::new(
            Code::Limits,
            format!(
                "{name}: cannot create a queue of maxmsg {maxmsg} and msgsize {msgsize}: \
                 the limits are /proc/sys/fs/mqueue/msg_max = {}, msgsize_max = {}{}",
                l.msg_max,
                l.msgsize_max,
                if l.privileged {
                    " (exceeded with CAP_SYS_RESOURCE: 65536 and 16 MiB)"
                } else {
                    ""
                }
            ),
        ),
        Errno::EMFILE => Fail::new(
            Code::Limits,
            format!(
                "{name}: RLIMIT_MSGQUEUE: the queue needs {} bytes, the limit is {} bytes, \
                 and the user's other queues count too{two}",
                limits::queue_bytes(maxmsg, msgsize),
                l.rlimit.map_or("unlimited".into(), |r| r.to_string())
            ),
        ),
        Errno::ENOSPC => Fail::new(
            Code::Limits,
            format!(
                "{name}: /proc/sys/fs/mqueue/queues_max ({}) queues exist already{two}",
                l.queues_max
            ),
        ),
        Errno::EEXIST => Fail::new(
            Code::Exists,
            format!("{name} exists: not overwriting it (use --force to replace it)"),
        ),
        e => Fail::queue(name, e),
    }
}

/// Sends every message, sets the mode, then the owner, and checks the count.
fn fill(q: &Queue, name: &str, msgs: &[Message], mode: u32, owner: Option<(u32, u32)>) -> Res<()> {
    for (i, m) in msgs.iter().enumerate() {
        q.send(&m.data, m.prio).map_err(|e| {
            let code = match e {
                Errno::EINVAL | Errno::EMSGSIZE => Code::BadImage,
                Errno::EAGAIN => Code::Limits,
                _ => Code::Failure,
            };
            Fail::new(
                code,
                format!(
                    "{name}: sending message {i} ({} bytes, priority {}): {}",
                    m.data.len(),
                    m.prio,
                    e.desc()
                ),
            )
        })?;
    }
    // mq_open's mode is filtered by the umask: set the image's exactly.
    q.fchmod(mode).map_err(|e| {
        Fail::new(
            Code::Permission,
            format!("{name}: cannot set its mode to {mode:04o}: {}", e.desc()),
        )
    })?;
    if let Some((uid, gid)) = owner {
        q.fchown(uid, gid).map_err(|e| {
            Fail::new(
                Code::Permission,
                format!(
                    "{name}: cannot give it to {uid}:{gid}: {} (use --no-owner to keep it yours)",
                    e.desc()
                ),
            )
        })?;
    }
    let a = q.attr().map_err(|e| Fail::queue(name, e))?;
    if a.curmsgs != msgs.len() as i64 {
        return Err(Fail::new(
            Code::Failure,
            format!(
                "{name}: holds {} messages, {} were sent",
                a.curmsgs,
                msgs.len()
            ),
        ));
    }
    Ok(())
}

/// Unlinks `name` only if it still is the queue `q` (the name may have been reused).
fn unlink_ours(name: &str, q: &Queue) {
    let same = |a: &Queue, b: &Queue| match (a.stat(), b.stat()) {
        (Ok(x), Ok(y)) => (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino),
        _ => false,
    };
    if let Ok(now) = Queue::open(name) {
        if !same(&now, q) {
            return;
        }
    }
    let _ = mq::unlink(name);
}

/// Creates `name`, fills it, and removes it again if that fails.
fn build(
    name: &str,
    mode: u32,
    maxmsg: i64,
    msgsize: i64,
    msgs: &[Message],
    owner: Option<(u32, u32)>,
    both: bool,
) -> Res<Queue> {
    let q = Queue::create(name, 0o600, maxmsg, msgsize)
        .map_err(|e| create_fail(name, e, maxmsg, msgsize, both))?;
    if let Err(f) = fill(&q, name, msgs, mode, owner) {
        unlink_ours(name, &q);
        return Err(f);
    }
    Ok(q)
}

/// A temporary queue name no one can guess: the standard library's hasher keys are
/// random per process (getrandom), so its hash of anything is unpredictable.
fn temp_name() -> String {
    use std::hash::{BuildHasher, RandomState};
    let r = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    format!("/.mqpeek-restore-{r:016x}")
}

/// Holds off the signals that would end the process in the middle of a replacement.
struct HoldSignals(SigSet);

impl HoldSignals {
    fn new() -> HoldSignals {
        let mut set = SigSet::empty();
        for s in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            set.add(s);
        }
        let mut old = SigSet::empty();
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old));
        HoldSignals(old)
    }
}

impl Drop for HoldSignals {
    fn drop(&mut self) {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// The old queue, as it was: enough to re-create it.
struct Backup {
    image: Image,
}

fn backup(name: &str, q: &Queue, what: &str) -> Res<Backup> {
    let method = peek::probe(q, name).map_err(|f| {
        Fail::new(
            f.code,
            format!(
                "{}; cannot keep a copy of the existing {name}, not replacing it",
                f.msg
            ),
        )
    })?;
    let r = Reader { q, name, method };
    let snap = r.snapshot(Range::ALL, 2, what)?;
    let st = q.stat().map_err(|e| Fail::queue(name, e))?;
    Ok(Backup {
        image: Image {
            version: crate::image::VERSION,
            name: name.to_string(),
            maxmsg: snap.attr.maxmsg,
            msgsize: snap.attr.msgsize,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            notify: None,
            qsize: None,
            time: None,
            messages: snap.messages,
        },
    })
}

pub fn restore(o: &Opts) -> Res<()> {
    let bytes = if o.file == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| Fail::io("standard input", e))?;
        b
    } else {
        std::fs::read(&o.file).map_err(|e| Fail::io(&o.file, e))?
    };
    let src = if o.file == "-" {
        "standard input"
    } else {
        &o.file
    };
    let img =
        Image::decode(&bytes).map_err(|e| Fail::new(Code::BadImage, format!("{src}: {e}")))?;
    let name = qname(o.name.as_deref().unwrap_or(&img.name));
    check_name(&name)?;
    let maxmsg = o.maxmsg.unwrap_or(img.maxmsg);
    let msgsize = o.msgsize.unwrap_or(img.msgsize);

    // 1. The whole image against the ranges and the limits, before touching anything.
    let problems = limits::check(&img, maxmsg, msgsize, &read_limits());
    if !problems.is_empty() {
        let code = if problems.iter().any(|p| matches!(p, Problem::Range(_))) {
            Code::BadImage
        } else {
            Code::Limits
        };
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(Fail::new(
            code,
            format!(
                "{name}: cannot restore {src}, nothing was changed:\n{}",
                list.join("\n")
            ),
        ));
    }
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let owner = (!o.no_owner && (img.uid, img.gid) != me).then_some((img.uid, img.gid));
    let old = match Queue::open(&name) {
        Ok(_) | Err(Errno::EACCES) if !o.force => {
            return Err(create_fail(&name, Errno::EEXIST, maxmsg, msgsize, false))
        }
        Ok(q) => Some(q),
        Err(Errno::ENOENT) => None,
        Err(Errno::EACCES) => {
            return Err(Fail::new(
                Code::Permission,
                format!("{name}: cannot read the existing queue to keep a copy; not replacing it"),
            ))
        }
        Err(e) => return Err(Fail::queue(&name, e)),
    };
    if o.dry_run {
        crate::note(&format!(
            "{name}: {src} can be restored ({} messages, maxmsg {maxmsg}, msgsize {msgsize}{}); \
             nothing was changed",
            img.messages.len(),
            if old.is_some() {
                ", replacing the existing queue"
            } else {
                ""
            }
        ));
        return Ok(());
    }
    if let Some(n) = img.notify.filter(|n| n.pid != 0) {
        crate::note(&format!(
            "{name}: the image records an mq_notify() registration of process {} \
             (NOTIFY {}, SIGNO {}); it belongs to that process and is not re-armed",
            n.pid, n.notify, n.signo
        ));
    }
    let Some(old) = old else {
        let q = build(
            &name,
            img.mode,
            maxmsg,
            msgsize,
            &img.messages,
            owner,
            false,
        )?;
        drop(q);
        done(&name, &img, src);
        return Ok(());
    };

    // 2. A consistent copy of the old queue.
    let mut saved = backup(&name, &old, "copy of the existing queue")?;

    // 3. The new queue, built and proven under a temporary name.
    let mut tname = temp_name();
    let t = loop {
        match build(
            &tname,
            img.mode,
            maxmsg,
            msgsize,
            &img.messages,
            owner,
            true,
        ) {
            Err(f) if f.code == Code::Exists => tname = temp_name(),
            Err(f) => {
                return Err(Fail::new(
                    f.code,
                    format!(
                        "{}\nmqpeek: {name}: not replaced, it is unchanged",
                        f.msg.replace(&tname, &name)
                    ),
                ))
            }
            Ok(t) => break t,
        }
    };
    let method = peek::probe(&t, &tname)?;
    let check = Reader {
        q: &t,
        name: &tname,
        method,
    }
    .snapshot(Range::ALL, 1, "check of the new queue");
    unlink_ours(&tname, &t);
    drop(t);
    match check {
        Ok(s) if s.messages == receive_order(&img.messages) => {}
        Ok(_) => {
            return Err(Fail::new(
                Code::Failure,
                format!("{name}: the new queue did not read back as the image; not replaced"),
            ))
        }
        Err(f) => return Err(f),
    }

    // 4. The swap.
    let _hold = HoldSignals::new();
    mq::unlink(&name).map_err(|e| {
        let f = Fail::queue(&name, e);
        Fail::new(
            f.code,
            format!("{}: cannot unlink it; it is unchanged", f.msg),
        )
    })?;
    // What the old queue held at the unlink (processes that have it open may still use
    // it, unlinked; the copy taken before is kept if it cannot be read again).
    if let Ok(b) = backup(&name, &old, "copy of the existing queue") {
        saved = b;
    }
    drop(old);
    match build(
        &name,
        img.mode,
        maxmsg,
        msgsize,
        &img.messages,
        owner,
        false,
    ) {
        Ok(_) => {
            done(&name, &img, src);
            Ok(())
        }
        Err(f) => Err(recover(&name, &saved.image, f)),
    }
}

/// Step 5: put the old queue back, or at least its image.
fn recover(name: &str, old: &Image, f: Fail) -> Fail {
    let me = nix::unistd::geteuid().as_raw();
    let owner =
        (old.uid != me || old.gid != nix::unistd::getegid().as_raw()).then_some((old.uid, old.gid));
    match build(
        name,
        old.mode,
        old.maxmsg,
        old.msgsize,
        &old.messages,
        owner,
        false,
    ) {
        Ok(_) => Fail::new(
            f.code,
            format!(
                "{}\nmqpeek: {name}: not replaced; the old queue was put back as it was",
                f.msg
            ),
        ),
        Err(f2) => {
            let saved = tempfile::Builder::new()
                .prefix("mqpeek-rescue-")
                .suffix(".img")
                .tempfile_in(std::env::temp_dir())
                .and_then(|mut t| {
                    t.write_all(&old.encode())?;
                    t.as_file().sync_all()?;
                    t.keep().map(|(_, p)| p).map_err(|e| e.error)
                });
            let where_ = match saved {
                Ok(p) => format!(
                    "its contents are saved in {} (mqpeek restore {} puts it back)",
                    p.display(),
                    p.display()
                ),
                Err(e) => format!("and its image could not be saved either: {e}"),
            };
            Fail::new(
                Code::Failure,
                format!(
                    "{}\nmqpeek: {name}: the old queue could not be re-created ({}); {where_}",
                    f.msg, f2.msg
                ),
            )
        }
    }
}

/// The order a queue receives `msgs` in when they are sent in this order: highest
/// priority first, first sent first within one priority.  (A dump's image is in that order
/// already; a hand-made one need not be.)
pub fn receive_order(msgs: &[Message]) -> Vec<Message> {
    let mut v = msgs.to_vec();
    v.sort_by_key(|m| std::cmp::Reverse(m.prio)); // stable
    v
}

fn done(name: &str, img: &Image, src: &str) {
    crate::note(&format!(
        "{name}: restored {} messages from {src}",
        img.messages.len()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_order_is_priority_then_fifo() {
        let m = |prio, d: &str| Message {
            prio,
            data: d.as_bytes().to_vec(),
        };
        let sent = vec![m(1, "a"), m(7, "b"), m(1, "c"), m(7, "d"), m(0, "e")];
        assert_eq!(
            receive_order(&sent),
            vec![m(7, "b"), m(7, "d"), m(1, "a"), m(1, "c"), m(0, "e")]
        );
    }

    #[test]
    fn queue_names() {
        assert_eq!(qname("q"), "/q");
        assert_eq!(qname("/q"), "/q");
        assert!(check_name("/q").is_ok());
        assert!(check_name("/").is_err());
        assert!(check_name("/a/b").is_err());
        assert!(check_name(&format!("/{}", "x".repeat(255))).is_ok());
        assert!(check_name(&format!("/{}", "x".repeat(256))).is_err());
    }
}
