// SPDX-License-Identifier: GPL-2.0

//! `test_switches`, the module's one parameter: switches for tests, not a production knob.
//!
//! Each bit makes the module behave as an older kernel would, so that user space (the
//! `mqpeek` tool, the tests) can be tested against such a kernel on this one:
//!
//! - [`RFC_PEEK`] (1): F_MQ_PEEK is exactly the RFC's: `buf == NULL, buf_len == 0` is
//!   `EINVAL` (no length query);
//! - [`NO_BATCH`] (2): F_MQ_PEEK_BATCH fails with `EINVAL`, as on a kernel without it.
//!
//! The parameter has permission 0: it is set only when the module is loaded
//! (`insmod mq_peek.ko test_switches=3`), has no file in `/sys/module/mq_peek/parameters/`
//! and cannot change while the module is loaded.  `init` reads it once, refuses unknown
//! bits and says on the console that the module is not behaving as documented.
//!
//! 6.12's `module!` has no parameters: this is, field by field, the `struct kernel_param`
//! and the `.modinfo` strings that C's `module_param(test_switches, uint, 0)` and
//! `MODULE_PARM_DESC()` emit.

use kernel::{
    bindings,
    ffi::{c_uint, c_void},
};

/// F_MQ_PEEK without the length query, as the RFC.
pub(crate) const RFC_PEEK: u32 = 1;
/// No F_MQ_PEEK_BATCH.
pub(crate) const NO_BATCH: u32 = 2;
/// Every known switch.
pub(crate) const ALL: u32 = RFC_PEEK | NO_BATCH;

/// The parameter's value: written by the module loader (`param_ops_uint`) before `init`
/// runs, and never again (permission 0: no sysfs file).
static mut TEST_SWITCHES: c_uint = 0;

/// The value of `test_switches` given at load time.
///
/// Only for `init`: the loader has finished with the value by then.
pub(crate) fn test_switches() -> u32 {
    // SAFETY: The loader parses the parameters before calling `init`, and with permission 0
    // nothing writes the value afterwards: this read races with no write.
    unsafe { core::ptr::read(&raw const TEST_SWITCHES) }
}

/// A `kernel_param` in a static: the loader only reads it.
#[repr(transparent)]
struct Param(bindings::kernel_param);

// SAFETY: The value is never changed after it is built; the loader reads it (and writes
// only through `arg`, before `init`).
unsafe impl Sync for Param {}

// Only the symbol's address is taken, never its value. Without CONFIG_LOCKDEP `struct
// module` holds an empty `struct lockdep_map`, which rustc calls not FFI-safe.
#[cfg(MODULE)]
#[allow(improper_ctypes)]
extern "C" {
    /// The module itself, as `module!` declares it for `THIS_MODULE`.
    static __this_module: kernel::types::Opaque<bindings::module>;
}

#[cfg(MODULE)]
const THIS_MODULE: *mut bindings::module = (&raw const __this_module)
    .cast::<bindings::module>()
    .cast_mut();
#[cfg(not(MODULE))]
const THIS_MODULE: *mut bindings::module = core::ptr::null_mut();

/// `module_param(test_switches, uint, 0)`: found by the loader in the `__param` section.
#[used(compiler)]
#[link_section = "__param"]
static PARAM: Param = Param(bindings::kernel_param {
    name: c"test_switches".as_ptr().cast(),
    mod_: THIS_MODULE,
    ops: &raw const bindings::param_ops_uint,
    perm: 0,
    level: -1,
    flags: 0,
    __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
        arg: (&raw mut TEST_SWITCHES).cast::<c_void>(),
    },
});

/// Copies a string into an array, for the `.modinfo` statics.
const fn modinfo<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let mut i = 0;
    while i < N {
        a[i] = s[i];
        i += 1;
    }
    a
}

const PARM: &[u8] =
    b"parm=test_switches:for tests only: 1 no length query (as the RFC), 2 no F_MQ_PEEK_BATCH\0";
const PARMTYPE: &[u8] = b"parmtype=test_switches:uint\0";

/// `MODULE_PARM_DESC()`, for `modinfo`.
#[cfg(MODULE)]
#[used(compiler)]
#[link_section = ".modinfo"]
static PARM_DESC: [u8; PARM.len()] = modinfo(PARM);

/// The type `module_param()` records, for `modinfo`.
#[cfg(MODULE)]
#[used(compiler)]
#[link_section = ".modinfo"]
static PARM_TYPE: [u8; PARMTYPE.len()] = modinfo(PARMTYPE);
