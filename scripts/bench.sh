#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - `make bench`: dump costs of F_MQ_PEEK and its alternatives, and of the Rust
# module against its C peer (bench/c-peer/, loaded in turn), all measured in one boot of
# the release kernel (no debug options), contenders interleaved, printed as ratios side by
# side and saved as JSON, Markdown and a PNG plot in build/bench/.
set -euo pipefail
. "$(dirname "$0")/env.sh"
OUT=$TOP/build/bench
MEM=${MQ_PEEK_BENCH_MEM:-4096}	# MiB of guest memory; queues may use a third of it
mkdir -p "$OUT"
"$TOP/scripts/build-kernel.sh" release > /dev/null
make -s -C "$TOP" build/bench/mq_peek_bench
# The C peer of the Rust module, the RFC's algorithm behind the same hook (bench/c-peer/).
make -s -C "$TOP" bench-c-peer > /dev/null
if ! /usr/bin/python3 -c 'import matplotlib' 2> /dev/null; then
	echo "bench: installing python3-matplotlib for the plot"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib > /dev/null
fi
# The bench's own switches (MQ_PEEK_BENCH_ONLY, _ANATOMY, _ROUNDS, _MAX_RUN) go into the VM.
envs=()
while IFS='=' read -r name value; do
	envs+=("$name=$value")
done < <(env | grep '^MQ_PEEK_BENCH_' | grep -v '^MQ_PEEK_BENCH_MEM=' || true)
start=$(date +%s)
"$TOP/scripts/vm" --profile release --mem "$MEM" --timeout 5400 --quiet \
	--output "$OUT/raw.txt" --add "$TOP/build/bench/mq_peek_bench" \
	--add "$TOP/build/bench/c-peer/mq_peek_c.ko" \
	-- env "${envs[@]}" MQ_PEEK_C_KO=/opt/mq_peek_c.ko mq_peek_bench $((MEM / 3))
echo "BENCH-WALL $(( $(date +%s) - start ))" >> "$OUT/raw.txt"
grep -q BENCH-DONE "$OUT/raw.txt" || { echo "bench: incomplete run, see $OUT/raw.txt" >&2; exit 1; }
/usr/bin/python3 "$TOP/bench/render.py" "$OUT/raw.txt" "$OUT"
