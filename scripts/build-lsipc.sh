#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-lsipc.sh - build util-linux 2.41's lsipc for the host, into the cache.
#
# Debian 12's util-linux (2.38) has no `lsipc -Q` and a fresh machine cannot reach
# GitHub, so the source is the subset of util-linux v2.41.5 committed in util-linux/
# (util-linux-2.41.5-lsipc.tar.gz, `git archive` of the tag's files lsipc needs; see
# util-linux/ORIGIN): its checksum is verified against util-linux/SHA256SUMS, it is
# unpacked, libsmartcols.h is made from its .h.in and the filter parser with bison and
# flex as util-linux's meson does, and lsipc, lib/ and libsmartcols are compiled into one
# binary with cc and util-linux/config.h (hand-written for glibc).  The result is cached
# in $MQ_PEEK_CACHE/lsipc/, keyed by the tarball, config.h, this script and the compiler;
# a matching key means there is nothing to do.
#
# The last line of stdout is the path of the lsipc binary.
set -euo pipefail
. "$(dirname "$0")/env.sh"

UL_VER=2.41.5
UL=$TOP/util-linux
TARBALL=$UL/util-linux-$UL_VER-lsipc.tar.gz
OUTDIR=$CACHE/lsipc
log() { echo "build-lsipc: $*" >&2; }

(cd "$UL" && sha256sum --quiet -c SHA256SUMS) >&2 ||
	{ log "util-linux/util-linux-$UL_VER-lsipc.tar.gz does not match util-linux/SHA256SUMS"; exit 1; }
key=$({
	sha256sum < "$TARBALL"
	sha256sum < "$UL/config.h"
	cat "$0"
	cc --version | head -1
} | sha256sum | cut -c1-16)
if [ "$(cat "$OUTDIR/.key" 2>/dev/null)" = "$key" ] && [ -x "$OUTDIR/lsipc" ]; then
	echo "$OUTDIR/lsipc"
	exit 0
fi
for t in cc bison flex; do
	command -v "$t" > /dev/null || "$(dirname "$0")/setup.sh" >&2
done
mkdir -p "$CACHE"
exec 8> "$CACHE/.lsipc-lock"
flock 8

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR/gen"
tar -xzf "$TARBALL" -C "$OUTDIR"
S=$OUTDIR/util-linux-$UL_VER
G=$OUTDIR/gen
log "building lsipc of util-linux $UL_VER (log: $OUTDIR/build.log)"
{
	sed "s/@LIBSMARTCOLS_VERSION@/$UL_VER/" "$S/libsmartcols/src/libsmartcols.h.in" \
		> "$G/libsmartcols.h" &&
		bison "$S/libsmartcols/src/filter-parser.y" --output="$G/filter-parser.c" \
			--defines="$G/filter-parser.h" &&
		flex --outfile="$G/filter-scanner.c" --header-file="$G/filter-scanner.h" \
			"$S/libsmartcols/src/filter-scanner.l" &&
		cc -O2 -D_GNU_SOURCE -include "$UL/config.h" -I"$G" -I"$S/include" \
			-I"$S/libsmartcols/src" -o "$OUTDIR/lsipc.tmp" \
			"$S"/sys-utils/{lsipc,ipcutils}.c \
			"$S"/lib/{buffer,color-names,cpuset,fileutils,jsonwrt,mbsalign,path,procfs,strutils,timeutils,ttyutils}.c \
			"$S"/libsmartcols/src/{calculate,cell,column,filter,filter-expr,filter-param,grouping,init,iter,line,print,print-api,symbols,table,version,walk}.c \
			"$G/filter-parser.c" "$G/filter-scanner.c" &&
		"$OUTDIR/lsipc.tmp" --version | grep -q " from util-linux $UL_VER\$"
} > "$OUTDIR/build.log" 2>&1 || {
	tail -20 "$OUTDIR/build.log" >&2
	log "build failed, see $OUTDIR/build.log"
	exit 1
}
mv "$OUTDIR/lsipc.tmp" "$OUTDIR/lsipc"
echo "$key" > "$OUTDIR/.key"
log "built $OUTDIR/lsipc"
echo "$OUTDIR/lsipc"
