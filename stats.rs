// SPDX-License-Identifier: GPL-2.0

//! Counters and switches, the debugfs ones in `/sys/kernel/debug/mq_peek/`.
//!
//! Every file holds one unsigned number; writing sets it (0 resets a counter).
//!
//! - `stats` (default 0): while 1, the counters below are kept and every hold of a queue's
//!   lock is timed.  While 0 a call pays one relaxed load for all of it.
//! - `calls`, `cursor_hits`, `steps` (list steps walked), `fallbacks` (calls whose
//!   bounded holds were overtaken by a change of the queue and that finished in one hold),
//!   `max_hold_ns` (the longest single hold of a queue's lock), `holds_over_100us`,
//!   `max_hold_steps` and `max_hold_bytes` (the most list steps walked and payload bytes
//!   copied in a single hold: what the man page's bound on holding the lock is about).
//! - `use_cursor` (default 1): 0 makes F_MQ_PEEK walk from the head in one hold of the
//!   lock, as the RFC does (for `make bench`).
//!
//! None of them changes a call's result: the switches that do, for tests, are the
//! `test_switches` parameter ([`crate::param`]), fixed for the life of the module.
//!
//! The files are read and written through `simple_attr` with atomic loads and stores, so a
//! reader never races with the module's updates.

use crate::param;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{prelude::*, time::Ktime, ThisModule};
#[cfg(CONFIG_DEBUG_FS)]
use {
    core::ptr::addr_of,
    kernel::{
        bindings, c_str,
        ffi::{c_int, c_void},
        str::CStr,
        types::Opaque,
    },
};

/// The module's counters and switches; their files are [`Files`].
pub(crate) struct Stats {
    enabled: AtomicU64,
    pub(crate) calls: AtomicU64,
    pub(crate) cursor_hits: AtomicU64,
    pub(crate) steps: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    max_hold_ns: AtomicU64,
    holds_over_100us: AtomicU64,
    max_hold_steps: AtomicU64,
    max_hold_bytes: AtomicU64,
    use_cursor: AtomicU64,
    /// From `test_switches` (fixed at load time, no file): the length query is served.
    length_query: bool,
    /// From `test_switches`: F_MQ_PEEK_BATCH is served.
    peek_batch: bool,
}

impl Stats {
    /// Counters at zero, debugfs switches at their defaults, `test_switches` (the
    /// parameter's bits, [`crate::param`]) applied.
    pub(crate) fn new(test_switches: u32) -> Self {
        Stats {
            enabled: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            cursor_hits: AtomicU64::new(0),
            steps: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            max_hold_ns: AtomicU64::new(0),
            holds_over_100us: AtomicU64::new(0),
            max_hold_steps: AtomicU64::new(0),
            max_hold_bytes: AtomicU64::new(0),
            use_cursor: AtomicU64::new(1),
            length_query: test_switches & param::RFC_PEEK == 0,
            peek_batch: test_switches & param::NO_BATCH == 0,
        }
    }

