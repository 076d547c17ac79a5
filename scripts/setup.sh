#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# setup.sh - install what mq-peek needs on a Debian 12 machine, idempotently.
#
# Debian packages (the 6.12 kernel source, a matching rustc/core-source pair, clang-14 for
# KASAN+Rust builds, QEMU, busybox-static, gcc-multilib for -m32 tests, mandoc and man to
# check the man page, CRIU's build dependencies for scripts/build-criu.sh) and bindgen-cli from
# crates.io at a pinned version.  Prints what it installs; does nothing when all is present.
set -euo pipefail
. "$(dirname "$0")/env.sh"

PKGS=(
	"linux-source-6.12=$KPKG" "rustc-web=$RPKG" "rust-web-src=$RPKG"
	"libstd-rust-web-dev=$RPKG" "cargo-web=$RPKG"
	build-essential libc6-dev gcc-multilib flex bison bc libelf-dev libssl-dev
	cpio kmod dwarves rsync python3 xz-utils
	"rust-web-clippy=$RPKG" libclang-dev clang-14 lld-14 llvm-14
	qemu-system-x86 busybox-static
	mandoc man-db
	libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
	python3-protobuf libnl-3-dev libnl-route-3-dev libnet1-dev libcap-dev pkg-config
	libbsd-dev libgnutls28-dev libaio-dev uuid-dev git
)

missing=()
for p in "${PKGS[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	[ "$want" = "$p" ] && want=
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	# A package whose triggers have not run yet (man-db, after any install) is installed.
	case "$have" in
	"install ok installed $want"* | "install ok triggers-pending $want"* | \
		"install ok triggers-awaited $want"*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || { echo "setup: need root for apt-get" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VER\$"; then
	echo "setup: installing bindgen-cli $BINDGEN_VER into $TOOLS"
	RUSTC=/usr/bin/rustc /usr/bin/cargo install -q bindgen-cli --version "$BINDGEN_VER" \
		--locked --root "$TOOLS"
fi

test -f "$RUST_LIB_SRC/core/src/lib.rs" || {
	echo "setup: rust core source missing at $RUST_LIB_SRC" >&2
	exit 1
}
