// SPDX-License-Identifier: GPL-2.0

//! [`KBuf`]: a kernel byte buffer allocated as the RFC allocates its copy, `kvmalloc()`, in
//! one call to the allocator and freed in one.
//!
//! `KVVec::with_capacity()` gets the same memory, but through `Vec::reserve()`, the
//! allocator trait and `kvrealloc()`, and frees it through `kvrealloc(p, 0)`.  A peek of
//! more than [`crate::peek::SMALL`] bytes allocates on every call, and under `make bench`
//! those layers were a large part of why the module's 4 KiB peek cost 1.13× the C peer's
//! (median of six boots; 1.03× with this type and the one-hold copy of `peek.rs`).  Buffers
//! of at most a page come from `krealloc(NULL, ...)`, i.e. `kmalloc()`, which is all
//! `kvmalloc()` does for them; larger ones from `kvrealloc(NULL, ...)`, which tries
//! `kmalloc()` and then `kvmalloc()` with its `vmalloc()` fallback, as `KVVec` does.  Both
//! are the kernel crate's own helpers, so allocation profiling still tags them.

use core::{mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, prelude::*};

/// `PAGE_SIZE`: what `kvmalloc()` never serves from `vmalloc()`.
const PAGE: usize = bindings::PAGE_SIZE;

/// A buffer of `cap` bytes, of which the first `len` are initialised.
///
/// # Invariants
///
/// If `cap == 0`, `ptr` is dangling and nothing is allocated.  Otherwise `ptr` points to
/// `cap` bytes returned by `krealloc(NULL, cap, ..)` if `cap <= PAGE`, else by
/// `kvrealloc(NULL, cap, ..)`, owned by this value.  `len <= cap`, and the first `len`
/// bytes are initialised.
pub(crate) struct KBuf {
    ptr: NonNull<u8>,
    cap: usize,
    len: usize,
}

// SAFETY: `KBuf` owns its memory exclusively, as a `KVVec<u8>` does, and the memory may be
// freed from any task.
unsafe impl Send for KBuf {}

impl KBuf {
    /// Allocates `cap` bytes with `GFP_KERNEL`, or `ENOMEM`: may sleep.
    pub(crate) fn alloc(cap: usize) -> Result<Self> {
        Self::with_gfp(cap, bindings::GFP_KERNEL).ok_or(ENOMEM)
    }

    /// Allocates `cap` bytes, at most a page, without sleeping or warning
    /// (`GFP_NOWAIT | __GFP_NOWARN`), so under a spinlock; `None` if that fails, and the
    /// caller goes the way that does not need it.
    pub(crate) fn alloc_nowait(cap: usize) -> Option<Self> {
        if cap > PAGE {
            return None;
        }
        Self::with_gfp(cap, bindings::GFP_NOWAIT | bindings::__GFP_NOWARN)
    }

    fn with_gfp(cap: usize, gfp: bindings::gfp_t) -> Option<Self> {
        if cap == 0 {
            // INVARIANT: `cap == 0` with a dangling pointer.
            return Some(KBuf {
                ptr: NonNull::dangling(),
                cap,
                len: 0,
            });
        }
        let p = if cap <= PAGE {
            // SAFETY: `krealloc()` with a NULL pointer allocates; any size and flags are valid.
            unsafe { bindings::krealloc(core::ptr::null(), cap, gfp) }
        } else {
            // SAFETY: `kvrealloc()` with a NULL pointer allocates; any size and flags are valid.
            unsafe { bindings::kvrealloc(core::ptr::null(), cap, gfp) }
        };
        let ptr = NonNull::new(p.cast::<u8>())?;
        // INVARIANT: `ptr` is a fresh allocation of `cap` bytes from the function the
        // invariant names for `cap`; no byte is initialised and `len` is 0.
        Some(KBuf { ptr, cap, len: 0 })
    }

    /// The bytes allocated.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The bytes after the initialised ones, as `Vec::spare_capacity_mut()` gives them.
    pub(crate) fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: By the type invariant `ptr` points to `cap >= len` bytes owned by `self` (or
        // is dangling, and well aligned for bytes, if `cap` is 0), so `ptr + len` and the
        // `cap - len` bytes after it are inside them; `self` is borrowed mutably for the
        // slice's lifetime; `MaybeUninit` needs no initialisation.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.ptr.as_ptr().add(self.len).cast(),
                self.cap - self.len,
            )
        }
    }

    /// Records that the first `len` bytes are initialised.
    ///
    /// # Safety
    ///
    /// `len <= self.capacity()`, and the first `len` bytes have been written.
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        // INVARIANT: The caller promises `len <= cap` and that those bytes are initialised.
        self.len = len;
    }

    /// The bytes initialised.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The initialised bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: By the type invariant the first `len <= cap` bytes are initialised and
        // owned by `self` (none if `cap` is 0, with a dangling, aligned pointer), and `self`
        // is borrowed for the slice's lifetime.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for KBuf {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr().cast::<core::ffi::c_void>();
        if self.cap == 0 {
            // Nothing was allocated.
        } else if self.cap <= PAGE {
            // SAFETY: By the type invariant `p` came from `krealloc()` and is owned by `self`,
            // which is being dropped: nothing uses it afterwards.
            unsafe { bindings::kfree(p) };
        } else {
            // SAFETY: By the type invariant `p` came from `kvrealloc()` and is owned by
            // `self`, which is being dropped: nothing uses it afterwards.
            unsafe { bindings::kvfree(p) };
        }
    }
}
