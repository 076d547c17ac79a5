#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC3045	# ulimit -q: busybox ash, the VM's shell, has it
#
# criu-tests.sh - CRIU in the test VM (run under tests/criu/reaper by make check).
#
# Each case prints "ok NAME" or "not ok NAME # WHY", and "#" diagnostics; scripts/check.sh
# counts every case (criu-tests.sh --list names them, on the host too).  With names
# (criu-tests.sh CASE...), only those cases run, in that order.  A ZDTM test is
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
#   rollback_ipcns         a restore into another IPC namespace (--join-ns ipc) that
#                          RLIMIT_MSGQUEUE stops removes the queues it created there, and
#                          not the queue of the same name in CRIU's own namespace
#   crit_images            `criu dump --leave-running` of --mode=flags; the test PASSes, and
#                          its posix-mqueue.img, posix-mqueue-data.img and files.img are
#                          printed, tar'ed and base64'd,
#                          between CRIT-IMAGES-BEGIN and CRIT-IMAGES-END: the host decodes
#                          and checks them with crit (tests/criu/crit-check.py)
#   drain                  mq_peek.ko unloaded, --posix-mqueue-drain: the queues (--mode=all)
#                          are drained and put back, and restore as with F_MQ_PEEK_BATCH
#   drain_leave_running    the same with --leave-running: mqstate is the same before and
#                          after but for the version's count of changes
#   drain_outside          a process outside the dumped tree holds the queue open: the
#                          drain is refused, the queue is unchanged, the process runs on
#   drain_notify           a registered notification (which putting the messages back
#                          would fire): the drain is refused, the queue and the
#                          registration are unchanged
#   reread                 mqchurn, outside the dumped tree, takes a message out of the
#                          queue (--mode=big: several F_MQ_PEEK_BATCH calls) and puts it
#                          back once while the dump reads it: the dump says the queue
#                          changed and reads it again, and the restored test PASSes
#   reread_fail            mqchurn does so on every write of posix-mqueue-data.img: the
#                          dump fails after 8 reads naming the queue, the process runs on,
#                          the queue is unchanged (but for its version) and the test PASSes
MODES="empty one mixed big full unlinked flags shared twice notify"
CASES="criu_check zdtm_msgque"
for m in $MODES; do CASES="$CASES posix_mqueue_$m"; done
CASES="$CASES restore_reuse leave_running peek_only no_module restore_limit notify_signal"
CASES="$CASES rollback_ipcns crit_images drain drain_leave_running drain_outside drain_notify"
CASES="$CASES reread reread_fail"
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
t_criu_check() {
	c=criu_check
	"$CRIU" check > "$W/check.out" 2>&1
	rc=$?
	sed 's/^/# criu check: /' "$W/check.out"
	if [ $rc = 0 ] && grep -q 'Looks good.' "$W/check.out"; then
		res criu_check ok
	else
		res criu_check fail "criu check exited $rc"
	fi
}

# ---- the dumped queue is still there, unchanged: it is used as it is
t_restore_reuse() {
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
}

# ---- --leave-running leaves the queue as it was
t_leave_running() {
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
}

# ---- F_MQ_PEEK only: the same copy, one message per call
t_peek_only() {
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
}

# ---- no F_MQ_PEEK at all: the dump fails clearly, the process is not touched
t_no_module() {
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
}

# ---- a limit stops the restore: it says which, and leaves nothing behind
t_restore_limit() {
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
		elif [ -e "/dev/mqueue/$q" ]; then
			res "$c" fail "the failed restore left the queue behind"
		elif ! gone "$pid"; then
			# The restored task is killed as criu exits; it may still be exiting.
			res "$c" fail "the failed restore left the task behind"
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
}

# ---- SIGEV_SIGNAL: not restorable exactly, so the dump refuses unless told to skip it
t_notify_signal() {
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
}

