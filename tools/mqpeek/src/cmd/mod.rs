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
use crate::peek::{self, Reader};

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn open_ro(name: &str) -> Res<Queue> {
    Queue::open(name).map_err(|e| Fail::queue(name, e))
}

pub fn reader<'a>(q: &'a Queue, name: &'a str) -> Res<Reader<'a>> {
    Ok(Reader {
        q,
        name,
        method: peek::probe(q, name)?,
    })
}
