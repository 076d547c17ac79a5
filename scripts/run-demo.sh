#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-demo.sh - `make run`: boot the dev kernel with mq_peek.ko loaded and show a queue
# being peeked and still intact afterwards.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$TOP/scripts/build-kernel.sh" "$PROFILE" > /dev/null
make -s -C "$TOP" build/examples/mq_peek_demo
exec "$TOP/scripts/vm" --profile "$PROFILE" --add "$TOP/build/examples/mq_peek_demo" -- mq_peek_demo
