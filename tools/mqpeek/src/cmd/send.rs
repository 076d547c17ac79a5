// SPDX-License-Identifier: GPL-2.0
//! `mqpeek send`: send messages to a queue, creating it with --create.

use crate::cli;
use crate::error::{Code, Fail, Res};
use crate::mq::Queue;
use crate::names::QName;
use nix::errno::Errno;
use std::os::unix::ffi::OsStrExt;

pub fn send(a: &cli::SendArgs) -> Res<()> {
    let name = QName::arg(&a.name)?;
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