# ---- the same in an IPC namespace other than CRIU's: the queues go there, not here
t_rollback_ipcns() {
	c=rollback_ipcns
	unshare -i sleep 600 &
	holder=$!
	if ! start "$c" "$Z/posix_mqueue" --mode=all || ! dump; then
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
		kill "$holder"
		res "$c" fail "the test did not start or dump"
		return
	fi
	gone "$pid"
	rm -f /dev/mqueue/zdtm-"$pid"-*
	# In CRIU's namespace, a queue of a name the restore creates in the other one.
	decoy=/dev/mqueue/zdtm-$pid-empty
	: > "$decoy"
	# 1 MiB: the first queues (empty, one) are created, the 2 MB one (mixed) is not.
	ns="--join-ns ipc:/proc/$holder/ns/ipc"
	# shellcheck disable=SC2086	# $ns is two words
	if (ulimit -q 1048576 && "$CRIU" restore -d -D "$d/img" -o restore-limit.log -v4 $ns); then
		res "$c" fail "the restore succeeded under a 1 MiB RLIMIT_MSGQUEUE"
	elif ! grep -q "Can't create queue /zdtm-$pid-mixed: .* exceed the RLIMIT_MSGQUEUE" \
		"$d/img/restore-limit.log"; then
		log_tail "$d/img/restore-limit.log"
		res "$c" fail "the restore did not fail on RLIMIT_MSGQUEUE"
	elif ! grep -q "Removed queue /zdtm-$pid-one after the failed restore" "$d/img/restore-limit.log"; then
		log_tail "$d/img/restore-limit.log"
		res "$c" fail "the failed restore did not remove the queues it created"
	elif nsenter -t "$holder" -i mqstate "/zdtm-$pid-empty" > /dev/null 2>&1 ||
		nsenter -t "$holder" -i mqstate "/zdtm-$pid-one" > /dev/null 2>&1; then
		res "$c" fail "the failed restore left a queue in the restored IPC namespace"
	elif [ ! -e "$decoy" ]; then
		res "$c" fail "the failed restore removed a queue in CRIU's IPC namespace"
	elif alive "$pid"; then
		res "$c" fail "the failed restore left the task behind"
	elif ! rm -f "$decoy" || ! "$CRIU" restore -d -D "$d/img" -o restore.log -v4 $ns; then
		log_tail "$d/img/restore.log"
		res "$c" fail "the restore into the other IPC namespace failed with no limit"
	elif ! nsenter -t "$holder" -i mqstate "/zdtm-$pid-one" > /dev/null; then
		res "$c" fail "the restored queue is not in the restored IPC namespace"
	elif ! finish; then
		res "$c" fail "the restored test did not PASS"
	else
		grep "Removed queue" "$d/img/restore-limit.log" | sed 's/^/#   /'
		res "$c" ok
	fi
	kill "$holder"
	wait "$holder" 2>/dev/null
	rm -f "$decoy"
}

# ---- the images, for crit on the host (the VM has no python)
t_crit_images() {
	c=crit_images
	if ! start "$c" "$Z/posix_mqueue" --mode=flags; then
		res "$c" fail "the test did not start"
	elif ! dump --leave-running; then
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		res "$c" fail "criu dump --leave-running failed"
	elif ! finish; then
		res "$c" fail "the test did not PASS after the dump"
	elif ! (cd "$d/img" && tar -czf "$d/crit.tgz" posix-mqueue.img posix-mqueue-data.img files.img); then
		res "$c" fail "no posix-mqueue.img, posix-mqueue-data.img or files.img"
	else
		echo "CRIT-IMAGES-BEGIN pid=$pid"
		base64 "$d/crit.tgz"
		echo "CRIT-IMAGES-END"
		res "$c" ok
	fi
}

