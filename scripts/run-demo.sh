#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-demo.sh - `make run`: boot the dev kernel with mq_peek.ko loaded and show a queue
# being peeked and still intact afterwards.
#
# Quiet by default: the demo's output, then scripts/vm's one-line verdict.  V=1 (make run
# V=1) also shows the kernel's console, the boot log, as it comes.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$TOP/scripts/build-kernel.sh" "$PROFILE" > /dev/null
make -s -C "$TOP" build/examples/mq_peek_demo
vm_opts=()
[ "${V:-0}" = 1 ] && vm_opts+=(--verbose)
exec "$TOP/scripts/vm" --profile "$PROFILE" "${vm_opts[@]}" \
	--add "$TOP/build/examples/mq_peek_demo" -- mq_peek_demo
