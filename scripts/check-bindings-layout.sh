#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-bindings-layout.sh SRC BUILD - prove the Rust bindings match the C layouts.
#
# The kernel generates rust/bindings with --no-layout-tests.  Re-run its exact bindgen
# command with layout tests on and compile them: every size, alignment or field offset
# that differs between bindgen's view and clang's is a compile error.  The one accepted
# mismatch is `Alignment of slabobj_ext` (a zero-sized aligned struct no Rust code uses).
# Everything the module reads through bindings (mqueue_inode_info, msg_msg, ...) is covered.
set -euo pipefail
. "$(dirname "$0")/env.sh"
KB=$2	# $1, the source tree, is the one the build tree KB was configured from
T=$KB/layout-check
mkdir -p "$T"
cmd=$(sed -n 's/^savedcmd_rust\/bindings\/bindings_generated.rs := //p' \
	"$KB/rust/bindings/.bindings_generated.rs.cmd")
cmd=$(echo "$cmd" | sed -e 's/--rust-target 1.68/--rust-target 1.77/' -e 's/ --no-layout-tests//' \
	-e "s| -o rust/bindings/bindings_generated.rs| -o $T/layout.rs|" -e 's/-Wp,-MMD,[^ ]*//')
(cd "$KB" && eval "$cmd")
grep -q 'mqueue_inode_info' "$T/layout.rs" || { echo "layout: no mqueue bindings generated" >&2; exit 1; }
cat > "$T/lib.rs" <<'EOR'
#![no_std]
#![allow(warnings)]
pub mod ffi {
    pub use core::ffi::{c_int, c_long, c_longlong, c_schar, c_short, c_uchar, c_uint, c_ulong};
    pub use core::ffi::{c_ulonglong, c_ushort, c_void};
    pub type c_char = u8;
}
use ffi::*;
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;
include!("layout.rs");
EOR
"$RUSTC" --edition 2021 --crate-type lib --emit metadata -o "$T/out.rmeta" "$T/lib.rs" \
	2> "$T/errors.txt" || true
bad=$(grep -oE '"(Size|Alignment|Offset of field)[^"]*"' "$T/errors.txt" | sort -u |
	grep -v 'Alignment of slabobj_ext' || true)
if [ -n "$bad" ]; then
	echo "layout: Rust bindings disagree with C:" >&2
	echo "$bad" >&2
	exit 1
fi
other=$(grep -c '^error' "$T/errors.txt" || true)
echo "layout: bindings match C (checked $(grep -c 'offset_of!' "$T/layout.rs") field offsets; $other compile errors, all the accepted one)"
