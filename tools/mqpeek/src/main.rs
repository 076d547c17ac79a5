// SPDX-License-Identifier: GPL-2.0
//! mqpeek: list, show, dump and restore POSIX message queues without changing them.
//!
//! Reads queues with fcntl(F_MQ_PEEK_BATCH) or fcntl(F_MQ_PEEK) (mq_peek.ko).

mod cli;
mod crash;
mod docs;
mod error;
mod image;
mod limits;
mod mq;
mod names;
mod ns;
mod peek;
mod restore;
mod safefile;
mod table;
mod view;

use clap::Parser;
use cli::{Cli, Cmd};
use error::{out, Code, Fail, Res};
use image::{Image, Notify};
use mq::Queue;
use nix::errno::Errno;
use peek::{Range, Reader};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;

/// A message on standard error; never fails (a closed stderr must not stop a restore).
pub fn note(msg: &str) {
    let _ = io::stderr().write_all(format!("mqpeek: {msg}\n").as_bytes());
}

fn open_ro(name: &str) -> Res<Queue> {
    Queue::open(name).map_err(|e| Fail::queue(name, e))
}

fn reader<'a>(q: &'a Queue, name: &'a str) -> Res<Reader<'a>> {
    Ok(Reader {
        q,
        name,
        method: peek::probe(q, name)?,
    })
}

/// One row of `list` for the queue listed as `file` in `dir`.
fn row(dir: &ns::MqueueDir, file: &str) -> Res<Option<table::Row>> {
    let name = format!("/{file}");
    let path = dir.path().join(file);
    let Ok(md) = std::fs::metadata(&path) else {
        return Ok(None); // unlinked meanwhile
    };
    let foreign = || {
        Fail::new(
            Code::Failure,
            format!(
                "{}: this mqueue filesystem belongs to another IPC namespace ({name} there is \
                 not {name} here); use --ipc-ns to choose the namespace",
                dir.path().display()
            ),
        )
    };
    match Queue::open(&name) {
        Ok(q) => {
            // Everything from the descriptor, after checking it is the inode listed.
            let st = q.stat().map_err(|e| Fail::queue(&name, e))?;
            if (st.st_dev, st.st_ino) != (md.dev(), md.ino()) {
                return Err(foreign());
            }
            let a = q.attr().map_err(|e| Fail::queue(&name, e))?;
            let s = q.status().ok();
            Ok(Some(table::Row {
                name,
                mode: st.st_mode & 0o7777,
                uid: st.st_uid,
                gid: st.st_gid,
                mtime: st.st_mtime,
                qsize: s.map(|s| s.qsize),
                curmsgs: Some(a.curmsgs),
                maxmsg: Some(a.maxmsg),
                msgsize: Some(a.msgsize),
                notify: s.map(|s| (s.notify, s.signo, s.notify_pid)),
            }))
        }
        Err(Errno::ENOENT) if std::fs::metadata(&path).is_ok() && !dir.own() => Err(foreign()),
        Err(Errno::ENOENT) => Ok(None),
        // Not readable by us: what its entry in the filesystem says, nothing else.
        Err(_) => Ok(Some(table::Row {
            name,
            mode: md.permissions().mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            ..Default::default()
        })),
    }
}

fn list(a: &cli::ListArgs, private: bool) -> Res<()> {
    let cols = match &a.output {
        Some(spec) => table::parse_columns(spec).map_err(|e| Fail::new(Code::Usage, e))?,
        None => table::DEFAULT.to_vec(),
    };
    let dir = if private {
        ns::private_mqueue()?
    } else {
        ns::dev_mqueue()?
    };
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .map_err(|e| Fail::io(&dir.path().display().to_string(), e))?
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for f in &files {
        if let Some(r) = row(&dir, f)? {
            rows.push(r);
        }
    }
    let opts = table::Opts {
        mode: if a.json {
            table::Mode::Json
        } else if a.raw {
            table::Mode::Raw
        } else {
            table::Mode::Table
        },
        noheadings: a.noheadings,
        bytes: a.bytes,
        numeric_perms: a.numeric_perms,
        time: match a.time_format {
            cli::TimeFormat::Short => table::TimeFormat::Short,
            cli::TimeFormat::Full => table::TimeFormat::Full,
            cli::TimeFormat::Iso => table::TimeFormat::Iso,
        },
    };
    let now = table::localtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    );
    let s = table::render(&rows, &cols, &opts, &table::Names::load(), &now);
    let mut o = io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|_| o.flush())
        .map_err(out)
}

