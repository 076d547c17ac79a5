// SPDX-License-Identifier: GPL-2.0
//! mqpeek: list, inspect, dump and restore POSIX message queues.
//!
//! Reads queues with fcntl(F_MQ_PEEK) (mq_peek.ko), which never changes them.

mod image;
mod mq;

use clap::{Parser, Subcommand};
use image::{Image, Message};
use serde::Serialize;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "List, inspect, dump and restore POSIX message queues"
)]
struct Cli {
    /// Where the mqueue filesystem is mounted.
    #[arg(long, global = true, default_value = "/dev/mqueue")]
    mount: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every queue: name, mode, owner, maxmsg, msgsize, curmsgs, qsize, notification owner.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Every message of a queue in receive order: index, priority, length, preview.
    Show {
        name: String,
        /// All bytes, not just the first 16.
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write an image of the queue (attributes and messages); the queue is not changed.
    Dump {
        name: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Re-create a queue from an image so that it receives in the same order.
    Restore {
        file: PathBuf,
        /// Queue name to create (default: the name in the image).
        #[arg(long)]
        name: Option<String>,
        /// Replace an existing queue of that name.
        #[arg(long)]
        force: bool,
    },
}

/// A failure with the message the user sees.
struct Fail(String);

type Res<T> = Result<T, Fail>;

fn qname(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

fn os_err(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Explains an error of opening or reading a queue.
fn explain(name: &str, e: io::Error) -> Fail {
    Fail(match os_err(&e) {
        libc::ENOENT => format!("{name}: no such queue"),
        libc::EACCES | libc::EPERM => format!("{name}: permission denied"),
        _ => format!("{name}: {e}"),
    })
}

/// Explains an error of fcntl(F_MQ_PEEK).
fn explain_peek(name: &str, e: io::Error) -> Fail {
    match os_err(&e) {
        libc::EINVAL => Fail("F_MQ_PEEK is not available: load mq_peek.ko".into()),
        _ => explain(name, e),
    }
}

fn open_ro(name: &str) -> Res<mq::Queue> {
    mq::Queue::open(name, libc::O_RDONLY | libc::O_NONBLOCK).map_err(|e| explain(name, e))
}

/// One consistent read of every message, or None if the queue changed while reading.
fn read_all(q: &mq::Queue, name: &str) -> Res<Option<(mq::Attr, Vec<Message>)>> {
    let before = q.attr().map_err(|e| explain(name, e))?;
    let mut msgs = Vec::new();
    for off in 0.. {
        match q.peek(off).map_err(|e| explain_peek(name, e))? {
            Some((prio, data)) => msgs.push(Message { prio, data }),
            None => break,
        }
    }
    let after = q.attr().map_err(|e| explain(name, e))?;
    if before.curmsgs != after.curmsgs || msgs.len() as i64 != after.curmsgs {
        return Ok(None);
    }
    Ok(Some((after, msgs)))
}

fn owner_of(mount: &Path, name: &str) -> Res<std::fs::Metadata> {
    std::fs::metadata(mount.join(&name[1..])).map_err(|e| explain(name, e))
}

/// The QSIZE and NOTIFY_PID fields of the queue's file in the mqueue filesystem.
fn status_fields(path: &Path) -> (Option<u64>, Option<i64>) {
    let Ok(s) = std::fs::read_to_string(path) else {
        return (None, None);
    };
    let field = |key: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(key).and_then(|v| v.parse::<i64>().ok()))
    };
    (field("QSIZE:").map(|v| v as u64), field("NOTIFY_PID:"))
}

#[derive(Serialize)]
struct QueueInfo {
    name: String,
    mode: String,
    uid: u32,
    gid: u32,
    maxmsg: Option<i64>,
    msgsize: Option<i64>,
    curmsgs: Option<i64>,
    qsize: Option<u64>,
    notify_pid: Option<i64>,
}

fn list(mount: &Path, json: bool) -> Res<()> {
    let mut names: Vec<String> = std::fs::read_dir(mount)
        .map_err(|e| Fail(format!("{}: {e}", mount.display())))?
        .filter_map(|d| d.ok())
        .map(|d| format!("/{}", d.file_name().to_string_lossy()))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = mount.join(&name[1..]);
        let Ok(md) = std::fs::metadata(&path) else {
            continue; // unlinked meanwhile
        };
        let attr = mq::Queue::open(&name, libc::O_RDONLY | libc::O_NONBLOCK)
            .and_then(|q| q.attr())
            .ok();
        let (qsize, notify_pid) = status_fields(&path);
        out.push(QueueInfo {
            name,
            mode: format!("{:04o}", md.permissions().mode() & 0o7777),
            uid: md.uid(),
            gid: md.gid(),
            maxmsg: attr.map(|a| a.maxmsg),
            msgsize: attr.map(|a| a.msgsize),
            curmsgs: attr.map(|a| a.curmsgs),
            qsize,
            notify_pid: notify_pid.filter(|&p| p != 0),
        });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
        return Ok(());
    }
    let opt = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    println!(
        "{:<24} {:>5} {:>11} {:>7} {:>8} {:>8} {:>10} {:>7}",
        "NAME", "MODE", "OWNER", "MAXMSG", "MSGSIZE", "CURMSGS", "QSIZE", "NOTIFY"
    );
    for q in &out {
        println!(
            "{:<24} {:>5} {:>11} {:>7} {:>8} {:>8} {:>10} {:>7}",
            q.name,
            q.mode,
            format!("{}:{}", q.uid, q.gid),
            opt(q.maxmsg),
            opt(q.msgsize),
            opt(q.curmsgs),
            q.qsize.map_or("-".to_string(), |v| v.to_string()),
            opt(q.notify_pid)
        );
    }
    Ok(())
}

fn hex_ascii(data: &[u8]) -> String {
    let hex: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
    let ascii: String = data
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{:<48} |{}|", hex.join(" "), ascii)
}

#[derive(Serialize)]
struct MsgInfo {
    index: usize,
    priority: u32,
    length: usize,
    /// Hex of the first 16 bytes, or of all with --full.
    data_hex: String,
}

fn show(name: &str, full: bool, json: bool) -> Res<()> {
    let q = open_ro(name)?;
    let mut got = None;
    for _ in 0..5 {
        got = read_all(&q, name)?;
        if got.is_some() {
            break;
        }
    }
    let (attr, msgs) = got.ok_or_else(|| Fail(format!("{name}: the queue kept changing")))?;
    let shown = |m: &Message| {
        if full {
            m.data.len()
        } else {
            m.data.len().min(16)
        }
    };
    if json {
        let v: Vec<MsgInfo> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| MsgInfo {
                index: i,
                priority: m.prio,
                length: m.data.len(),
                data_hex: m.data[..shown(m)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
        return Ok(());
    }
    println!(
        "{name}: {} messages (maxmsg {}, msgsize {})",
        attr.curmsgs, attr.maxmsg, attr.msgsize
    );
    println!("{:>6} {:>6} {:>8}  DATA", "INDEX", "PRIO", "LENGTH");
    for (i, m) in msgs.iter().enumerate() {
        let first = &m.data[..m.data.len().min(16)];
        println!(
            "{:>6} {:>6} {:>8}  {}",
            i,
            m.prio,
            m.data.len(),
            hex_ascii(first)
        );
        if full {
            for (k, row) in m.data.chunks(16).enumerate().skip(1) {
                println!("{:>22}  {}", format!("+{:x}", k * 16), hex_ascii(row));
            }
        }
    }
    Ok(())
}

fn dump(mount: &Path, name: &str, output: &Path) -> Res<()> {
    let q = open_ro(name)?;
    // Two reads that agree make the image: a queue that changed between them (or during
    // either) is read again, at most a few times, and never written inconsistently.
    for _ in 0..5 {
        let Some((attr, first)) = read_all(&q, name)? else {
            eprintln!("mqpeek: {name} changed during the dump, reading it again");
            continue;
        };
        if read_all(&q, name)?.map(|(_, again)| again) != Some(first.clone()) {
            eprintln!("mqpeek: {name} changed during the dump, reading it again");
            continue;
        }
        let md = owner_of(mount, name)?;
        let img = Image {
            version: image::VERSION,
            name: name.to_string(),
            maxmsg: attr.maxmsg,
            msgsize: attr.msgsize,
            mode: md.permissions().mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            notify: None,
            qsize: None,
            time: None,
            messages: first,
        };
        let tmp = output.with_extension("mqpeek-tmp");
        let write = || -> io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&img.encode())?;
            f.sync_all()?;
            std::fs::rename(&tmp, output)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Fail(format!("{}: {e}", output.display()))
        })?;
        eprintln!(
            "mqpeek: {name}: {} messages, {} bytes written to {}",
            img.messages.len(),
            img.bytes(),
            output.display()
        );
        return Ok(());
    }
    Err(Fail(format!(
        "{name}: the queue kept changing during the dump; no image written"
    )))
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path).map_or("?".into(), |s| s.trim().to_string())
}

