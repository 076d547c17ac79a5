// SPDX-License-Identifier: GPL-2.0
//! `mqpeek restore`: re-create a queue from an image without ever losing one, even to a
//! SIGKILL at any instant, and without letting anyone see a half-built queue.
//!
//! POSIX queues cannot be renamed, so replacing one (`--force`) goes:
//!
//! 0. Leftovers of interrupted runs are reported (journals, backups) or removed
//!    (temporary queues and files, which never hold the only copy of anything).
//! 1. The image is checked whole (checksum, POSIX ranges, the namespace's and the
//!    caller's limits, and whether the caller may unlink the old queue) before anything
//!    is touched.  A journal naming the queue is written to the backup directory.
//! 2. The existing queue is read with F_MQ_PEEK(_BATCH) into a consistent copy, which is
//!    written as an image (0600, the caller's) to the backup directory, synced with the
//!    directory, and its path printed.  No durable copy, no replacement.
//! 3. The new queue is built under a temporary name `/.mqpeek-restore-PID-RANDOM`, created
//!    with mode 0 (no one but a privileged process can open it), filled, read back,
//!    given its owner and mode, and removed: this proves every step that can fail for a
//!    reason of the image or of the limits while the old queue is in place.
//! 4. The queue must still hold what the backup holds (else the backup is written
//!    again); then, as the last thing before mq_unlink(), the name must still be the
//!    queue copied (same device and inode), and it is unlinked.  If the name changed
//!    hands before that check, nothing is unlinked (exit 1).  mq_unlink() takes a name:
//!    a queue swapped in between the check and the unlink (a window of one open, one
//!    fstat and one close) is unlinked instead, and that cannot be detected afterwards.
//! 5. The queue is created under the name with mode 0, filled, read back and compared
//!    with the image, given its owner, and only then its mode: until that last step no
//!    unprivileged process can open it, so no consumer takes a message from a queue still
//!    being filled.  The backup and the journal are removed (`--keep-backup` keeps the
//!    backup).  A plain restore (no queue under the name) is this step alone.
//! 6. If step 5 fails, the old queue is re-created from the copy the same way; if even
//!    that fails, the backup's path is printed with the command that puts it back.
//!
//! A SIGKILL at any instant therefore leaves the old queue under the name, or the new one
//! complete, or a backup whose path was printed and which `mqpeek restore --force BACKUP`
//! puts back; the next restore reports it.  Messages sent to the old queue by processes
//! that keep it open after the unlink are not in the first backup (a second one is
//! written when the queue changed after the unlink).  A privileged process
//! (CAP_DAC_OVERRIDE) can open a queue of mode 0 and so could see one being built.

use crate::crash;
use crate::error::{Code, Fail, Res};
use crate::image::{Image, Message};
use crate::limits::{self, Limits, Problem};
use crate::mq::{self, Queue};
use crate::names::QName;
use crate::ns;
use crate::peek::{self, Range, Reader};
use crate::safefile;
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub struct Opts {
    pub file: PathBuf,
    pub name: Option<std::ffi::OsString>,
    pub force: bool,
    pub no_owner: bool,
    pub maxmsg: Option<i64>,
    pub msgsize: Option<i64>,
    pub dry_run: bool,
    pub backup_dir: Option<PathBuf>,
    pub keep_backup: bool,
}

fn read_num(path: &str, default: i64) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Whether capability number `cap` is in this process's effective set (CapEff).
fn has_cap(cap: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << cap) != 0)
}