fn show(a: &cli::ShowArgs) -> Res<()> {
    let name = restore::arg_name(&a.name)?;
    let q = open_ro(&name)?;
    let r = reader(&q, &name)?;
    let snap = r.snapshot(
        Range {
            first: a.offset,
            count: a.count,
        },
        1,
        "read",
    )?;
    let v = view::View {
        format: a.format,
        full: a.full,
        json: a.json,
        prio: a.prio,
    };
    let header = format!(
        "{name}: {} messages (maxmsg {}, msgsize {})",
        snap.attr.curmsgs, snap.attr.maxmsg, snap.attr.msgsize
    );
    let mut o = io::BufWriter::new(io::stdout().lock());
    v.write(&mut o, Some(&header), snap.first, &snap.messages)
        .and_then(|_| o.flush())
        .map_err(out)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn dump(a: &cli::DumpArgs) -> Res<()> {
    let name = restore::arg_name(&a.name)?;
    let to_stdout = a.output == "-";
    if to_stdout && io::stdout().is_terminal() {
        return Err(Fail::new(
            Code::Usage,
            "refusing to write an image to a terminal (redirect standard output, or use -o FILE)",
        ));
    }
    let q = open_ro(&name)?;
    let r = reader(&q, &name)?;
    // F_MQ_PEEK_BATCH proves consistency by the queue's version; F_MQ_PEEK by two reads
    // that agree.
    let snap = r.snapshot(Range::ALL, 2, "dump")?;
    let st = q.stat().map_err(|e| Fail::queue(&name, e))?;
    let status = q.status().map_err(|e| Fail::queue(&name, e))?;
    let img = Image {
        version: image::VERSION,
        name: name.clone(),
        maxmsg: snap.attr.maxmsg,
        msgsize: snap.attr.msgsize,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        notify: Some(Notify {
            pid: status.notify_pid,
            notify: status.notify,
            signo: status.signo,
        }),
        qsize: Some(snap.messages.iter().map(|m| m.data.len() as u64).sum()),
        time: Some(now_secs()),
        messages: snap.messages,
    };
    let bytes = img.encode();
    let shown = if to_stdout {
        let mut o = io::stdout().lock();
        o.write_all(&bytes).and_then(|_| o.flush()).map_err(out)?;
        "standard output".to_string()
    } else {
        // 0600 and the caller's, whatever the queue's mode (which is in the image).
        let p = Path::new(&a.output);
        let r = if a.force {
            safefile::replace(p, &bytes)
        } else {
            safefile::create_new(p, &bytes)
        };
        r.map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Fail::new(
                    Code::Exists,
                    format!(
                        "{}: exists: not overwriting it (use --force to replace it)",
                        a.output
                    ),
                )
            } else {
                Fail::io(&a.output, e)
            }
        })?;
        a.output.clone()
    };
    note(&format!(
        "{name}: {} messages, {} bytes written to {shown}",
        img.messages.len(),
        img.bytes()
    ));
    Ok(())
}

fn notify_text(n: Option<Notify>) -> String {
    match n {
        None => "not recorded (version 1 image)".into(),
        Some(n) if n.pid == 0 => "none".into(),
        Some(n) => {
            let how = match n.notify {
                0 => format!("SIGEV_SIGNAL, signal {}", n.signo),
                1 => "SIGEV_NONE".into(),
                2 => "SIGEV_THREAD".into(),
                k => format!("sigev_notify {k}"),
            };
            format!("process {} ({how})", n.pid)
        }
    }
}

