// SPDX-License-Identifier: GPL-2.0
//! `mqpeek show`: the messages of a queue in receive order, without removing them.

use super::{open_ro, reader};
use crate::cli;
use crate::error::{out, Res};
use crate::names::QName;
use crate::peek::Range;
use crate::view;
use std::io::{self, Write};

pub fn show(a: &cli::ShowArgs) -> Res<()> {
    let name = QName::arg(&a.name)?;
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
