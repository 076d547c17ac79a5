// SPDX-License-Identifier: GPL-2.0
//! `mqpeek dump`: an image of a queue, written whole, 0600, never over a file by surprise.

use super::{now_secs, open_ro, reader};
use crate::cli;
use crate::error::{out, Code, Fail, Res};
use crate::image::{self, Image, Notify};
use crate::mq::Queue;
use crate::names::QName;
use crate::peek::Range;
use crate::{note, safefile};
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;

/// The queue process `pid` has open as `fd`, opened again through /proc (it may have been
/// unlinked), and the name to record: `name`, or the one /proc shows.
fn open_fd(pid: u32, fd: u32, name: Option<&OsStr>) -> Res<(Queue, QName)> {
    let path = format!("/proc/{pid}/fd/{fd}");
    let what = format!("--pid {pid} --fd {fd}");
    let f = std::fs::File::open(&path).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => Fail::new(
            Code::NoSuchQueue,
            format!("{what}: no such process or descriptor"),
        ),
        _ => Fail::io(&what, e),
    })?;
    let q = Queue::from_fd(f.into());
    // mq_getattr() fails with EBADF on anything but a queue.
    q.attr()
        .map_err(|_| Fail::new(Code::Usage, format!("{what}: not a POSIX message queue")))?;
    let name = match name {
        Some(n) => QName::arg(n)?,
        None => {
            // "/NAME" or "/NAME (deleted)" when unlinked; NAME is any bytes.
            let l = std::fs::read_link(&path).map_err(|e| Fail::io(&path, e))?;
            let l = l.as_os_str().as_bytes();
            let l = l.strip_suffix(b" (deleted)").unwrap_or(l);
            QName::new(l.to_vec()).map_err(|_| {
                Fail::new(
                    Code::Usage,
                    format!("{what}: no usable queue name in {path}; give one"),
                )
            })?
        }
    };
    Ok((q, name))
}

pub fn dump(a: &cli::DumpArgs) -> Res<()> {
    let to_stdout = a.output.as_os_str() == "-";
    if to_stdout && io::stdout().is_terminal() {
        return Err(Fail::new(
            Code::Usage,
            "refusing to write an image to a terminal (redirect standard output, or use -o FILE)",
        ));
    }
    let (q, name) = match (a.pid, a.fd) {
        (Some(pid), Some(fd)) => open_fd(pid, fd, a.name.as_deref())?,
        _ => {
            let name = QName::arg(a.name.as_deref().unwrap_or_default())?;
            (open_ro(&name)?, name)
        }
    };
    let r = reader(&q, &name)?;
    // F_MQ_PEEK_BATCH proves consistency by the queue's version; F_MQ_PEEK by two reads
    // that agree.
    let snap = r.snapshot(Range::ALL, 2, "dump")?;
    let st = q.stat().map_err(|e| Fail::queue(&name, e))?;
    let status = q.status().map_err(|e| Fail::queue(&name, e))?;
    let img = Image {
        version: image::VERSION,
        name: name.as_bytes().to_vec(),
        maxmsg: snap.attr.maxmsg,
        msgsize: snap.attr.msgsize,
        mode: st.st_mode & 0o777,
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
        let p = a.output.as_path();
        let shown = super::shown_path(p);
        let r = if a.force {
            safefile::replace(p, &bytes)
        } else {
            safefile::create_new(p, &bytes)
        };
        r.map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Fail::new(
                    Code::Exists,
                    format!("{shown}: exists: not overwriting it (use --force to replace it)"),
                )
            } else {
                Fail::io(&shown, e)
            }
        })?;
        shown
    };
    note(&format!(
        "{name}: {} messages, {} bytes written to {shown}",
        img.messages.len(),
        img.bytes()
    ));
    Ok(())
}
