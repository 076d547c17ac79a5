#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh [debug|release|nodebugfs][-unpatched] - build the mq-peek dev kernel into
# the cache.
#
# Debian's 6.12 source + kernel/patches/series + kernel/configs/{base,criu,PROFILE}.config,
# built with clang-14 (KASAN together with RUST needs an LLVM build) and Debian's rustc.
# PROFILE-unpatched (e.g. release-unpatched, what make bench-series compares against) is
# the same source and the same fragments with none of kernel/patches applied, in a source
# directory and a build directory of its own: a kernel without F_MQ_PEEK, for which no
# module is built (scripts/vm boots it with none loaded).
# A later fragment overrides an earlier one.  A fragment may name the make targets of its
# profile on a line "# mq-peek-targets: TARGET..." (default: all): the nodebugfs profile
# builds only modules_prepare, which in 6.12 builds rust/ (bindings and the kernel crate)
# too, i.e. everything an external Rust module is compiled against, but no vmlinux.
#
# Cache layout ($MQ_PEEK_CACHE, default ~/.cache/mq-peek):
#   src/                 the patched source, shared by the patched profiles.  Files are
#                        synced by content (rsync -c), so a changed patch only touches the
#                        files it changes and make rebuilds only what depends on them.  A patch that
#                        touches only tools/testing/ (the selftests the series carries) is
#                        not applied: the kernel build never reads tools/testing/ (kbuild's
#                        `make all` does not descend into tools/), so it cannot change the
#                        kernel; leaving it out of the tree and the key means that adding or
#                        changing one rebuilds nothing.  make check builds the same tests
#                        from tests/, and scripts/gen-selftest-patch.sh --check applies the
#                        whole series with git am.
#   build-PROFILE/       the O= build directory; .mq-peek-key holds the hash of everything
#                        that went into it (source version, patches, fragments, toolchain
#                        and make variables, this script).  A matching key means there is
#                        nothing to do.
#   src-unpatched/       Debian's source as it is, for the -unpatched profiles (their own
#                        lock, .lock-unpatched, so they build beside a patched one).
# Prints the build directory on the last line of stdout.
set -euo pipefail
. "$(dirname "$0")/env.sh"
PROFILE=${1:-$PROFILE}
BASE=${PROFILE%-unpatched}	# the fragment's name; unpatched if it differs from PROFILE
[ -f "$TOP/kernel/configs/$BASE.config" ] || { echo "unknown profile $PROFILE" >&2; exit 2; }

if [ "$BASE" = "$PROFILE" ]; then
	SRC=$CACHE/src UNPATCHED=0
else
	SRC=$CACHE/src-unpatched UNPATCHED=1
fi
KB=$CACHE/build-$PROFILE
# criu.config: what CRIU needs (tests/criu/), in both profiles, so make bench-criu times
# the same kernel make check tests.
FRAGS=("$TOP/kernel/configs/base.config" "$TOP/kernel/configs/criu.config"
	"$TOP/kernel/configs/$BASE.config")
