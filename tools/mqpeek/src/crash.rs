// SPDX-License-Identifier: GPL-2.0
//! Numbered steps of the operations that replace or delete data, and a test hook that
//! kills the process at one of them.
//!
//! `MQPEEK_KILL_AT_STEP=K` makes mqpeek raise SIGKILL on itself right after step K (1 for
//! the first), so a test can stop `restore` after every step in turn, deterministically,
//! and check that no data was lost.  `MQPEEK_STOP_AT_STEP=WHAT` raises SIGSTOP after the
//! first step described as WHAT (the text `MQPEEK_TRACE_STEPS=1` prints), so a test can
//! act at that point (re-create the queue, say) and then let the process continue.
//! `MQPEEK_TRACE_STEPS=1` prints each step on standard error as it completes.  None of
//! them changes anything else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static DONE: AtomicUsize = AtomicUsize::new(0);

fn kill_at() -> Option<usize> {
    static K: OnceLock<Option<usize>> = OnceLock::new();
    *K.get_or_init(|| {
        std::env::var("MQPEEK_KILL_AT_STEP")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

fn trace() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::env::var_os("MQPEEK_TRACE_STEPS").is_some())
}

/// Marks the end of a step: what has just been done, durably as far as it goes.
pub fn step(what: &str) {
    let n = DONE.fetch_add(1, Ordering::SeqCst) + 1;
    if trace() {
        crate::note(&format!("step {n}: {what}"));
    }
    if kill_at() == Some(n) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    static STOPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if std::env::var("MQPEEK_STOP_AT_STEP").is_ok_and(|w| w == what)
        && !STOPPED.swap(true, Ordering::SeqCst)
    {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}
