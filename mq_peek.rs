// SPDX-License-Identifier: GPL-2.0

//! `fcntl(fd, F_MQ_PEEK, &attr)`: copy a message out of a POSIX message queue without
//! dequeuing it; and `fcntl(fd, F_MQ_PEEK_BATCH, &batch)`: copy as many as fit, with the
//! queue's version.
//!
//! This module is the provider of both commands on the mq-peek dev kernel: it registers with
//! `mq_peek_register()` (see `kernel/patches/`), and the core hands it every call inside an
//! SRCU read-side section, with the registered ops, from which the provider finds its state.
//! Without the module both commands fail with `EINVAL`, as any unknown `fcntl()` command
//! does.
//!
//! F_MQ_PEEK is the ABI of the RFC series "ipc/mqueue: add fcntl(F_MQ_PEEK) for
//! non-destructive message inspection" (`include/mq_peek.h` documents both commands for
//! user space):
//!
//! ```c
//! #include <mqueue.h>
//! #include <stdio.h>
//! #include "mq_peek.h"
//!
//! int main(void)
//! {
//!         mqd_t q = mq_open("/demo", O_RDWR | O_CREAT, 0600, NULL);
//!         char buf[8192];
//!         struct mq_peek_attr pa = { .offset = 0, .buf_len = sizeof(buf), .buf = buf };
//!         int n;
//!
//!         mq_send(q, "hello", 5, 3);
//!         n = fcntl(q, F_MQ_PEEK, &pa);          /* 5, pa.msg_prio == 3 */
//!         printf("%.*s (prio %u), still queued\n", n, buf, pa.msg_prio);
//!         return 0;
//! }
//! ```
//!
//! Beyond the RFC:
//! - the 32-bit layout of `struct mq_peek_attr` is read for compat callers;
//! - `buf == NULL && buf_len == 0` returns the full length of the message;
//! - a dump costs O(n), not O(n²) ([`cursor`]);
//! - the queue's lock is held for bounded time, never at the price of a failure, and small
//!   messages need no allocation ([`peek`]);
//! - F_MQ_PEEK_BATCH ([`batch`]).
//!
//! The queue is never changed: messages are copied into a kernel buffer under the queue's
//! spinlock with plain memory copies, the lock is dropped, and only then is user memory
//! touched.  Nothing is woken, no notification fires, no timestamp moves.
//!
//! Files: `queue.rs` is the only one that touches C structures; `attr.rs` holds the UAPI
//! structures; `cursor.rs` finds a message; `peek.rs` and `batch.rs` are the two commands;
//! `stats.rs` the counters and switches in `/sys/kernel/debug/mq_peek/`.

use kernel::{
    bindings,
    error::to_result,
    ffi::{c_long, c_void},
    init::pin_init_from_closure,
    prelude::*,
    types::Opaque,
    uaccess::UserPtr,
    ThisModule,
};

mod attr;
mod batch;
mod cursor;
mod peek;
mod queue;
mod stats;

use queue::Queue;
use stats::Stats;

module! {
    type: MqPeek,
    name: "mq_peek",
    author: "mq-peek developers",
    description: "fcntl(F_MQ_PEEK): non-destructive reads of POSIX message queues",
    license: "GPL",
}

struct MqPeek {
    _provider: Pin<KBox<Provider>>,
}

impl kernel::Module for MqPeek {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let provider = KBox::pin_init(Provider::new(module), GFP_KERNEL)?;
        pr_info!("F_MQ_PEEK provider registered\n");
        Ok(MqPeek {
            _provider: provider,
        })
    }
}

/// The registered provider of F_MQ_PEEK and F_MQ_PEEK_BATCH, with the state its calls use.
///
/// # Invariants
///
/// `ops` is registered with the core from the end of initialisation until `drop`.
#[pin_data(PinnedDrop)]
struct Provider {
    #[pin]
    stats: Stats,
    /// Initialised (and registered) after `stats`: a call may come in at once.
    #[pin]
    ops: Opaque<bindings::mq_peek_ops>,
}