/// CAP_SYS_RESOURCE (24): lifts msg_max and msgsize_max.
fn privileged() -> bool {
    has_cap(24)
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
fn create_fail(name: &QName, e: Errno, maxmsg: i64, msgsize: i64, both: bool) -> Fail {
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

/// What to build: the attributes, the messages in the order to send, mode and owner.
struct Target<'a> {
    mode: u32,
    maxmsg: i64,
    msgsize: i64,
    msgs: &'a [Message],
    owner: Option<(u32, u32)>,
}

/// Sends every message, reads the queue back and compares it with what was sent, gives
/// it its owner, and only then its mode: until then it has mode 0.
fn fill(q: &Queue, name: &QName, t: &Target) -> Res<()> {
    for (i, m) in t.msgs.iter().enumerate() {
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
        crash::step("sent a message");
    }
    let want = receive_order(t.msgs);
    let ok = match peek::probe(q, name) {
        Ok(method) => {
            let r = Reader { q, name, method };
            r.snapshot(Range::ALL, 1, "check of the new queue")?
                .messages
                == want
        }
        // No way to read it back without taking the messages: count them.
        Err(f) if f.code == Code::NoPeek => {
            q.attr().map_err(|e| Fail::queue(name, e))?.curmsgs == want.len() as i64
        }
        Err(f) => return Err(f),
    };
    if !ok {
        return Err(Fail::new(
            Code::Failure,
            format!("{name}: the new queue did not read back as the image"),
        ));
    }
    crash::step("read back");
    if let Some((uid, gid)) = t.owner {
        q.fchown(uid, gid).map_err(|e| {
            Fail::new(
                Code::Permission,
                format!(
                    "{name}: cannot give it to {uid}:{gid}: {} (use --no-owner to keep it yours)",
                    e.desc()
                ),
            )
        })?;
        crash::step("owner given");
    }
    // mq_open's mode is filtered by the umask, and was 0 anyway: set the image's exactly.
    q.fchmod(t.mode).map_err(|e| {
        Fail::new(
            Code::Permission,
            format!(
                "{name}: cannot set its mode to {:04o}: {}",
                t.mode,
                e.desc()
            ),
        )
    })?;
    crash::step("mode set");
    Ok(())
}

fn same(a: &Queue, b: &Queue) -> bool {
    match (a.stat(), b.stat()) {
        (Ok(x), Ok(y)) => (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino),
        _ => false,
    }
}

/// Unlinks `name` only if it still is the queue `q`.  A queue of ours with mode 0 cannot
/// be opened by an unprivileged owner to check: then only its entry in /dev/mqueue can.
fn unlink_ours(name: &QName, q: &Queue) {
    let ours = match Queue::open(name) {
        Ok(now) => same(&now, q),
        Err(Errno::EACCES) => match (ns::dev_mqueue(), q.stat()) {
            (Ok(d), Ok(st)) => std::fs::metadata(d.path().join(name.file()))
                .is_ok_and(|m| (m.dev(), m.ino()) == (st.st_dev, st.st_ino)),
            _ => false,
        },
        Err(_) => false,
    };
    if ours {
        let _ = mq::unlink(name);
    }
}

/// Creates `name` with mode 0 and fills it (see `fill`); removes it again if that fails.
fn build(name: &QName, t: &Target, both: bool) -> Res<Queue> {
    let q = Queue::create(name, 0, t.maxmsg, t.msgsize)
        .map_err(|e| create_fail(name, e, t.maxmsg, t.msgsize, both))?;
    crash::step("created with mode 0");
    if let Err(f) = fill(&q, name, t) {
        unlink_ours(name, &q);
        return Err(f);
    }
    Ok(q)
}

/// The prefix of the temporary queues of restore --force.
pub const TEMP_PREFIX: &str = ".mqpeek-restore-";

/// A temporary queue name no one can guess, with our PID so that the next run can tell
/// it is a leftover once we are gone.
fn temp_name() -> QName {
    QName::new(
        format!(
            "/{TEMP_PREFIX}{}-{:016x}",
            std::process::id(),
            safefile::random()
        )
        .into_bytes(),
    )
    .expect("a valid queue name")
}

/// The directory of backups and journals: --backup-dir, $MQPEEK_BACKUP_DIR, /var/tmp
/// (kept across reboots), or /tmp.
pub fn backup_dir(opt: Option<&Path>) -> PathBuf {
    if let Some(d) = opt {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os("MQPEEK_BACKUP_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if Path::new("/var/tmp").is_dir() {
        PathBuf::from("/var/tmp")
    } else {
        std::env::temp_dir()
    }
}

/// The old queue, as it was: enough to re-create it.
fn copy_of(name: &QName, q: &Queue) -> Res<Image> {
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
    let snap = r.snapshot(Range::ALL, 2, "copy of the existing queue")?;
    let st = q.stat().map_err(|e| Fail::queue(name, e))?;
    Ok(Image {
        version: crate::image::VERSION,
        name: name.as_bytes().to_vec(),
        maxmsg: snap.attr.maxmsg,
        msgsize: snap.attr.msgsize,
        mode: st.st_mode & 0o777,
        uid: st.st_uid,
        gid: st.st_gid,
        notify: None,
        qsize: Some(snap.messages.iter().map(|m| m.data.len() as u64).sum()),
        time: Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
        messages: snap.messages,
    })
}

/// Writes the image of the old queue durably to the backup directory; returns its path.
fn save(dir: &Path, img: &Image) -> Res<PathBuf> {
    let p = dir.join(format!(
        "mqpeek-backup-{}-{:016x}.img",
        std::process::id(),
        safefile::random()
    ));
    safefile::create_new(&p, &img.encode()).map_err(|e| {
        Fail::new(
            Code::Failure,
            format!(
                "{}: cannot save a copy of the existing queue in {}: {}; not replacing it \
                 (choose another directory with --backup-dir)",
                crate::names::escape(&img.name),
                dir.display(),
                crate::error::io_text(&e)
            ),
        )
    })?;
    crash::step("backup written and synced");
    Ok(p)
}

/// A note in the backup directory, for the whole of a restore, naming the queue: if the
/// process is killed, the next run knows which queue may be half-built.
struct Journal(PathBuf);

impl Journal {
    fn write(dir: &Path, name: &QName) -> Res<Journal> {
        let p = dir.join(format!(
            "mqpeek-restore-{}-{:016x}.journal",
            std::process::id(),
            safefile::random()
        ));
        let text = format!("mqpeek restore journal 1\nname {}\n", hex(name.as_bytes()));
        safefile::create_new(&p, text.as_bytes()).map_err(|e| {
            Fail::new(
                Code::Failure,
                format!(
                    "{name}: cannot write a journal in {}: {}; nothing was changed \
                     (choose another directory with --backup-dir)",
                    dir.display(),
                    crate::error::io_text(&e)
                ),
            )
        })?;
        crash::step("journal written");
        Ok(Journal(p))
    }

    fn read_name(p: &Path) -> Option<QName> {
        let t = std::fs::read_to_string(p).ok()?;
        let h = t.lines().find_map(|l| l.strip_prefix("name "))?;
        QName::new(unhex(h)?).ok()
    }

    fn remove(self) {
        let _ = std::fs::remove_file(&self.0);
        crash::step("journal removed");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Step 0: what interrupted runs (processes that are gone) left behind.  Temporary queues
/// and files are removed: they are never the only copy of anything.  Journals are
/// reported and removed; backups are reported and kept.
pub fn leftovers(dir: &Path) {
    let me = nix::unistd::geteuid().as_raw();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let fname = e.file_name();
        let Some(n) = fname.to_str() else { continue };
        let p = e.path();
        let ours = e.metadata().is_ok_and(|m| m.uid() == me && m.is_file());
        if let Some(pid) = safefile::pid_of(n, "mqpeek-restore-") {
            if !ours || safefile::alive(pid) || !n.ends_with(".journal") {
                continue;
            }
            let name = Journal::read_name(&p);
            let state = match name.as_ref().map(Queue::open) {
                Some(Ok(q)) if q.stat().is_ok_and(|s| s.st_mode & 0o777 == 0) => {
                    " (it has mode 0000: it may be half-built; restore it again)"
                }
                Some(Err(Errno::EACCES)) => {
                    " (you cannot open it: it may be half-built, mode 0000)"
                }
                _ => "",
            };
            crate::note(&format!(
                "a restore of {} by process {pid} was interrupted; check the queue{state}",
                name.map_or("a queue".into(), |n| n.to_string())
            ));
            let _ = std::fs::remove_file(&p);
        } else if let Some(pid) = safefile::pid_of(n, "mqpeek-backup-") {
            if !ours || safefile::alive(pid) || !n.ends_with(".img") {
                continue;
            }
            let name = std::fs::read(&p)
                .ok()
                .and_then(|b| Image::decode(&b).ok())
                .map_or("?".into(), |i| crate::names::escape(&i.name));
            crate::note(&format!(
                "{}: a backup of {name} left by an interrupted restore --force (process \
                 {pid}): 'mqpeek restore --force {}' puts that queue back; remove the file \
                 when you no longer need it",
                p.display(),
                p.display()
            ));
        }
    }
    for t in safefile::stale_temps(dir) {
        crate::note(&format!(
            "{}: removed a temporary file of an interrupted run",
            t.display()
        ));
    }
    if let Ok(d) = ns::dev_mqueue() {
        let Ok(rd) = std::fs::read_dir(d.path()) else {
            return;
        };
        for e in rd.flatten() {
            let fname = e.file_name();
            let Some(n) = fname.to_str() else { continue };
            let Some(pid) = safefile::pid_of(n, TEMP_PREFIX) else {
                continue;
            };
            if !safefile::alive(pid) && mq::unlink(format!("/{n}").as_str()).is_ok() {
                crate::note(&format!(
                    "/{n}: removed the temporary queue of an interrupted restore (process {pid})"
                ));
            }
        }
    }
}

/// CAP_FOWNER (3): may unlink others' queues in the sticky /dev/mqueue.
fn cap_fowner() -> bool {
    has_cap(3)
}

pub fn restore(o: &Opts) -> Res<()> {
    let dir = backup_dir(o.backup_dir.as_deref());
    if !o.dry_run {
        leftovers(&dir);
    }
    let (bytes, src) = super::read_image(&o.file)?;
    let src = src.as_str();
    let img =
        Image::decode(&bytes).map_err(|e| Fail::new(Code::BadImage, format!("{src}: {e}")))?;
    let name = match &o.name {
        Some(n) => QName::arg(n)?,
        None => QName::new(img.name.clone())?,
    };
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
    if let Some(q) = &old {
        // /dev/mqueue is sticky: only the queue's owner (or CAP_FOWNER) may unlink it.
        let st = q.stat().map_err(|e| Fail::queue(&name, e))?;
        if st.st_uid != me.0 && !cap_fowner() {
            return Err(Fail::new(
                Code::Permission,
                format!(
                    "{name}: cannot replace it: it belongs to uid {} and only its owner may \
                     remove it; nothing was changed",
                    st.st_uid
                ),
            ));
        }
    }
    let target = Target {
        mode: img.mode,
        maxmsg,
        msgsize,
        msgs: &img.messages,
        owner,
    };
    if o.dry_run {
        // Everything a real run does that can fail for a reason of the image, of the
        // limits or of the owner, on a temporary queue removed at once.
        trial(&name, &target, old.is_some())?;
        crate::note(&format!(
            "{name}: {src} can be restored ({} messages, maxmsg {maxmsg}, msgsize {msgsize}{}); \
             built and removed under a temporary name: nothing was changed",
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
    let journal = Journal::write(&dir, &name)?;
    let Some(old) = old else {
        let q = build(&name, &target, false)?;
        drop(q);
        journal.remove();
        done(&name, &img, src);
        return Ok(());
    };
    let r = replace(&name, &dir, old, &target, o.keep_backup);
    journal.remove();
    r?;
    done(&name, &img, src);
    Ok(())
}

/// Step 3: builds the new queue under a temporary name and removes it.
fn trial(name: &QName, target: &Target, both: bool) -> Res<()> {
    loop {
        let tname = temp_name();
        match build(&tname, target, both) {
            Err(f) if f.code == Code::Exists => continue,
            Err(f) => {
                return Err(Fail::new(
                    f.code,
                    format!(
                        "{}\nmqpeek: {name}: not replaced, it is unchanged",
                        f.msg.replace(&tname.to_string(), &name.to_string())
                    ),
                ))
            }
            Ok(t) => {
                unlink_ours(&tname, &t);
                crash::step("temporary queue removed");
                return Ok(());
            }
        }
    }
}

fn differs(a: &Image, b: &Image) -> bool {
    (a.maxmsg, a.msgsize, a.mode, a.uid, a.gid, &a.messages)
        != (b.maxmsg, b.msgsize, b.mode, b.uid, b.gid, &b.messages)
}

/// Steps 2 to 6 of restore --force.
fn replace(name: &QName, dir: &Path, old: Queue, target: &Target, keep: bool) -> Res<()> {
    // 2. A durable copy of the old queue, before anything else.
    let mut saved = copy_of(name, &old)?;
    let mut bpath = save(dir, &saved)?;
    crate::note(&format!(
        "{name}: the existing queue ({} messages) is saved in {}",
        saved.messages.len(),
        bpath.display()
    ));
    // 3. The new queue, proven under a temporary name.
    trial(name, target, true).inspect_err(|_| {
        let _ = std::fs::remove_file(&bpath);
    })?;
    // 4. Still holding what the backup holds (read through our own descriptor).
    for attempt in 0.. {
        let now = copy_of(name, &old)?;
        if !differs(&now, &saved) {
            break;
        }
        if attempt == peek::RETRIES {
            let _ = std::fs::remove_file(&bpath);
            return Err(Fail::new(
                Code::Busy,
                format!("{name}: the queue kept changing; not replaced, it is unchanged"),
            ));
        }
        let p = save(dir, &now)?;
        let _ = std::fs::remove_file(&bpath);
        crate::note(&format!(
            "{name}: it changed meanwhile; saved again in {}",
            p.display()
        ));
        (saved, bpath) = (now, p);
    }
    crash::step("contents checked again");
    {
        let _hold = HoldSignals::new();
        // Still the queue copied: checked as late as it can be, right before the unlink.
        // mq_unlink() takes a name, not a queue: a process that replaces the queue
        // between this check and the unlink (microseconds) makes us unlink its queue,
        // and nothing can tell afterwards which queue was unlinked.
        let hands = match Queue::open(name) {
            Ok(now) if same(&now, &old) => None,
            Ok(_) | Err(Errno::EACCES) => Some("was replaced by another queue"),
            Err(Errno::ENOENT) => Some("was removed by another process"),
            Err(e) => return Err(Fail::queue(name, e)),
        };
        if let Some(what) = hands {
            return Err(Fail::new(
                Code::Failure,
                format!(
                    "{name} {what} while the replacement was prepared: nothing was unlinked \
                     or created; the queue copied is saved in {}",
                    bpath.display()
                ),
            ));
        }
        mq::unlink(name).map_err(|e| {
            let f = Fail::queue(name, e);
            if e == Errno::ENOENT {
                return Fail::new(
                    Code::Failure,
                    format!(
                        "{name} was removed by another process while the replacement was \
                         prepared: nothing was unlinked or created; the queue copied is \
                         saved in {}",
                        bpath.display()
                    ),
                );
            }
            let _ = std::fs::remove_file(&bpath);
            Fail::new(
                f.code,
                format!("{}: cannot unlink it; it is unchanged", f.msg),
            )
        })?;
        crash::step("old queue unlinked");
        // What processes that still have the old queue open did after the copy.
        if let Ok(after) = copy_of(name, &old) {
            if differs(&after, &saved) {
                if let Ok(p) = save(dir, &after) {
                    crate::note(&format!(
                        "{name}: the old queue changed between the copy and the unlink; \
                         as it was at the unlink it is saved in {}",
                        p.display()
                    ));
                    let _ = std::fs::remove_file(&bpath);
                    (saved, bpath) = (after, p);
                }
            }
        }
        drop(old);
        // 5. The new queue under the name.
        match build(name, target, false) {
            Ok(_) => {}
            Err(f) => return Err(recover(name, &saved, &bpath, f)),
        }
    }
    if keep {
        crate::note(&format!(
            "{name}: the old queue stays saved in {}",
            bpath.display()
        ));
    } else {
        let _ = std::fs::remove_file(&bpath);
        crash::step("backup removed");
    }
    Ok(())
}

/// Step 6: put the old queue back, or say where its image is.
fn recover(name: &QName, old: &Image, bpath: &Path, f: Fail) -> Fail {
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let t = Target {
        mode: old.mode,
        maxmsg: old.maxmsg,
        msgsize: old.msgsize,
        msgs: &old.messages,
        owner: ((old.uid, old.gid) != me).then_some((old.uid, old.gid)),
    };
    match build(name, &t, false) {
        Ok(_) => {
            let _ = std::fs::remove_file(bpath);
            Fail::new(
                f.code,
                format!(
                    "{}\nmqpeek: {name}: not replaced; the old queue was put back as it was",
                    f.msg
                ),
            )
        }
        Err(f2) => Fail::new(
            Code::Failure,
            format!(
                "{}\nmqpeek: {name}: the old queue could not be re-created ({}); its contents \
                 are saved in {} ('mqpeek restore --force {}' puts it back)",
                f.msg,
                f2.msg,
                bpath.display(),
                bpath.display()
            ),
        ),
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

fn done(name: &QName, img: &Image, src: &str) {
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
}
