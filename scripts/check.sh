#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - `make check`: build what is missing, run every test in the debug VM, and
# prove that the harness's verdict can fail.
#
# The output is kselftest TAP, as tools/testing/selftests/kselftest/runner.sh prints it:
# "TAP version 13", the plan "1..N", then for each program of the Makefile's
# TEST_GEN_PROGS (run in one boot of the debug kernel by tests/run-in-vm.sh) its output
# nested with a "# " prefix -- its own TAP for a kselftest_harness.h program -- and its
# result "ok N NAME" / "not ok N NAME" / "ok N NAME # SKIP"; then one result per check of
# the harness itself.  Diagnostics are "# check: ..." lines.
#
# The last line is "P passed, F failed" (", S skipped" when S > 0), which .ci/run relies
# on.  Every kselftest test case counts once (from its program's "# Totals:" line), a
# program that reports no test case counts once by its exit status (0 pass, 4 skip, else
# fail), a program that never reported counts as one failure, and every harness check
# counts once (cargo test: once per test; the lsipc comparison: once per option set).
# shellcheck disable=SC2317	# the check_* functions are called through $CHECKS
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
OUT=$TOP/build
LOGS=$OUT/logs
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0 num=0
t0=$(date +%s)

mapfile -t TESTS < <(make -s print-TEST_GEN_PROGS)
mapfile -t TEST_ENV < <(make -s print-test-env)
mapfile -t TEST_FILES < <(make -s print-TEST_FILES)

# The checks of the harness itself, run after the tests, in this order.
CHECKS=(check_vm_verdict check_cargo_test check_vm_true check_vm_false check_vm_exit7
	check_vm_warn_on check_vm_stdout_warning check_vm_hang check_kernel_config
	check_man_page check_selftest_patch check_module_nodebugfs check_headers)

# CRIU (tests/criu/, issue 16): one boot, one result per case of criu-tests.sh, plus crit's
# decoding of the images the crit_images case printed, checked on the host
# (tests/criu/crit-check.py), plus the verdict of that boot.
mapfile -t CRIU_CASES < <(sh tests/criu/criu-tests.sh --list)

# mqpeek list side by side with the real lsipc -Q of util-linux 2.41 (built on the host
# from util-linux/), on the host: one result per option set of scripts/lsipc-compare.sh.
mapfile -t LSIPC_CASES < <(scripts/lsipc-compare.sh --list)

# A test boot that runs past this is a hang, and fails.  The boots take 10 to 25 minutes
# on these 2-core TCG machines (longer while the host is busy); CI allows 90 for all.
TEST_VM_TIMEOUT=${MQ_PEEK_TEST_VM_TIMEOUT:-2400}
diag() { echo "# check: $*"; }
# result ok|fail|skip DESCRIPTION [REASON [COUNT]]: one TAP line; COUNT (default 1) is
# how many passes it stands for.
result() {
	num=$((num + 1))
	case $1 in
	ok)   echo "ok $num $2"; passed=$((passed + ${4:-1})) ;;
	skip) echo "ok $num $2 # SKIP ${3:-}"; skipped=$((skipped + 1)) ;;
	*)    echo "not ok $num $2${3:+ # $3}"; failed=$((failed + 1)) ;;
	esac
}
finish() {
	diag "$(( $(date +%s) - t0 ))s in all"
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" = 0 ]
	exit
}
bail() { # bail REASON LOG: the build failed, nothing can run
	tail -20 "$2" | sed 's/^/# /'
	echo "Bail out! $1 (log: $2)"
	failed=$((failed + 1))
	finish
}

echo "TAP version 13"
echo "1..$(( ${#TESTS[@]} + ${#CHECKS[@]} + ${#LSIPC_CASES[@]} + ${#CRIU_CASES[@]} + 2 ))"

s=$(date +%s)
scripts/build-kernel.sh debug > "$LOGS/build-kernel.log" 2>&1 ||
	bail "cannot build the debug kernel" "$LOGS/build-kernel.log"
