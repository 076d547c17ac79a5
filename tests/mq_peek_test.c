// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_test - functional tests of fcntl(F_MQ_PEEK) with mq_peek.ko loaded.
 *
 * The POSIX counterpart of tools/testing/selftests/ipc/msgque.c: fill queues,
 * peek every message, check order, priorities and payloads against what
 * mq_receive() then returns, and check that peeking changed nothing.
 * Built twice: 64-bit and -m32 (the compat layout of struct mq_peek_attr).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

/* 16 bytes for 32-bit callers (the compat layout), 24 for 64-bit ones */
static_assert(sizeof(struct mq_peek_attr) == (sizeof(void *) == 4 ? 16 : 24),
	      "the layout of struct mq_peek_attr");

static long peek(int fd, int offset, void *buf, size_t len, unsigned int *prio)
{
	struct mq_peek_attr pa = {
		.offset = offset, .msg_prio = 0xdeadbeef, .buf_len = len, .buf = buf,
	};
	long ret = fcntl(fd, F_MQ_PEEK, &pa);

	if (prio)
		*prio = pa.msg_prio;
	return ret;
}

static long peek_err(int fd, int offset, void *buf, size_t len)
{
	return peek(fd, offset, buf, len, NULL) == -1 ? errno : 0;
}

FIXTURE(queue) {
	char name[64];
	mqd_t fd;
};

FIXTURE_SETUP(queue)
{
	self->fd = mq_peek_open_queue(self->name, sizeof(self->name), 10, 1024);
	ASSERT_NE(-1, self->fd) TH_LOG("mq_open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(queue)
{
	mq_close(self->fd);
	mq_unlink(self->name);
}

/* Peek order across mixed priorities is exactly mq_receive()'s order. */
TEST_F(queue, order_matches_receive)
{
	static const unsigned int prios[] = { 3, 1, 3, 7, 0, 7, 2, 3, 0, 7 };
	char peeked[10][16], got[16];
	unsigned int pprio[10], rprio;
	int n = 10;

	for (int i = 0; i < n; i++) {
		snprintf(got, sizeof(got), "msg-%d", i);
		ASSERT_EQ(0, mq_send(self->fd, got, strlen(got) + 1, prios[i]));
	}
	for (int i = 0; i < n; i++) {
		memset(peeked[i], 0, sizeof(peeked[i]));
		ASSERT_LT(0, peek(self->fd, i, peeked[i], sizeof(peeked[i]), &pprio[i]));
	}
	/* highest priority first, FIFO within a priority */
	static const char * const expect[] = { "msg-3", "msg-5", "msg-9", "msg-0", "msg-2",
					       "msg-7", "msg-6", "msg-1", "msg-4", "msg-8" };
	for (int i = 0; i < n; i++) {
		EXPECT_STREQ(expect[i], peeked[i]);
		ASSERT_LT(0, mq_receive(self->fd, got, 1024, &rprio));
		EXPECT_STREQ(got, peeked[i]);
		EXPECT_EQ(rprio, pprio[i]);
	}
}

TEST_F(queue, fifo_within_one_priority)
{
	char buf[32];
	unsigned int prio;

	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "fifo-%d", i);
		ASSERT_EQ(0, mq_send(self->fd, buf, strlen(buf) + 1, 5));
	}
	for (int i = 0; i < 10; i++) {
		char want[32];

		snprintf(want, sizeof(want), "fifo-%d", i);
		ASSERT_EQ((long)strlen(want) + 1, peek(self->fd, i, buf, sizeof(buf), &prio));
		EXPECT_STREQ(want, buf);
		EXPECT_EQ(5, prio);
	}
}

TEST_F(queue, returns_bytes_copied_and_prio)
{
	char buf[64] = { 0 };
	unsigned int prio = 0;

	ASSERT_EQ(0, mq_send(self->fd, "hello", 5, 31));
	EXPECT_EQ(5, peek(self->fd, 0, buf, sizeof(buf), &prio));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(31, prio);
	/* zero-length messages peek as 0 bytes */
	ASSERT_EQ(0, mq_send(self->fd, "", 0, 0));
	EXPECT_EQ(0, peek(self->fd, 1, buf, sizeof(buf), &prio));
	EXPECT_EQ(0, prio);
}

/* A short buffer truncates silently; bytes past it are never written. */
TEST_F(queue, truncation)
{
	unsigned char msg[100], buf[100];

	pat_fill(msg, 1, sizeof(msg));
	ASSERT_EQ(0, mq_send(self->fd, (char *)msg, sizeof(msg), 1));
	memset(buf, 0xa5, sizeof(buf));
	EXPECT_EQ(10, peek(self->fd, 0, buf, 10, NULL));
	EXPECT_EQ(0, memcmp(buf, msg, 10));
	for (size_t i = 10; i < sizeof(buf); i++)
		ASSERT_EQ(0xa5, buf[i]);
	EXPECT_EQ(1, peek(self->fd, 0, buf, 1, NULL));
}

