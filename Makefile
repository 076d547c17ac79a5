# SPDX-License-Identifier: GPL-2.0
#
# mq-peek: fcntl(F_MQ_PEEK) for POSIX message queues, as a Rust kernel module.
#
#   make run      boot the dev kernel with the module loaded and show a peek
#   make check    build what is missing and run every test; ends "N passed, N failed"
#   make          build mq_peek.ko against KDIR (default: the cached dev kernel) into
#                 build/module-PROFILE/ (build/module-custom/ for another KDIR)
#
# KDIR may point at any Rust-enabled kernel build tree that carries kernel/patches;
# KMAKE holds the toolchain variables that tree was built with.

PROFILE ?= debug
# The cache and the toolchain's make variables are defined once, in scripts/env.sh.
MQ_PEEK_CACHE ?= $(shell bash scripts/env.sh CACHE)
MQ_PEEK_CACHE := $(MQ_PEEK_CACHE)
export MQ_PEEK_CACHE
DEFAULT_KDIR := $(MQ_PEEK_CACHE)/build-$(PROFILE)
KDIR ?= $(DEFAULT_KDIR)
KMAKE ?= $(shell MQ_PEEK_CACHE='$(MQ_PEEK_CACHE)' bash scripts/env.sh KMAKE)
KMAKE := $(KMAKE)
KSFT ?= $(MQ_PEEK_CACHE)/src/tools/testing/selftests
OUT := build

# ---- The tests: the one list -----------------------------------------------------------
#
# TEST_GEN_PROGS lists every program `make check` runs in the debug VM, in that order, as a
# kselftest Makefile does; scripts/check.sh reads it (`make -s print-TEST_GEN_PROGS`).
# Adding a test is one line:
#
#	TEST_GEN_PROGS += NAME		# built from tests/NAME.c; NAME32: the same, -m32
#
# A program using kselftest_harness.h counts once per test case, any other once (exit
# status 0 pass, 4 skip, else fail).  KSELFTEST_<NAME>_ARGS gives a program arguments,
# as kselftest's runner.sh does.  The kernel's own suites (upstream_*, built from the 6.12
# source) run first: mq_open_tests expects the default mqueue sysctls, which ours raise.
TEST_GEN_PROGS := upstream_mq_open_tests
TEST_GEN_PROGS += upstream_msgque
TEST_GEN_PROGS += mq_peek_smoke
TEST_GEN_PROGS += mq_peek_test mq_peek_test32
TEST_GEN_PROGS += mq_peek_batch_test mq_peek_batch_test32
TEST_GEN_PROGS += mq_peek_fault_test	# ENOMEM and EFAULT from fail-nth
TEST_GEN_PROGS += mq_peek_fuzz mq_peek_fuzz32
TEST_GEN_PROGS += mq_peek_storm
TEST_GEN_PROGS += mqpeek_tool_test
TEST_GEN_PROGS += mq_peek_example	# the program of the man page's EXAMPLES

# The tests the series carries too, in tools/testing/selftests/mqueue/ (the source stays
# here: scripts/gen-selftest-patch.sh writes the patch, make check verifies it is current).
SELFTEST_PROGS := mq_peek_test mq_peek_batch_test mq_peek_fault_test mq_peek_fuzz mq_peek_storm

KSELFTEST_UPSTREAM_MQ_OPEN_TESTS_ARGS := /mq_open_tests_queue
# What the tests need in the VM besides themselves (copied to /opt, first on PATH).
TEST_FILES := tests/run-in-vm.sh $(shell bash scripts/env.sh MQPEEK)

# The tests include "../kselftest_harness.h" as they do in tools/testing/selftests/mqueue/,
# where the series carries them (scripts/gen-selftest-patch.sh); -I$(KSFT)/mqueue resolves
# it the same way here.
TEST_CFLAGS := -static -O2 -Wall -Iinclude -I$(KSFT)/mqueue -I$(KSFT) -pthread
TEST_HDRS := include/mq_peek.h tests/mq_peek_util.h

.PHONY: all modules kernel setup tests examples tool check run bench bench-peek bench-criu \
	bench-series bench-c-peer lint man-lint clean \
	selftest-patch modules_install rust-analyzer print-test-env

all: modules

setup:
	scripts/setup.sh

kernel:
	scripts/build-kernel.sh $(PROFILE) > /dev/null

