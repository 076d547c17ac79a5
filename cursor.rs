// SPDX-License-Identifier: GPL-2.0

//! Finding the message at an index in receive order.
//!
//! Walking from the head to index `k` costs `k` list steps under the queue's lock, so a
//! dump by offsets 0, 1, ..., n-1 costs O(n²).  Each queue remembers where its last peek
//! found its message (`struct mq_peek_pos`, patch 7 of the series, valid while the queue's
//! modification count is unchanged); a walk starts from the nearest of the head, the tail
//! and that position, so dumps in order or in reverse order cost O(n) in all, and a random
//! offset costs the distance to the nearest known position.

use crate::queue::{Guard, Pos};

/// Where to start walking to the message at `index` in a locked queue, and that start's
/// index; `None` if there is no such message.  With `use_cursor` off this is always the
/// head, as in the RFC.  Counts a cursor hit in `*hit`.
#[inline]
pub(crate) fn start<'g>(
    g: &'g Guard<'_>,
    index: usize,
    use_cursor: bool,
    hit: &mut bool,
) -> Option<(Pos<'g>, usize)> {
    let n = g.len();
    if index >= n {
        return None;
    }
    let head = (g.first()?, 0);
    if !use_cursor {
        return Some(head);
    }
    let mut best = (index, head);
    if n - 1 - index < best.0 {
        best = (n - 1 - index, (g.last()?, n - 1));
    }
    if let Some((pos, at)) = g.cursor() {
        let d = index.abs_diff(at);
        if d < best.0 || d == 0 {
            *hit = true;
            best = (d, (pos, at));
        }
    }
    Some(best.1)
}

/// Walks from `pos`, the message at index `at`, towards `index`, at most `budget` steps.
/// Returns where it stopped, that index and the steps taken, or `None` if the tree ended
/// first, which cannot happen while `index` is below the queue's length (as `start`
/// checked under the same version of the queue).
#[inline]
pub(crate) fn walk<'g>(
    mut pos: Pos<'g>,
    mut at: usize,
    index: usize,
    budget: usize,
) -> Option<(Pos<'g>, usize, usize)> {
    let mut steps = 0;
    while at != index && steps < budget {
        let forward = at < index;
        pos = pos.step(forward)?;
        if forward {
            at += 1;
        } else {
            at -= 1;
        }
        steps += 1;
    }
    Some((pos, at, steps))
}
