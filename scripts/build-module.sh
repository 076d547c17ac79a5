#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh KDIR OUTDIR - build mq_peek.ko against the kernel build tree KDIR.
#
# Builds in a copy under OUTDIR so the debug and release modules never overwrite each
# other (there are no MODVERSIONS: a module built for another config of the same kernel
# would load and read wrong struct layouts).  Prints the path of the .ko.
set -euo pipefail
. "$(dirname "$0")/env.sh"
KDIR=$1 OUT=$2
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cp -p "$TOP/Kbuild" "$TOP"/*.rs "$OUT/"
make -s -C "$KDIR" M="$OUT" "${KMAKE[@]}" modules >&2
echo "$OUT/mq_peek.ko"