fn inspect(a: &cli::InspectArgs) -> Res<()> {
    let bytes = if a.file == "-" {
        let mut b = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut b)
            .map_err(|e| Fail::io("standard input", e))?;
        b
    } else {
        std::fs::read(&a.file).map_err(|e| Fail::io(&a.file, e))?
    };
    let img =
        Image::decode(&bytes).map_err(|e| Fail::new(Code::BadImage, format!("{}: {e}", a.file)))?;
    let mut o = io::BufWriter::new(io::stdout().lock());
    let v = view::View {
        format: a.format,
        full: a.full,
        json: a.json,
        prio: None,
    };
    if a.json {
        let mut msgs = Vec::new();
        v.write(&mut msgs, None, 0, &img.messages).map_err(out)?;
        let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&msgs)
            .lines()
            .map(|l| serde_json::from_str(l).expect("our own JSON"))
            .collect();
        let j = serde_json::json!({
            "image": a.file,
            "version": img.version,
            "name": img.name,
            "maxmsg": img.maxmsg,
            "msgsize": img.msgsize,
            "mode": format!("{:04o}", img.mode),
            "uid": img.uid,
            "gid": img.gid,
            "qsize": img.qsize,
            "notify_pid": img.notify.map(|n| n.pid),
            "notify": img.notify.map(|n| n.notify),
            "signo": img.notify.map(|n| n.signo),
            "time": img.time,
            "curmsgs": img.messages.len(),
            "bytes": img.bytes(),
            "messages": messages,
        });
        serde_json::to_writer_pretty(&mut o, &j).map_err(|e| out(e.into()))?;
        writeln!(o).and_then(|_| o.flush()).map_err(out)?;
        return Ok(());
    }
    let when = img.time.map_or("not recorded".into(), |t| {
        let now = table::localtime(now_secs() as i64);
        table::format_time(&table::localtime(t as i64), &now, table::TimeFormat::Iso)
    });
    let header = format!(
        "image:     {} (version {}, {} bytes)\n\
         name:      {}\n\
         maxmsg:    {}\n\
         msgsize:   {}\n\
         mode:      {:04o}\n\
         owner:     {}:{}\n\
         notify:    {}\n\
         dumped:    {when}\n\
         messages:  {} ({} bytes)",
        a.file,
        img.version,
        bytes.len(),
        img.name,
        img.maxmsg,
        img.msgsize,
        img.mode,
        img.uid,
        img.gid,
        notify_text(img.notify),
        img.messages.len(),
        img.bytes()
    );
    v.write(&mut o, Some(&header), 0, &img.messages)
        .and_then(|_| o.flush())
        .map_err(out)
}

fn send(a: &cli::SendArgs) -> Res<()> {
    let name = restore::arg_name(&a.name)?;
    if !a.create && (a.maxmsg.is_some() || a.msgsize.is_some() || a.mode.is_some()) {
        return Err(Fail::new(
            Code::Usage,
            "--maxmsg, --msgsize and --mode go with --create",
        ));
    }
    let (maxmsg, msgsize, mode) = (
        a.maxmsg.unwrap_or(10),
        a.msgsize.unwrap_or(8192),
        a.mode.unwrap_or(0o600),
    );
    let created = if a.create {
        match Queue::create(&name, 0o600, maxmsg, msgsize) {
            Ok(q) => {
                q.fchmod(mode).map_err(|e| Fail::queue(&name, e))?;
                Some(q)
            }
            Err(Errno::EEXIST) => None,
            Err(Errno::EINVAL) => {
                return Err(Fail::new(
                    Code::Limits,
                    format!(
                        "{name}: cannot create a queue of maxmsg {maxmsg} and msgsize {msgsize} \
                         (see /proc/sys/fs/mqueue)"
                    ),
                ))
            }
            Err(e) => return Err(Fail::queue(&name, e)),
        }
    } else {
        None
    };
    let q = match created {
        Some(q) => q,
        None => Queue::open_write(&name).map_err(|e| Fail::queue(&name, e))?,
    };
    if a.create {
        // It existed: the attributes asked for must be its own, not silently ignored.
        let at = q.attr().map_err(|e| Fail::queue(&name, e))?;
        let st = q.stat().map_err(|e| Fail::queue(&name, e))?;
        let mut diff = Vec::new();
        if a.maxmsg.is_some_and(|m| m != at.maxmsg) {
            diff.push(format!("maxmsg {} (not {maxmsg})", at.maxmsg));
        }
        if a.msgsize.is_some_and(|m| m != at.msgsize) {
            diff.push(format!("msgsize {} (not {msgsize})", at.msgsize));
        }
        if a.mode.is_some_and(|m| m != st.st_mode & 0o777) {
            diff.push(format!("mode {:04o} (not {mode:04o})", st.st_mode & 0o777));
        }
        if !diff.is_empty() {
            return Err(Fail::new(
                Code::Exists,
                format!("{name} exists with {}; nothing was sent", diff.join(", ")),
            ));
        }
    }
    for (i, m) in a.messages.iter().enumerate() {
        q.send(m.as_bytes(), a.prio).map_err(|e| {
            let f = match e {
                Errno::EAGAIN => Fail::new(Code::Limits, format!("{name}: the queue is full")),
                Errno::EMSGSIZE => Fail::new(
                    Code::Limits,
                    format!("{name}: a message of {} bytes is over mq_msgsize", m.len()),
                ),
                Errno::EINVAL => Fail::new(
                    Code::Usage,
                    format!("{name}: priority {} is not below 32768", a.prio),
                ),
                e => Fail::queue(&name, e),
            };
            Fail::new(
                f.code,
                format!("{}; {i} of {} messages were sent", f.msg, a.messages.len()),
            )
        })?;
    }
    Ok(())
}