fn limits_hint() -> String {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is writable.
    unsafe { libc::getrlimit(libc::RLIMIT_MSGQUEUE, &mut rl) };
    format!(
        "limits: /proc/sys/fs/mqueue/msg_max = {}, msgsize_max = {}, queues_max = {}, RLIMIT_MSGQUEUE = {} bytes",
        read_proc("/proc/sys/fs/mqueue/msg_max"),
        read_proc("/proc/sys/fs/mqueue/msgsize_max"),
        read_proc("/proc/sys/fs/mqueue/queues_max"),
        rl.rlim_cur
    )
}

fn restore(mount: &Path, file: &Path, name: Option<String>, force: bool) -> Res<()> {
    let bytes = std::fs::read(file).map_err(|e| Fail(format!("{}: {e}", file.display())))?;
    let img = Image::decode(&bytes).map_err(|e| Fail(format!("{}: {e}", file.display())))?;
    let name = qname(name.as_deref().unwrap_or(&img.name));
    let create = || mq::Queue::create(&name, img.mode, img.maxmsg, img.msgsize);
    let q = match create() {
        Err(e) if os_err(&e) == libc::EEXIST && force => {
            mq::unlink(&name).map_err(|e| explain(&name, e))?;
            create()
        }
        Err(e) if os_err(&e) == libc::EEXIST => {
            return Err(Fail(format!(
                "{name} exists: not overwriting it (use --force to replace it)"
            )))
        }
        r => r,
    };
    let q = q.map_err(|e| match os_err(&e) {
        libc::EINVAL | libc::EMFILE | libc::ENOSPC | libc::ENOMEM => Fail(format!(
            "{name}: cannot create a queue of maxmsg {} and msgsize {}: {e}\n{}",
            img.maxmsg,
            img.msgsize,
            limits_hint()
        )),
        _ => explain(&name, e),
    })?;
    let fill = || -> Res<()> {
        // mq_open's mode is filtered by the umask: set the image's exactly.
        let path = mount.join(&name[1..]);
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(img.mode));
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if img.uid != euid || img.gid != unsafe { libc::getegid() } {
            if let Err(e) = q.fchown(img.uid, img.gid) {
                eprintln!(
                    "mqpeek: warning: {name}: cannot give it to {}:{}: {e}",
                    img.uid, img.gid
                );
            }
        }
        for (i, m) in img.messages.iter().enumerate() {
            q.send(&m.data, m.prio)
                .map_err(|e| Fail(format!("{name}: sending message {i}: {e}")))?;
        }
        Ok(())
    };
    if let Err(f) = fill() {
        let _ = mq::unlink(&name); // never leave half a queue behind
        return Err(f);
    }
    eprintln!(
        "mqpeek: {name}: restored {} messages from {}",
        img.messages.len(),
        file.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::List { json } => list(&cli.mount, json),
        Cmd::Show { name, full, json } => show(&qname(&name), full, json),
        Cmd::Dump { name, output } => dump(&cli.mount, &qname(&name), &output),
        Cmd::Restore { file, name, force } => restore(&cli.mount, &file, name, force),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(msg)) => {
            eprintln!("mqpeek: {msg}");
            ExitCode::FAILURE
        }
    }
}