diag "debug kernel ready in $(( $(date +%s) - s ))s"
make -s tests tool > "$LOGS/build-tests.log" 2>&1 ||
	bail "cannot build the tests" "$LOGS/build-tests.log"

# ---- 1. the test programs, in one boot of the debug kernel
adds=()
for f in "${TEST_FILES[@]}"; do adds+=(--add "$f"); done
for b in "${TESTS[@]}"; do adds+=(--add "build/tests/$b"); done
s=$(date +%s)
rm -f "$LOGS/tests.out"	# never count a previous run's results
# Shown as it comes, without the inner runner's own header: its plan is part of ours.
set +e
scripts/vm --timeout "$TEST_VM_TIMEOUT" --output "$LOGS/tests.out" "${adds[@]}" \
	-- env "${TEST_ENV[@]}" run-in-vm.sh "${TESTS[@]}" 2> "$LOGS/vm-tests.err" |
	awk 'NR <= 2 && (/^TAP version 13$/ || /^1\.\.[0-9]+$/) { next } { print; fflush() }'
vmrc=${PIPESTATUS[0]}
set -e
vmsecs=$(( $(date +%s) - s ))
[ -f "$LOGS/tests.out" ] || : > "$LOGS/tests.out"

# Each program's result line, with the last "# Totals:" line of its output before it.
declare -A status totals
tot=""
while IFS= read -r line; do
	case $line in
	"# # Totals: pass:"*)
		tot=$(echo "$line" | grep -o '[0-9][0-9]*' | tr '\n' ' ') ;;
	"ok "[0-9]*|"not ok "[0-9]*)
		n=${line#not }
		n=${n#ok }
		n=${n%% *}
		case $line in
		not*) status[$n]=fail ;;
		*"# SKIP"*) status[$n]=skip ;;
		*) status[$n]=ok ;;
		esac
		totals[$n]=$tot
		tot="" ;;
	esac
done < "$LOGS/tests.out"

