#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - the mqpeek session of the README, run in the test VM (make demo-tool).
#
# On the host it builds what is missing and boots the VM with the tool and itself;
# in the VM (--guest) it runs the session, printing each command before its output.
set -e
if [ "$1" != --guest ]; then
	top=$(cd "$(dirname "$0")/../.." && pwd)
	make -s -C "$top" tool-static
	exec "$top/scripts/vm" --quiet --output "$top/build/demo-tool.out" \
		--add "$top/tools/mqpeek/target/x86_64-unknown-linux-gnu/release/mqpeek" \
		--add "$top/tools/mqpeek/demo.sh" -- demo.sh --guest
fi
set +e
run() {
	printf "# %s\n" "$1"
	eval "$1"
	rc=$?
	[ $rc = 0 ] || echo "(exit status $rc)"
}
cd /tmp
run "mqpeek send /orders --create --mode 640 --maxmsg 10 --msgsize 1024 --prio 1 \
'{\"id\": 7, \"item\": \"green tea\", \"qty\": 2}' '{\"id\": 8, \"item\": \"oolong\", \"qty\": 1}'"
run "mqpeek send /orders --prio 9 '{\"id\": 42, \"item\": \"matcha\", \"qty\": 12}'"
run "mqpeek list"
run "mqpeek show /orders"
run "mqpeek show /orders --format text --full --offset 1"
run "mqpeek show /orders --json --prio 9 --format text --full"
run "mqpeek dump /orders -o orders.img"
run "ls -l orders.img"
run "mqpeek inspect orders.img"
run "mqpeek restore orders.img"
run "mqpeek restore orders.img --name /orders-copy"
run "mqpeek list -J -o NAME,MSGS,USEDBYTES -b"
run "mqpeek send /orders '{\"id\": 43, \"item\": \"sencha\", \"qty\": 1}'"
run "MQPEEK_BACKUP_DIR=/tmp mqpeek restore --force orders.img"
run "mqpeek rm /orders-copy /no-such-queue"
run "mqpeek list -g"
run "mqpeek send --create \"\$(printf '/tea\\377\\033[1m')\" oolong"
run "mqpeek list -o NAME,MSGS"
run "mqpeek show \"\$(printf '/tea\\377\\033[1m')\" --format text"
run "mqpeek rm \"\$(printf '/tea\\377\\033[1m')\""
exit 0