// SAFETY: After initialisation `ops` is only read, by the core, and `stats` is atomics and
// debugfs state that is only touched at creation and in `drop`; so `Provider` may be used
// and dropped from any thread.
unsafe impl Send for Provider {}
// SAFETY: As above: shared references only ever read `ops` and update atomics.
unsafe impl Sync for Provider {}

impl Provider {
    fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Provider {
            stats <- Stats::new(module),
            ops <- register(),
        })
    }

    /// The provider whose `ops` the core passed to a callback.
    ///
    /// # Safety
    ///
    /// `ops` must be the `ops` of a live `Provider`, which stays live for `'a`.
    unsafe fn from_ops<'a>(ops: *const bindings::mq_peek_ops) -> &'a Provider {
        // `Opaque<T>` is a transparent wrapper of `T`: the field's address is the ops'.
        let ops = ops.cast::<Opaque<bindings::mq_peek_ops>>();
        // SAFETY: Per the requirements, `ops` is the `ops` field of a live `Provider`.
        unsafe { &*kernel::container_of!(ops, Provider, ops) }
    }
}

/// Writes the ops into their final, pinned place and registers them with the core.  On
/// failure nothing is registered (and `Opaque` may stay as it is).
fn register() -> impl PinInit<Opaque<bindings::mq_peek_ops>, Error> {
    let f = |slot: *mut Opaque<bindings::mq_peek_ops>| {
        let ops = Opaque::raw_get(slot);
        // SAFETY: `slot` is valid for writes (the initialiser's contract), and `ops` points
        // into it.  Once registered, the ops stay pinned there until `drop` unregisters them.
        unsafe {
            ops.write(bindings::mq_peek_ops {
                peek: Some(peek_callback),
                peek_batch: Some(peek_batch_callback),
            });
            to_result(bindings::mq_peek_register(ops))
        }
    };
    // SAFETY: On `Ok` the slot is initialised (written above); on `Err` it need not be: an
    // `Opaque` may hold anything, and nothing was registered.
    unsafe { pin_init_from_closure(f) }
}

#[pinned_drop]
impl PinnedDrop for Provider {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `ops` is registered (type invariant).  Unregistering waits until no call
        // can still be running, so `stats` may be torn down after this.
        unsafe { bindings::mq_peek_unregister(self.ops.get()) };
        pr_info!("F_MQ_PEEK provider unregistered\n");
    }
}

fn to_c_long(r: Result<usize>) -> c_long {
    match r {
        // At most `mq_msgsize` bytes (16 MiB) or as many records: this never truncates.
        Ok(n) => n as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `fcntl(fd, F_MQ_PEEK, uattr)`, called by the core.
///
/// # Safety
///
/// `ops` must be the ops registered by a `Provider`, and `file` an open file; the core
/// guarantees both for the duration of the call (the provider is unregistered only after
/// the call, and the caller's descriptor holds the file).
unsafe extern "C" fn peek_callback(
    ops: *const bindings::mq_peek_ops,
    file: *mut bindings::file,
    uattr: *mut c_void,
    compat: bool,
) -> c_long {
    // SAFETY: See the function's safety requirements.
    let (provider, q) = unsafe { (Provider::from_ops(ops), Queue::from_file(file)) };
    to_c_long(q.and_then(|q| peek::peek(q, &provider.stats, uattr as UserPtr, compat)))
}

/// `fcntl(fd, F_MQ_PEEK_BATCH, ubatch)`, called by the core.
///
/// # Safety
///
/// As for [`peek_callback`].
unsafe extern "C" fn peek_batch_callback(
    ops: *const bindings::mq_peek_ops,
    file: *mut bindings::file,
    ubatch: *mut bindings::mq_peek_batch,
) -> c_long {
    // SAFETY: See the function's safety requirements.
    let provider = unsafe { Provider::from_ops(ops) };
    if !provider.stats.peek_batch() {
        // Switched off in debugfs: as if the kernel lacked the command.
        return EINVAL.to_errno() as c_long;
    }
    // SAFETY: See the function's safety requirements.
    let q = unsafe { Queue::from_file(file) };
    to_c_long(q.and_then(|q| batch::peek_batch(q, &provider.stats, ubatch as UserPtr)))
}