# ---- no F_MQ_PEEK, --posix-mqueue-drain: the queues are drained and put back
# nopeek CMD...: CMD with mq_peek.ko unloaded (it is loaded again after, whatever CMD did)
nopeek() {
	if ! rmmod mq_peek; then
		echo "# rmmod mq_peek failed"
		return 125
	fi
	"$@"
	rc=$?
	insmod "$MQ_PEEK_KO" || echo "# insmod $MQ_PEEK_KO failed"
	return $rc
}
t_drain() {
	c=drain
	if ! start "$c" "$Z/posix_mqueue" --mode=all; then
		res "$c" fail "the test did not start"
	elif ! nopeek dump --posix-mqueue-drain; then
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		res "$c" fail "criu dump --posix-mqueue-drain failed"
	elif ! grep -q "Drained 1000 messages of queue /zdtm-$pid-mixed" "$d/img/dump.log"; then
		log_tail "$d/img/dump.log"
		res "$c" fail "the dump did not drain the queues"
	elif ! grep -q "Drained 0 messages of queue /zdtm-$pid-notify " "$d/img/dump.log"; then
		# An empty queue with a notification: nothing is put back, nothing fires.
		log_tail "$d/img/dump.log"
		res "$c" fail "the dump refused the empty queue with a notification"
	elif ! gone "$pid" || ! rm -f /dev/mqueue/zdtm-"$pid"-* || ! restore; then
		log_tail "$d/img/restore.log"
		res "$c" fail "criu restore failed"
	elif ! finish; then
		res "$c" fail "the restored test did not PASS"
	else
		grep -c "Drained .* and put them back" "$d/img/dump.log" | sed 's/^/#   queues drained: /'
		res "$c" ok
	fi
}

# ---- the same with --leave-running: the queue is as it was, but for its version
t_drain_leave_running() {
	c=drain_leave_running
	if ! start "$c" "$Z/posix_mqueue" --mode=mixed; then
		res "$c" fail "the test did not start"
		return
	fi
	q=/zdtm-$pid-mixed
	mqstate "$q" > "$d/before" 2>&1
	if ! nopeek dump --leave-running --posix-mqueue-drain; then
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		res "$c" fail "criu dump --leave-running --posix-mqueue-drain failed"
		return
	fi
	mqstate "$q" > "$d/after" 2>&1
	sed 's/^/#   before: /' "$d/before"
	sed 's/^/#   after:  /' "$d/after"
	# Taking 1,000 messages out and putting them back counts 2,000 changes.
	sed 's/ changes=[0-9]*//' "$d/before" > "$d/before.nc"
	sed 's/ changes=[0-9]*//' "$d/after" > "$d/after.nc"
	if ! grep -q "Drained 1000 messages of queue $q" "$d/img/dump.log"; then
		log_tail "$d/img/dump.log"
		res "$c" fail "the dump did not drain the queue"
	elif ! alive "$pid"; then
		res "$c" fail "the process did not keep running"
	elif ! grep -q 'messages=1000 ' "$d/before" || ! cmp -s "$d/before.nc" "$d/after.nc"; then
		res "$c" fail "the queue changed"
	elif ! finish; then
		res "$c" fail "the test did not PASS after the dump"
	else
		res "$c" ok
	fi
}

# ---- a process outside the dumped tree holds the queue: no drain
t_drain_outside() {
	c=drain_outside
	if ! start "$c" "$Z/posix_mqueue" --mode=mixed; then
		res "$c" fail "the test did not start"
		return
	fi
	q=zdtm-$pid-mixed
	sleep 600 7< "/dev/mqueue/$q" &
	holder=$!
	mqstate "/$q" > "$d/before" 2>&1
	if nopeek dump --posix-mqueue-drain; then
		res "$c" fail "criu dump drained a queue open outside the dumped tree"
	else
		mqstate "/$q" > "$d/after" 2>&1
		grep "Can't drain" "$d/img/dump.log" | sed 's/^/#   /'
		if ! grep -q "Can't drain queue /$q: process $holder, outside the dumped tree, has it open" \
			"$d/img/dump.log"; then
			log_tail "$d/img/dump.log"
			res "$c" fail "the dump failed without naming the process outside"
		elif ! alive "$pid"; then
			res "$c" fail "the process is gone after the failed dump"
		elif ! grep -q 'messages=1000 ' "$d/before" || ! cmp -s "$d/before" "$d/after"; then
			res "$c" fail "the queue changed"
		elif ! finish; then
			res "$c" fail "the test did not PASS after the failed dump"
		else
			res "$c" ok
		fi
	fi
	kill "$holder" "$pid" 2>/dev/null
	wait "$holder" 2>/dev/null
}