# The module is built in a directory of its own per kernel tree, never in the checkout:
# there are no MODVERSIONS, so a debug module loaded into the release kernel (or the other
# way round) would load silently and read wrong struct layouts.  Kbuild and every *.rs of
# the top directory (mq_peek.rs and the files of its `mod`s) are copied there by content:
# an unchanged file keeps its timestamp, a removed one disappears.
MODDIR := $(OUT)/module-$(if $(filter $(DEFAULT_KDIR),$(KDIR)),$(PROFILE),custom)
sync-module-src = @mkdir -p $(1) && rsync -rc --delete --include=/Kbuild --include='/*.rs' \
	--exclude='*' ./ $(1)/

ifeq ($(KDIR),$(DEFAULT_KDIR))
modules: kernel
endif
modules:
	$(call sync-module-src,$(MODDIR))
	$(MAKE) -C $(KDIR) M=$(abspath $(MODDIR)) $(KMAKE) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(abspath $(MODDIR)) $(KMAKE) modules_install

rust-analyzer:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE) rust-analyzer

tests: $(addprefix $(OUT)/tests/,$(TEST_GEN_PROGS))

# `make -s print-VAR` prints a variable's words, one a line; print-test-env the arguments.
print-%:
	@printf '%s\n' $($*)

print-test-env:
	@printf '%s\n' $(foreach v,$(filter KSELFTEST_%_ARGS,$(.VARIABLES)),'$(v)=$($(v))')

