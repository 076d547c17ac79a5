// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_smoke - the module loads and unloads cleanly, and F_MQ_PEEK is
 * EINVAL (an unknown fcntl command) whenever no provider is loaded, which is
 * how user space detects support.
 *
 * Loads and removes the module itself (finit_module/delete_module), from the
 * path in $MQ_PEEK_KO; leaves it loaded if it found it loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek.h"

static int module_loaded(void)
{
	char line[256];
	FILE *f = fopen("/proc/modules", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "mq_peek ", 8))
			found = 1;
	fclose(f);
	return found;
}

static int load(void)
{
	const char *ko = getenv("MQ_PEEK_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "mq_peek", O_NONBLOCK) ? -errno : 0;
}

/* errno of F_MQ_PEEK at offset 0 of a fresh, empty queue */
static int peek_empty_queue(void)
{
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	char name[64], buf[16];
	struct mq_peek_attr pa = { .buf = buf, .buf_len = sizeof(buf) };
	int fd, err;

	snprintf(name, sizeof(name), "/mq_peek_smoke_%d", getpid());
	fd = mq_open(name, O_RDWR | O_CREAT, 0600, &attr);
	if (fd < 0)
		return -1;
	err = fcntl(fd, F_MQ_PEEK, &pa) == -1 ? errno : 0;
	mq_close(fd);
	mq_unlink(name);
	return err;
}

FIXTURE(module) {
	int was_loaded;
};

FIXTURE_SETUP(module)
{
	self->was_loaded = module_loaded();
	ASSERT_LE(0, self->was_loaded);
	if (self->was_loaded)
		ASSERT_EQ(0, unload());
	ASSERT_EQ(0, module_loaded());
}

FIXTURE_TEARDOWN(module)
{
	if (self->was_loaded && module_loaded() == 0)
		load();
}

/* No provider: the dev kernel answers EINVAL, whatever the descriptor. */
TEST_F(module, einval_without_provider)
{
	char buf[16];
	struct mq_peek_attr pa = { .buf = buf, .buf_len = sizeof(buf) };

	EXPECT_EQ(EINVAL, peek_empty_queue());
	errno = 0;
	EXPECT_EQ(-1, fcntl(0, F_MQ_PEEK, &pa));
	EXPECT_EQ(EINVAL, errno);
}

/* Load: the provider answers (ENOMSG for an empty queue); unload: EINVAL again. */
TEST_F(module, load_unload)
{
	for (int round = 0; round < 3; round++) {
		ASSERT_EQ(0, load());
		ASSERT_EQ(1, module_loaded());
		EXPECT_EQ(ENOMSG, peek_empty_queue());
		ASSERT_EQ(0, unload());
		ASSERT_EQ(0, module_loaded());
		EXPECT_EQ(EINVAL, peek_empty_queue());
	}
}

/* A second provider cannot register while one is loaded. */
TEST_F(module, double_load_refused)
{
	ASSERT_EQ(0, load());
	EXPECT_EQ(-EEXIST, load());
	EXPECT_EQ(ENOMSG, peek_empty_queue());
	ASSERT_EQ(0, unload());
}

TEST_HARNESS_MAIN