    /// Every value with its file name.
    #[cfg(CONFIG_DEBUG_FS)]
    fn files(&self) -> [(&'static CStr, &AtomicU64); 10] {
        [
            (c_str!("stats"), &self.enabled),
            (c_str!("calls"), &self.calls),
            (c_str!("cursor_hits"), &self.cursor_hits),
            (c_str!("steps"), &self.steps),
            (c_str!("fallbacks"), &self.fallbacks),
            (c_str!("max_hold_ns"), &self.max_hold_ns),
            (c_str!("holds_over_100us"), &self.holds_over_100us),
            (c_str!("max_hold_steps"), &self.max_hold_steps),
            (c_str!("max_hold_bytes"), &self.max_hold_bytes),
            (c_str!("use_cursor"), &self.use_cursor),
        ]
    }

    /// Whether counters and hold times are being collected.
    #[inline]
    pub(crate) fn on(&self) -> bool {
        self.enabled.load(Relaxed) != 0
    }

    /// Adds `n` to `counter` while collecting.
    #[inline]
    pub(crate) fn add(&self, counter: &AtomicU64, n: u64) {
        if n != 0 && self.on() {
            counter.fetch_add(n, Relaxed);
        }
    }

    /// Whether F_MQ_PEEK resumes from the queue's last peek position and bounds its holds.
    pub(crate) fn use_cursor(&self) -> bool {
        self.use_cursor.load(Relaxed) != 0
    }

    /// Whether `buf == NULL, buf_len == 0` asks for a message's length.
    pub(crate) fn length_query(&self) -> bool {
        self.length_query
    }

    /// Whether F_MQ_PEEK_BATCH is served.
    pub(crate) fn peek_batch(&self) -> bool {
        self.peek_batch
    }

    /// A timer for one hold of a queue's lock, if collecting.
    #[inline]
    pub(crate) fn hold_timer(&self) -> Option<Ktime> {
        self.on().then(Ktime::ktime_get)
    }

    /// Records the end of a critical section started at `since` (`None` if statistics
    /// were off then), in which `steps` list steps were walked and `bytes` bytes copied.
    #[inline]
    pub(crate) fn section_done(&self, since: Option<Ktime>, steps: usize, bytes: usize) {
        if let Some(since) = since {
            self.record_section(since, steps as u64, bytes as u64);
        }
    }

    #[cold]
    fn record_section(&self, since: Ktime, steps: u64, bytes: u64) {
        let ns = u64::try_from((Ktime::ktime_get() - since).to_ns()).unwrap_or(0);
        self.steps.fetch_add(steps, Relaxed);
        // A plain load first: the read-modify-write is only needed for a new maximum.
        for (max, v) in [
            (&self.max_hold_ns, ns),
            (&self.max_hold_steps, steps),
            (&self.max_hold_bytes, bytes),
        ] {
            if v > max.load(Relaxed) {
                max.fetch_max(v, Relaxed);
            }
        }
        // Long holds are rare; counting them tells one stray maximum (an interrupt, a
        // virtual CPU descheduled by its host) from a pattern.
        if ns > 100_000 {
            self.holds_over_100us.fetch_add(1, Relaxed);
        }
    }
}

/// The debugfs directory of a [`Stats`], `/sys/kernel/debug/mq_peek/`, with one file per
/// value; removed when dropped.
#[cfg(CONFIG_DEBUG_FS)]
#[pin_data(PinnedDrop)]
pub(crate) struct Files {
    /// The `file_operations` of every file; pinned because debugfs keeps a pointer.
    #[pin]
    fops: Opaque<bindings::file_operations>,
    dir: Dir,
}

// SAFETY: After initialisation `fops` is only read, by debugfs, from any thread, and the
// directory may be removed from any thread (see `Dir`).
#[cfg(CONFIG_DEBUG_FS)]
unsafe impl Send for Files {}
// SAFETY: As above: a shared reference gives no way to write `fops` or use the directory.
#[cfg(CONFIG_DEBUG_FS)]
unsafe impl Sync for Files {}

/// The debugfs directory, or null (or an error pointer) if there is none.
#[cfg(CONFIG_DEBUG_FS)]
struct Dir(*mut bindings::dentry);

// SAFETY: The pointer is only passed to `debugfs_remove()`, which may be called from any
// thread.
#[cfg(CONFIG_DEBUG_FS)]
unsafe impl Send for Dir {}
// SAFETY: `&Dir` gives no access to the pointer outside this file, and nothing here uses it
// through a shared reference.
#[cfg(CONFIG_DEBUG_FS)]
unsafe impl Sync for Dir {}

#[cfg(CONFIG_DEBUG_FS)]
impl Files {
    /// Creates the files of `*stats`, owned by `module` (an open file pins the module, so
    /// the files' operations outlive every open file).
    ///
    /// # Safety
    ///
    /// `stats` must point to a `Stats` that stays where it is until the `Files` is dropped.
    pub(crate) unsafe fn new(
        module: &'static ThisModule,
        stats: *const Stats,
    ) -> impl PinInit<Self, Error> {
        let fops = bindings::file_operations {
            owner: module.as_ptr(),
            open: Some(open_value),
            release: Some(bindings::simple_attr_release),
            read: Some(bindings::debugfs_attr_read),
            write: Some(bindings::debugfs_attr_write),
            ..Default::default()
        };
        try_pin_init!(&this in Files {
            fops: Opaque::new(fops),
            // SAFETY: `fops` is initialised (fields are initialised in order) and pinned with
            // `this`, which `drop` outlives by removing the files first; `stats` stays put
            // (the safety requirement).
            dir: unsafe { Self::create(stats, addr_of!((*this.as_ptr()).fops)) },
        }? Error)
    }

