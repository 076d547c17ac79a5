// SPDX-License-Identifier: GPL-2.0
//! `mqpeek list`: the queues, as util-linux 2.41's `lsipc -Q` lists them: the same
//! columns, headers, JSON keys and options (-b -c -e -g -J -l -N -n -o -P -r -t -y,
//! --noheadings, --notruncate, --time-format), in the order /dev/mqueue lists them.
//! Unlike lsipc, a queue the caller cannot open is still listed, with what its entry in
//! the filesystem says; mqpeek's own columns (MAXMSG, MSGSIZE, NOTIFY, SIGNO, NOTIFY_PID)
//! come only with -o.

use crate::cli;
use crate::error::{out, Code, Fail, Res};
use crate::mq::Queue;
use crate::table::{self, Col};
use crate::{names, ns};
use nix::errno::Errno;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// One row for the queue listed as `file` in `dir`.
fn row(dir: &ns::MqueueDir, file: &[u8]) -> Res<Option<table::Row>> {
    let mut name = b"/".to_vec();
    name.extend_from_slice(file);
    let shown = names::escape(&name);
    let path = dir.path().join(OsStr::from_bytes(file));
    let Ok(md) = std::fs::metadata(&path) else {
        return Ok(None); // unlinked meanwhile
    };
    let foreign = || {
        Fail::new(
            Code::Failure,
            format!(
                "{}: this mqueue filesystem belongs to another IPC namespace ({shown} there \
                 is not {shown} here); use --ipc-ns to choose the namespace",
                dir.path().display()
            ),
        )
    };
    match Queue::open(name.as_slice()) {
        Ok(q) => {
            // Everything from the descriptor, after checking it is the inode listed.
            let st = q.stat().map_err(|e| Fail::queue(&shown, e))?;
            if (st.st_dev, st.st_ino) != (md.dev(), md.ino()) {
                return Err(foreign());
            }
            let a = q.attr().map_err(|e| Fail::queue(&shown, e))?;
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

fn read_num(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `lsipc -Q -g`: the system-wide limits of POSIX queues (do_posix_msg_global()).
fn global(nqueues: usize, a: &cli::ListArgs) -> table::Table {
    let size = |v: u64| {
        if a.bytes {
            v.to_string()
        } else {
            table::human_size(v)
        }
    };
    let qmax = read_num("/proc/sys/fs/mqueue/queues_max");
    let used = nqueues as u64;
    let rows = [
        (
            "MQUMNI",
            "Number of POSIX message queues",
            qmax.to_string(),
            used.to_string(),
            format!("{:.2}%", used as f64 / qmax as f64 * 100.0),
        ),
        (
            "MQUMAX",
            "Max size of POSIX message (bytes)",
            size(read_num("/proc/sys/fs/mqueue/msgsize_max")),
            "-".into(),
            "-".into(),
        ),
        (
            "MQUMNB",
            "Number of messages in POSIX message queue",
            read_num("/proc/sys/fs/mqueue/msg_max").to_string(),
            "-".into(),
            "-".into(),
        ),
    ];
    let all = [
        ("RESOURCE", false),
        ("DESCRIPTION", false),
        ("LIMIT", true),
        ("USED", true),
        ("USE%", true),
    ];
    let named = |spec: &str| -> Vec<usize> {
        spec.split(',')
            .filter_map(|n| all.iter().position(|c| c.0.eq_ignore_ascii_case(n.trim())))
            .collect()
    };
    // lsipc 2.41 -Q -g keeps -Q's default columns in front of the limits, empty (null
    // in JSON): its -Q adds them before -g adds its own.  Kept, as its other quirks.
    // -o LIST replaces all of them, -o +LIST appends to all of them.
    let (empty, cols) = match a.output.as_deref() {
        Some(spec) => match spec.strip_prefix('+') {
            Some(more) => (
                table::DEFAULT.len(),
                (0..all.len()).chain(named(more)).collect(),
            ),
            None => (0, named(spec)),
        },
        None => (table::DEFAULT.len(), (0..all.len()).collect()),
    };
    table::Table {
        name: "ipclimits",
        heads: table::DEFAULT[..empty]
            .iter()
            .map(|&c| (table::desc(c).name, table::desc(c).right))
            .chain(cols.iter().map(|&i| all[i]))
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| {
                let v = [r.0.to_string(), r.1.to_string(), r.2, r.3, r.4];
                std::iter::repeat_n(None, empty)
                    .chain(cols.iter().map(|&i| Some(v[i].clone().into_bytes())))
                    .collect()
            })
            .collect(),
    }
}

pub fn list(a: &cli::ListArgs, private: bool) -> Res<()> {
    let mut cols = table::DEFAULT.to_vec();
    if a.creator {
        cols.extend([Col::Cuid, Col::Cgid]);
    }
    let pretty = a.name.is_some() && !(a.list || a.json || a.raw || a.export || a.newline);
    if let Some(spec) = a.output.as_deref().filter(|_| !a.global) {
        let c = table::parse_columns(spec).map_err(|e| Fail::new(Code::Usage, e))?;
        cols = if spec.starts_with('+') {
            let mut v = cols;
            v.extend_from_slice(&c[table::DEFAULT.len()..]);
            v
        } else {
            c
        };
    }
    let only: Option<Vec<u8>> = match a.name.as_deref().map(OsStr::as_bytes) {
        Some(n) if !n.starts_with(b"/") => {
            return Err(Fail::new(
                Code::Usage,
                format!("mqueue name must start with '/': {}", names::escape(n)),
            ))
        }
        Some(n) if n.len() < 2 || n.len() > 256 || n[1..].contains(&b'/') => {
            return Err(Fail::new(
                Code::Usage,
                format!(
                    "{}: not a queue name: a queue name is /NAME, at most 255 bytes, with no \
                     other '/'",
                    names::escape(n)
                ),
            ))
        }
        Some(n) => Some(n.to_vec()),
        None => None,
    };
    let dir = if private {
        ns::private_mqueue()?
    } else {
        ns::dev_mqueue()?
    };
    // In the order the filesystem lists them, as lsipc (readdir, unsorted).
    let files: Vec<Vec<u8>> = std::fs::read_dir(dir.path())
        .map_err(|e| Fail::io(dir.path().display(), e))?
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().as_bytes().to_vec())
        .filter(|f| only.as_ref().is_none_or(|n| n[1..] == f[..]))
        .collect();
    let mut rows = Vec::new();
    for f in &files {
        if let Some(r) = row(&dir, f)? {
            rows.push(r);
        }
    }
    if let Some(n) = &only {
        if rows.is_empty() {
            return Err(Fail::new(
                Code::NoSuchQueue,
                format!("mqueue {} not found", names::escape(n)),
            ));
        }
    }
    let mode = if a.json {
        table::Mode::Json
    } else if a.raw {
        table::Mode::Raw
    } else if a.export {
        table::Mode::Export
    } else if a.newline {
        table::Mode::Newline
    } else {
        table::Mode::Table
    };
    let copts = table::CellOpts {
        bytes: a.bytes,
        numeric_perms: a.numeric_perms,
        time: match a.time_format {
            Some(cli::TimeFormat::Short) => table::TimeFormat::Short,
            Some(cli::TimeFormat::Full) => table::TimeFormat::Full,
            Some(cli::TimeFormat::Iso) => table::TimeFormat::Iso,
            None if pretty => table::TimeFormat::Full,
            None => table::TimeFormat::Short,
        },
    };
    let ropts = table::Opts {
        mode,
        noheadings: a.noheadings,
        shellvar: a.shell,
    };
    let now = table::localtime(super::now_secs() as i64);
    let names = table::Names::load();
    let bytes = if a.global {
        table::render(&global(rows.len(), a), &ropts)
    } else if pretty {
        // lsipc --name: every column of the queue, one a line, in lsipc's column order.
        let r = &rows[0];
        let fields: Vec<(&str, Option<Vec<u8>>)> = table::COLS[..table::LSIPC]
            .iter()
            .map(|d| (d.pretty, table::cell(r, d.col, &copts, &names, &now)))
            .collect();
        table::pretty(&fields)
    } else {
        let t = table::Table {
            name: "posix-messages",
            heads: cols
                .iter()
                .map(|&c| (table::desc(c).name, table::desc(c).right))
                .collect(),
            rows: rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|&c| table::cell(r, c, &copts, &names, &now))
                        .collect()
                })
                .collect(),
        };
        table::render(&t, &ropts)
    };
    let mut o = io::stdout().lock();
    o.write_all(&bytes).and_then(|_| o.flush()).map_err(out)
}
