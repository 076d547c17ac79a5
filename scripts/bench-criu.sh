#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-criu.sh - `make bench-criu`: what `criu dump` pays for a POSIX message queue
# (issue 16), against draining the queue, in one boot of the release kernel with
# mq_peek.ko loaded and the CRIU of scripts/build-criu.sh (criu/patches/).
# bench/mq_criu_bench.c says what is timed; bench/render_criu.py prints the ratios and
# writes build/bench/criu.md and criu.json (the raw output: build/bench/criu-raw.txt).
#
# Environment: MQ_PEEK_BENCH_CRIU_ROUNDS (15), MQ_PEEK_BENCH_CRIU_MEM (MiB of guest
# memory, 2048: the 1,024 x 64 KiB queue and its image in /tmp are each 64 MiB),
# MQ_PEEK_BENCH_ONLY=N:SIZE one of the two cells.
set -euo pipefail
. "$(dirname "$0")/env.sh"
OUT=$TOP/build/bench
ROUNDS=${MQ_PEEK_BENCH_CRIU_ROUNDS:-15}
MEM=${MQ_PEEK_BENCH_CRIU_MEM:-2048}
mkdir -p "$OUT"
"$TOP/scripts/build-kernel.sh" release > /dev/null
make -s -C "$TOP" build/bench/mq_criu_bench
root=$("$TOP/scripts/build-criu.sh" | tail -1)
envs=()
[ -z "${MQ_PEEK_BENCH_ONLY:-}" ] || envs+=("MQ_PEEK_BENCH_ONLY=$MQ_PEEK_BENCH_ONLY")
start=$(date +%s)
# CRIU probes TCP repair on a loopback socket (kerndat_tcp_repair()), as in tests/criu/.
# shellcheck disable=SC2016	# $1 is the VM shell's
# no_timer_check: under TCG on a loaded host the IO-APIC timer check can panic the boot.
"$TOP/scripts/vm" --profile release --mem "$MEM" --timeout 3600 --quiet --append no_timer_check \
	--output "$OUT/criu-raw.txt" --root "$root" --add "$TOP/build/bench/mq_criu_bench" \
	-- env "${envs[@]}" sh -c 'ifconfig lo 127.0.0.1 up && exec mq_criu_bench "$1"' sh "$ROUNDS"
echo "BENCH-CRIU-WALL $(( $(date +%s) - start ))" >> "$OUT/criu-raw.txt"
grep -q BENCH-CRIU-DONE "$OUT/criu-raw.txt" ||
	{ echo "bench-criu: incomplete run, see $OUT/criu-raw.txt" >&2; exit 1; }
/usr/bin/python3 "$TOP/bench/render_criu.py" "$OUT/criu-raw.txt" "$OUT"