/* A buffer larger than the message: bytes past the message stay untouched. */
TEST_F(queue, no_bytes_past_message)
{
	unsigned char buf[1024];

	ASSERT_EQ(0, mq_send(self->fd, "abc", 3, 0));
	memset(buf, 0x5a, sizeof(buf));
	EXPECT_EQ(3, peek(self->fd, 0, buf, sizeof(buf), NULL));
	for (size_t i = 3; i < sizeof(buf); i++)
		ASSERT_EQ(0x5a, buf[i]);
}

/* buf == NULL && buf_len == 0: the full length, and the priority, no copy. */
TEST_F(queue, length_query)
{
	unsigned char msg[777];
	unsigned int prio = 0;
	struct mq_attr before, after;

	pat_fill(msg, 2, sizeof(msg));
	ASSERT_EQ(0, mq_send(self->fd, "x", 1, 2));
	ASSERT_EQ(0, mq_send(self->fd, (char *)msg, sizeof(msg), 9));
	ASSERT_EQ(0, mq_getattr(self->fd, &before));
	EXPECT_EQ(777, peek(self->fd, 0, NULL, 0, &prio));
	EXPECT_EQ(9, prio);
	EXPECT_EQ(1, peek(self->fd, 1, NULL, 0, &prio));
	EXPECT_EQ(2, prio);
	EXPECT_EQ(ENOMSG, peek_err(self->fd, 2, NULL, 0));
	ASSERT_EQ(0, mq_getattr(self->fd, &after));
	EXPECT_EQ(before.mq_curmsgs, after.mq_curmsgs);
}

TEST_F(queue, enomsg)
{
	char buf[16];

	EXPECT_EQ(ENOMSG, peek_err(self->fd, 0, buf, sizeof(buf)));
	ASSERT_EQ(0, mq_send(self->fd, "a", 1, 0));
	EXPECT_EQ(0, peek_err(self->fd, 0, buf, sizeof(buf)));
	EXPECT_EQ(ENOMSG, peek_err(self->fd, 1, buf, sizeof(buf)));
	EXPECT_EQ(ENOMSG, peek_err(self->fd, 0x7fffffff, buf, sizeof(buf)));
}

TEST_F(queue, einval)
{
	char buf[16];

	ASSERT_EQ(0, mq_send(self->fd, "a", 1, 0));
	EXPECT_EQ(EINVAL, peek_err(self->fd, -1, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, peek_err(self->fd, INT32_MIN, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, peek_err(self->fd, 0, buf, 0));		/* buf_len == 0 */
	EXPECT_EQ(EINVAL, peek_err(self->fd, 0, NULL, sizeof(buf)));	/* buf == NULL */
	EXPECT_EQ(EINVAL, peek_err(self->fd, -1, NULL, 0));	/* query, bad offset */
}

TEST_F(queue, efault)
{
	char *none = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mq_attr attr;

	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, mq_send(self->fd, "abc", 3, 0));
	/* unreadable attr */
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->fd, F_MQ_PEEK, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->fd, F_MQ_PEEK, none));
	EXPECT_EQ(EFAULT, errno);
	/* attr readable but msg_prio cannot be written back */
	struct mq_peek_attr *rattr = (struct mq_peek_attr *)ro;

	/* all zeroes: a length query of offset 0, whose msg_prio write-back faults */
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->fd, F_MQ_PEEK, rattr));
	EXPECT_EQ(EFAULT, errno);
	/*
	 * msg_prio straddling a page boundary, its second half read-only: the
	 * attr reads whole and the bytes are copied, the write-back faults
	 */
	char *two = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char out[16];
	struct mq_peek_attr sa = { .offset = 0, .buf_len = sizeof(out), .buf = out };

	ASSERT_NE(MAP_FAILED, two);
	/* msg_prio at offset 4: bytes 4-5 on the first page, 6-7 on the second */
	memcpy(two + PAGE_SZ - 6, &sa, sizeof(sa));
	ASSERT_EQ(0, mprotect(two + PAGE_SZ, PAGE_SZ, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->fd, F_MQ_PEEK, two + PAGE_SZ - 6));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, memcmp(out, "abc", 3));
	munmap(two, 2 * PAGE_SZ);
	/* unwritable and unmapped buffers */
	EXPECT_EQ(EFAULT, peek_err(self->fd, 0, none, 16));
	EXPECT_EQ(EFAULT, peek_err(self->fd, 0, ro, 16));
	/* a kernel address is never written */
	EXPECT_EQ(EFAULT, peek_err(self->fd, 0, (void *)(uintptr_t)-4096, 16));
	ASSERT_EQ(0, mq_getattr(self->fd, &attr));
	EXPECT_EQ(1, attr.mq_curmsgs);
	munmap(none, PAGE_SZ);
	munmap(ro, PAGE_SZ);
}

