#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-in-vm.sh TEST... - run kselftest binaries one after another inside the VM.
#
# scripts/check.sh copies this and the binaries (the Makefile's TEST_GEN_PROGS) to /opt.  The markers let the host
# attribute each TAP "# Totals:" line to its binary, and notice one that died before
# printing it.
rc=0
for t in "$@"; do
	# Arguments come from KSELFTEST_<NAME>_ARGS, as in kselftest's runner.sh.
	var=KSELFTEST_$(echo "$t" | tr -c '[:alnum:]_\n' _ | tr '[:lower:]' '[:upper:]')_ARGS
	eval "args=\${$var:-}"
	echo "MQ-PEEK-TEST: begin $t"
	# shellcheck disable=SC2086	# the arguments are words
	"/opt/$t" $args
	r=$?
	echo "MQ-PEEK-TEST: end $t rc=$r"
	[ $r = 0 ] || rc=1
	# A test that failed an assertion may leave its queues behind; they would count
	# against RLIMIT_MSGQUEUE in the next binary.
	rm -f /dev/mqueue/*
done
exit $rc
