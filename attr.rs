// SPDX-License-Identifier: GPL-2.0

//! The user-space structures of F_MQ_PEEK and F_MQ_PEEK_BATCH, read and written as typed
//! `#[repr(C)]` values.
//!
//! Each mirrors a UAPI structure of the dev-kernel series field by field; compile-time
//! checks compare sizes and offsets with the bindings generated from the kernel's headers,
//! so a change on either side breaks the build instead of the ABI.

use core::mem::{offset_of, size_of};
use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    static_assert,
    types::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

/// `struct mq_peek_attr` as a 64-bit caller lays it out.
#[repr(C)]
#[derive(Clone, Copy)]
struct Attr {
    offset: i32,
    msg_prio: u32,
    buf_len: usize,
    buf: usize,
}

static_assert!(size_of::<Attr>() == size_of::<bindings::mq_peek_attr>());
static_assert!(offset_of!(Attr, offset) == offset_of!(bindings::mq_peek_attr, offset));
static_assert!(offset_of!(Attr, msg_prio) == offset_of!(bindings::mq_peek_attr, msg_prio));
static_assert!(offset_of!(Attr, buf_len) == offset_of!(bindings::mq_peek_attr, buf_len));
static_assert!(offset_of!(Attr, buf) == offset_of!(bindings::mq_peek_attr, buf));

// SAFETY: Integers only, without padding: every bit pattern is a valid `Attr`.
unsafe impl FromBytes for Attr {}

/// `struct mq_peek_attr` as a 32-bit caller lays it out (`struct compat_mq_peek_attr`).
#[cfg(CONFIG_COMPAT)]
#[repr(C)]
#[derive(Clone, Copy)]
struct CompatAttr {
    offset: i32,
    msg_prio: u32,
    buf_len: u32,
    buf: u32,
}

#[cfg(CONFIG_COMPAT)]
mod compat_layout {
    use super::*;
    type C = bindings::compat_mq_peek_attr;
    static_assert!(size_of::<CompatAttr>() == size_of::<C>());
    static_assert!(offset_of!(CompatAttr, offset) == offset_of!(C, offset));
    static_assert!(offset_of!(CompatAttr, msg_prio) == offset_of!(C, msg_prio));
    static_assert!(offset_of!(CompatAttr, buf_len) == offset_of!(C, buf_len));
    static_assert!(offset_of!(CompatAttr, buf) == offset_of!(C, buf));
    // `msg_prio` is where a 64-bit caller has it: one write-back serves both.
    static_assert!(offset_of!(CompatAttr, msg_prio) == offset_of!(Attr, msg_prio));
}

// SAFETY: Integers only, without padding: every bit pattern is a valid `CompatAttr`.
#[cfg(CONFIG_COMPAT)]
unsafe impl FromBytes for CompatAttr {}

/// A decoded F_MQ_PEEK request.
pub(crate) struct PeekRequest {
    /// The index in receive order; negative values are the caller's mistake (`EINVAL`).
    pub(crate) offset: i32,
    pub(crate) buf_len: usize,
    pub(crate) buf: UserPtr,
}

impl PeekRequest {
    /// Reads the caller's `struct mq_peek_attr`, in the 32-bit layout if `compat`.
    pub(crate) fn read(uattr: UserPtr, compat: bool) -> Result<PeekRequest> {
        #[cfg(CONFIG_COMPAT)]
        if compat {
            let a = UserSlice::new(uattr, size_of::<CompatAttr>())
                .reader()
                .read::<CompatAttr>()?;
            return Ok(PeekRequest {
                offset: a.offset,
                buf_len: a.buf_len as usize,
                buf: a.buf as UserPtr,
            });
        }
        let _ = compat;
        let a = UserSlice::new(uattr, size_of::<Attr>())
            .reader()
            .read::<Attr>()?;
        Ok(PeekRequest {
            offset: a.offset,
            buf_len: a.buf_len,
            buf: a.buf,
        })
    }

    /// Writes `msg_prio` back; no other byte of the caller's attr is written.
    pub(crate) fn write_prio(uattr: UserPtr, prio: u32) -> Result {
        put_u32(uattr.wrapping_add(offset_of!(Attr, msg_prio)), prio)
    }
}

