#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-in-vm.sh TEST... - run kselftest binaries one after another inside the VM.
#
# scripts/check.sh copies this and the binaries to /opt.  The markers let the host
# attribute each TAP "# Totals:" line to its binary, and notice one that died before
# printing it.
rc=0
for t in "$@"; do
	args=
	case $t in
	upstream_mq_open_tests) args=/mq_open_tests_queue ;;
	esac
	echo "MQ-PEEK-TEST: begin $t"
	"/opt/$t" $args
	r=$?
	echo "MQ-PEEK-TEST: end $t rc=$r"
	[ $r = 0 ] || rc=1
	# A test that failed an assertion may leave its queues behind; they would count
	# against RLIMIT_MSGQUEUE in the next binary.
	rm -f /dev/mqueue/*
done
exit $rc
