// SPDX-License-Identifier: GPL-2.0
//! What a queue may look like: the POSIX and kernel ranges, and the limits of the caller
//! (the IPC namespace's /proc/sys/fs/mqueue/* and RLIMIT_MSGQUEUE), checked before a
//! restore touches anything.  The rules are the kernel's (ipc/mqueue.c, Linux 6.12):
//!
//! - `mq_maxmsg` and `mq_msgsize` must be positive; with CAP_SYS_RESOURCE they may go up
//!   to HARD_MSGMAX (65536) and HARD_MSGSIZEMAX (16 MiB), without it only up to
//!   `msg_max` and `msgsize_max`;
//! - a queue charges `maxmsg * (msgsize + sizeof(struct msg_msg)) + min(maxmsg,
//!   MQ_PRIO_MAX) * sizeof(struct posix_msg_tree_node)` bytes to its creator's
//!   RLIMIT_MSGQUEUE, privileged or not;
//! - `queues_max` bounds the number of queues in the namespace, except with
//!   CAP_SYS_RESOURCE;
//! - a priority must be below MQ_PRIO_MAX (32768).

use crate::image::Image;
use std::fmt;

pub const MQ_PRIO_MAX: u32 = 32768;
pub const HARD_MSGMAX: i64 = 65536;
pub const HARD_MSGSIZEMAX: i64 = 16 << 20;
/// sizeof(struct msg_msg) and sizeof(struct posix_msg_tree_node) on 64-bit kernels.
const MSG_MSG: u64 = 48;
const TREE_NODE: u64 = 48;

/// The caller's limits, as read from its IPC namespace and its resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub msg_max: i64,
    pub msgsize_max: i64,
    pub queues_max: u64,
    /// Soft RLIMIT_MSGQUEUE in bytes; None when unlimited.
    pub rlimit: Option<u64>,
    /// CAP_SYS_RESOURCE in the effective set.
    pub privileged: bool,
}

/// A reason why a queue cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Outside what POSIX or any Linux kernel accepts: the image is unusable as it is.
    Range(String),
    /// Over a limit of this caller or namespace: a privileged user, or other limits,
    /// could restore it.
    Limit(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Range(s) | Problem::Limit(s) => f.write_str(s),
        }
    }
}

/// Bytes a queue of these attributes charges to RLIMIT_MSGQUEUE (mqueue_get_inode()).
pub fn queue_bytes(maxmsg: i64, msgsize: i64) -> u64 {
    let (m, s) = (maxmsg.max(0) as u64, msgsize.max(0) as u64);
    m.saturating_mul(MSG_MSG)
        .saturating_add(m.min(u64::from(MQ_PRIO_MAX)) * TREE_NODE)
        .saturating_add(m.saturating_mul(s))
}

