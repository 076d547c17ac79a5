// SPDX-License-Identifier: GPL-2.0
//! One file per subcommand.

pub mod dump;
pub mod inspect;
pub mod list;
pub mod restore;
pub mod rm;
pub mod send;
pub mod show;

use crate::error::{Fail, Res};
use crate::mq::Queue;
use crate::names::QName;
use crate::peek::{self, Reader};
use std::path::Path;

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn open_ro(name: &QName) -> Res<Queue> {
    Queue::open(name).map_err(|e| Fail::queue(name, e))
}

/// An image file named on the command line, or standard input for "-"; returns the
/// bytes and how to name the source in messages.
pub fn read_image(file: &Path) -> Res<(Vec<u8>, String)> {
    if file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| Fail::io("standard input", e))?;
        return Ok((b, "standard input".into()));
    }
    let shown = shown_path(file);
    let b = std::fs::read(file).map_err(|e| Fail::io(&shown, e))?;
    Ok((b, shown))
}

/// A file name as it can be printed: escaped as a queue name is (it may hold any bytes).
pub fn shown_path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    crate::names::escape(p.as_os_str().as_bytes())
}

pub fn reader<'a>(q: &'a Queue, name: &'a QName) -> Res<Reader<'a>> {
    Ok(Reader {
        q,
        name,
        method: peek::probe(q, name)?,
    })
}
