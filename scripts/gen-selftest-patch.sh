#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gen-selftest-patch.sh [--check] - the series' last patch: the F_MQ_PEEK selftests.
#
# The tests in tests/ are the source.  This writes the patch that adds them to the kernel
# tree, under tools/testing/selftests/mqueue/: the programs of the Makefile's SELFTEST_PROGS
# (tests/NAME.c), tests/mq_peek_util.h, include/mq_peek.h, tests/config as the directory's
# config, and their Makefile and .gitignore entries.  The files are copied verbatim: make
# check runs the same source.
#
# The patch is made the way a reviewer would apply it: the files the series touches are
# taken from the 6.12 source tarball (cached under $CACHE/pristine-$KPKG/), committed in a
# scratch git repository, every other patch of kernel/patches/series is applied with
# `git am`, the selftest files are committed on top, and `git format-patch` writes the
# patch.  It is numbered after the last other patch of the series and listed last; a patch
# of an older number is replaced.  Its author is the series' author; its date stays the
# same as long as nothing else in it changes.
#
# --check writes nothing: it fails unless the committed patch is what this would write,
# the series lists it last, and the whole series applies with `git am`.  make check and
# make lint run it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
check=0
[ "${1:-}" = --check ] && check=1
PDIR=kernel/patches
SUBJECT="selftests/mqueue: add tests of fcntl(F_MQ_PEEK)"
DEST=tools/testing/selftests/mqueue
die() { echo "gen-selftest-patch: $*" >&2; exit 1; }