TEST(ebadf)
{
	char name[64], buf[16];
	mqd_t q = mq_peek_open_queue(name, sizeof(name), 4, 64);
	int p[2], fd;
	char path[128];

	ASSERT_NE(-1, q);
	ASSERT_EQ(0, mq_send(q, "a", 1, 0));
	/* not opened for reading */
	mqd_t wo = mq_open(name, O_WRONLY);

	ASSERT_NE(-1, wo);
	EXPECT_EQ(EBADF, peek_err(wo, 0, buf, sizeof(buf)));
	mq_close(wo);
	mqd_t ro = mq_open(name, O_RDONLY);

	ASSERT_NE(-1, ro);
	EXPECT_EQ(0, peek_err(ro, 0, buf, sizeof(buf)));
	mq_close(ro);
	/* O_PATH descriptor of the queue */
	snprintf(path, sizeof(path), "/dev/mqueue%s", name);
	fd = open(path, O_PATH);
	ASSERT_NE(-1, fd);
	EXPECT_EQ(EBADF, peek_err(fd, 0, buf, sizeof(buf)));
	close(fd);
	/* the queue's file opened with open(2) is an mqueue file too */
	fd = open(path, O_RDONLY);
	ASSERT_NE(-1, fd);
	EXPECT_EQ(0, peek_err(fd, 0, buf, sizeof(buf)));
	close(fd);
	/* not message queues */
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(EBADF, peek_err(p[0], 0, buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_NE(-1, fd);
	EXPECT_EQ(EBADF, peek_err(fd, 0, buf, sizeof(buf)));
	close(fd);
	fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	ASSERT_NE(-1, fd);
	EXPECT_EQ(EBADF, peek_err(fd, 0, buf, sizeof(buf)));
	close(fd);
	fd = open("/dev/mqueue", O_RDONLY | O_DIRECTORY);
	ASSERT_NE(-1, fd);
	EXPECT_EQ(EBADF, peek_err(fd, 0, buf, sizeof(buf)));
	close(fd);
	/* closed descriptor */
	EXPECT_EQ(EBADF, peek_err(1000, 0, buf, sizeof(buf)));
	mq_close(q);
	mq_unlink(name);
}

/* Payload sizes around the segment boundaries of struct msg_msg. */
TEST(segment_boundaries)
{
	static const size_t sizes[] = {
		1, DATALEN_MSG - 1, DATALEN_MSG, DATALEN_MSG + 1,
		DATALEN_MSG + DATALEN_SEG - 1, DATALEN_MSG + DATALEN_SEG,
		DATALEN_MSG + DATALEN_SEG + 1, DATALEN_MSG + 2 * DATALEN_SEG + 17,
		1 << 20,
	};
	const size_t n = ARRAY_SIZE(sizes);
	const size_t max = 1 << 20;
	unsigned char *msg = malloc(max), *buf = malloc(max + 16);
	char name[64];
	mqd_t q;

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	raise_mq_limits(64, 16 << 20);
	q = mq_peek_open_queue(name, sizeof(name), n, max);
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		pat_fill(msg, i, sizes[i]);
		ASSERT_EQ(0, mq_send(q, (char *)msg, sizes[i], 0));
	}
	for (size_t i = 0; i < n; i++) {
		size_t cut = sizes[i] > 2 ? sizes[i] / 2 + 1 : 1;

		pat_fill(msg, i, sizes[i]);
		memset(buf, 0xee, max + 16);
		ASSERT_EQ((long)sizes[i], peek(q, i, buf, max + 16, NULL));
		ASSERT_EQ(0, memcmp(buf, msg, sizes[i])) TH_LOG("size %zu", sizes[i]);
		ASSERT_EQ(0xee, buf[sizes[i]]);
		/* a prefix ending inside a later segment */
		memset(buf, 0xee, max + 16);
		ASSERT_EQ((long)cut, peek(q, i, buf, cut, NULL));
		ASSERT_EQ(0, memcmp(buf, msg, cut));
		ASSERT_EQ(0xee, buf[cut]);
		EXPECT_EQ((long)sizes[i], peek(q, i, NULL, 0, NULL));
	}
	for (size_t i = 0; i < n; i++) {
		pat_fill(msg, i, sizes[i]);
		ASSERT_EQ((long)sizes[i], mq_receive(q, (char *)buf, max, NULL));
		ASSERT_EQ(0, memcmp(buf, msg, sizes[i]));
	}
	mq_close(q);
	mq_unlink(name);
	free(msg);
	free(buf);
}

/*
 * No kernel bytes leak: for messages shorter than the buffer, nothing past the
 * returned length is written, and the attr comes back with only msg_prio
 * changed (the struct sits between canaries, so a write past it shows too).
 */
TEST(no_kernel_bytes_leak)
{
	static const size_t sizes[] = {
		0, 1, 15, DATALEN_MSG - 1, DATALEN_MSG, DATALEN_MSG + 1,
		DATALEN_MSG + DATALEN_SEG + 1, DATALEN_MSG + DATALEN_SEG + 2, 20000,
	};
	const size_t n = ARRAY_SIZE(sizes), bufsz = 32768;
	unsigned char *msg = malloc(bufsz), *buf = malloc(bufsz + 64);
	struct { unsigned char pre[32]; struct mq_peek_attr a; unsigned char post[32]; } blk, ref;
	char name[64];
	mqd_t q;

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	raise_mq_limits(64, 1 << 20);
	q = mq_peek_open_queue(name, sizeof(name), n, bufsz);
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		pat_fill(msg, 100 + i, sizes[i]);
		ASSERT_EQ(0, mq_send(q, (char *)msg, sizes[i], i));
	}
	/* receive order is reverse send order: priorities 0..n-1 */
	for (size_t k = 0; k < n; k++) {
		size_t i = n - 1 - k, j;

		memset(buf, 0x77, bufsz + 64);
		memset(&blk, 0x3c, sizeof(blk));
		blk.a.offset = k;
		blk.a.buf_len = bufsz + 64;
		blk.a.buf = (char *)buf;
		ref = blk;
		ASSERT_EQ((long)sizes[i], fcntl(q, F_MQ_PEEK, &blk.a));
		pat_fill(msg, 100 + i, sizes[i]);
		ASSERT_EQ(0, memcmp(buf, msg, sizes[i]));
		/* no byte past the message written: j stops at the first that was */
		j = sizes[i];
		while (j < bufsz + 64 && buf[j] == 0x77)
			j++;
		ASSERT_EQ(bufsz + 64, j) TH_LOG("size %zu: byte %zu past it written", sizes[i], j);
		EXPECT_EQ(i, blk.a.msg_prio);
		blk.a.msg_prio = ref.a.msg_prio;
		EXPECT_EQ(0, memcmp(&blk, &ref, sizeof(blk)));
	}
	mq_close(q);
	mq_unlink(name);
	free(msg);
	free(buf);
}