    /// Creates the directory and one file per value of `*stats`.
    ///
    /// # Safety
    ///
    /// `stats` and `fops` must point to initialised values that stay where they are until
    /// the directory is removed.
    unsafe fn create(stats: *const Stats, fops: *const Opaque<bindings::file_operations>) -> Dir {
        // SAFETY: The name is a valid C string; a null parent means the debugfs root.
        let dir =
            unsafe { bindings::debugfs_create_dir(c_str!("mq_peek").as_char_ptr(), null_mut()) };
        // SAFETY: `stats` is initialised and stays put (the safety requirement).
        let stats = unsafe { &*stats };
        // SAFETY: As above, for `fops`.
        let fops = unsafe { (*fops).get() };
        for (name, value) in stats.files() {
            // SAFETY: `value` and `fops` live at fixed addresses until the directory is
            // removed (the safety requirement); `open_value` reads `value` as the
            // `AtomicU64` it is.  With an error pointer as parent the call does nothing.
            unsafe {
                bindings::debugfs_create_file_unsafe(
                    name.as_char_ptr(),
                    0o600,
                    dir,
                    core::ptr::from_ref(value).cast_mut().cast(),
                    fops,
                )
            };
        }
        Dir(dir)
    }
}

#[cfg(CONFIG_DEBUG_FS)]
#[pinned_drop]
impl PinnedDrop for Files {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `dir` came from `debugfs_create_dir` (null and error pointers are ignored).
        // Removal waits for reads and writes in progress; files still open afterwards fail
        // with EIO and pin the module, so nothing uses `fops` or the values after this.
        unsafe { bindings::debugfs_remove(self.dir.0) };
    }
}

/// Without debugfs there are no files; the values keep their defaults.
#[cfg(not(CONFIG_DEBUG_FS))]
pub(crate) struct Files;

#[cfg(not(CONFIG_DEBUG_FS))]
impl Files {
    /// Nothing to create.
    ///
    /// # Safety
    ///
    /// None needed; `unsafe` only to match the debugfs variant.
    pub(crate) unsafe fn new(
        _module: &'static ThisModule,
        _stats: *const Stats,
    ) -> impl PinInit<Self, Error> {
        Files
    }
}

#[cfg(CONFIG_DEBUG_FS)]
/// `open` of every file: a `simple_attr` over the `AtomicU64` in the inode's private data.
///
/// # Safety
///
/// Called by the VFS with a valid inode and file of one of our debugfs files.
unsafe extern "C" fn open_value(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Valid inode and file (the function's safety requirement); the format takes one
    // `u64`, which is what `get_value` produces.
    unsafe {
        bindings::simple_attr_open(
            inode,
            file,
            Some(get_value),
            Some(set_value),
            c_str!("%llu\n").as_char_ptr(),
        )
    }
}

#[cfg(CONFIG_DEBUG_FS)]
/// Reads a value for `simple_attr`.
///
/// # Safety
///
/// `data` must be the `AtomicU64` of a file created by `Stats::create_files`, and `val`
/// valid for a write.
unsafe extern "C" fn get_value(data: *mut c_void, val: *mut u64) -> c_int {
    // SAFETY: Per the requirements; debugfs keeps the file's users out once it is removed,
    // and it is removed before the value is freed.
    unsafe { *val = (*data.cast::<AtomicU64>()).load(Relaxed) };
    0
}

#[cfg(CONFIG_DEBUG_FS)]
/// Writes a value for `simple_attr`.
///
/// # Safety
///
/// `data` must be the `AtomicU64` of a file created by `Stats::create_files`.
unsafe extern "C" fn set_value(data: *mut c_void, val: u64) -> c_int {
    // SAFETY: As in `get_value`.
    unsafe { (*data.cast::<AtomicU64>()).store(val, Relaxed) };
    0
}

#[cfg(CONFIG_DEBUG_FS)]
fn null_mut<T>() -> *mut T {
    core::ptr::null_mut()
}