fn run(cli: Cli) -> Res<()> {
    let queues = matches!(
        cli.cmd,
        Cmd::List(_) | Cmd::Show(_) | Cmd::Dump(_) | Cmd::Restore(_) | Cmd::Send(_)
    );
    if let Some(spec) = &cli.ipc_ns {
        if queues {
            ns::enter(spec)?;
        }
    }
    match cli.cmd {
        Cmd::List(a) => list(&a, cli.ipc_ns.is_some()),
        Cmd::Show(a) => show(&a),
        Cmd::Dump(a) => dump(&a),
        Cmd::Restore(a) => restore::restore(&restore::Opts {
            file: a.file,
            name: a.name,
            force: a.force,
            no_owner: a.no_owner,
            maxmsg: a.maxmsg,
            msgsize: a.msgsize,
            dry_run: a.dry_run,
            backup_dir: a.backup_dir,
            keep_backup: a.keep_backup,
        }),
        Cmd::Inspect(a) => inspect(&a),
        Cmd::Send(a) => send(&a),
        Cmd::Completions { shell } => {
            let mut o = io::stdout().lock();
            docs::completions(shell, &mut o)
                .and_then(|_| o.flush())
                .map_err(out)
        }
        Cmd::GenMan => {
            let mut o = io::stdout().lock();
            docs::man_page(&mut o).and_then(|_| o.flush()).map_err(out)
        }
    }
}

/// clap's own output (--help, --version, usage errors), written with its errors checked:
/// a failed write is a failure, EPIPE the quiet SIGPIPE exit.
fn clap_exit(e: clap::Error) -> ExitCode {
    let text = e.render().to_string();
    let code = e.exit_code();
    let w = if e.use_stderr() {
        let mut o = io::stderr().lock();
        o.write_all(text.as_bytes()).and_then(|_| o.flush())
    } else {
        let mut o = io::stdout().lock();
        o.write_all(text.as_bytes()).and_then(|_| o.flush())
    };
    match w {
        Ok(()) => ExitCode::from(code as u8),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => sigpipe(),
        Err(_) if code == 0 => ExitCode::from(Code::Failure as u8),
        Err(_) => ExitCode::from(code as u8),
    }
}

/// Ends as cat or ls would when the reader of standard output went away: by SIGPIPE,
/// quietly.  (Rust ignores SIGPIPE; only now is it safe to die of it.)
fn sigpipe() -> ExitCode {
    // SAFETY: restoring the default action of a signal has no preconditions.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGPIPE);
    ExitCode::from(128 + 13)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.broken_pipe => sigpipe(),
        Err(f) => {
            note(&f.msg);
            ExitCode::from(f.code as u8)
        }
    }
}