/* The largest message the kernel allows (HARD_MSGSIZEMAX, 16 MiB). */
TEST(sixteen_mib)
{
	const size_t sz = 16 << 20;
	unsigned char *msg = malloc(sz), *buf = malloc(sz);
	char name[64];
	unsigned int prio;
	mqd_t q;

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	raise_mq_limits(64, sz);
	q = mq_peek_open_queue(name, sizeof(name), 1, sz);
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	pat_fill(msg, 16, sz);
	ASSERT_EQ(0, mq_send(q, (char *)msg, sz, 77));
	ASSERT_EQ((long)sz, peek(q, 0, buf, sz, &prio));
	EXPECT_EQ(77, prio);
	EXPECT_EQ(0, memcmp(buf, msg, sz));
	/* a buffer larger than mq_msgsize is fine: the copy is bounded by it */
	EXPECT_EQ((long)sz, peek(q, 0, NULL, 0, NULL));
	ASSERT_EQ((long)sz, mq_receive(q, (char *)buf, sz, NULL));
	EXPECT_EQ(0, memcmp(buf, msg, sz));
	mq_close(q);
	mq_unlink(name);
	free(msg);
	free(buf);
}

/*
 * Tests that fill big queues: minutes, not the harness's default 30 s, on a
 * loaded machine under the debug kernel's detectors.
 */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* HARD_MSGMAX messages; sampled offsets (a full dump is the benchmark's job). */
TEST_F_TIMEOUT(slow, full_queue_65536, 600)
{
	const int n = 65536, nprio = 7;
	char name[64], buf[16];
	unsigned int prio;
	int counts[7] = { 0 };
	mqd_t q;

	raise_mq_limits(n, 8192);
	q = mq_peek_open_queue(name, sizeof(name), n, sizeof(uint32_t));
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		ASSERT_EQ(0, mq_send(q, (char *)&i, sizeof(i), i % nprio));
		counts[i % nprio]++;
	}
	/* receive order: priority nprio-1 first; within one, ascending i */
	for (int k = 0; k < 200; k++) {
		int idx = k < 100 ? k * (n / 100) + k : n - 1 - (k - 100);
		int rest = idx, p = nprio - 1;
		uint32_t want, got = 0;

		while (rest >= counts[p])
			rest -= counts[p--];
		want = (uint32_t)(rest * nprio + p);
		ASSERT_EQ(4, peek(q, idx, &got, sizeof(got), &prio));
		ASSERT_EQ(want, got) TH_LOG("offset %d", idx);
		ASSERT_EQ((unsigned int)p, prio);
	}
	EXPECT_EQ(ENOMSG, peek_err(q, n, buf, sizeof(buf)));
	mq_close(q);
	mq_unlink(name);
}

static void on_signal(int sig)
{
	(void)sig;
}

/*
 * The queue's status line (QSIZE, NOTIFY, SIGNO, NOTIFY_PID), read through the
 * queue descriptor itself: closing any other descriptor of the queue would
 * drop our own mq_notify() registration (mqueue_flush_file()).
 */
