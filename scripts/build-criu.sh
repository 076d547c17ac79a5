#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-criu.sh - build CRIU with criu/patches/ into the cache, as a tree for the VM.
#
# The source is the release tarball committed in criu/ (a fresh machine cannot reach
# GitHub): its checksum is verified against criu/SHA256SUMS, it is unpacked, the series
# criu/patches/*.patch (git format-patch against the tag, in name order) is applied with
# git am, and CRIU and the ZDTM tests tests/criu/ runs are built.  The result is cached
# in $MQ_PEEK_CACHE/criu/, keyed by the tarball, the patches and this script; a matching
# key means there is nothing to do.
#
# The last line of stdout is a directory laid out as the VM's root is (scripts/vm
# --root): usr/sbin/criu, the ZDTM tests in usr/libexec/criu-zdtm/, and every shared
# library they need, with the dynamic loader, at the paths ldd resolves them to.
set -euo pipefail
. "$(dirname "$0")/env.sh"

CRIU_VER=4.2
TARBALL=$TOP/criu/criu-$CRIU_VER.tar.gz
OUTDIR=$CACHE/criu
log() { echo "build-criu: $*" >&2; }

(cd "$TOP/criu" && sha256sum --quiet -c SHA256SUMS) >&2 ||
	{ log "criu/criu-$CRIU_VER.tar.gz does not match criu/SHA256SUMS"; exit 1; }
mapfile -t PATCHES < <(find "$TOP/criu/patches" -maxdepth 1 -name '*.patch' 2>/dev/null | sort)

key=$({
	sha256sum < "$TARBALL"
	for p in "${PATCHES[@]}"; do basename "$p"; sha256sum < "$p"; done
	cat "$0"
	cc --version | head -1
} | sha256sum | cut -c1-16)
if [ "$(cat "$OUTDIR/.key" 2>/dev/null)" = "$key" ] && [ -x "$OUTDIR/root/usr/sbin/criu" ]; then
	echo "$OUTDIR/root"
	exit 0
fi
"$(dirname "$0")/setup.sh" >&2
mkdir -p "$CACHE"
exec 8> "$CACHE/.criu-lock"
flock 8
start=$(date +%s)

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
SRC=$OUTDIR/criu-$CRIU_VER
tar -xzf "$TARBALL" -C "$OUTDIR"
log "unpacked criu-$CRIU_VER.tar.gz, applying ${#PATCHES[@]} patches"
if [ ${#PATCHES[@]} -gt 0 ]; then
	# git am, as a maintainer would apply the series, in a throw-away repository.
	git -C "$SRC" init -q
	git -C "$SRC" -c user.name=build -c user.email=build@localhost add -A
	git -C "$SRC" -c user.name=build -c user.email=build@localhost \
		commit -q -m "criu $CRIU_VER (release tarball)"
	git -C "$SRC" -c user.name=build -c user.email=build@localhost am -q --whitespace=error-all "${PATCHES[@]}" >&2 ||
		{ git -C "$SRC" am --abort || true; log "the series does not apply to criu $CRIU_VER"; exit 1; }
fi

# Without libnftables: CRIU probes nf_tables netlink at every start when built with it
# (kerndat_has_nftables_concat()) and fails on the test kernel, which has no netfilter;
# nftables only locks the network of a dumped network namespace.  pkg-config is told
# there is no libnftables, whatever is installed.
# shellcheck disable=SC2016	# $a and $@ are the wrapper's own
printf '#!/bin/sh\nfor a; do [ "$a" = libnftables ] && exit 1; done\nexec pkg-config "$@"\n' \
	> "$OUTDIR/pkg-config"
chmod +x "$OUTDIR/pkg-config"
export PKG_CONFIG=$OUTDIR/pkg-config

log "building criu and the ZDTM tests (log: $OUTDIR/build.log)"
{
	make -C "$SRC" -j"$JOBS" criu &&
		make -C "$SRC/test/zdtm/lib" -j"$JOBS" &&
		mapfile -t ZT < <(find "$SRC/test/zdtm/static" -maxdepth 1 \
			\( -name msgque.c -o -name 'posix_mqueue*.c' \) -printf '%f\n' | sed 's/\.c$//') &&
		make -C "$SRC/test/zdtm/static" -j"$JOBS" "${ZT[@]}"
} > "$OUTDIR/build.log" 2>&1 || {
	grep -E 'error|warning' "$OUTDIR/build.log" | head -20 >&2
	log "build failed, see $OUTDIR/build.log"
	exit 1
}
# CRIU builds with -Werror; say so if anything still warned.
if grep -q 'warning:' "$OUTDIR/build.log"; then
	grep 'warning:' "$OUTDIR/build.log" | head >&2
	log "the build printed warnings"
	exit 1
fi

ROOT=$OUTDIR/root
mkdir -p "$ROOT/usr/sbin" "$ROOT/usr/libexec/criu-zdtm"
install -m 0755 "$SRC/criu/criu" "$ROOT/usr/sbin/criu"
for t in "$SRC"/test/zdtm/static/msgque "$SRC"/test/zdtm/static/posix_mqueue*; do
	[ -x "$t" ] && [ -f "$t" ] && install -m 0755 "$t" "$ROOT/usr/libexec/criu-zdtm/"
done
# The shared libraries and the loader, each at the path the binaries ask for.
for lib in $(ldd "$ROOT/usr/sbin/criu" "$ROOT"/usr/libexec/criu-zdtm/* |
	awk '/=> \// {print $3} /^\t\/[^ ]*ld-linux/ {print $1}' | sort -u); do
	mkdir -p "$ROOT$(dirname "$lib")"
	cp -L "$lib" "$ROOT$lib"
done
echo "$key" > "$OUTDIR/.key"
log "criu $CRIU_VER with ${#PATCHES[@]} patches ready in $(( $(date +%s) - start ))s"
echo "$ROOT"
