#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3045	# ulimit -q: busybox ash, the VM's shell, has it
#
# criu-tests.sh - CRIU in the test VM (run under tests/criu/reaper by make check).
#
# Each case prints "ok NAME" or "not ok NAME # WHY", and "#" diagnostics; scripts/check.sh
# counts every case (criu-tests.sh --list names them, on the host too).  A ZDTM test is
# driven as zdtm.py drives it: started with --pidfile/--outfile (it daemonizes), dumped
# with `criu dump -t PID -D DIR` (which kills it), restored with `criu restore -d -D DIR`,
# then SIGTERMed: it checks its own state and its outfile must say PASS.  A named queue
# outlives the process that criu dump kills, so a cycle removes the test's queues from
# /dev/mqueue after the dump, as a restore on another machine or after a reboot would find
# them: only what CRIU saved can bring them back.
#
#   criu_check             `criu check`, its verdict shown, must say "Looks good."
#   zdtm_msgque            CRIU's own unmodified SysV test msgque, in an IPC namespace of
#                          its own (so the queue dies with it and only CRIU brings it back)
#   posix_mqueue_MODE      test/zdtm/static/posix_mqueue.c --mode=MODE of the series
#   restore_reuse          the dumped queue left in place, unchanged (same boot, same
#                          F_MQ_PEEK_BATCH version): restore uses it as it is
#   leave_running          `criu dump --leave-running`: mqstate (attributes, version,
#                          every message) is the same before and after, and the test PASSes
#   peek_only              a kernel with F_MQ_PEEK but no F_MQ_PEEK_BATCH (the module
#                          loaded with test_switches=2): the dump reads message by message
#   no_module              mq_peek.ko unloaded: the dump fails naming the missing feature,
#                          the process runs on untouched (it PASSes after the reload)
#   restore_limit          a restore that RLIMIT_MSGQUEUE stops says so and leaves no
#                          queue behind; with the limit raised the same images restore
#   notify_signal          a SIGEV_SIGNAL registration fails the dump with a clear message,
#                          the process runs on; --skip-mqueue-notify dumps it
MODES="empty one mixed big full unlinked flags shared twice notify"
CASES="criu_check zdtm_msgque"
for m in $MODES; do CASES="$CASES posix_mqueue_$m"; done
CASES="$CASES restore_reuse leave_running peek_only no_module restore_limit notify_signal"
if [ "${1:-}" = --list ]; then
	for c in $CASES; do echo "$c"; done
	exit 0
fi

CRIU=/usr/sbin/criu
Z=/usr/libexec/criu-zdtm
W=/tmp/criu-tests
PATH=/usr/sbin:$PATH
# RLIMIT_MSGQUEUE is charged to whoever creates a queue: CRIU, at restore.
ulimit -q unlimited
# CRIU probes TCP repair on a loopback socket (kerndat_tcp_repair()).
ifconfig lo 127.0.0.1 up
mkdir -p "$W"
fails=0