static char *status_line(mqd_t q, char *buf, size_t len)
{
	ssize_t n = pread(q, buf, len - 1, 0);

	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/* Peeking changes nothing: attributes, contents, timestamps, notification. */
TEST(queue_unchanged)
{
	char name[64], path[128], info1[256], info2[256], buf[64];
	struct mq_attr a1, a2;
	struct stat s1, s2;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	mqd_t q = mq_peek_open_queue(name, sizeof(name), 8, 64);

	ASSERT_NE(-1, q);
	signal(SIGUSR1, on_signal);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(0, mq_send(q, "payload", 7 + i % 2, i));
	snprintf(path, sizeof(path), "/dev/mqueue%s", name);
	ASSERT_EQ(0, mq_notify(q, &sev));
	ASSERT_EQ(0, mq_getattr(q, &a1));
	ASSERT_EQ(0, stat(path, &s1));
	ASSERT_NE(NULL, status_line(q, info1, sizeof(info1)));
	usleep(20000);	/* so a timestamp update would be visible */
	for (int r = 0; r < 50; r++)
		for (int i = 0; i < 6; i++)
			peek(q, i, buf, sizeof(buf), NULL);
	ASSERT_EQ(0, mq_getattr(q, &a2));
	ASSERT_EQ(0, stat(path, &s2));
	ASSERT_NE(NULL, status_line(q, info2, sizeof(info2)));
	EXPECT_EQ(a1.mq_curmsgs, a2.mq_curmsgs);
	EXPECT_EQ(a1.mq_flags, a2.mq_flags);
	EXPECT_STREQ(info1, info2);	/* QSIZE and NOTIFY fields */
	EXPECT_EQ(s1.st_mtim.tv_sec, s2.st_mtim.tv_sec);
	EXPECT_EQ(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
	EXPECT_EQ(s1.st_atim.tv_nsec, s2.st_atim.tv_nsec);
	EXPECT_EQ(s1.st_ctim.tv_nsec, s2.st_ctim.tv_nsec);
	/* the registration is still armed: a second one is refused */
	errno = 0;
	EXPECT_EQ(-1, mq_notify(q, &sev));
	EXPECT_EQ(EBUSY, errno);
	/* contents and order are intact */
	for (int i = 4; i >= 0; i--) {
		unsigned int prio;

		ASSERT_EQ(7 + i % 2, mq_receive(q, buf, sizeof(buf), &prio));
		EXPECT_EQ((unsigned int)i, prio);
	}
	mq_close(q);
	mq_unlink(name);
}

struct sender {
	mqd_t q;
	atomic_int done;
};

static void *blocked_sender(void *arg)
{
	struct sender *s = arg;

	mq_send(s->q, "late", 4, 0);
	atomic_store(&s->done, 1);
	return NULL;
}

/* A sender blocked on a full queue is not woken by peeks. */
TEST(blocked_sender_stays_blocked)
{
	char name[64], buf[16];
	struct sender s = { 0 };
	pthread_t t;

	s.q = mq_peek_open_queue(name, sizeof(name), 2, 16);
	ASSERT_NE(-1, s.q);
	ASSERT_EQ(0, mq_send(s.q, "a", 1, 0));
	ASSERT_EQ(0, mq_send(s.q, "b", 1, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_sender, &s));
	usleep(100000);
	for (int i = 0; i < 100; i++)
		peek(s.q, i % 2, buf, sizeof(buf), NULL);
	usleep(100000);
	EXPECT_EQ(0, atomic_load(&s.done));
	ASSERT_EQ(1, mq_receive(s.q, buf, sizeof(buf), NULL));
	pthread_join(t, NULL);
	EXPECT_EQ(1, atomic_load(&s.done));
	EXPECT_EQ(4, peek(s.q, 1, buf, sizeof(buf), NULL));
	mq_close(s.q);
	mq_unlink(name);
}

/*
 * The cursor (the module resumes from the previous peek while the queue is
 * unchanged) against a shadow model: random sends and receives between
 * sequential, reverse and random peeks; every peek must match the model.
 */
TEST(cursor_shadow_model)
{
	enum { CAP = 64 };
	struct { uint32_t seq, prio; } model[CAP], m;
	int n = 0, k = 0;
	uint32_t seq = 0, got[2];
	uint64_t rs = 0x1234567;
	char name[64];
	unsigned int prio;
	mqd_t q;

	raise_mq_limits(CAP, 8192);
	q = mq_peek_open_queue(name, sizeof(name), CAP, sizeof(got));
	ASSERT_NE(-1, q);
	for (int step = 0; step < 20000; step++) {
		uint32_t r = (uint32_t)(rnd(&rs) >> 16);

		if (r % 8 == 0 && n < CAP) {		/* send: after its priority's last */
			int at = n;

			m.seq = seq++;
			m.prio = r / 8 % 5;
			got[0] = m.seq;
			got[1] = m.prio;
			ASSERT_EQ(0, mq_send(q, (char *)got, sizeof(got), m.prio));
			while (at > 0 && model[at - 1].prio < m.prio) {
				model[at] = model[at - 1];
				at--;
			}
			model[at] = m;
			n++;
		} else if (r % 8 == 1 && n > 0) {	/* receive the head */
			ASSERT_EQ(sizeof(got), mq_receive(q, (char *)got, sizeof(got), &prio));
			ASSERT_EQ(model[0].seq, got[0]);
			memmove(model, model + 1, --n * sizeof(model[0]));
		} else {				/* peek */
			int off = r % 8 == 2 ? (int)(r / 8 % (CAP + 1)) :	/* random */
				  r % 8 == 3 ? n - 1 - k : k;			/* rev / fwd */

			if (off < 0 || off >= n) {
				k = 0;
				if (off >= 0)
					ASSERT_EQ(ENOMSG, peek_err(q, off, got, sizeof(got)));
				continue;
			}
			ASSERT_EQ(sizeof(got), peek(q, off, got, sizeof(got), &prio));
			ASSERT_EQ(model[off].seq, got[0]) TH_LOG("step %d offset %d", step, off);
			ASSERT_EQ(model[off].prio, prio);
			k++;
		}
	}
	mq_close(q);
	mq_unlink(name);
}

struct churn {
	mqd_t q;
	unsigned int prio;
	atomic_int stop, bad;
};

/* Sends a small message at c->prio and takes the head back, again and again. */
static void *churner(void *arg)
{
	struct churn *c = arg;
	char *rx = malloc(2 << 20);

	while (rx && !atomic_load(&c->stop)) {
		mq_send(c->q, "churn", 8, c->prio);
		if (mq_receive(c->q, rx, 2 << 20, NULL) != 8)
			atomic_store(&c->bad, 1);	/* took the big message: the test is void */
	}
	free(rx);
	return NULL;
}

/* Sends small messages at c->prio until stopped or the queue is full. */
static void *filler(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop) && mq_send(c->q, "churn", 8, c->prio) == 0)
		;
	return NULL;
}

