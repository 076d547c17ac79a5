#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-headers.sh [UAPI_DIR] - include/mq_peek.h and the man page's SYNOPSIS compile as
# printed.
#
# 1. include/mq_peek.h with the C library's <fcntl.h> and <mqueue.h> and the kernel's
#    <linux/fcntl.h>, in every order and every combination that can compile at all
#    (<fcntl.h> and <linux/fcntl.h> both define struct flock, and <mqueue.h> includes
#    <fcntl.h>: no program can include <linux/fcntl.h> with either, with or without
#    mq_peek.h), 64-bit and -m32, warnings as errors.  Each program
#    uses both commands' constants and checks the layout of the batch ABI
#    (the v3 ABI: offsets, sizes, MQ_PEEK_BATCH_SIZE_VER0).  With UAPI_DIR (the
#    series' own UAPI headers, `make headers` of the dev kernel), all of it again with
#    those first on the include path: then <linux/fcntl.h> defines F_MQ_PEEK and
#    F_MQ_PEEK_BATCH itself, the case that used to make mq_peek.h include <linux/mqueue.h>.
# 2. The SYNOPSIS of F_MQ_PEEK(2const) as man prints it: its #include lines in every
#    order, with and without <mqueue.h>; every structure it prints must exist with every
#    field it prints, of the size of the printed type, and every #define must have the
#    printed value.
#
# Prints one "ok"/"not ok" line per program; exits 1 if any failed.  make check counts
# every line (scripts/check.sh, check_headers).
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP" || exit 1
PAGE=docs/man/man2const/F_MQ_PEEK.2const
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CC=${CC:-cc}
fails=0 n=0

# compile NAME FLAGS...: compiles $work/t.c; one result line.
compile() {
	local name=$1
	shift
	n=$((n + 1))
	if "$CC" -Wall -Wextra -Werror -Iinclude "$@" -c -o "$work/t.o" "$work/t.c" \
		2> "$work/err"; then
		echo "ok $name"
	else
		echo "not ok $name"
		sed 's/^/#   /' "$work/err" | head -8
		fails=$((fails + 1))
	fi
}