for ((i = 1; i <= ${#TESTS[@]}; i++)); do
	b=${TESTS[i - 1]}
	st=${status[$i]:-none}
	if [ "$st" = none ]; then
		echo "not ok $i $b # no result: the test VM run ended before it (see below)"
		failed=$((failed + 1))
		continue
	fi
	read -r p f xf xp sk er <<< "${totals[$i]:-0 0 0 0 0 0}"
	if [ $((p + f + xf + xp + sk + er)) -gt 0 ]; then
		passed=$((passed + p + xf))
		failed=$((failed + f + xp + er))
		skipped=$((skipped + sk))
		# failed outside its test cases (a crash after the totals, a bad exit)
		if [ "$st" = fail ] && [ $((f + xp + er)) = 0 ]; then failed=$((failed + 1)); fi
	else
		case $st in
		ok) passed=$((passed + 1)) ;;
		skip) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	fi
done
num=${#TESTS[@]}
figures=$(grep -h '^# # \(fuzz\|storm\):' "$LOGS/tests.out" | sed 's/^# # //' | tr '\n' ';' || true)
[ -z "$figures" ] || diag "$figures"

# ---- 2. the harness itself
check_vm_verdict() {
	# run-in-vm.sh exits 0 or 1; anything else is the harness's own failure (125: a
	# bad run, with its reason on the last line of stderr).
	if [ "$vmrc" = 0 ] || [ "$vmrc" = 1 ]; then
		result ok "test VM run clean (no splat, no leak, sentinel seen) in ${vmsecs}s"
	else
		sed 's/^/# /' "$LOGS/vm-tests.err"
		result fail "test VM run clean" "exit status $vmrc: $(tail -1 "$LOGS/vm-tests.err")"
	fi
}

check_cargo_test() { # the tool's image format, on the host
	local n
	if (cd tools/mqpeek && cargo test --release --locked) > "$LOGS/cargo-test.log" 2>&1; then
		n=$(grep -o 'test result: ok. [0-9]* passed' "$LOGS/cargo-test.log" |
			awk '{s += $4} END {print s + 0}')
		result ok "tools/mqpeek: cargo test, $n tests" "" "$n"
	else
		tail -20 "$LOGS/cargo-test.log" | sed 's/^/# /'
		result fail "tools/mqpeek: cargo test" "log: $LOGS/cargo-test.log"
	fi
}

vm_expect() { # vm_expect DESC WANT_RC VERDICT-GREP OUTPUT-GREP [VM-OPTIONS] -- CMD...
	local desc=$1 want=$2 pat=$3 outpat=$4 rc=0
	shift 4
	rm -f "$LOGS/vm-self.out"
	scripts/vm --quiet --output "$LOGS/vm-self.out" "$@" 2> "$LOGS/vm-self.err" || rc=$?
	if [ "$rc" != "$want" ]; then
		sed 's/^/# /' "$LOGS/vm-self.err"
		result fail "$desc" "exit status $rc, expected $want"
	elif [ -n "$pat" ] && ! grep -q -E "$pat" "$LOGS/vm-self.err"; then
		sed 's/^/# /' "$LOGS/vm-self.err"
		result fail "$desc" "the verdict did not say /$pat/"
	elif [ -n "$outpat" ] && ! grep -q -E "$outpat" "$LOGS/vm-self.out"; then
		result fail "$desc" "the command's output did not say /$outpat/"
	else
		result ok "$desc"
	fi
}
check_vm_true() { vm_expect "scripts/vm -- /bin/true exits 0" 0 "" "" -- /bin/true; }
check_vm_false() { vm_expect "scripts/vm -- /bin/false exits 1" 1 "" "" -- /bin/false; }
check_vm_exit7() { vm_expect "scripts/vm -- sh -c 'exit 7' exits 7" 7 "" "" -- sh -c 'exit 7'; }
# A real WARN_ON in the guest kernel (LKDTM) must turn the run red ...
check_vm_warn_on() {
	vm_expect "a WARN_ON in the guest fails the run" 125 "kernel reported: .*WARNING:" "" \
		-- sh -c 'echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT'
}
# ... but a command printing the same words must not: only kernel messages are judged.
# Its output must arrive, or the check would prove nothing.
check_vm_stdout_warning() {
	vm_expect "a command printing WARNING: and BUG: does not fail the run" 0 "" \
		'^WARNING: CPU: 0 PID: 1 at fake.c:1$' \
		-- sh -c 'echo "WARNING: CPU: 0 PID: 1 at fake.c:1"; echo "BUG: fake" >&2'
}
# A hang must fail the run by timeout, not block it.
check_vm_hang() {
	vm_expect "a hung command fails the run by timeout" 125 "no exit sentinel" "" \
		--timeout 30 -- sleep 1000
}

# tests/config lists the kernel options the tests need, as a selftest's config does; the
# debug kernel must have every one (kernel/configs/ is what builds it).
check_kernel_config() {
	local o missing=""
	while read -r o; do
		case $o in
		CONFIG_*=*) grep -qx "$o" "$CACHE/build-debug/.config" || missing+=" $o" ;;
		esac
	done < tests/config
	if [ -z "$missing" ]; then
		result ok "the debug kernel has every option of tests/config"
	else
		result fail "the debug kernel has every option of tests/config" "missing:$missing"
	fi
}

# The man page: mandoc and groff find nothing to complain about, and man renders it.  (Its
# example program ran above, mq_peek_example, built from the page's source.)
check_man_page() {
	if make -s man-lint > "$LOGS/man-lint.log" 2>&1; then
		result ok "the man page is lint-clean (mandoc, groff) and renders with man -l"
	else
		sed 's/^/# /' "$LOGS/man-lint.log"
		result fail "the man page is lint-clean (mandoc, groff) and renders with man -l"
	fi
}

# The series carries the tests as its last patch: it must be what tests/ make of it, and the
# whole series must apply with git am (scripts/gen-selftest-patch.sh).
check_selftest_patch() {
	local desc="the series' selftest patch is generated from tests/ and applies with git am"
	if scripts/gen-selftest-patch.sh --check > "$LOGS/selftest-patch.log" 2>&1; then
		result ok "$desc"
	else
		sed 's/^/# /' "$LOGS/selftest-patch.log"
		result fail "$desc"
	fi
}

# The module builds against a kernel without debugfs (CONFIG_DEBUG_FS=n): then debugfs's
# functions are static inline stubs, absent from the bindings, and naming one is a build
# error.  The nodebugfs profile (kernel/configs/nodebugfs.config) is the base profile with
# debugfs off, built only as far as an external module needs (modules_prepare: the
# generated headers, the bindings and the Rust kernel crate), once, then cached like the
# other profiles.  No Module.symvers without vmlinux: modpost's unresolved symbols are only
# warnings here; the module is linked in full against the debug kernel above.  rustc's
# and the compiler's own warnings fail it: without lockdep (this profile, as the release
# one) some bindings differ from the debug kernel's, which `make lint` builds against.
check_module_nodebugfs() {
	local desc="mq_peek.ko builds against a kernel with CONFIG_DEBUG_FS=n"
	if scripts/build-kernel.sh nodebugfs > "$LOGS/build-nodebugfs.log" 2>&1 &&
		make -s PROFILE=nodebugfs KBUILD_MODPOST_WARN=1 modules \
			>> "$LOGS/build-nodebugfs.log" 2>&1 &&
		[ -f build/module-nodebugfs/mq_peek.ko ] &&
		! grep -E '^(warning|error)(\[|:)' "$LOGS/build-nodebugfs.log"; then
		result ok "$desc"
	else
		tail -20 "$LOGS/build-nodebugfs.log" | sed 's/^/# /'
		result fail "$desc" "log: $LOGS/build-nodebugfs.log"
	fi
}

# include/mq_peek.h in every include order with the C library's and the kernel's headers
# (Debian's, and the series' own from `make headers`), and the man page's SYNOPSIS as
# printed (scripts/check-headers.sh): one result per program compiled.
check_headers() {
	local line n=0 bad=0 uapi=""
	# the series' own UAPI headers, as headers_install writes them
	if make -s -C "$CACHE/src" O="$CACHE/build-debug" "${KMAKE[@]}" headers \
		> "$LOGS/check-headers.log" 2>&1; then
		uapi=$CACHE/build-debug/usr/include
	else
		echo "not ok make headers of the debug kernel failed" >> "$LOGS/check-headers.log"
	fi
	scripts/check-headers.sh "$uapi" >> "$LOGS/check-headers.log" 2>&1 || true
	while IFS= read -r line; do
		case $line in
		"ok "*) n=$((n + 1)) ;;
		"not ok "*) bad=$((bad + 1)); echo "# ${line#not ok }" ;;
		esac
	done < "$LOGS/check-headers.log"
	if [ "$bad" = 0 ] && [ "$n" -gt 0 ]; then
		result ok "include/mq_peek.h and the SYNOPSIS compile in every include order" \
			"" "$n"
	else
		sed -n 's/^#   /# /p' "$LOGS/check-headers.log" | head -20
		# every program counts: the passes, and each failure
		passed=$((passed + n))
		[ "$bad" = 0 ] || failed=$((failed + bad - 1))
		result fail "include/mq_peek.h and the SYNOPSIS compile in every include order" \
			"$bad of $((n + bad)) programs failed"
	fi
}

