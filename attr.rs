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
        UserSlice::new(
            uattr.wrapping_add(offset_of!(Attr, msg_prio)),
            size_of::<u32>(),
        )
        .writer()
        .write(&prio)
    }
}

/// `struct mq_peek_batch`: one layout for 32-bit and 64-bit callers.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct BatchArgs {
    pub(crate) buf: u64,
    pub(crate) buf_len: u64,
    pub(crate) offset: u32,
    pub(crate) flags: u32,
    used: u64,
    curmsgs: u64,
    generation: u64,
    mod_seq: u64,
    pub(crate) reserved: [u64; 3],
}

static_assert!(size_of::<BatchArgs>() == size_of::<bindings::mq_peek_batch>());
static_assert!(size_of::<BatchArgs>() == 80);
static_assert!(offset_of!(BatchArgs, buf) == offset_of!(bindings::mq_peek_batch, buf));
static_assert!(offset_of!(BatchArgs, buf_len) == offset_of!(bindings::mq_peek_batch, buf_len));
static_assert!(offset_of!(BatchArgs, offset) == offset_of!(bindings::mq_peek_batch, offset));
static_assert!(offset_of!(BatchArgs, flags) == offset_of!(bindings::mq_peek_batch, flags));
static_assert!(offset_of!(BatchArgs, used) == offset_of!(bindings::mq_peek_batch, used));
static_assert!(offset_of!(BatchArgs, curmsgs) == offset_of!(bindings::mq_peek_batch, curmsgs));
static_assert!(
    offset_of!(BatchArgs, generation) == offset_of!(bindings::mq_peek_batch, generation)
);
static_assert!(offset_of!(BatchArgs, mod_seq) == offset_of!(bindings::mq_peek_batch, mod_seq));
static_assert!(offset_of!(BatchArgs, reserved) == offset_of!(bindings::mq_peek_batch, reserved));

// SAFETY: Integers only, without padding: every bit pattern is a valid `BatchArgs`.
unsafe impl FromBytes for BatchArgs {}

impl BatchArgs {
    /// Reads the caller's `struct mq_peek_batch`.
    pub(crate) fn read(ubatch: UserPtr) -> Result<BatchArgs> {
        UserSlice::new(ubatch, size_of::<BatchArgs>())
            .reader()
            .read::<BatchArgs>()
    }
}

/// The output fields of `struct mq_peek_batch`, contiguous from `used` on.
#[repr(C)]
pub(crate) struct BatchOut {
    pub(crate) used: u64,
    pub(crate) curmsgs: u64,
    pub(crate) generation: u64,
    pub(crate) mod_seq: u64,
}

static_assert!(
    offset_of!(BatchArgs, curmsgs) - offset_of!(BatchArgs, used) == offset_of!(BatchOut, curmsgs)
);
static_assert!(
    offset_of!(BatchArgs, generation) - offset_of!(BatchArgs, used)
        == offset_of!(BatchOut, generation)
);
static_assert!(
    offset_of!(BatchArgs, mod_seq) - offset_of!(BatchArgs, used) == offset_of!(BatchOut, mod_seq)
);

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
    pub(crate) msg_len: u64,
    pub(crate) data_len: u64,
    pub(crate) msg_prio: u32,
    pub(crate) reserved: u32,
}

static_assert!(size_of::<Record>() == size_of::<bindings::mq_peek_record>());
static_assert!(offset_of!(Record, msg_len) == offset_of!(bindings::mq_peek_record, msg_len));
static_assert!(offset_of!(Record, data_len) == offset_of!(bindings::mq_peek_record, data_len));
static_assert!(offset_of!(Record, msg_prio) == offset_of!(bindings::mq_peek_record, msg_prio));

// SAFETY: Integers only, without padding: all bytes are initialised.
unsafe impl AsBytes for Record {}
// SAFETY: Integers only, without padding: every bit pattern is a valid `Record`.
unsafe impl FromBytes for Record {}

impl Record {
    /// The size of the header.
    pub(crate) const SIZE: usize = size_of::<Record>();
    /// Records start at multiples of this in the caller's buffer (`MQ_PEEK_RECORD_ALIGN`).
    pub(crate) const ALIGN: usize = 8;

    /// The header's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Record` is `AsBytes`: all of its `SIZE` bytes are initialised.
        unsafe { core::slice::from_raw_parts(core::ptr::from_ref(self).cast::<u8>(), Self::SIZE) }
    }

    /// The header stored at the start of `bytes`, which must hold at least `SIZE` bytes.
    pub(crate) fn parse(bytes: &[u8]) -> Record {
        let mut r = Record {
            msg_len: 0,
            data_len: 0,
            msg_prio: 0,
            reserved: 0,
        };
        let len = Self::SIZE.min(bytes.len());
        // SAFETY: `Record` is `FromBytes`, so any bytes make a valid value; at most `SIZE`
        // bytes are written into it, and `bytes` holds `len` of them.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                core::ptr::from_mut(&mut r).cast::<u8>(),
                len,
            )
        };
        r
    }
}

/// `n` rounded up to a multiple of [`Record::ALIGN`].
pub(crate) const fn align_record(n: usize) -> usize {
    n.saturating_add(Record::ALIGN - 1) & !(Record::ALIGN - 1)
}