$(OUT)/tests/%: tests/%.c $(TEST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $<

$(OUT)/tests/%32: tests/%.c $(TEST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -m32 $(TEST_CFLAGS) -Wno-pointer-to-int-cast -o $@ $<

# The kernel's own regression tests, built statically from the 6.12 source.
$(OUT)/tests/upstream_mq_open_tests: $(KSFT)/mqueue/mq_open_tests.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -I$(KSFT) -o $@ $<

$(OUT)/tests/upstream_msgque: $(KSFT)/ipc/msgque.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -I$(KSFT) -DCONFIG_X86_64 -D__x86_64__ -o $@ $<

# The man page's example program, extracted from the troff source at build time: the page
# shows a program that compiles (warnings are errors) and that make check runs.
MAN_PAGE := docs/man/man2const/F_MQ_PEEK.2const

$(OUT)/man/mq_peek_example.c: $(MAN_PAGE) scripts/man-example.sh
	@mkdir -p $(dir $@)
	scripts/man-example.sh $< $(notdir $@) > $@

$(OUT)/tests/mq_peek_example: $(OUT)/man/mq_peek_example.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<

# The page must be lint-clean for mandoc and groff and render with man.
# groff and man report problems on stderr but exit 0: stderr must be empty.
IMAGE_PAGE := docs/man/man5/mqpeek-image.5
man-lint:
	@mkdir -p $(OUT)
	mandoc -T lint -W warning $(MAN_PAGE) $(IMAGE_PAGE)
	groff -ww -z -t -man $(IMAGE_PAGE) 2> $(OUT)/man-lint.err && ! grep . $(OUT)/man-lint.err
	groff -ww -z -man $(MAN_PAGE) 2> $(OUT)/man-lint.err && ! grep . $(OUT)/man-lint.err
	LC_ALL=C.UTF-8 MANWIDTH=80 man -l $(MAN_PAGE) > /dev/null 2> $(OUT)/man-lint.err && \
		! grep . $(OUT)/man-lint.err

# The series' last patch, the selftests, written from tests/ (make lint and make check
# verify that the committed one is current).
selftest-patch:
	scripts/gen-selftest-patch.sh

# What `make run` shows.
examples: $(OUT)/examples/mq_peek_demo

$(OUT)/examples/%: examples/%.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Iinclude -o $@ $<

# The mqpeek tool: tool-host is a plain `cargo build --release` for the host
# (tools/mqpeek/target/release/mqpeek, what tool-install installs); tool-static is the
# static x86_64 binary the test VM runs (`cargo static`, tools/mqpeek/.cargo/config.toml;
# tools/mqpeek/target/x86_64-unknown-linux-gnu/release/mqpeek).  `make tool` builds both.
.PHONY: tool-host tool-static
tool: tool-host tool-static
tool-host:
	cd tools/mqpeek && cargo build --release --locked
tool-static:
	cd tools/mqpeek && cargo static

check:
	@scripts/check.sh

$(OUT)/bench/mq_peek_bench: bench/mq_peek_bench.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Iinclude -o $@ $<

# make bench-criu's and make bench-series' programs (scripts/bench-criu.sh, bench-series.sh).
$(OUT)/bench/mq_criu_bench $(OUT)/bench/mq_series_bench: $(OUT)/bench/%: bench/%.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<

# The bench's C peer (bench/c-peer/): the RFC's algorithm as a provider of the same hook,
# an out-of-tree module built like mq_peek.ko (a directory of its own, the same KMAKE)
# against the release kernel only.  Not shipped, not loaded by make check.
BENCH_KDIR := $(MQ_PEEK_CACHE)/build-release
bench-c-peer:
	@mkdir -p $(OUT)/bench/c-peer
	rsync -rc --delete --include=/Kbuild --include='/*.c' --exclude='*' bench/c-peer/ \
		$(OUT)/bench/c-peer/
	$(MAKE) -C $(BENCH_KDIR) M=$(abspath $(OUT)/bench/c-peer) $(KMAKE) W=1 modules

# make bench runs the three benchmarks in turn: the dump costs of F_MQ_PEEK (bench-peek,
# scripts/bench.sh), criu dump of a queue against a drain (bench-criu), and the series'
# cost to a send+receive pair against the unpatched kernel (bench-series).  One after the
# other even under -j: two VMs at once would time each other.
bench:
	$(MAKE) bench-peek
	$(MAKE) bench-criu
	$(MAKE) bench-series

bench-peek:
	scripts/bench.sh

bench-criu:
	scripts/bench-criu.sh

bench-series:
	scripts/bench-series.sh

run:
	@scripts/run-demo.sh

# The selftest patch is current, shellcheck (.shellcheckrc), the man page, rustfmt, a
# CLIPPY=1 build, checkpatch --strict on the patch series.  checkpatch is
# told to ignore two checks that fire on lines the series does not write: the FSF
# address in the unchanged licence text around the UAPI header's include guard, and
# "does MAINTAINERS need updating" for the new include/linux/mqueue.h (ipc/ has no
# MAINTAINERS entry to extend).
lint: kernel man-lint
	scripts/gen-selftest-patch.sh --check
	@command -v shellcheck > /dev/null || { echo "lint: installing shellcheck"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck > /dev/null; }
	shellcheck scripts/*.sh scripts/vm tests/run-in-vm.sh tools/mqpeek/demo.sh .ci/run
	rustfmt --edition 2021 --check *.rs
	cd tools/mqpeek && cargo fmt --check && cargo clippy --release --locked -- -D warnings
	@mkdir -p $(OUT)
	$(call sync-module-src,$(OUT)/module-clippy)
	$(MAKE) -C $(KDIR) M=$(abspath $(OUT)/module-clippy) $(KMAKE) CLIPPY=1 modules 2>&1 | \
		tee $(OUT)/clippy.log
	! grep -E '^(warning|error)' $(OUT)/clippy.log
	cd kernel/patches && $(MQ_PEEK_CACHE)/src/scripts/checkpatch.pl --strict --no-tree -q \
		--ignore FSF_MAILING_ADDRESS,FILE_PATH_CHANGES *.patch

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE) clean
	rm -rf $(OUT)

# ---- the mqpeek tool: install it (binary, man page, shell completions under
# $(DESTDIR)$(PREFIX)), and run the README's mqpeek session in the test VM.
PREFIX ?= /usr/local
MQPEEK_BIN := tools/mqpeek/target/release/mqpeek
.PHONY: tool-install demo-tool
tool-install: tool-host
	install -D -m 0755 $(MQPEEK_BIN) $(DESTDIR)$(PREFIX)/bin/mqpeek
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(MQPEEK_BIN) gen-man > $(DESTDIR)$(PREFIX)/share/man/man1/mqpeek.1
	install -D -m 0644 docs/man/man5/mqpeek-image.5 $(DESTDIR)$(PREFIX)/share/man/man5/mqpeek-image.5
	$(MQPEEK_BIN) completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mqpeek
	$(MQPEEK_BIN) completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mqpeek
	$(MQPEEK_BIN) completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mqpeek.fish

demo-tool:
	tools/mqpeek/demo.sh