"$(dirname "$0")/setup.sh" >&2
mapfile -t SERIES < <(grep -v '^\s*\(#\|$\)' "$TOP/kernel/patches/series")
# only_selftests PATCH: true if every file the patch touches is under tools/testing/.
only_selftests() {
	local files
	files=$(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$TOP/kernel/patches/$1")
	[ -n "$files" ] && ! grep -qv '^tools/testing/' <<< "$files"
}
TARGETS=$(sed -n 's/^# mq-peek-targets: //p' "${FRAGS[@]}" | tail -1)
TARGETS=${TARGETS:-all}
# What a finished build leaves: the bootable image, or for a module-only profile the
# Rust kernel crate's metadata.
if [ "$TARGETS" = all ]; then READY=arch/x86/boot/bzImage; else READY=rust/libkernel.rmeta; fi
PATCHES=()
for p in "${SERIES[@]}"; do
	[ $UNPATCHED = 1 ] || only_selftests "$p" || PATCHES+=("$p")
done

key=$({
	echo "$KPKG $PROFILE"
	for p in "${PATCHES[@]}"; do sha256sum < "$TOP/kernel/patches/$p"; done
	cat "${FRAGS[@]}" "$0"
	echo "${KMAKE[*]}"
	"$RUSTC" --version; clang-14 --version | head -1; "$BINDGEN" --version
} | sha256sum | cut -c1-16)

if [ "$(cat "$KB/.mq-peek-key" 2>/dev/null)" = "$key" ] && [ -f "$KB/$READY" ]; then
	echo "$KB"
	exit 0
fi
mkdir -p "$CACHE"
# One lock per source tree: an unpatched build never waits for a patched one.
if [ $UNPATCHED = 1 ]; then exec 9> "$CACHE/.lock-unpatched"; else exec 9> "$CACHE/.lock"; fi
flock 9

log() { echo "build-kernel: $*" >&2; }
start=$(date +%s)

# 1. Patched (or, for -unpatched, pristine) source, updated in place by content.
stage=$CACHE/stage${SRC#"$CACHE"/src}
rm -rf "$stage"
mkdir -p "$stage"
if [ $UNPATCHED = 1 ]; then
	log "unpacking $(basename "$KSRC_TARBALL"), no patches (profile $PROFILE)"
else
	log "unpacking $(basename "$KSRC_TARBALL") and applying ${#PATCHES[@]} patches" \
		"($(( ${#SERIES[@]} - ${#PATCHES[@]} )) touching only tools/testing/ left out)"
fi
tar -xf "$KSRC_TARBALL" -C "$stage"
for p in "${PATCHES[@]}"; do
	patch -s -p1 -d "$stage/linux-source-6.12" < "$TOP/kernel/patches/$p" ||
		{ echo "build-kernel: patch $p does not apply" >&2; exit 1; }
done
mkdir -p "$SRC"
# No -t: a file whose content changes gets a new mtime, so make sees it.
rsync -rlpc --delete "$stage/linux-source-6.12/" "$SRC/"
rm -rf "$stage"

# 2. Config: tinyconfig + fragments; every requested =y must survive olddefconfig, and
# every "is not set" stay unset (the last fragment that names an option decides).
mkdir -p "$KB"
rm -f "$KB/.mq-peek-key"
make -s -C "$SRC" O="$KB" "${KMAKE[@]}" rustavailable >&2 ||
	{ echo "build-kernel: make rustavailable failed" >&2; exit 1; }
cp "$KB/.config" "$KB/.config.prev" 2>/dev/null || true
make -s -C "$SRC" O="$KB" "${KMAKE[@]}" tinyconfig >&2
(cd "$KB" && "$SRC/scripts/kconfig/merge_config.sh" -m .config "${FRAGS[@]}" >/dev/null)
make -s -C "$SRC" O="$KB" "${KMAKE[@]}" olddefconfig >&2
bad=0
# want[OPTION] = y or n, from the last fragment naming it.
declare -A want
while read -r o v; do want[$o]=$v; done < <(sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=y$/\1 y/p' \
	-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 n/p' "${FRAGS[@]}")
for o in "${!want[@]}"; do
	if [ "${want[$o]}" = y ]; then
		grep -q "^$o=y" "$KB/.config" || { echo "build-kernel: $o=y did not survive olddefconfig" >&2; bad=1; }
	elif grep -q "^$o=" "$KB/.config"; then
		echo "build-kernel: $o is set but must not be" >&2
		bad=1
	fi
done
[ $bad = 0 ] || exit 1
# An unchanged config keeps its old timestamp, so make does not rebuild everything.
if cmp -s "$KB/.config" "$KB/.config.prev"; then touch -r "$KB/.config.prev" "$KB/.config"; fi

# 3. Build.
log "building the $PROFILE kernel ($TARGETS) in $KB (make -j$JOBS, log: $KB/build.log)"
# shellcheck disable=SC2086	# the words of TARGETS
if ! make -C "$SRC" O="$KB" "${KMAKE[@]}" -j"$JOBS" $TARGETS > "$KB/build.log" 2>&1; then
	grep -E 'error|Error' "$KB/build.log" | head -20 >&2
	echo "build-kernel: build failed, see $KB/build.log" >&2
	exit 1
fi
# The module is built against the patched trees only.
[ $UNPATCHED = 1 ] || "$(dirname "$0")/check-bindings-layout.sh" "$SRC" "$KB" >&2
echo "$key" > "$KB/.mq-peek-key"
log "$PROFILE kernel ready in $(( $(date +%s) - start ))s"
echo "$KB"
