// SPDX-License-Identifier: GPL-2.0
//! `mqpeek rm NAME...`: remove queues, as `ipcrm --posix-mqueue NAME` does: every name is
//! tried, each failure reported, and the exit status is that of the first failure.  A
//! name is any bytes (a queue someone else made need not have a UTF-8 name).

use crate::error::{Code, Fail, Res};
use crate::{mq, names, note};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

fn one(n: &OsString) -> Res<()> {
    let b = n.as_bytes();
    let mut name = if b.starts_with(b"/") {
        vec![]
    } else {
        vec![b'/']
    };
    name.extend_from_slice(b);
    let shown = names::escape(&name);
    if name.len() < 2 || name.len() > 256 || name[1..].contains(&b'/') || name.contains(&0) {
        return Err(Fail::new(
            Code::Usage,
            format!("{shown}: not a queue name: a queue name is /NAME, at most 255 bytes, with no other '/'"),
        ));
    }
    mq::unlink(name.as_slice()).map_err(|e| {
        let f = Fail::queue(&shown, e);
        Fail::new(f.code, format!("failed to remove mqueue {}", f.msg))
    })
}

pub fn rm(list: &[OsString]) -> Res<()> {
    let mut first: Option<Fail> = None;
    for n in list {
        if let Err(f) = one(n) {
            note(&f.msg);
            first.get_or_insert(f.quiet());
        }
    }
    first.map_or(Ok(()), Err)
}