// One `u32` from or to user space, each a single checked move (`get_user()`, `put_user()`,
// through helpers of the series' patch 9), where `UserSlice` would call `_copy_from_user()`
// or `_copy_to_user()` for four bytes: these are on every call's path.  Like `UserSlice`,
// they may fault and sleep, so no lock may be held.

/// Reads the `u32` at `ptr` in user space; `EFAULT` if it cannot be read.
fn get_u32(ptr: UserPtr) -> Result<u32> {
    let mut val = 0u32;
    // SAFETY: `get_user()` accepts any address: it refuses one outside user space
    // (`access_ok()`, or on x86-64 by clamping it) and turns a fault into `-EFAULT`; `ptr` is
    // never dereferenced here.  `val` is a live, aligned `u32` for it to write.
    to_result(unsafe { bindings::get_user_u32(&mut val, ptr as *const u32) })?;
    Ok(val)
}

/// Writes `val` to the `u32` at `ptr` in user space; `EFAULT` if it cannot be written.
fn put_u32(ptr: UserPtr, val: u32) -> Result {
    // SAFETY: `put_user()` accepts any address: it refuses one outside user space
    // (`access_ok()`, or on x86-64 by masking it) and turns a fault into `-EFAULT`; `ptr` is
    // never dereferenced here.
    to_result(unsafe { bindings::put_user_u32(val, ptr as *mut u32) })
}

/// `struct mq_peek_batch`: one layout for 32-bit and 64-bit callers, of which the caller
/// passes `size` bytes (at least [`BatchArgs::SIZE_VER0`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct BatchArgs {
    pub(crate) size: u32,
    pub(crate) flags: u32,
    pub(crate) buf: u64,
    pub(crate) buf_len: u64,
    pub(crate) offset: u64,
    used: u64,
    curmsgs: u64,
    queue_id: u64,
    changes: u64,
}

type B = bindings::mq_peek_batch;
static_assert!(size_of::<BatchArgs>() == size_of::<B>());
static_assert!(size_of::<BatchArgs>() == bindings::MQ_PEEK_BATCH_SIZE_VER0 as usize);
static_assert!(offset_of!(BatchArgs, size) == offset_of!(B, size));
static_assert!(offset_of!(BatchArgs, flags) == offset_of!(B, flags));
static_assert!(offset_of!(BatchArgs, buf) == offset_of!(B, buf));
static_assert!(offset_of!(BatchArgs, buf_len) == offset_of!(B, buf_len));
static_assert!(offset_of!(BatchArgs, offset) == offset_of!(B, offset));
static_assert!(offset_of!(BatchArgs, used) == offset_of!(B, used));
static_assert!(offset_of!(BatchArgs, curmsgs) == offset_of!(B, curmsgs));
static_assert!(offset_of!(BatchArgs, queue_id) == offset_of!(B, queue_id));
static_assert!(offset_of!(BatchArgs, changes) == offset_of!(B, changes));

// SAFETY: Integers only, without padding: every bit pattern is a valid `BatchArgs`.
unsafe impl FromBytes for BatchArgs {}

impl BatchArgs {
    /// `MQ_PEEK_BATCH_SIZE_VER0`, the first published size, which this module knows.
    pub(crate) const SIZE_VER0: usize = size_of::<BatchArgs>();

    /// Reads the caller's `struct mq_peek_batch` as `copy_struct_from_user()` does: `size`
    /// below the first published size is `EINVAL`; above `PAGE_SIZE`, or with a non-zero
    /// byte past the size known here, `E2BIG`.
    pub(crate) fn read(ubatch: UserPtr) -> Result<BatchArgs> {
        let size = get_u32(ubatch.wrapping_add(offset_of!(BatchArgs, size)))? as usize;
        if size < Self::SIZE_VER0 {
            return Err(EINVAL);
        }
        if size > kernel::page::PAGE_SIZE {
            return Err(E2BIG);
        }
        let mut r = UserSlice::new(ubatch, size).reader();
        let args = r.read::<BatchArgs>()?;
        // The tail a newer caller knows: its fields must be zero (not asked for).  Read in
        // pieces that never cross a page, so that the first byte that is either not zero
        // or not readable decides between E2BIG and EFAULT, as the man page says.
        let mut chunk = [0u8; 64];
        let mut at = ubatch.wrapping_add(size - r.len());
        while !r.is_empty() {
            let to_page = kernel::page::PAGE_SIZE - at % kernel::page::PAGE_SIZE;
            let n = r.len().min(chunk.len()).min(to_page);
            r.read_slice(&mut chunk[..n])?;
            if chunk[..n].iter().any(|&b| b != 0) {
                return Err(E2BIG);
            }
            at = at.wrapping_add(n);
        }
        Ok(args)
    }
}