/// Every reason the queue of `img`, with attributes `maxmsg`/`msgsize`, cannot be created
/// and filled by a caller with `limits`.  Empty when it can, as far as can be known
/// before trying (RLIMIT_MSGQUEUE is shared with the caller's other queues).
pub fn check(img: &Image, maxmsg: i64, msgsize: i64, limits: &Limits) -> Vec<Problem> {
    let mut p = Vec::new();
    let range = |p: &mut Vec<Problem>, s: String| p.push(Problem::Range(s));
    if let Some((i, m)) = img
        .messages
        .iter()
        .enumerate()
        .find(|(_, m)| m.prio >= MQ_PRIO_MAX)
    {
        range(
            &mut p,
            format!(
                "message {i} has priority {}: priorities must be below MQ_PRIO_MAX ({MQ_PRIO_MAX})",
                m.prio
            ),
        );
    }
    if !(1..=HARD_MSGMAX).contains(&maxmsg) {
        range(
            &mut p,
            format!("mq_maxmsg {maxmsg} is outside 1..{HARD_MSGMAX}"),
        );
    }
    if !(1..=HARD_MSGSIZEMAX).contains(&msgsize) {
        range(
            &mut p,
            format!("mq_msgsize {msgsize} is outside 1..{HARD_MSGSIZEMAX}"),
        );
    }
    if img.messages.len() as i64 > maxmsg {
        range(
            &mut p,
            format!(
                "{} messages do not fit mq_maxmsg {maxmsg}",
                img.messages.len()
            ),
        );
    }
    if let Some((i, m)) = img
        .messages
        .iter()
        .enumerate()
        .find(|(_, m)| m.data.len() as i64 > msgsize)
    {
        range(
            &mut p,
            format!(
                "message {i} ({} bytes) does not fit mq_msgsize {msgsize}",
                m.data.len()
            ),
        );
    }
    if !limits.privileged {
        if maxmsg > limits.msg_max {
            p.push(Problem::Limit(format!(
                "mq_maxmsg {maxmsg} exceeds /proc/sys/fs/mqueue/msg_max ({})",
                limits.msg_max
            )));
        }
        if msgsize > limits.msgsize_max {
            p.push(Problem::Limit(format!(
                "mq_msgsize {msgsize} exceeds /proc/sys/fs/mqueue/msgsize_max ({})",
                limits.msgsize_max
            )));
        }
    }
    if let Some(rl) = limits.rlimit {
        let need = queue_bytes(maxmsg, msgsize);
        if need > rl {
            p.push(Problem::Limit(format!(
                "the queue needs {need} bytes of RLIMIT_MSGQUEUE, the limit is {rl}"
            )));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tests::sample;
    use crate::image::Message;

    const USER: Limits = Limits {
        msg_max: 10,
        msgsize_max: 8192,
        queues_max: 256,
        rlimit: Some(819200),
        privileged: false,
    };
    /// The same limits for a caller with CAP_SYS_RESOURCE.
    const PRIVILEGED: Limits = Limits {
        privileged: true,
        ..USER
    };
    /// ... and no RLIMIT_MSGQUEUE.
    const ROOT: Limits = Limits {
        rlimit: None,
        ..PRIVILEGED
    };

    #[test]
    fn sample_fits_a_privileged_user_only() {
        let img = sample(); // msgsize 9000
        assert_eq!(check(&img, 10, 9000, &PRIVILEGED), vec![]);
        let p = check(&img, 10, 9000, &USER);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(matches!(&p[0], Problem::Limit(s) if s.contains("msgsize_max (8192)")));
    }

    #[test]
    fn priority_must_be_below_mq_prio_max() {
        let mut img = sample();
        img.messages[1].prio = 32768;
        let p = check(&img, 10, 9000, &PRIVILEGED);
        assert!(
            matches!(&p[..], [Problem::Range(s)] if s.contains("message 1 has priority 32768"))
        );
        img.messages[1].prio = 32767;
        assert!(check(&img, 10, 9000, &PRIVILEGED).is_empty());
    }

    #[test]
    fn hard_limits_bind_root_too() {
        let img = Image {
            messages: vec![],
            ..sample()
        };
        assert!(check(&img, HARD_MSGMAX, HARD_MSGSIZEMAX, &ROOT).is_empty());
        assert!(matches!(
            &check(&img, HARD_MSGMAX + 1, 1, &ROOT)[..],
            [Problem::Range(_)]
        ));
        assert!(matches!(
            &check(&img, 1, HARD_MSGSIZEMAX + 1, &ROOT)[..],
            [Problem::Range(_)]
        ));
        assert!(matches!(&check(&img, 0, 1, &ROOT)[..], [Problem::Range(_)]));
    }

    #[test]
    fn overrides_must_still_hold_the_messages() {
        let img = sample(); // 3 messages, the largest 9000 bytes
        let p = check(&img, 2, 8999, &ROOT);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0]
            .to_string()
            .contains("3 messages do not fit mq_maxmsg 2"));
        assert!(p[1]
            .to_string()
            .contains("message 2 (9000 bytes) does not fit mq_msgsize 8999"));
    }

    #[test]
    fn rlimit_charge_is_the_kernels() {
        // 10 * (8192 + 48) + 10 * 48
        assert_eq!(queue_bytes(10, 8192), 82880);
        // more than MQ_PRIO_MAX messages: tree nodes are capped
        assert_eq!(queue_bytes(65536, 1), 65536 * 49 + 32768 * 48);
        let img = Image {
            messages: vec![Message {
                prio: 0,
                data: vec![1],
            }],
            ..sample()
        };
        let tight = Limits {
            rlimit: Some(82879),
            ..USER
        };
        let p = check(&img, 10, 8192, &tight);
        assert!(
            matches!(&p[..], [Problem::Limit(s)] if s.contains("82880 bytes of RLIMIT_MSGQUEUE, the limit is 82879"))
        );
        assert!(check(
            &img,
            10,
            8192,
            &Limits {
                rlimit: Some(82880),
                ..USER
            }
        )
        .is_empty());
    }
}
