#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - `make check`: build what is missing, run every test in the debug VM, and
# prove the harness's verdict can fail.  Ends with the line "N passed, N failed".
#
# Counts: every kselftest test case (from each binary's TAP "# Totals:" line; a binary
# that dies before printing it counts as one failure), plus one per harness check.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
OUT=$TOP/build
mkdir -p "$OUT/logs"
passed=0 failed=0 skipped=0
t0=$(date +%s)
pass() { passed=$((passed + 1)); echo "ok - $*"; }
failc() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
	echo "check: $(( $(date +%s) - t0 ))s in all"
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" = 0 ]
	exit
}

s=$(date +%s)
if ! "$TOP/scripts/build-kernel.sh" debug > "$OUT/logs/build-kernel.log" 2>&1; then
	tail -20 "$OUT/logs/build-kernel.log"
	failc "build the debug kernel (log: $OUT/logs/build-kernel.log)"
	finish
fi
echo "check: debug kernel ready in $(( $(date +%s) - s ))s"
if ! make -s tests tool > "$OUT/logs/build-tests.log" 2>&1; then
	cat "$OUT/logs/build-tests.log"
	failc "build the tests"
	finish
fi

# ---- 1. the kselftest suites, in one boot of the debug kernel
# The one list of tests is the Makefile's TEST_GEN_PROGS.  A program that prints TAP
# totals of its test cases (kselftest_harness.h) counts them; any other (the kernel's own
# mqueue/mq_open_tests and ipc/msgque) counts once, by its kselftest exit status (0 pass,
# 4 skip, else fail).
mapfile -t TESTS < <(make -s print-TEST_GEN_PROGS)
mapfile -t TEST_ENV < <(make -s print-test-env)
mapfile -t TEST_FILES < <(make -s print-TEST_FILES)
adds=()
for f in "${TEST_FILES[@]}"; do adds+=(--add "$f"); done
for b in "${TESTS[@]}"; do adds+=(--add "build/tests/$b"); done
s=$(date +%s)
rm -f "$OUT/logs/tests.out"	# never count a previous run's results
scripts/vm --quiet --output "$OUT/logs/tests.out" "${adds[@]}" \
	-- env "${TEST_ENV[@]}" run-in-vm.sh "${TESTS[@]}" 2> "$OUT/logs/vm-tests.err"
vmrc=$?
grep -v -E '^#  RUN |^#  +OK |^# Starting|^TAP version|^1\.\.' "$OUT/logs/tests.out" 2>/dev/null || true
for b in "${TESTS[@]}"; do
	sect=$(sed -n "/MQ-PEEK-TEST: begin $b\$/,/MQ-PEEK-TEST: end $b /p" "$OUT/logs/tests.out" 2>/dev/null)
	tot=$(echo "$sect" | grep -o '# Totals: pass:[0-9]* fail:[0-9]* xfail:[0-9]* xpass:[0-9]* skip:[0-9]* error:[0-9]*' | tail -1)
	rc=$(echo "$sect" | grep -a -o "MQ-PEEK-TEST: end $b rc=[0-9]*" | sed 's/.*rc=//')
	p=0 f=0 xf=0 xp=0 sk=0 er=0
	[ -z "$tot" ] || read -r p f xf xp sk er < <(echo "$tot" | grep -o '[0-9][0-9]*' | tr '\n' ' ')
	# ipc/msgque prints totals of zero test cases: it counts by its exit status.
	if [ $((p + f + xf + xp + sk + er)) -gt 0 ]; then
		passed=$((passed + p + xf))
		failed=$((failed + f + xp + er))
		skipped=$((skipped + sk))
		continue
	fi
	case "$rc" in
	0) pass "$b" ;;
	4) skipped=$((skipped + 1)); echo "skip - $b" ;;
	*) failc "$b: exit status ${rc:-none} (died or never ran)" ;;
	esac
done
echo "check: $(grep -h '^# \(fuzz\|storm\):' "$OUT/logs/tests.out" 2>/dev/null | sed 's/^# //' | tr '\n' ';')"
if [ $vmrc = 0 ] || [ $vmrc = 1 ]; then
	pass "test VM verdict clean (no splat, no leak, sentinel seen) in $(( $(date +%s) - s ))s"
else
	cat "$OUT/logs/vm-tests.err"
	failc "test VM run: exit status $vmrc: $(tail -1 "$OUT/logs/vm-tests.err")"
fi

# ---- 2. the tool's image format, on the host
if (cd tools/mqpeek && cargo test --release --locked) > "$OUT/logs/cargo-test.log" 2>&1; then
	n=$(grep -o 'test result: ok. [0-9]* passed' "$OUT/logs/cargo-test.log" | awk '{s += $4} END {print s + 0}')
	passed=$((passed + n))
	echo "ok - tools/mqpeek: cargo test, $n tests"
else
	tail -20 "$OUT/logs/cargo-test.log"
	failc "tools/mqpeek: cargo test (log: $OUT/logs/cargo-test.log)"
fi

# ---- 3. the harness itself: exit status and a verdict that can fail
vm_expect() { # vm_expect DESC WANT_RC GREP [VM-OPTIONS] -- CMD...
	local desc=$1 want=$2 pat=$3 rc
	shift 3
	scripts/vm --quiet "$@" 2> "$OUT/logs/vm-self.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		failc "$desc: exit status $rc, expected $want"
		cat "$OUT/logs/vm-self.err"
	elif [ -n "$pat" ] && ! grep -q -E "$pat" "$OUT/logs/vm-self.err"; then
		failc "$desc: verdict did not say /$pat/"
		cat "$OUT/logs/vm-self.err"
	else
		pass "$desc"
	fi
}
vm_expect "scripts/vm -- /bin/true exits 0" 0 "" -- /bin/true
vm_expect "scripts/vm -- /bin/false exits 1" 1 "" -- /bin/false
vm_expect "scripts/vm -- sh -c 'exit 7' exits 7" 7 "" -- sh -c 'exit 7'
# A real WARN_ON in the guest kernel (LKDTM) must turn the run red.
vm_expect "a WARN_ON in the guest fails the run" 125 "kernel reported: .*WARNING:" \
	-- sh -c 'echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT'
# ... but a command printing the same words does not: only kernel messages are judged.
vm_expect "a command printing WARNING: and BUG: does not fail the run" 0 "" \
	--output "$OUT/logs/vm-self.out" -- sh -c 'echo "WARNING: CPU: 0 PID: 1 at fake.c:1"; echo "BUG: fake" >&2'
grep -q '^WARNING: CPU: 0 PID: 1 at fake.c:1$' "$OUT/logs/vm-self.out" ||
	failc "... the command's WARNING: line did not reach its output"
# A hang must fail the run by timeout, not block it.
vm_expect "a hung command fails the run by timeout" 125 "no exit sentinel" \
	--timeout 30 -- sleep 1000

finish
