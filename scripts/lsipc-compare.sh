#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lsipc-compare.sh - `mqpeek list ARGS` side by side with the real `lsipc -Q ARGS` of
# util-linux 2.41, on the host, for the same queues: one result per option set.
#
# usage: scripts/lsipc-compare.sh [--list]
#   --list   print the cases (one a line) and exit; scripts/check.sh counts them
#
# lsipc is built from the util-linux source carried in util-linux/ (scripts/build-lsipc.sh,
# cached), or taken from $LSIPC; mqpeek is the host build (tools/mqpeek/target/release/
# mqpeek, `make tool-host`), or $MQPEEK.  The queues live in a private IPC and mount
# namespace (unshare -im, as root), with an mqueue filesystem of their own on
# /dev/mqueue, so nothing of the host's is listed or changed; they are made there with
# mq_open(3) through `mqpeek send` and given a fixed owner (4242:4242, a uid with no
# name) and mtime (2025-01-02 03:04:05 UTC), and both tools run with TZ=UTC and
# LC_ALL=C.UTF-8.  Every case must print exactly the same bytes on stdout and stderr, and
# exit with the same status.  Output is TAP-like: "ok N lsipc -Q ARGS" or
# "not ok N lsipc -Q ARGS", the difference as "# " lines; the exit status is 0 if every
# case is identical, 1 if not, 2 if the comparison could not run.
#
# Documented differences are not compared (README, "The mqpeek tool"): a queue the
# caller cannot open (lsipc leaves it out), -N of a missing queue (mqpeek exits 3),
# mqpeek's own columns (MAXMSG MSGSIZE NOTIFY SIGNO NOTIFY_PID), and -o naming USEDBYTES
# or MSGS, which lsipc 2.41 refuses with -Q ("column MSGS does not apply to the specified
# IPC": its check allows NAME to MTIME only, though both are default columns) and mqpeek
# accepts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

# The options compared: lsipc -Q ARGS against mqpeek list ARGS.
CASES=(
	""
	"-J"
	"-r"
	"-e"
	"-n"
	"--newline"
	"-b"
	"-c"
	"-y -e"
	"--noheadings"
	"-r --noheadings"
	"-P"
	"-t"
	"--time-format=iso"
	"--time-format=full"
	"--time-format=short"
	"-o NAME,CUID,CUSER,CGID,CGROUP,MTIME"
	"-o NAME,OWNER,PERMS -J"
	"-o +CUID"
	"-e -o NAME,PERMS"
	"-N /alpha"
	"-N /alpha -l"
	"-N /alpha -J"
	"-N /alpha -b -r"
	"-g"
	"-g -b"
	"-g -J"
	"-g -r --noheadings"
	"-g -o RESOURCE,LIMIT"
	"-g -o +USED -e"
)

if [ "${1:-}" = --list ]; then
	for c in "${CASES[@]}"; do echo "lsipc -Q${c:+ $c}"; done
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "lsipc-compare: needs root (unshare -im)" >&2; exit 2; }
LSIPC=${LSIPC:-$("$top/scripts/build-lsipc.sh" | tail -1)}
MQPEEK=${MQPEEK:-$top/tools/mqpeek/target/release/mqpeek}
[ -x "$MQPEEK" ] || { echo "lsipc-compare: no $MQPEEK (make tool-host)" >&2; exit 2; }
"$LSIPC" --version | grep -q 'util-linux 2\.41' ||
	{ echo "lsipc-compare: $LSIPC is not util-linux 2.41's lsipc" >&2; exit 2; }

# The queues, in a fresh IPC namespace: names in plain ASCII, with an escape sequence
# and with bytes that are not UTF-8; empty, one message, several priorities.
# shellcheck disable=SC2016	# expanded by the shell that runs it
setup='
set -e
mount -t mqueue none /dev/mqueue
umask 0
$MQPEEK send --create --mode 640 --maxmsg 10 --msgsize 64 --prio 1 /alpha one
$MQPEEK send /alpha two
$MQPEEK send --create --mode 600 --maxmsg 4 --msgsize 2048 /beta "$(printf %2000s "")"
$MQPEEK send --create --mode 444 --maxmsg 2 --msgsize 16 "/g$(printf "\033")[1mamma" x
$MQPEEK send --create --mode 664 --maxmsg 3 --msgsize 16 "/d$(printf "\377\376")lta" yz
$MQPEEK rm "/d$(printf "\377\376")lta"
$MQPEEK send --create --mode 664 --maxmsg 3 --msgsize 16 "/d$(printf "\377\376")lta" yz
$MQPEEK send --create --mode 200 --maxmsg 1 --msgsize 8 /empty x
$MQPEEK rm /empty
$MQPEEK send --create --mode 644 --maxmsg 1 --msgsize 8 /empty x
for q in /dev/mqueue/*; do chown 4242:4242 "$q"; touch -d "2025-01-02 03:04:05 UTC" "$q"; done
'

run() { # TOOL ARGS...: stdout and stderr of TOOL, then its exit status, in a fresh namespace
	# shellcheck disable=SC2016	# expanded by the inner shell
	MQPEEK=$MQPEEK TZ=UTC LC_ALL=C.UTF-8 unshare -im sh -c "$setup"'
		"$0" "$@" 2>&1; echo "(exit status $?)"' "$@"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0 n=0
for c in "${CASES[@]}"; do
	n=$((n + 1))
	# shellcheck disable=SC2086	# the options are words
	run "$LSIPC" -Q $c > "$tmp/lsipc" || true
	# shellcheck disable=SC2086
	run "$MQPEEK" list $c > "$tmp/mqpeek" || true
	# The program's own name in its messages is not a difference.
	sed -i 's/^lsipc: /PROG: /' "$tmp/lsipc"
	sed -i 's/^mqpeek: /PROG: /' "$tmp/mqpeek"
	if cmp -s "$tmp/lsipc" "$tmp/mqpeek"; then
		echo "ok $n lsipc -Q${c:+ $c}"
	else
		echo "not ok $n lsipc -Q${c:+ $c}"
		diff -u --label "lsipc -Q $c" --label "mqpeek list $c" "$tmp/lsipc" "$tmp/mqpeek" |
			head -30 | sed 's/^/# /' | cat -v || true
		bad=1
	fi
done
exit $bad