/// The output fields of `struct mq_peek_batch`, contiguous from `used` on.
#[repr(C)]
pub(crate) struct BatchOut {
    pub(crate) used: u64,
    pub(crate) curmsgs: u64,
    pub(crate) queue_id: u64,
    pub(crate) changes: u64,
}

static_assert!(
    offset_of!(BatchArgs, curmsgs) - offset_of!(BatchArgs, used) == offset_of!(BatchOut, curmsgs)
);
static_assert!(
    offset_of!(BatchArgs, queue_id) - offset_of!(BatchArgs, used) == offset_of!(BatchOut, queue_id)
);
static_assert!(
    offset_of!(BatchArgs, changes) - offset_of!(BatchArgs, used) == offset_of!(BatchOut, changes)
);
static_assert!(offset_of!(BatchArgs, used) + size_of::<BatchOut>() == size_of::<BatchArgs>());

// SAFETY: Integers only, without padding: all bytes are initialised.
unsafe impl AsBytes for BatchOut {}

impl BatchOut {
    /// Writes the output fields back; the caller's input fields are not written.
    pub(crate) fn write(&self, ubatch: UserPtr) -> Result {
        UserSlice::new(
            ubatch.wrapping_add(offset_of!(BatchArgs, used)),
            size_of::<BatchOut>(),
        )
        .writer()
        .write(self)
    }
}

/// `struct mq_peek_record`, the header of each record of F_MQ_PEEK_BATCH.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Record {
    pub(crate) rec_len: u32,
    pub(crate) msg_prio: u32,
    pub(crate) msg_len: u64,
    pub(crate) data_len: u64,
}

type R = bindings::mq_peek_record;
static_assert!(size_of::<Record>() == size_of::<R>());
static_assert!(size_of::<Record>() == 24);
static_assert!(offset_of!(Record, rec_len) == offset_of!(R, rec_len));
static_assert!(offset_of!(Record, msg_prio) == offset_of!(R, msg_prio));
static_assert!(offset_of!(Record, msg_len) == offset_of!(R, msg_len));
static_assert!(offset_of!(Record, data_len) == offset_of!(R, data_len));
static_assert!(Record::ALIGN == bindings::MQ_PEEK_RECORD_ALIGN as usize);

// SAFETY: Integers only, without padding: all bytes are initialised.
unsafe impl AsBytes for Record {}

impl Record {
    /// The size of the header.
    pub(crate) const SIZE: usize = size_of::<Record>();
    /// Records start at multiples of this in the caller's buffer (`MQ_PEEK_RECORD_ALIGN`).
    pub(crate) const ALIGN: usize = 8;

    /// The header of a record of `data` payload bytes of a message of `len` bytes.
    pub(crate) fn new(prio: u32, len: usize, data: usize) -> Record {
        Record {
            // At most 24 + 16 MiB (`mq_msgsize`'s hard limit) + 7: this never truncates.
            rec_len: Self::len_of(data) as u32,
            msg_prio: prio,
            msg_len: len as u64,
            data_len: data as u64,
        }
    }

    /// `rec_len` of a record of `data` payload bytes: header, payload, padding.
    pub(crate) const fn len_of(data: usize) -> usize {
        // Saturating, not checked: no branch per record for an overflow that no length a
        // message can have comes near.
        align_record(data.saturating_add(Self::SIZE))
    }

    /// The header's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Record` is `AsBytes`: all of its `SIZE` bytes are initialised.
        unsafe { core::slice::from_raw_parts(core::ptr::from_ref(self).cast::<u8>(), Self::SIZE) }
    }
}

/// `n` rounded up to a multiple of [`Record::ALIGN`].
pub(crate) const fn align_record(n: usize) -> usize {
    n.saturating_add(Record::ALIGN - 1) & !(Record::ALIGN - 1)
}

/// The payload bytes of a first record in a buffer of `len >= Record::SIZE` bytes that
/// the message does not fit in whole: as many as fill the buffer, a multiple of 8.
pub(crate) const fn first_record_cap(len: usize) -> usize {
    (len - Record::SIZE) & !(Record::ALIGN - 1)
}
