# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034	# sourced: the scripts use the variables
# env.sh - shared settings for the mq-peek scripts and the Makefile.
#
# The one place for pinned versions, cache locations and the make variables that the
# kernel build and the module build must share.  The scripts source it; the Makefile runs
# `bash scripts/env.sh NAME...`, which prints each variable (an array as its words).

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KPKG=6.12.117-1~deb12u1
RPKG=1.96.0+dfsg1-1~deb12u2
BINDGEN_VER=0.73.2
CACHE=${MQ_PEEK_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/mq-peek}
TOOLS=$CACHE/tools
BINDGEN=$TOOLS/bin/bindgen
# Debian's rustc-web, never rustup's: the kernel needs the core source of this exact rustc.
RUSTC=/usr/bin/rustc
RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
PROFILE=${PROFILE:-debug}
JOBS=${JOBS:-$(nproc)}
# Variables for every make invocation on the kernel tree (kernel and module alike).
KMAKE=(LLVM=-14 RUSTC="$RUSTC" HOSTRUSTC="$RUSTC" CLIPPY_DRIVER=/usr/bin/clippy-driver
	RUST_LIB_SRC="$RUST_LIB_SRC"
	BINDGEN="$BINDGEN")
# The mqpeek tool as the test VM runs it (`make tool-static`, tools/mqpeek/.cargo/config.toml).
MQPEEK=$TOP/tools/mqpeek/target/x86_64-unknown-linux-gnu/release/mqpeek

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	for _v in "$@"; do
		declare -n _r=$_v
		echo "${_r[*]}"
		unset -n _r
	done
fi