# ---- 3. mqpeek list against util-linux 2.41's lsipc -Q, on the host: lsipc built from
# util-linux/ (scripts/build-lsipc.sh, cached), both run on the same queues in a private
# IPC namespace (scripts/lsipc-compare.sh says what is compared); a case differs or
# passes, and one that did not run fails.
run_lsipc_compare() {
	local out=$LOGS/lsipc-compare.out line l c rc=0
	local -A res=()
	rm -f "$out"
	scripts/lsipc-compare.sh > "$out" 2> "$LOGS/lsipc-compare.err" || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "[0-9]*) l=${line#ok }; res[${l#* }]=ok ;;
		"not ok "[0-9]*) l=${line#not ok }; res[${l#* }]=fail ;;
		esac
	done < "$out"
	[ "$rc" -le 1 ] || sed 's/^/# /' "$LOGS/lsipc-compare.err"
	for c in "${LSIPC_CASES[@]}"; do
		case ${res[$c]:-none} in
		ok) result ok "lsipc: mqpeek list prints what $c prints" ;;
		fail)
			awk -v c="$c" '/^(not )?ok [0-9]+ / { on = ($0 ~ /^not ok/ && substr($0, index($0, $4)) == c) ; next }
				on' "$out" | head -20
			result fail "lsipc: mqpeek list prints what $c prints" "differs (log: $out)" ;;
		*) result fail "lsipc: mqpeek list prints what $c prints" \
			"not run: $(tail -1 "$LOGS/lsipc-compare.err" 2> /dev/null)" ;;
		esac
	done
}

