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
//! Files: `queue.rs` is the only one that touches C structures, and `kbuf.rs` allocates the
//! calls' kernel buffers; `attr.rs` holds the UAPI structures; `cursor.rs` finds a message;
//! `peek.rs` and `batch.rs` are the two commands; `stats.rs` the counters and switches in
//! `/sys/kernel/debug/mq_peek/`; `param.rs` the `test_switches` parameter, for tests only.

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
mod kbuf;
mod param;
mod peek;
mod queue;
mod stats;

use core::ptr::addr_of;
use queue::Queue;
use stats::{Files, Stats};

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
        let test_switches = param::test_switches();
        if test_switches & !param::ALL != 0 {
            pr_err!("test_switches={test_switches:#x}: unknown switches\n");
            return Err(EINVAL);
        }
        let provider = KBox::pin_init(Provider::new(module, test_switches), GFP_KERNEL)?;
        if test_switches != 0 {
            pr_notice!("test_switches={test_switches:#x}: not as documented, for tests only\n");
        }
        pr_info!("F_MQ_PEEK provider registered\n");
        Ok(MqPeek {
            _provider: provider,
        })
    }
}

/// The provider of F_MQ_PEEK and F_MQ_PEEK_BATCH: the state its calls use, its registration
/// with the core, and the debugfs files of that state.
#[pin_data]
struct Provider {
    stats: Stats,
    /// Initialised after `stats`: a call may come in as soon as it is registered.
    #[pin]
    registration: Registration,
    /// Created only once the registration succeeded; dropped (removed) after it.
    #[pin]
    files: Files,
}

impl Provider {
    fn new(module: &'static ThisModule, test_switches: u32) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Provider {
            stats: Stats::new(test_switches),
            registration <- Registration::new(bindings::mq_peek_ops {
                peek: Some(peek_callback),
                peek_batch: Some(peek_batch_callback),
            }),
            // SAFETY: `stats` is initialised (fields are initialised in order) and pinned
            // with the provider, which outlives `files`.
            files <- unsafe { Files::new(module, addr_of!((*this.as_ptr()).stats)) },
        }? Error)
    }

    /// The provider whose ops the core passed to a callback.
    ///
    /// # Safety
    ///
    /// `ops` must be the ops of the `registration` of a live `Provider`, which stays live
    /// for `'a`.
    unsafe fn from_ops<'a>(ops: *const bindings::mq_peek_ops) -> &'a Provider {
        // SAFETY: Per the requirements, `ops` belongs to a `Registration`, itself the
        // `registration` field of a live `Provider`.
        unsafe {
            let registration = Registration::from_ops(ops);
            &*kernel::container_of!(registration, Provider, registration)
        }
    }
}

/// The registration of a provider with the core, as `MiscDeviceRegistration` is of a misc
/// device: registered when initialised, unregistered when dropped.
///
/// # Invariants
///
/// `ops` is registered with the core (`mq_peek_register()`) for the whole life of the
/// value.
#[pin_data(PinnedDrop)]
struct Registration {
    #[pin]
    ops: Opaque<bindings::mq_peek_ops>,
}

// SAFETY: Once registered the ops are only read, by the core, from any thread; unregistering
// may happen on any thread.
unsafe impl Send for Registration {}
// SAFETY: As above: a shared reference gives no way to write the ops.
unsafe impl Sync for Registration {}

impl Registration {
    /// Writes `ops` into their final, pinned place and registers them.  Fails (with nothing
    /// registered) if another provider is registered.
    fn new(ops: bindings::mq_peek_ops) -> impl PinInit<Self, Error> {
        let f = move |slot: *mut Opaque<bindings::mq_peek_ops>| {
            let raw = Opaque::raw_get(slot);
            // SAFETY: `slot` is valid for writes (the initialiser's contract), and `raw`
            // points into it.
            unsafe { raw.write(ops) };
            // SAFETY: `raw` points to initialised ops that stay pinned there until `drop`
            // unregisters them.
            to_result(unsafe { bindings::mq_peek_register(raw) })
        };
        // INVARIANT: The initialiser succeeds only if the ops were registered.
        try_pin_init!(Registration {
            // SAFETY: On `Ok` the slot is initialised (written above); on `Err` it need not
            // be: an `Opaque` may hold anything, and nothing was registered.
            ops <- unsafe { pin_init_from_closure(f) },
        }? Error)
    }

    /// The registration whose ops the core passed to a callback.
    ///
    /// # Safety
    ///
    /// `ops` must be the `ops` of a live `Registration`.
    unsafe fn from_ops(ops: *const bindings::mq_peek_ops) -> *const Registration {
        // `Opaque<T>` is a transparent wrapper of `T`: the field's address is the ops'.
        let ops = ops.cast::<Opaque<bindings::mq_peek_ops>>();
        // SAFETY: Per the requirements, `ops` is the `ops` field of a `Registration`.
        unsafe { kernel::container_of!(ops, Registration, ops) }
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `ops` is registered (type invariant).  Unregistering waits until no call
        // can still be running, so the provider's state may be torn down after this.
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
        // Switched off by `test_switches`: as if the kernel lacked the command.
        return EINVAL.to_errno() as c_long;
    }
    // SAFETY: See the function's safety requirements.
    let q = unsafe { Queue::from_file(file) };
    to_c_long(q.and_then(|q| batch::peek_batch(q, &provider.stats, ubatch as UserPtr)))
}