res() { # res NAME ok|fail [WHY]
	if [ "$2" = ok ]; then
		echo "ok $1"
	else
		echo "not ok $1 # $3"
		fails=$((fails + 1))
	fi
}
log_tail() { # log_tail FILE [LINES]: the end of a CRIU log as diagnostics
	[ -f "$1" ] && tail -n "${2:-12}" "$1" | sed 's/^/#   /'
	return 0
}
# start NAME CMD...: start a ZDTM test in $W/NAME; its pid in $pid, its dir in $d
start() {
	name=$1
	shift
	d=$W/$name
	rm -rf "$d"
	mkdir -p "$d/img"
	cd "$d" || return 1
	"$@" --pidfile="$d/test.pid" --outfile="$d/test.out" || return 1
	pid=$(cat "$d/test.pid")
	[ -n "$pid" ]
}
alive() { # alive PID: running (not a zombie, not gone)
	[ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"
}
gone() { # gone PID: wait up to 10 s for it to be gone
	i=0
	while [ -e "/proc/$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -e "/proc/$1" ]
}
# finish: SIGTERM the test, wait for its verdict; true if it says PASS
finish() {
	kill -TERM "$pid" 2>/dev/null
	i=0
	while [ ! -f "$d/test.out" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -v '^$' "$d/test.out" 2>/dev/null | tail -n 4 | sed 's/^/#   test: /'
	grep -q PASS "$d/test.out" 2>/dev/null
}
dump() { "$CRIU" dump -t "$pid" -D "$d/img" -o dump.log -v4 "$@"; }
restore() { "$CRIU" restore -d -D "$d/img" -o restore.log -v4; }

# cycle NAME CMD...: start, dump, kill (criu does), restore, verify
cycle() {
	c=$1
	if ! start "$@"; then
		res "$c" fail "the test did not start"
		return
	fi
	if ! dump; then
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		res "$c" fail "criu dump failed"
		return
	fi
	if ! gone "$pid"; then
		res "$c" fail "the test still runs after criu dump"
		return
	fi
	[ -n "${KEEP_QUEUES:-}" ] || rm -f /dev/mqueue/zdtm-"$pid"-*
	if ! restore; then
		log_tail "$d/img/restore.log"
		res "$c" fail "criu restore failed"
		return
	fi
	if finish; then
		res "$c" ok
	else
		res "$c" fail "the restored test did not PASS"
	fi
}

# ---- criu check
"$CRIU" check > "$W/check.out" 2>&1
rc=$?
sed 's/^/# criu check: /' "$W/check.out"
if [ $rc = 0 ] && grep -q 'Looks good.' "$W/check.out"; then
	res criu_check ok
else
	res criu_check fail "criu check exited $rc"
fi

# ---- CRIU's own SysV control
cycle zdtm_msgque unshare -i "$Z/msgque"

# ---- the series' POSIX queue test, one mode per cycle
for m in $MODES; do
	cycle "posix_mqueue_$m" "$Z/posix_mqueue" --mode="$m"
done

# ---- the dumped queue is still there, unchanged: it is used as it is
c=restore_reuse
KEEP_QUEUES=1
cycle "$c" "$Z/posix_mqueue" --mode=mixed > "$W/reuse.res"
KEEP_QUEUES=
grep -v "^ok $c\$" "$W/reuse.res"
if grep -q "^ok $c\$" "$W/reuse.res"; then
	if grep -q "Queue /zdtm-$pid-mixed exists and is the dumped queue, unchanged" "$d/img/restore.log"; then
		res "$c" ok
	else
		log_tail "$d/img/restore.log"
		res "$c" fail "the restore did not use the queue left in place"
	fi
fi

# ---- --leave-running leaves the queue as it was
c=leave_running
if start "$c" "$Z/posix_mqueue" --mode=mixed; then
	q=/zdtm-$pid-mixed
	mqstate "$q" > "$d/before" 2>&1
	if dump --leave-running; then
		mqstate "$q" > "$d/after" 2>&1
		sed 's/^/#   before: /' "$d/before"
		sed 's/^/#   after:  /' "$d/after"
		if ! alive "$pid"; then
			res "$c" fail "the process did not keep running"
		elif ! grep -q 'messages=1000 ' "$d/before" || ! cmp -s "$d/before" "$d/after"; then
			res "$c" fail "the queue changed"
		elif ! finish; then
			res "$c" fail "the test did not PASS after the dump"
		else
			res "$c" ok
		fi
	else
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		res "$c" fail "criu dump --leave-running failed"
	fi
else
	res "$c" fail "the test did not start"
fi

# ---- F_MQ_PEEK only: the same copy, one message per call
c=peek_only
if ! { rmmod mq_peek && insmod "$MQ_PEEK_KO" test_switches=2; }; then
	res "$c" fail "cannot reload mq_peek.ko with test_switches=2 (no F_MQ_PEEK_BATCH)"
	grep -q '^mq_peek ' /proc/modules || insmod "$MQ_PEEK_KO"
else
	cycle "$c" "$Z/posix_mqueue" --mode=all > "$W/peek_only.res"
	rmmod mq_peek && insmod "$MQ_PEEK_KO"
	grep -v "^ok $c\$" "$W/peek_only.res"
	if grep -q "^ok $c\$" "$W/peek_only.res"; then
		if grep -q 'messages of queue .* with F_MQ_PEEK$' "$d/img/dump.log" &&
			! grep -q 'with F_MQ_PEEK_BATCH' "$d/img/dump.log"; then
			res "$c" ok
		else
			res "$c" fail "the dump did not read with F_MQ_PEEK alone"
		fi
	fi
fi

# ---- no F_MQ_PEEK at all: the dump fails clearly, the process is not touched
c=no_module
if start "$c" "$Z/posix_mqueue" --mode=one; then
	q=/zdtm-$pid-one
	mqstate "$q" > "$d/before" 2>&1
	if ! rmmod mq_peek; then
		res "$c" fail "rmmod mq_peek failed"
	elif dump; then
		insmod "$MQ_PEEK_KO"
		res "$c" fail "criu dump succeeded without F_MQ_PEEK"
	else
		grep 'neither F_MQ_PEEK_BATCH nor F_MQ_PEEK' "$d/img/dump.log" | sed 's/^/#   /'
		insmod "$MQ_PEEK_KO"
		mqstate "$q" > "$d/after" 2>&1
		if ! grep -q 'neither F_MQ_PEEK_BATCH nor F_MQ_PEEK (is mq_peek.ko loaded?)' "$d/img/dump.log"; then
			log_tail "$d/img/dump.log"
			res "$c" fail "the dump failed without naming the missing feature"
		elif ! alive "$pid"; then
			res "$c" fail "the process is gone after the failed dump"
		elif ! cmp -s "$d/before" "$d/after"; then
			res "$c" fail "the queue changed"
		elif ! finish; then
			res "$c" fail "the test did not PASS after the failed dump"
		else
			res "$c" ok
		fi
	fi
else
	res "$c" fail "the test did not start"
fi
grep -q '^mq_peek ' /proc/modules || insmod "$MQ_PEEK_KO"

# ---- a limit stops the restore: it says which, and leaves nothing behind
c=restore_limit
if start "$c" "$Z/posix_mqueue" --mode=mixed && dump; then
	q=zdtm-$pid-mixed
	gone "$pid"
	rm -f "/dev/mqueue/$q"
	if (ulimit -q 65536 && restore); then
		res "$c" fail "the restore succeeded under a 64 KiB RLIMIT_MSGQUEUE"
	elif ! grep -q "Can't create queue /$q: .* exceed the RLIMIT_MSGQUEUE" "$d/img/restore.log"; then
		log_tail "$d/img/restore.log"
		res "$c" fail "the failed restore did not name RLIMIT_MSGQUEUE"
	elif [ -e "/dev/mqueue/$q" ] || alive "$pid"; then
		res "$c" fail "the failed restore left the queue or the task behind"
	elif ! restore; then
		log_tail "$d/img/restore.log"
		res "$c" fail "the restore failed with the limit raised"
	elif ! finish; then
		res "$c" fail "the restored test did not PASS"
	else
		grep "Can't create queue" "$d/img/restore.log" | sed 's/^/#   /'
		res "$c" ok
	fi
else
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	res "$c" fail "the test did not start or dump"
fi

# ---- SIGEV_SIGNAL: not restorable exactly, so the dump refuses unless told to skip it
c=notify_signal
if start "$c" "$Z/posix_mqueue" --mode=notify-signal; then
	if dump; then
		res "$c" fail "criu dump succeeded with a SIGEV_SIGNAL registration"
	elif ! grep -q "Can't dump the notification of queue .* sends signal" "$d/img/dump.log"; then
		log_tail "$d/img/dump.log"
		res "$c" fail "the dump failed without saying why"
	elif ! alive "$pid"; then
		res "$c" fail "the process is gone after the failed dump"
	elif ! dump --skip-mqueue-notify; then
		log_tail "$d/img/dump.log"
		res "$c" fail "criu dump --skip-mqueue-notify failed"
	elif ! gone "$pid" || ! rm -f /dev/mqueue/zdtm-"$pid"-* || ! restore; then
		log_tail "$d/img/restore.log"
		res "$c" fail "criu restore failed"
	elif ! finish; then
		res "$c" fail "the restored test did not PASS"
	else
		grep "notification of queue" "$d/img/dump.log" | sed 's/^/#   /'
		res "$c" ok
	fi
else
	res "$c" fail "the test did not start"
fi

echo "# criu-tests: $fails failed"
[ $fails = 0 ]
