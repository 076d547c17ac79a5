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

TEST_CFLAGS := -static -O2 -Wall -Iinclude -I$(KSFT) -pthread
TESTS := $(addprefix $(OUT)/tests/,mq_peek_smoke mq_peek_test mq_peek_test32 mq_peek_fuzz \
	mq_peek_fuzz32 mq_peek_storm mq_peek_demo mqpeek_tool_test upstream_mq_open_tests \
	upstream_msgque)

.PHONY: all modules kernel setup tests tool check run bench lint clean modules_install rust-analyzer

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

tests: $(TESTS)

$(OUT)/tests/%: tests/%.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $<

$(OUT)/tests/%32: tests/%.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -m32 $(TEST_CFLAGS) -Wno-pointer-to-int-cast -o $@ $<

# The kernel's own regression tests, built statically from the 6.12 source.
$(OUT)/tests/upstream_mq_open_tests: $(KSFT)/mqueue/mq_open_tests.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -I$(KSFT) -o $@ $<

$(OUT)/tests/upstream_msgque: $(KSFT)/ipc/msgque.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -I$(KSFT) -DCONFIG_X86_64 -D__x86_64__ -o $@ $<

# The mqpeek tool, a static binary (tools/mqpeek/.cargo/config.toml).
tool:
	cd tools/mqpeek && cargo build --release --locked

check:
	scripts/check.sh

$(OUT)/bench/mq_peek_bench: bench/mq_peek_bench.c include/mq_peek.h
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Iinclude -o $@ $<

bench:
	scripts/bench.sh

run:
	scripts/run-demo.sh

# rustfmt, a CLIPPY=1 build, checkpatch --strict on the patch series.  checkpatch is
# told to ignore two checks that fire on lines the series does not write: the FSF
# address in the unchanged licence text around the UAPI header's include guard, and
# "does MAINTAINERS need updating" for the new include/linux/mqueue.h (ipc/ has no
# MAINTAINERS entry to extend).
lint: kernel
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