# ---- a notification is registered: no drain (putting the messages back would fire it)
t_drain_notify() {
	c=drain_notify
	if ! start "$c" "$Z/posix_mqueue" --mode=notify-signal; then
		res "$c" fail "the test did not start"
		return
	fi
	q=zdtm-$pid-notify-signal
	mqstate "/$q" > "$d/before" 2>&1
	if nopeek dump --skip-mqueue-notify --posix-mqueue-drain; then
		res "$c" fail "criu dump drained a queue with a notification registered"
	else
		mqstate "/$q" > "$d/after" 2>&1
		grep "Can't drain" "$d/img/dump.log" | sed 's/^/#   /'
		if ! grep -q "Can't drain queue /$q: a notification is registered (pid $pid)" "$d/img/dump.log"; then
			log_tail "$d/img/dump.log"
			res "$c" fail "the dump failed without naming the notification"
		elif ! alive "$pid"; then
			res "$c" fail "the process is gone after the failed dump"
		elif ! grep -q 'messages=1 ' "$d/before" || ! cmp -s "$d/before" "$d/after"; then
			res "$c" fail "the queue changed"
		elif ! grep -q "NOTIFY:0 *SIGNO:12 *NOTIFY_PID:$pid " "/dev/mqueue/$q"; then
			sed 's/^/#   status: /' "/dev/mqueue/$q"
			res "$c" fail "the registration is gone"
		else
			res "$c" ok
		fi
	fi
	kill -9 "$pid" 2>/dev/null
	rm -f "/dev/mqueue/$q"
}

# ---- a process outside the dumped tree changes the queue while the dump reads it
# churn_start COUNT QUEUE: mqchurn COUNT QUEUE in the background, its pid in $churn, once
# it watches $d/img (the dump writes posix-mqueue-data.img there after each batch call)
churn_start() {
	mqchurn "$1" "/$2" "$d/img" posix-mqueue-data.img > "$d/churn.out" 2>&1 &
	churn=$!
	i=0
	while ! grep -q '^ready$' "$d/churn.out" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^ready$' "$d/churn.out"
}
# churn_stop: stop mqchurn (between two changes), its status in $churn_rc
churn_stop() {
	kill -TERM "$churn" 2>/dev/null
	churn_rc=0
	wait "$churn" || churn_rc=$?
	grep -v '^ready$' "$d/churn.out" | sed 's/^/#   mqchurn: /'
}
# How many reads the dump of queue $q found changed
rereads() { grep -c "Queue /$q changed while it was read (try" "$d/img/dump.log"; }
CHURN_TRIES=4

# reread_once: 0 the case passed, 1 it failed (why in $why), 2 the change missed the read
reread_once() {
	if ! start "$c" "$Z/posix_mqueue" --mode=big; then
		why="the test did not start"
		return 1
	fi
	q=zdtm-$pid-big
	if ! churn_start 1 "$q"; then
		churn_stop
		kill -9 "$pid"
		why="mqchurn did not start"
		return 1
	fi
	if ! dump; then
		churn_stop
		grep 'Error (criu/posix-mqueue' "$d/img/dump.log" | sed 's/^/#   /'
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		why="criu dump failed"
		return 1
	fi
	churn_stop
	gone "$pid"
	rm -f /dev/mqueue/zdtm-"$pid"-*
	echo "#   reads found changed: $(rereads)"
	grep "Queue /$q changed\|messages of queue /$q" "$d/img/dump.log" | sed 's/^/#   /'
	if ! grep -q "Queue /$q changed while it was read (try 1 of 8), reading it again" "$d/img/dump.log"; then
		return 2
	fi
	if [ $churn_rc != 0 ] || ! grep -q '^changes 1$' "$d/churn.out"; then
		why="mqchurn did not change the queue once (exit status $churn_rc)"
		return 1
	fi
	if ! grep -q "Read 6 messages of queue /$q with F_MQ_PEEK_BATCH" "$d/img/dump.log"; then
		log_tail "$d/img/dump.log"
		why="the dump did not read the 6 messages again"
		return 1
	fi
	if ! restore; then
		log_tail "$d/img/restore.log"
		why="criu restore failed"
		return 1
	fi
	if ! finish; then
		why="the restored test did not PASS"
		return 1
	fi
	return 0
}
# retried NAME FN WHY: FN (0 pass, 1 fail with $why, 2 the timing missed) until it does
# not miss, at most CHURN_TRIES times; WHY is the failure if it never stops missing
retried() {
	c=$1
	n=1
	while :; do
		why=
		"$2"
		rc=$?
		[ $rc = 2 ] || break
		echo "# $c: try $n of $CHURN_TRIES: $3"
		[ $n -lt $CHURN_TRIES ] || break
		n=$((n + 1))
	done
	case $rc in
	0) res "$c" ok ;;
	1) res "$c" fail "$why" ;;
	*) res "$c" fail "$3, $CHURN_TRIES times" ;;
	esac
}
t_reread() {
	retried reread reread_once "mqchurn's change missed the dump's read (no re-read to test)"
}

