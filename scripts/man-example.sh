#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# man-example.sh PAGE NAME - print the program NAME of a man page's EXAMPLES, as C.
#
# The program is the text between the lines `.\" SRC BEGIN (NAME)` and `.\" SRC END` (the
# markers man-pages uses), without the .EX and .EE requests, and with the escapes that C
# needs in troff undone: \e is a backslash, \- a minus, \& nothing.  Any other escape is an
# error.  The Makefile builds what this prints and make check runs it, so the page cannot
# drift from a program that compiles and works.
set -euo pipefail
page=$1 name=$2
begin=".\\\" SRC BEGIN ($name)" end=".\\\" SRC END" awk '
	$0 == ENVIRON["begin"] { on = 1; found = 1; next }
	$0 == ENVIRON["end"] { on = 0; next }
	on && ($0 == ".EX" || $0 == ".EE") { next }
	on && /\\[^e&-]/ { print FILENAME ":" FNR ": unexpected escape in the program: " $0 > "/dev/stderr"; bad = 1 }
	on { print }
	END {
		if (!found) print FILENAME ": no program " ENVIRON["begin"] > "/dev/stderr"
		exit !found || bad
	}
' "$page" | sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\e/\\/g'