/*
 * A message larger than the module's 64 KiB chunk is copied over several holds
 * of the queue's lock, and the queue changes between them all the time: a
 * thread sends below the big message's priority (a receive would take the big
 * message itself), so the big one stays at offset 0 throughout.  Every single
 * peek must return it whole: a message that is at the offset when the call
 * starts is returned, however busy the queue.  The module's fallback counter
 * proves that the holds were overtaken.
 */
TEST(big_message_under_churn_below)
{
	const size_t sz = 2 << 20;
	unsigned char *msg = malloc(sz), *buf = malloc(sz);
	struct churn c = { .prio = 1 };
	struct mq_attr attr;
	pthread_t t;
	char name[64];

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	raise_mq_limits(65536, 16 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), 65536, sz);
	ASSERT_NE(-1, c.q) TH_LOG("mq_open: %s", strerror(errno));
	pat_fill(msg, 78, sz);
	ASSERT_EQ(0, mq_send(c.q, (char *)msg, sz, 5));
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	ASSERT_EQ(0, mq_peek_debugfs_set("fallbacks", 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, filler, &c));
	for (int i = 0; i < 20; i++) {
		unsigned int prio = 0;

		memset(buf, 0, 64);
		ASSERT_EQ((long)sz, peek(c.q, 0, buf, sz, &prio))
			TH_LOG("try %d: %s", i, strerror(errno));
		ASSERT_EQ(5, prio);
		ASSERT_EQ(0, memcmp(buf, msg, sz));
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ(0, mq_getattr(c.q, &attr));
	TH_LOG("%lld of 20 peeks finished in one hold after the queue changed (%ld sends)",
	       mq_peek_debugfs_get("fallbacks"), attr.mq_curmsgs - 1);
	EXPECT_LT(0, mq_peek_debugfs_get("fallbacks"));
	EXPECT_EQ(0, mq_peek_debugfs_set("stats", 0));
	mq_close(c.q);
	mq_unlink(name);
	free(msg);
	free(buf);
}

/*
 * The RFC's scenario: the churner works above the big message's priority, so
 * offset 0 is either the churner's message or the big one, and offset 1 is
 * the big one whenever the churner's message is queued.  No call may fail
 * (no EAGAIN: the only error is ENOMSG at offset 1 of a one-message queue),
 * every answer is a whole, real message, and the big one does come back.
 *
 * How often it comes back depends on how the threads interleave.  The RFC
 * decides in one hold, after allocating mq_msgsize bytes; we decide in the
 * first hold (ENOMSG or a small message are answered at once), allocate
 * what the big one needs, and if the queue changed meanwhile decide again
 * in one hold: the big one comes back if it was at the offset at both
 * instants.  Both rates are logged, for the RFC with use_cursor = 0.
 */
static void churn_above(struct __test_metadata *_metadata, struct churn *c,
			const unsigned char *msg, unsigned char *buf, size_t sz, int *whole)
{
	for (int i = 0; i < 80; i++) {
		int off = i & 1;
		long n = peek(c->q, off, buf, sz, NULL);

		if (n == -1) {
			ASSERT_EQ(1, off) TH_LOG("offset 0: %s", strerror(errno));
			ASSERT_EQ(ENOMSG, errno) TH_LOG("offset 1: %s", strerror(errno));
		} else if (n == 8) {
			ASSERT_EQ(0, off);	/* the churner's message is never behind */
			ASSERT_EQ(0, memcmp(buf, "churn", 6));
		} else {
			ASSERT_EQ((long)sz, n);
			ASSERT_EQ(0, memcmp(buf, msg, sz));
			(*whole)++;
		}
	}
}