# reread_fail_once: 0 the case passed, 1 it failed (why in $why), 2 a read was not changed
reread_fail_once() {
	if ! start "$c" "$Z/posix_mqueue" --mode=big; then
		why="the test did not start"
		return 1
	fi
	q=zdtm-$pid-big
	mqstate "/$q" > "$d/before" 2>&1
	if ! churn_start 0 "$q"; then
		churn_stop
		kill -9 "$pid"
		why="mqchurn did not start"
		return 1
	fi
	if dump; then
		churn_stop
		echo "#   reads found changed: $(rereads) (the dump succeeded)"
		# A read mqchurn did not catch up with: the queue is gone with the process.
		rm -f /dev/mqueue/zdtm-"$pid"-*
		return 2
	fi
	churn_stop
	mqstate "/$q" > "$d/after" 2>&1
	sed 's/^/#   before: /' "$d/before"
	sed 's/^/#   after:  /' "$d/after"
	sed 's/ changes=[0-9]*//' "$d/before" > "$d/before.nc"
	sed 's/ changes=[0-9]*//' "$d/after" > "$d/after.nc"
	echo "#   reads found changed: $(rereads)"
	grep "Queue /$q changed during" "$d/img/dump.log" | sed 's/^/#   /'
	if ! grep -q "Queue /$q changed during each of 8 reads: a process outside the dumped tree is using it" \
		"$d/img/dump.log"; then
		grep 'Error (criu/posix-mqueue' "$d/img/dump.log" | sed 's/^/#   /'
		log_tail "$d/img/dump.log"
		kill -9 "$pid"
		why="the dump failed without naming the queue that changed"
		return 1
	elif [ "$(rereads)" != 8 ]; then
		kill -9 "$pid"
		why="the dump did not warn about each of the 8 reads"
		return 1
	elif [ $churn_rc != 0 ]; then
		kill -9 "$pid"
		why="mqchurn failed (exit status $churn_rc)"
		return 1
	elif ! alive "$pid"; then
		why="the process is gone after the failed dump"
		return 1
	elif ! grep -q 'messages=6 ' "$d/before" || ! cmp -s "$d/before.nc" "$d/after.nc"; then
		kill -9 "$pid"
		why="the queue changed"
		return 1
	elif ! finish; then
		why="the test did not PASS after the failed dump"
		return 1
	fi
	return 0
}
t_reread_fail() {
	retried reread_fail reread_fail_once "the dump succeeded: mqchurn did not change every read"
}

# run_case NAME
run_case() {
	case $1 in
	# CRIU's own SysV control
	zdtm_msgque) cycle zdtm_msgque unshare -i "$Z/msgque" ;;
	# the series' POSIX queue test, one mode per cycle
	posix_mqueue_*) cycle "$1" "$Z/posix_mqueue" --mode="${1#posix_mqueue_}" ;;
	*) "t_$1" ;;
	esac
}

# shellcheck disable=SC2086	# the names are words
[ $# -gt 0 ] || set -- $CASES
for tc; do
	case " $CASES " in
	*" $tc "*) run_case "$tc" ;;
	*) res "$tc" fail "no such case" ;;
	esac
done
echo "# criu-tests: $fails failed"
[ $fails = 0 ]