# ---- 4. CRIU with the series (scripts/build-criu.sh), in one boot of the debug kernel:
# criu check, CRIU's own SysV msgque test, the series' POSIX queue tests, and the failure
# modes (tests/criu/criu-tests.sh says what each case proves).
run_criu_tests() {
	local root="" out=$LOGS/criu.out c line rc=0 s
	s=$(date +%s)
	mkdir -p build/criu
	if ! root=$(scripts/build-criu.sh 2> "$LOGS/build-criu.log" | tail -1) || [ -z "$root" ] ||
		! cc -static -O2 -Wall -Wextra -Werror -o build/criu/reaper tests/criu/reaper.c \
			>> "$LOGS/build-criu.log" 2>&1 ||
		! cc -static -O2 -Wall -Wextra -Werror -o build/criu/mqstate tests/criu/mqstate.c \
			>> "$LOGS/build-criu.log" 2>&1 ||
		! cc -static -O2 -Wall -Wextra -Werror -o build/criu/mqchurn tests/criu/mqchurn.c \
			>> "$LOGS/build-criu.log" 2>&1; then
		tail -20 "$LOGS/build-criu.log" | sed 's/^/# /'
		for c in "${CRIU_CASES[@]}"; do
			result fail "criu: $c" "cannot build CRIU (log: $LOGS/build-criu.log)"
		done
		result fail "criu: crit decodes the posix-mqueue and files images" "not run"
		result fail "criu: the test VM run is clean" "not run"
		return
	fi
	rm -f "$out"	# never count a previous run's results
	scripts/vm --timeout "$TEST_VM_TIMEOUT" --quiet --output "$out" --root "$root" --add build/criu/reaper \
		--add build/criu/mqstate --add build/criu/mqchurn --add tests/criu/criu-tests.sh \
		-- reaper sh /opt/criu-tests.sh 2> "$LOGS/vm-criu.err" || rc=$?
	[ -f "$out" ] || : > "$out"
	grep '^#' "$out" || true
	for c in "${CRIU_CASES[@]}"; do
		line=$(grep -E "^(not )?ok $c( |\$)" "$out" | tail -1 || true)
		case $line in
		"ok $c") result ok "criu: $c" ;;
		"not ok"*) result fail "criu: $c" "${line#*# }" ;;
		*) result fail "criu: $c" "no result: the CRIU VM run ended before it" ;;
		esac
	done
	if tests/criu/crit-check.py "$CACHE/criu/crit" "$out" > "$LOGS/crit-check.out" 2>&1; then
		sed "s/^[^#]/# &/" "$LOGS/crit-check.out"
		result ok "criu: crit decodes the posix-mqueue and files images"
	else
		sed "s/^[^#]/# &/" "$LOGS/crit-check.out"
		result fail "criu: crit decodes the posix-mqueue and files images" \
			"$(tail -1 "$LOGS/crit-check.out")"
	fi
	if [ "$rc" = 0 ] || [ "$rc" = 1 ]; then
		result ok "criu: the test VM run is clean (no splat, no leak) in $(( $(date +%s) - s ))s"
	else
		sed 's/^/# /' "$LOGS/vm-criu.err"
		result fail "criu: the test VM run is clean" "exit status $rc: $(tail -1 "$LOGS/vm-criu.err")"
	fi
}

for c in "${CHECKS[@]}"; do
	"$c"
done
run_lsipc_compare
run_criu_tests
finish