mapfile -t PROGS < <(make -s print-SELFTEST_PROGS)
[ ${#PROGS[@]} -gt 0 ] || die "the Makefile's SELFTEST_PROGS is empty"

# The series without the selftest patch (recognised by its subject), and the selftest
# patch's current file, if any.
mapfile -t SERIES < <(grep -v '^\s*\(#\|$\)' "$PDIR/series")
others=() old=""
for p in "${SERIES[@]}"; do
	if grep -qxF "Subject: [PATCH] $SUBJECT" "$PDIR/$p"; then
		old=$p
	else
		others+=("$p")
	fi
done
[ ${#others[@]} -gt 0 ] || die "no kernel patches in $PDIR/series"
last=${others[-1]}
num=$((10#${last%%-*} + 1))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- the base: the files the series touches, from the source tarball
files=$(cat "$PDIR"/*.patch | sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' |
	grep -v "^$DEST/" | sort -u || true)
pristine=$CACHE/pristine-$KPKG
want=$( (echo "$files"; echo "$DEST") | sort -u)
# The cache may be shared: one run at a time extracts or reads it.
mkdir -p "$CACHE"
exec 8> "$CACHE/.pristine.lock"
flock 8
if [ "$(cat "$pristine/.files" 2>/dev/null)" != "$want" ]; then
	echo "gen-selftest-patch: extracting the files the series touches from" \
		"$(basename "$KSRC_TARBALL")" >&2
	rm -rf "$pristine.new"
	mkdir -p "$pristine.new"
	mapfile -t members < <(while read -r f; do echo "linux-source-6.12/$f"; done <<< "$want")
	# Files the series creates are not in the tarball: tar reports them (exit status 2).
	tar -xf "$KSRC_TARBALL" -C "$pristine.new" --strip-components=1 "${members[@]}" \
		2> /dev/null || [ $? = 2 ]
	echo "$want" > "$pristine.new/.files"
	rm -rf "$pristine"
	mv "$pristine.new" "$pristine"
fi

export GIT_AUTHOR_NAME=mq-peek GIT_AUTHOR_EMAIL=mq-peek@invalid \
	GIT_COMMITTER_NAME=mq-peek GIT_COMMITTER_EMAIL=mq-peek@invalid \
	GIT_AUTHOR_DATE="2024-11-17 00:00:00 +0000" GIT_COMMITTER_DATE="2024-11-17 00:00:00 +0000"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
base() { # base DIR: a git repository of the base files with the other patches applied
	mkdir -p "$1"
	cp -a "$pristine/." "$1/"
	rm -f "$1/.files"
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" commit -q -m "linux-source $KPKG: the files kernel/patches touches"
	for p in "${others[@]}"; do
		git -C "$1" am -q "$TOP/$PDIR/$p" > "$work/am.log" 2>&1 ||
			{ cat "$work/am.log" >&2; die "$p does not apply with git am"; }
	done
}
base "$work/tree"

# ---- the selftest files, committed on top
t=$work/tree/$DEST
for b in "${PROGS[@]}"; do
	[ -f "tests/$b.c" ] || die "SELFTEST_PROGS names $b, but there is no tests/$b.c"
	cp "tests/$b.c" "$t/"
done
cp tests/mq_peek_util.h include/mq_peek.h "$t/"
cp tests/config "$t/config"
sed -i "s/^TEST_GEN_PROGS := .*/&\nTEST_GEN_PROGS += ${PROGS[*]}\nLOCAL_HDRS += mq_peek.h mq_peek_util.h/" \
	"$t/Makefile"
grep -q '^TEST_GEN_PROGS += ' "$t/Makefile" || die "$DEST/Makefile has no TEST_GEN_PROGS line"
printf '%s\n' "${PROGS[@]}" >> "$t/.gitignore"

# The author is the series'; the date stays the old patch's unless the patch changes.
from=$(sed -n '1,/^Date: /{/^From: /,/^Date: /p}' "$PDIR/$last" | sed -e '$d' -e 's/^From: //' |
	tr -d '\n')
author_name=${from% <*}
author_email=${from##*<}
author_email=${author_email%>}
date=""
[ -z "$old" ] || date=$(sed -n '1,/^Date: /s/^Date: //p' "$PDIR/$old")
commit() { # commit DATE
	git -C "$work/tree" add -A
	GIT_AUTHOR_NAME=$author_name GIT_AUTHOR_EMAIL=$author_email GIT_AUTHOR_DATE=$1 \
		git -C "$work/tree" commit -q -F - <<EOF
$SUBJECT

A provider of fcntl(F_MQ_PEEK) (mq_peek.ko of mq-peek) is tested with
these, in a debug kernel with KASAN, lockdep and kmemleak:

  - mq_peek_test: the receive order across priorities, FIFO within a
    priority, truncation, no byte written past the message, the length
    query, every error (EINVAL, EBADF, ENOMSG, EFAULT), payloads around
    the msg_msg segment boundaries up to 16 MiB, a queue of 65536
    messages, a queue left unchanged by peeks (attributes, timestamps,
    an armed mq_notify(), blocked senders), a shadow model of the queue
    under interleaved sends and receives, long messages and long walks
    while the queue changes.  Built -m32 as well, it covers the compat
    layout of struct mq_peek_attr.
  - mq_peek_batch_test: fcntl(F_MQ_PEEK_BATCH): every record equal to
    F_MQ_PEEK's answer for the same offset, rec_len and the 8-byte
    alignment, records written only when they fit whole, the truncation
    of a lone first record, the size of struct mq_peek_batch checked as
    copy_struct_from_user() does (EINVAL, E2BIG, zero tails accepted),
    only the output fields written, faults (EFAULT for the first record,
    whole records counted and nothing written past the fault after it),
    the queue's version across quiet dumps, sends, receives and a queue
    created again, records too large for one hold of the lock, and dumps
    while the queue changes.  Built -m32 as well: one layout for all.
  - mq_peek_fault_test: both commands under fail-nth (failslab,
    fail_page_alloc, fail_usercopy), for the length query, copies of
    small and large messages and batches: each call succeeds with the
    right result or fails with exactly ENOMEM or EFAULT, and leaves the
    queue unchanged; at least one of each error must be produced.
  - mq_peek_fuzz: seeded random descriptors, attr placements, offsets,
    lengths and buffers, for both commands, against a model of the
    documented semantics that predicts every result (MQ_PEEK_SEED
    replays a run).
  - mq_peek_storm: senders, receivers, peekers and batch readers moving
    self-checking messages while other threads unlink and re-create the
    queue, swap descriptors and arm mq_notify(); and, when MQ_PEEK_KO
    names the provider module, unload and reload it under load.

mq_peek_util.h holds what they share: the msg_msg segment sizes, the
mqueue limits, a payload pattern, a pseudo-random generator, and a
check that skips the tests where F_MQ_PEEK is not supported (EINVAL for
a descriptor that is not a queue).  mq_peek.h defines the interface for
user space, which the C library does not.

Signed-off-by: $author_name <$author_email>
EOF
	git -C "$work/tree" format-patch -q --zero-commit --no-signature --start-number "$num" \
		-o "$work/out" -1
}
commit "${date:-$(date -R)}"
new=$(basename "$(ls "$work"/out/*.patch)")
if [ -n "$date" ] && ! cmp -s "$work/out/$new" "$PDIR/$old"; then
	rm -rf "$work/out"
	git -C "$work/tree" reset -q --soft HEAD^
	commit "$(date -R)"
	new=$(basename "$(ls "$work"/out/*.patch)")
fi

# ---- the whole series, the selftest patch last, must apply with git am
expect_series=("${others[@]}" "$new")
if [ $check = 1 ]; then
	[ -n "$old" ] || die "$PDIR/series has no patch \"$SUBJECT\"; run $0"
	if [ "$old" != "$new" ] || [ "${SERIES[-1]}" != "$old" ]; then
		die "the selftest patch must be $PDIR/$new, last in the series; run $0"
	fi
	cmp -s "$work/out/$new" "$PDIR/$old" ||
		die "$PDIR/$old is not what tests/ make of it; run $0 and commit the result"
	base "$work/check"
	git -C "$work/check" am -q "$TOP/$PDIR/$old" > "$work/am.log" 2>&1 ||
		{ cat "$work/am.log" >&2; die "$old does not apply with git am on top of the series"; }
	echo "gen-selftest-patch: $PDIR/$old is up to date and the series applies with git am" \
		"(${#expect_series[@]} patches)"
	exit 0
fi
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	git rm -q --cached "$PDIR/$old" 2> /dev/null || true
	rm -f "$PDIR/$old"
fi
cp "$work/out/$new" "$PDIR/$new"
{
	grep '^\s*\(#\|$\)' "$PDIR/series" || true
	printf '%s\n' "${expect_series[@]}"
} > "$work/series"
cp "$work/series" "$PDIR/series"
echo "gen-selftest-patch: wrote $PDIR/$new (patch $num of the series)"