TEST(big_message_under_churn_above)
{
	const size_t sz = 2 << 20;
	unsigned char *msg = malloc(sz), *buf = malloc(sz);
	struct churn c = { .prio = 20 };
	int ours = 0, rfc = 0;
	pthread_t t;
	char name[64];

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	raise_mq_limits(64, 16 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), 4, sz);
	ASSERT_NE(-1, c.q);
	pat_fill(msg, 77, sz);
	ASSERT_EQ(0, mq_send(c.q, (char *)msg, sz, 5));
	ASSERT_EQ(0, pthread_create(&t, NULL, churner, &c));
	churn_above(_metadata, &c, msg, buf, sz, &ours);
	ASSERT_EQ(0, mq_peek_debugfs_set("use_cursor", 0));
	churn_above(_metadata, &c, msg, buf, sz, &rfc);
	ASSERT_EQ(0, mq_peek_debugfs_set("use_cursor", 1));
	churn_above(_metadata, &c, msg, buf, sz, &ours);
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("big message whole in %d of 160 tries; the RFC's single hold: %d of 80",
	       ours, rfc);
	EXPECT_EQ(0, atomic_load(&c.bad));
	/* the old module, restarting its copy whenever the queue changed: 0 of 240 */
	EXPECT_LT(0, ours);
	mq_close(c.q);
	mq_unlink(name);
	free(msg);
	free(buf);
}

/*
 * A walk longer than the module's batch (256 steps per hold of the lock)
 * continues after re-taking the lock, or finishes in one hold if the queue
 * changed.  With a churner adding and removing a head message, offset k holds
 * message k or k-1; every call must give one of them, none may fail.
 */
TEST(long_walk_under_churn)
{
	const int n = 4096;
	struct churn c = { .prio = 9 };
	uint32_t got;
	pthread_t t;
	char name[64];

	raise_mq_limits(n + 8, 2 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), n + 2, 2 << 20);
	ASSERT_NE(-1, c.q) TH_LOG("mq_open: %s", strerror(errno));
	for (uint32_t i = 0; i < (uint32_t)n; i++)
		ASSERT_EQ(0, mq_send(c.q, (char *)&i, sizeof(i), 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, churner, &c));
	for (int r = 0; r < 60; r++) {
		int k = 300 + (r * 811) % (n - 300);
		unsigned int prio = 99;
		long len = peek(c.q, k, &got, sizeof(got), &prio);

		ASSERT_EQ((long)sizeof(got), len) TH_LOG("offset %d: %s", k, strerror(errno));
		ASSERT_EQ(0, prio);
		ASSERT_TRUE(got == (uint32_t)k || got == (uint32_t)k - 1)
			TH_LOG("offset %d: %u", k, got);
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, atomic_load(&c.bad));
	mq_close(c.q);
	mq_unlink(name);
}

/*
 * Reading a queue's messages in order, or in reverse order, costs time
 * proportional to their number in all: the module's count of list steps
 * walked over a whole dump by F_MQ_PEEK, forward and backward, is at most one
 * per message (the RFC's walk from the head would take n(n-1)/2).
 */
TEST_F_TIMEOUT(slow, dump_steps_linear, 600)
{
	const int n = 20000;
	char name[64], msg[8] = "linear", buf[8];
	uint64_t rs = 3;
	long long steps;
	mqd_t q;

	raise_mq_limits(n, 8192);
	q = mq_peek_open_queue(name, sizeof(name), n, sizeof(msg));
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		ASSERT_EQ(0, mq_send(q, msg, sizeof(msg), rnd(&rs) % 8));
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	ASSERT_EQ(0, mq_peek_debugfs_set("steps", 0));
	for (int i = 0; i < n; i++)
		ASSERT_EQ((long)sizeof(msg), peek(q, i, buf, sizeof(buf), NULL));
	steps = mq_peek_debugfs_get("steps");
	EXPECT_GE(n, steps);
	EXPECT_LE(n - 2, steps);	/* it does count the walk (the last one is the tail) */
	ASSERT_EQ(0, mq_peek_debugfs_set("steps", 0));
	for (int i = n - 1; i >= 0; i--)
		ASSERT_EQ((long)sizeof(msg), peek(q, i, buf, sizeof(buf), NULL));
	EXPECT_GE(n, mq_peek_debugfs_get("steps"));
	mq_peek_debugfs_set("stats", 0);
	mq_close(q);
	mq_unlink(name);
}

/* Resets the module's per-hold maxima and starts collecting them. */
static void hold_maxima_reset(struct __test_metadata *_metadata)
{
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	ASSERT_EQ(0, mq_peek_debugfs_set("max_hold_steps", 0));
	ASSERT_EQ(0, mq_peek_debugfs_set("max_hold_bytes", 0));
}

/* A whole F_MQ_PEEK_BATCH dump of @q into @len bytes; returns the records. */
static long batch_dump(mqd_t q, void *buf, size_t len)
{
	long total = 0, n;

	do {
		struct mq_peek_batch b = {
			.size = sizeof(b), .buf = (uintptr_t)buf, .buf_len = len, .offset = total,
		};

		n = fcntl(q, F_MQ_PEEK_BATCH, &b);
		total += n > 0 ? n : 0;
	} while (n > 0);
	return n < 0 ? n : total;
}

