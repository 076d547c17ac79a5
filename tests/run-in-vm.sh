#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-in-vm.sh TEST... - the kselftest runner of the test VM.
#
# Runs /opt/TEST for each TEST in turn and prints TAP version 13 as kselftest's
# tools/testing/selftests/kselftest/runner.sh does: the plan, then for each program a
# "# selftests: mq-peek: TEST" line, the program's output (stdout and stderr, its own TAP
# for a kselftest_harness.h program) with every line prefixed "# ", and its result,
# "ok N TEST", "ok N TEST # SKIP" (exit status 4) or "not ok N TEST # exit=RC".
# Arguments come from KSELFTEST_<TEST>_ARGS, as in runner.sh.  scripts/check.sh copies
# this and the programs of the Makefile's TEST_GEN_PROGS to /opt.
#
# Exits 0 if every program passed or was skipped, else 1.
# shellcheck disable=SC3040	# busybox's ash has pipefail
set -o pipefail

prefix() {
	while IFS= read -r line || [ -n "$line" ]; do
		echo "# $line"
	done
}

echo "TAP version 13"
echo "1..$#"
n=0
rc=0
for t in "$@"; do
	n=$((n + 1))
	var=KSELFTEST_$(echo "$t" | tr -c '[:alnum:]_\n' _ | tr '[:lower:]' '[:upper:]')_ARGS
	eval "args=\${$var:-}"
	echo "# selftests: mq-peek: $t"
	# shellcheck disable=SC2154,SC2086	# args is set by the eval; it is words
	"/opt/$t" $args 2>&1 | prefix
	r=$?
	case $r in
	0) echo "ok $n $t" ;;
	4) echo "ok $n $t # SKIP" ;;
	*) echo "not ok $n $t # exit=$r"; rc=1 ;;
	esac
	# A test that failed an assertion may leave its queues behind; they would count
	# against RLIMIT_MSGQUEUE in the next program.
	rm -f /dev/mqueue/*
done
exit $rc
