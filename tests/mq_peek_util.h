/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mq_peek_util.h - what the F_MQ_PEEK tests share, as pidfd.h is for the pidfd
 * tests: the kernel's message layout, the mqueue limits, a payload pattern, a
 * pseudo-random generator, and skipping on a kernel without F_MQ_PEEK.
 */
#ifndef MQ_PEEK_UTIL_H
#define MQ_PEEK_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kselftest.h"
#include "mq_peek.h"

/*
 * The kernel keeps a message in one page holding a struct msg_msg and the first
 * DATALEN_MSG bytes of the payload, followed by a chain of pages each holding a
 * struct msg_msgseg and the next DATALEN_SEG bytes (ipc/msgutil.c; patch 2 of
 * the series moves both into <linux/msg.h>):
 *
 *	DATALEN_MSG = PAGE_SIZE - sizeof(struct msg_msg)
 *	            = 4096 - (16 m_list + 8 m_type + 8 m_ts + 8 next + 8 security)
 *	            = 4096 - 48 = 4048
 *	DATALEN_SEG = PAGE_SIZE - sizeof(struct msg_msgseg)
 *	            = 4096 - 8 next = 4088
 *
 * on x86_64.  These are the kernel's sizes, not the caller's: a -m32 test on a
 * 64-bit kernel sees the same.  A payload of up to DATALEN_MSG bytes is one
 * piece, up to DATALEN_MSG + DATALEN_SEG two pieces, and so on.
 */
#define PAGE_SZ		4096
#define DATALEN_MSG	(PAGE_SZ - 48)
#define DATALEN_SEG	(PAGE_SZ - 8)

/*
 * The number in the file at @path (a sysctl, a debugfs value), or -1 if it
 * cannot be read; and writing one there, returning 0 or -1.
 */
static inline long long mq_peek_read_num(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static inline int mq_peek_write_num(const char *path, long long value)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%lld\n", value) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/* /proc/sys/fs/mqueue/@name (msg_max, msgsize_max, queues_max, ...). */
static inline long long mq_sysctl_get(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	return mq_peek_read_num(path);
}

static inline int mq_sysctl_set(const char *name, long long value)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	return mq_peek_write_num(path, value);
}

static inline int mq_write_limit(const char *name, long value)
{
	if (mq_sysctl_get(name) >= value)
		return 0;
	return mq_sysctl_set(name, value);
}

/*
 * Raise the limits on POSIX message queues so that big queues can be created
 * (the tests run as root): RLIMIT_MSGQUEUE to unlimited, and
 * /proc/sys/fs/mqueue/msg_max and msgsize_max to at least @msg_max and
 * @msgsize_max (0 leaves one alone).  Never lowers a limit.  Returns 0, or -1 if
 * a limit could not be raised.
 */
static inline int raise_mq_limits(long msg_max, long msgsize_max)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int ret = setrlimit(RLIMIT_MSGQUEUE, &rl);

	if (msg_max && mq_write_limit("msg_max", msg_max))
		ret = -1;
	if (msgsize_max && mq_write_limit("msgsize_max", msgsize_max))
		ret = -1;
	return ret;
}

/*
 * Byte @i of the payload of message @id.  Each byte is a hash of @id and the
 * index of its 4-byte word, so a byte of another message, at another offset or
 * from another segment does not look right (no period within 16 MiB).
 */
static inline unsigned char pat(uint32_t id, size_t i)
{
	uint32_t x = ((uint32_t)(i / 4) + id * 0x9e3779b1u) * 0x85ebca77u;

	x ^= x >> 16;
	return (unsigned char)(x >> (i % 4 * 8));
}

/* The first @len bytes of message @id's payload. */
static inline void pat_fill(unsigned char *buf, uint32_t id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(id, i);
}

/*
 * Creates a new queue for a test, O_RDWR, mode 0600, named after the program,
 * its pid and a sequence number, which it writes to @name.
 */
static inline mqd_t mq_peek_open_queue(char *name, size_t namelen, long maxmsg, long msgsize)
{
	struct mq_attr attr = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
	static int seq;

	snprintf(name, namelen, "/%s_%d_%d", program_invocation_short_name, getpid(), seq++);
	mq_unlink(name);
	return mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
}

/* xorshift64 (Marsaglia, 13/7/17): reproducible pseudo-random numbers. */
static inline uint64_t rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Read and write a value of the provider's debugfs directory,
 * /sys/kernel/debug/mq_peek/ (switches such as use_cursor, counters such as
 * fallbacks).  mq_peek_debugfs_get() returns -1 if the file cannot be read;
 * mq_peek_debugfs_set() returns 0 or -1.
 */
static inline long long mq_peek_debugfs_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/mq_peek/%s", name);
	return mq_peek_read_num(path);
}

static inline int mq_peek_debugfs_set(const char *name, long long value)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/mq_peek/%s", name);
	return mq_peek_write_num(path, value);
}

/*
 * Reload the provider, mq_peek.ko (its path in $MQ_PEEK_KO, which make check
 * sets), with the module parameters @params: "" for none, "test_switches=2"
 * for a module without F_MQ_PEEK_BATCH.  The switches that change a call's
 * result exist only as this load-time parameter, for tests.  Returns 0 or a
 * negative errno (-ENOENT: no $MQ_PEEK_KO).
 */
static inline int mq_peek_reload(const char *params)
{
	const char *ko = getenv("MQ_PEEK_KO");
	int fd, err = 0;

	if (!ko)
		return -ENOENT;
	if (syscall(SYS_delete_module, "mq_peek", O_NONBLOCK) && errno != ENOENT)
		return -errno;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		err = -errno;
	close(fd);
	return err;
}

/*
 * F_MQ_PEEK fails with EINVAL while no provider is registered: that is how user
 * space detects support (a valid descriptor that is not a queue gives EBADF
 * from a provider).  On a kernel without it, a program including this file
 * skips all its tests, as kselftests do -- unless MQ_PEEK_KO names the provider
 * the harness loaded (make check): then it must be there and the tests run and
 * fail.  The smoke test, which loads and unloads the provider itself, defines
 * MQ_PEEK_NO_SUPPORT_CHECK.
 */
#ifndef MQ_PEEK_NO_SUPPORT_CHECK
static void __attribute__((constructor)) mq_peek_require_support(void)
{
	struct mq_peek_attr pa = { 0 };
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return;
	err = fcntl(fd, F_MQ_PEEK, &pa) == -1 ? errno : 0;
	close(fd);
	if (err != EINVAL)
		return;
	if (getenv("MQ_PEEK_KO")) {
		printf("# F_MQ_PEEK is not supported although %s should provide it\n",
		       getenv("MQ_PEEK_KO"));
		return;
	}
	printf("TAP version 13\n1..0 # SKIP F_MQ_PEEK is not supported (no provider registered)\n");
	exit(KSFT_SKIP);
}
#endif

#endif /* MQ_PEEK_UTIL_H */