/*
 * The man page's bound on holding a queue's lock, where it is promised: while
 * the queue does not change during a call, no hold of its lock walks more
 * than 256 list entries or copies more than 64 KiB, however long the queue
 * (20,000 messages, peeked at random offsets and dumped) or its messages
 * (1 MiB each, peeked and dumped whole).  The module's max_hold_steps and
 * max_hold_bytes are the largest of any single hold; that they reach the
 * bounds exactly shows that they measure the long walks and copies.
 */
TEST_F_TIMEOUT(slow, hold_bound_quiet, 600)
{
	const int n = 20000, nbig = 6;
	const size_t big = 1 << 20, blen = 8 << 20;
	unsigned char *buf = malloc(blen);
	char name[64], msg[16] = "quiet";
	uint64_t rs = 1;
	mqd_t q;

	ASSERT_NE(NULL, buf);
	raise_mq_limits(n, 16 << 20);
	q = mq_peek_open_queue(name, sizeof(name), n, sizeof(msg));
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		ASSERT_EQ(0, mq_send(q, msg, sizeof(msg), rnd(&rs) % 8));
	hold_maxima_reset(_metadata);
	for (int i = 0; i < 200; i++)
		ASSERT_EQ((long)sizeof(msg), peek(q, rnd(&rs) % n, buf, 64, NULL));
	ASSERT_EQ(n, batch_dump(q, buf, 1 << 20));
	ASSERT_EQ(n, batch_dump(q, buf, 4096));
	EXPECT_EQ(256, mq_peek_debugfs_get("max_hold_steps"));
	EXPECT_GE(65536, mq_peek_debugfs_get("max_hold_bytes"));
	mq_close(q);
	mq_unlink(name);

	q = mq_peek_open_queue(name, sizeof(name), nbig, big);
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (int i = 0; i < nbig; i++) {
		pat_fill(buf, i, big);
		ASSERT_EQ(0, mq_send(q, (char *)buf, big, i % 3));
	}
	hold_maxima_reset(_metadata);
	for (int i = 0; i < nbig; i++)
		ASSERT_EQ((long)big, peek(q, i, buf, big, NULL));
	ASSERT_EQ(nbig, batch_dump(q, buf, blen));
	ASSERT_EQ(nbig, batch_dump(q, buf, big + 100));
	EXPECT_GE(256, mq_peek_debugfs_get("max_hold_steps"));
	EXPECT_EQ(65536, mq_peek_debugfs_get("max_hold_bytes"));
	mq_peek_debugfs_set("stats", 0);
	mq_close(q);
	mq_unlink(name);
	free(buf);
}

/*
 * The bound the man page keeps under churn: when the queue changes between two
 * holds of one call, the call finishes as the RFC's implementation does, in
 * one hold that walks from the nearest known position (at most half the
 * queue) and copies at most min(buf_len, mq_msgsize) bytes; a batch adds at
 * most 256 steps and 64 KiB of records to that hold.  A churner adds and
 * removes a head message all the time while long walks and big copies run.
 */
TEST_F_TIMEOUT(slow, hold_bound_churn, 600)
{
	const int n = 4096;
	const size_t big = 1 << 20, blen = 300 << 10;
	unsigned char *buf = malloc(big);
	struct churn c = { .prio = 9 };
	long long steps, bytes;
	uint64_t rs = 2;
	pthread_t t;
	char name[64];

	ASSERT_NE(NULL, buf);
	raise_mq_limits(n + 8, 2 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), n + 4, big);
	ASSERT_NE(-1, c.q) TH_LOG("mq_open: %s", strerror(errno));
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		size_t sz = i % 512 == 7 ? big : sizeof(i);

		memcpy(buf, &i, sizeof(i));
		ASSERT_EQ(0, mq_send(c.q, (char *)buf, sz, 0));
	}
	hold_maxima_reset(_metadata);
	ASSERT_EQ(0, mq_peek_debugfs_set("fallbacks", 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, churner, &c));
	for (int r = 0; r < 100; r++) {
		int k = rnd(&rs) % n;

		ASSERT_LT(0, peek(c.q, k, buf, r % 2 ? blen : big, NULL));
		if (r % 10 == 0)
			ASSERT_LT(0, batch_dump(c.q, buf, blen));
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	steps = mq_peek_debugfs_get("max_hold_steps");
	bytes = mq_peek_debugfs_get("max_hold_bytes");
	TH_LOG("longest hold: %lld steps, %lld bytes; %lld calls overtaken", steps, bytes,
	       mq_peek_debugfs_get("fallbacks"));
	EXPECT_EQ(0, atomic_load(&c.bad));
	EXPECT_GE((n + 1) / 2 + 1, steps);
	EXPECT_GE((long long)big, bytes);
	mq_peek_debugfs_set("stats", 0);
	mq_close(c.q);
	mq_unlink(name);
	free(buf);
}

TEST_HARNESS_MAIN
