// SPDX-License-Identifier: GPL-2.0

//! Finding the message at an index in receive order.
//!
//! Walking from the head to index `k` costs `k` list steps under the queue's lock, so a
//! dump by offsets 0, 1, ..., n-1 costs O(n²).  Each queue remembers where its last peek
//! found its message (`struct mq_peek_pos`, patch 7 of the series, valid while the queue's
//! change count is unchanged); a walk starts from the nearest of the head, the tail and
//! that position, so dumps in order or in reverse order cost O(n) in all, and a random
//! offset costs the distance to the nearest known position.

use crate::queue::{Guard, Pos, Saved};

/// Where a walk starts.
pub(crate) enum Start {
    /// The nearest of the head, the tail and the queue's last peek position.
    Nearest,
    /// The head, as the RFC does.
    Head,
    /// A position saved in an earlier hold, at this index; the walk fails (`None`) if the
    /// queue changed since.
    Saved(Saved, usize),
}

/// Where a walk stopped.
pub(crate) struct Found<'g> {
    /// The message reached, at index `at`: the one asked for unless the budget ran out.
    pub(crate) pos: Pos<'g>,
    pub(crate) at: usize,
    /// List steps walked.
    pub(crate) steps: usize,
    /// The walk started from the queue's last peek position.
    pub(crate) cursor_hit: bool,
}

/// Why there is no walk.
pub(crate) enum Lost {
    /// There is no message at the index (`ENOMSG`).
    NoMessage,
    /// The saved start is stale: the queue changed since it was saved.
    Changed,
}

impl<'q> Guard<'q> {
    /// Walks towards the message at `index`, from `from`, at most `budget` list steps.
    #[inline]
    pub(crate) fn find(&self, index: usize, from: Start, budget: usize) -> Result<Found<'_>, Lost> {
        let (mut pos, mut at, cursor_hit) = match from {
            Start::Saved(saved, at) => (self.resume(&saved).ok_or(Lost::Changed)?, at, false),
            Start::Head | Start::Nearest if index >= self.len() => return Err(Lost::NoMessage),
            Start::Head => (self.first().ok_or(Lost::NoMessage)?, 0, false),
            Start::Nearest => self.nearest(index).ok_or(Lost::NoMessage)?,
        };
        let mut steps = 0;
        while at != index && steps < budget {
            if at < index {
                pos = pos.move_next().ok_or(Lost::NoMessage)?;
                at += 1;
            } else {
                pos = pos.move_prev().ok_or(Lost::NoMessage)?;
                at -= 1;
            }
            steps += 1;
        }
        Ok(Found {
            pos,
            at,
            steps,
            cursor_hit,
        })
    }

    /// The nearest of the head, the tail and the last peek position to `index`, which is
    /// below the queue's length, with its index and whether it is the last peek position.
    fn nearest(&self, index: usize) -> Option<(Pos<'_>, usize, bool)> {
        let n = self.len();
        let mut best = (index, self.first()?, 0, false);
        if n - 1 - index < best.0 {
            best = (n - 1 - index, self.last()?, n - 1, false);
        }
        if let Some((pos, at)) = self.cursor() {
            let d = index.abs_diff(at);
            if d < best.0 || d == 0 {
                best = (d, pos, at, true);
            }
        }
        Some((best.1, best.2, best.3))
    }
}
