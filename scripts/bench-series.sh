#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-series.sh - `make bench-series`: what the kernel series costs a plain
# mq_send()+mq_receive() pair (issue 17: "within 2 % of the unpatched kernel").  Boots
# the release kernel (kernel/patches, mq_peek.ko loaded) and the release-unpatched one
# (the same source and config, no patch, no module) in turn, in pairs whose order
# alternates (P U | U P | ...), and runs bench/mq_series_bench.c in each boot;
# bench/render_series.py normalises each send+receive by a pipe write+read measured in
# the same round of the same boot (the host's speed differs from boot to boot), compares
# the boots of each pair, takes the median over the pairs, and writes
# build/bench/series.md and series.json (raw output: build/bench/series-raw.txt).
#
# Environment: MQ_PEEK_BENCH_SERIES_PAIRS (pairs of boots, 8), MQ_PEEK_BENCH_SERIES_ROUNDS
# (rounds a boot, 21), MQ_PEEK_BENCH_SERIES_ITERS (operations a block, 50000).
set -euo pipefail
. "$(dirname "$0")/env.sh"
OUT=$TOP/build/bench
PAIRS=${MQ_PEEK_BENCH_SERIES_PAIRS:-8}
ROUNDS=${MQ_PEEK_BENCH_SERIES_ROUNDS:-21}
ITERS=${MQ_PEEK_BENCH_SERIES_ITERS:-50000}
mkdir -p "$OUT"
"$TOP/scripts/build-kernel.sh" release > /dev/null
"$TOP/scripts/build-kernel.sh" release-unpatched > /dev/null
make -s -C "$TOP" build/bench/mq_series_bench
raw=$OUT/series-raw.txt
: > "$raw"
start=$(date +%s)
for ((i = 1; i <= PAIRS; i++)); do
	if ((i % 2)); then order="patched unpatched"; else order="unpatched patched"; fi
	for k in $order; do
		profile=release
		[ "$k" = patched ] || profile=release-unpatched
		echo "bench-series: pair $i/$PAIRS, $k kernel" >&2
		# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check
		# can time out and panic the boot.  A boot that fails anyway is tried again once.
		for try in 1 2; do
			rc=0
			"$TOP/scripts/vm" --profile "$profile" --timeout 1800 --quiet \
				--output "$OUT/series-boot.txt" --append no_timer_check \
				--add "$TOP/build/bench/mq_series_bench" \
				-- mq_series_bench "$k-$i" "$ROUNDS" "$ITERS" || rc=$?
			[ "$rc" != 125 ] && break
			echo "bench-series: the boot failed (try $try of 2)" >&2
		done
		cat "$OUT/series-boot.txt" >> "$raw"
		grep -q "BENCH-SERIES-DONE $k-$i" "$OUT/series-boot.txt" ||
			{ echo "bench-series: incomplete run, see $raw" >&2; exit 1; }
	done
done
rm -f "$OUT/series-boot.txt"
echo "BENCH-SERIES-WALL $(( $(date +%s) - start ))" >> "$raw"
/usr/bin/python3 "$TOP/bench/render_series.py" "$raw" "$OUT"
