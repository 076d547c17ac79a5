// SPDX-License-Identifier: GPL-2.0
//! `mqpeek rm NAME...`: remove queues, as `ipcrm --posix-mqueue NAME` does: every name is
//! tried, each failure reported, and the exit status is that of the first failure.  A
//! name is any bytes (a queue someone else made need not have a UTF-8 name).

use crate::error::{Fail, Res};
use crate::names::QName;
use crate::{mq, note};
use std::ffi::OsString;

fn one(n: &OsString) -> Res<()> {
    let name = QName::arg(n)?;
    mq::unlink(&name).map_err(|e| {
        let f = Fail::queue(&name, e);
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