# permutations WORD...: every order of the words, one order a line.
permutations() {
	if [ $# -le 1 ]; then
		echo "$*"
		return
	fi
	local i w rest
	for ((i = 1; i <= $#; i++)); do
		w=${!i}
		rest=("${@:1:i-1}" "${@:i+1}")
		permutations "${rest[@]}" | sed "s|^|$w |"
	done
}

# ---- 1. the header with the C library's and the kernel's headers
USE='
#include <stddef.h>
int main(void)
{
	struct mq_peek_attr pa = { .offset = 0, .buf_len = 0, .buf = 0 };
	struct mq_peek_batch b = { .size = sizeof(b) };
	struct mq_peek_record r = { .rec_len = 24 };
	_Static_assert(F_MQ_PEEK == 1024 + 17, "F_MQ_PEEK");
	_Static_assert(F_MQ_PEEK_BATCH == 1024 + 18, "F_MQ_PEEK_BATCH");
	_Static_assert(sizeof(struct mq_peek_batch) == MQ_PEEK_BATCH_SIZE_VER0, "size");
	_Static_assert(MQ_PEEK_BATCH_SIZE_VER0 == 64, "ver0");
	_Static_assert(offsetof(struct mq_peek_batch, size) == 0, "size");
	_Static_assert(offsetof(struct mq_peek_batch, flags) == 4, "flags");
	_Static_assert(offsetof(struct mq_peek_batch, buf) == 8, "buf");
	_Static_assert(offsetof(struct mq_peek_batch, buf_len) == 16, "buf_len");
	_Static_assert(offsetof(struct mq_peek_batch, offset) == 24, "offset");
	_Static_assert(offsetof(struct mq_peek_batch, used) == 32, "used");
	_Static_assert(offsetof(struct mq_peek_batch, curmsgs) == 40, "curmsgs");
	_Static_assert(offsetof(struct mq_peek_batch, queue_id) == 48, "queue_id");
	_Static_assert(offsetof(struct mq_peek_batch, changes) == 56, "changes");
	_Static_assert(sizeof(struct mq_peek_record) == 24, "record");
	_Static_assert(offsetof(struct mq_peek_record, rec_len) == 0, "rec_len");
	_Static_assert(offsetof(struct mq_peek_record, msg_prio) == 4, "msg_prio");
	_Static_assert(offsetof(struct mq_peek_record, msg_len) == 8, "msg_len");
	_Static_assert(offsetof(struct mq_peek_record, data_len) == 16, "data_len");
	_Static_assert(MQ_PEEK_RECORD_ALIGN == 8, "align");
	return pa.offset + (int)b.size + (int)r.rec_len;
}'
SETS=("" "<fcntl.h>" "<mqueue.h>" "<linux/fcntl.h>" "<fcntl.h> <mqueue.h>")
UAPI=("")
[ -z "${1:-}" ] || UAPI+=("$1")
for uapi in "${UAPI[@]}"; do
	flags=(-std=gnu11)
	label=""
	if [ -n "$uapi" ]; then
		[ -f "$uapi/linux/fcntl.h" ] || { echo "not ok no UAPI headers in $uapi"; exit 1; }
		flags+=(-isystem "$uapi")
		label=" (the series' UAPI headers)"
	fi
	for set in "${SETS[@]}"; do
		# shellcheck disable=SC2086	# the words of a set
		while read -r -a order; do
			{
				for h in "${order[@]}"; do echo "#include $h"; done
				echo "$USE"
			} > "$work/t.c"
			compile "include/mq_peek.h in the order ${order[*]}$label" "${flags[@]}"
			compile "include/mq_peek.h in the order ${order[*]}$label, -m32" "${flags[@]}" \
				-m32
		done < <(permutations $set '"mq_peek.h"')
	done
done

# ---- 2. the SYNOPSIS as man prints it
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$PAGE" 2> /dev/null | col -b |
	sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' > "$work/synopsis"
mapfile -t INCS < <(sed -n 's|^ *#include \([<"][^>"]*[>"]\).*|\1|p' "$work/synopsis")
if [ ${#INCS[@]} -lt 2 ]; then
	echo "not ok the SYNOPSIS has its #include lines"
	exit 1
fi
# What the SYNOPSIS prints about the structures, as static assertions.
checks=$(awk '
	/^ *struct [a-z_]+ \{/ { s = $2; next }
	/^ *\};/ { s = ""; next }
	s != "" && /;/ {
		line = $0; sub(/;.*/, "", line); sub(/^ */, "", line)
		f = line; sub(/.*[ *]/, "", f)
		t = substr(line, 1, length(line) - length(f)); sub(/ *$/, "", t)
		printf "_Static_assert(sizeof(((struct %s *)0)->%s) == sizeof(%s), \"%s.%s\");\n",
			s, f, t, s, f
		next
	}
	/^ *#define [A-Z_0-9]+ +[0-9]+/ {
		printf "_Static_assert(%s == %s, \"%s\");\n", $2, $3, $2
	}' "$work/synopsis")
nstruct=$(grep -c 'Static_assert(sizeof' <<< "$checks")
if [ "$nstruct" -lt 15 ]; then	# 4 + 9 + 4 fields
	echo "not ok the SYNOPSIS prints the structures' fields (found $nstruct)"
	exit 1
fi
for extra in "" "<mqueue.h>"; do
	# shellcheck disable=SC2086
	while read -r -a order; do
		{
			for h in "${order[@]}"; do echo "#include $h"; done
			echo "int main(void)"
			echo "{"
			echo "$checks"
			echo "	return F_MQ_PEEK + F_MQ_PEEK_BATCH == 0;"
			echo "}"
		} > "$work/t.c"
		compile "SYNOPSIS as printed, in the order ${order[*]}" -std=gnu11
	done < <(permutations "${INCS[@]}" $extra)
done
echo "# check-headers: $n programs, $fails failed"
[ $fails = 0 ]
