// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_batch_test - fcntl(F_MQ_PEEK_BATCH) with mq_peek.ko loaded.
 *
 * Every record must equal what F_MQ_PEEK answers for the same offset (order,
 * priority, bytes, truncation); buffer sizes around the exact fit; the queue's
 * version must stay put across a quiet dump and move when a message is sent or
 * received in between; faults never count partial records.  Built 64-bit and
 * -m32: the structure has one layout for both.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define HDR		sizeof(struct mq_peek_record)

static_assert(sizeof(struct mq_peek_batch) == 80, "one layout for all callers");
static_assert(offsetof(struct mq_peek_batch, offset) == 16, "offset");
static_assert(offsetof(struct mq_peek_batch, used) == 24, "used");
static_assert(offsetof(struct mq_peek_batch, generation) == 40, "generation");
static_assert(offsetof(struct mq_peek_batch, reserved) == 56, "reserved");
static_assert(sizeof(struct mq_peek_record) == 24, "record header");

static uint64_t rs = 88172645463325252ull;

static long batch(int fd, struct mq_peek_batch *b, unsigned int offset, void *buf, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buf = (uintptr_t)buf;
	b->buf_len = len;
	b->offset = offset;
	return fcntl(fd, F_MQ_PEEK_BATCH, b);
}

static long batch_err(int fd, struct mq_peek_batch *b)
{
	return fcntl(fd, F_MQ_PEEK_BATCH, b) == -1 ? errno : 0;
}

/* The record at byte @at of a batch buffer. */
static struct mq_peek_record rec_at(const unsigned char *buf, size_t at)
{
	struct mq_peek_record r;

	memcpy(&r, buf + at, sizeof(r));
	return r;
}

static long peek(int fd, int offset, void *buf, size_t len, unsigned int *prio)
{
	struct mq_peek_attr pa = { .offset = offset, .buf_len = len, .buf = buf };
	long ret = fcntl(fd, F_MQ_PEEK, &pa);

	if (prio)
		*prio = pa.msg_prio;
	return ret;
}

/* Fills a queue with @n messages of random priority and size (0..maxsz). */
static void fill_random(struct __test_metadata *_metadata, mqd_t q, int n, size_t maxsz,
			unsigned char *tmp)
{
	for (int i = 0; i < n; i++) {
		size_t sz = rnd(&rs) % (maxsz + 1);

		pat_fill(tmp, 1000 + i, sz);
		ASSERT_EQ(0, mq_send(q, (char *)tmp, sz, rnd(&rs) % 8));
	}
}

/*
 * Dumps queue @q by batches into a buffer of @len bytes and compares every
 * record with F_MQ_PEEK at the same offset.  Returns the records seen.
 */
static int check_against_peek(struct __test_metadata *_metadata, mqd_t q, size_t len,
			      unsigned char *buf, unsigned char *want, size_t maxsz)
{
	struct mq_peek_batch b;
	unsigned int off = 0;
	long n;

	while ((n = batch(q, &b, off, buf, len)) > 0) {
		size_t at = 0;

		ASSERT_LE(b.used, len);
		for (long i = 0; i < n; i++, off++) {
			struct mq_peek_record r = rec_at(buf, at);
			unsigned int prio = 0;
			long full = peek(q, off, NULL, 0, NULL);
			long got = peek(q, off, want, maxsz + 1, &prio);

			ASSERT_EQ(full, got);
			ASSERT_EQ((uint64_t)full, r.msg_len) TH_LOG("offset %u", off);
			ASSERT_EQ(prio, r.msg_prio);
			ASSERT_EQ(0, r.reserved);
			ASSERT_LE(r.data_len, r.msg_len);
			/* only a lone first record may be truncated, to fill the buffer */
			if (r.data_len < r.msg_len) {
				ASSERT_EQ(1, n);
				ASSERT_EQ(len, HDR + r.data_len);
			}
			ASSERT_EQ(0, memcmp(buf + at + HDR, want, r.data_len));
			ASSERT_LE(at + HDR + r.data_len, b.used);
			at += MQ_PEEK_RECORD_SIZE(r.data_len);
		}
		ASSERT_EQ(b.used, at < len ? at : len);
	}
	ASSERT_EQ(0, n);
	return off;
}

/* Records equal F_MQ_PEEK's answers for random queues and buffer sizes. */
TEST(records_match_peek)
{
	const size_t maxsz = 3 * PAGE_SZ;
	unsigned char *buf = malloc(1 << 20), *want = malloc(maxsz + 1);
	static const size_t lens[] = { HDR, HDR + 1, HDR + 7, HDR + 8, 100, 4096, 4095,
				       PAGE_SZ * 3 + HDR, 65536, 65536 + 4096, 1 << 20 };
	char name[64];

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, want);
	raise_mq_limits(1024, 1 << 20);
	for (int round = 0; round < 6; round++) {
		int n = 1 + rnd(&rs) % 300;
		mqd_t q = mq_peek_open_queue(name, sizeof(name), n, maxsz);

		ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
		fill_random(_metadata, q, n, round & 1 ? maxsz : 64, want);
		for (size_t l = 0; l < ARRAY_SIZE(lens); l++)
			ASSERT_EQ(n, check_against_peek(_metadata, q, lens[l], buf, want, maxsz));
		/* random buffer sizes */
		for (int k = 0; k < 10; k++)
			ASSERT_EQ(n, check_against_peek(_metadata, q, HDR + rnd(&rs) % 20000, buf,
							want, maxsz));
		mq_close(q);
		mq_unlink(name);
	}
	free(buf);
	free(want);
}

FIXTURE(three) {
	char name[64];
	mqd_t q;
	unsigned char buf[4096];
};

/* Three messages of 10, 20 and 30 bytes, priorities 3, 2, 1 (receive order). */
FIXTURE_SETUP(three)
{
	unsigned char msg[32];

	self->q = mq_peek_open_queue(self->name, sizeof(self->name), 10, 64);
	ASSERT_NE(-1, self->q);
	for (int i = 0; i < 3; i++) {
		pat_fill(msg, i, 10 * (i + 1));
		ASSERT_EQ(0, mq_send(self->q, (char *)msg, 10 * (i + 1), 3 - i));
	}
}

FIXTURE_TEARDOWN(three)
{
	mq_close(self->q);
	mq_unlink(self->name);
}

/* Record sizes 24+10 (pad 6), 24+20 (pad 4), 24+30 (pad 2): 40, 48, 56 bytes. */
TEST_F(three, exact_fit_and_one_byte_short)
{
	struct mq_peek_batch b;
	const size_t all = 40 + 48 + 24 + 30;	/* the last record's padding is not needed */

	memset(self->buf, 0xa5, sizeof(self->buf));
	ASSERT_EQ(3, batch(self->q, &b, 0, self->buf, all));
	EXPECT_EQ(all, b.used);
	EXPECT_EQ(3, b.curmsgs);
	for (size_t i = all; i < sizeof(self->buf); i++)
		ASSERT_EQ(0xa5, self->buf[i]);
	/* padding is zeroed, not stale */
	for (size_t i = 24 + 10; i < 40; i++)
		ASSERT_EQ(0, self->buf[i]);
	/* one byte short: the third does not fit whole, so it is left for the next call */
	ASSERT_EQ(2, batch(self->q, &b, 0, self->buf, all - 1));
	EXPECT_EQ(40 + 48, b.used);
	/* the whole third record with its padding */
	ASSERT_EQ(3, batch(self->q, &b, 0, self->buf, all + 2));
	EXPECT_EQ(all + 2, b.used);
	/* a record with only part of its padding room */
	ASSERT_EQ(3, batch(self->q, &b, 0, self->buf, all + 1));
	EXPECT_EQ(all + 1, b.used);
}

/* A first message that does not fit is truncated to the room: always progress. */
TEST_F(three, lone_first_record_truncated)
{
	struct mq_peek_batch b;
	unsigned char msg[32];
	struct mq_peek_record r;

	pat_fill(msg, 0, 10);
	ASSERT_EQ(1, batch(self->q, &b, 0, self->buf, HDR));	/* header only */
	r = rec_at(self->buf, 0);
	EXPECT_EQ(10, r.msg_len);
	EXPECT_EQ(0, r.data_len);
	EXPECT_EQ(3, r.msg_prio);
	EXPECT_EQ(HDR, b.used);
	ASSERT_EQ(1, batch(self->q, &b, 0, self->buf, HDR + 5));
	r = rec_at(self->buf, 0);
	EXPECT_EQ(5, r.data_len);
	EXPECT_EQ(0, memcmp(self->buf + HDR, msg, 5));
	pat_fill(msg, 2, 30);
	ASSERT_EQ(1, batch(self->q, &b, 2, self->buf, HDR + 29));
	r = rec_at(self->buf, 0);
	EXPECT_EQ(30, r.msg_len);
	EXPECT_EQ(29, r.data_len);
	EXPECT_EQ(1, r.msg_prio);
	EXPECT_EQ(0, memcmp(self->buf + HDR, msg, 29));
}

TEST_F(three, past_the_end)
{
	struct mq_peek_batch b, b0;

	ASSERT_EQ(3, batch(self->q, &b0, 0, self->buf, sizeof(self->buf)));
	for (unsigned int off = 3; off < 6; off++) {
		memset(self->buf, 0xa5, sizeof(self->buf));
		ASSERT_EQ(0, batch(self->q, &b, off, self->buf, sizeof(self->buf)));
		EXPECT_EQ(0, b.used);
		EXPECT_EQ(3, b.curmsgs);
		EXPECT_EQ(b0.generation, b.generation);
		EXPECT_EQ(b0.mod_seq, b.mod_seq);
		EXPECT_EQ(0xa5, self->buf[0]);
	}
	ASSERT_EQ(0, batch(self->q, &b, UINT32_MAX, self->buf, sizeof(self->buf)));
	/* an empty queue still reports its version */
	char name[64];
	mqd_t e = mq_peek_open_queue(name, sizeof(name), 4, 64);

	ASSERT_NE(-1, e);
	ASSERT_EQ(0, batch(e, &b, 0, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, b.curmsgs);
	EXPECT_NE(0, b.generation);
	EXPECT_NE(b0.generation, b.generation);
	mq_close(e);
	mq_unlink(name);
}

TEST_F(three, einval)
{
	struct mq_peek_batch b, ref;

	batch(self->q, &b, 0, self->buf, sizeof(self->buf));
	b.flags = 1;
	ref = b;
	EXPECT_EQ(EINVAL, batch_err(self->q, &b));
	EXPECT_EQ(0, memcmp(&b, &ref, sizeof(b)));	/* nothing written back */
	b.flags = 0x80000000;
	EXPECT_EQ(EINVAL, batch_err(self->q, &b));
	for (int i = 0; i < 3; i++) {
		batch(self->q, &b, 0, self->buf, sizeof(self->buf));
		b.reserved[i] = 1ull << (i * 20);
		EXPECT_EQ(EINVAL, batch_err(self->q, &b));
	}
	/* smaller than a record header: no record can ever be returned */
	for (size_t len = 0; len < HDR; len++) {
		batch(self->q, &b, 0, self->buf, sizeof(self->buf));
		b.buf_len = len;
		EXPECT_EQ(EINVAL, batch_err(self->q, &b));
	}
}

/* Only the output fields are written: used, curmsgs, generation, mod_seq. */
TEST_F(three, writes_only_output_fields)
{
	struct { unsigned char pre[16]; struct mq_peek_batch b; unsigned char post[16]; } blk, ref;

	memset(&blk, 0x3c, sizeof(blk));
	blk.b.buf = (uintptr_t)self->buf;
	blk.b.buf_len = sizeof(self->buf);
	blk.b.offset = 1;
	blk.b.flags = 0;
	memset(blk.b.reserved, 0, sizeof(blk.b.reserved));
	ref = blk;
	ASSERT_EQ(2, fcntl(self->q, F_MQ_PEEK_BATCH, &blk.b));
	EXPECT_EQ(0, memcmp(blk.pre, ref.pre, sizeof(blk.pre)));
	EXPECT_EQ(0, memcmp(blk.post, ref.post, sizeof(blk.post)));
	EXPECT_EQ(ref.b.buf, blk.b.buf);
	EXPECT_EQ(ref.b.buf_len, blk.b.buf_len);
	EXPECT_EQ(1, blk.b.offset);
	EXPECT_EQ(0, blk.b.flags);
	EXPECT_EQ(48 + 56, blk.b.used);	/* with the last record's padding: room for it */
	EXPECT_EQ(3, blk.b.curmsgs);
}

TEST_F(three, efault)
{
	char *two = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	struct mq_peek_batch b;
	struct mq_attr attr;

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + PAGE_SZ, PAGE_SZ));
	/* the struct itself */
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, two + PAGE_SZ));
	EXPECT_EQ(EFAULT, errno);
	/* a struct straddling into the unmapped page */
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, two + PAGE_SZ - 40));
	EXPECT_EQ(EFAULT, errno);
	/* no writable byte for the first record */
	errno = 0;
	EXPECT_EQ(-1, batch(self->q, &b, 0, two + PAGE_SZ, 4096));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, batch(self->q, &b, 0, NULL, 4096));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, batch(self->q, &b, 0, (void *)(uintptr_t)-4096, 4096));
	EXPECT_EQ(EFAULT, errno);
	/*
	 * The buffer ends k bytes into the unmapped page: records wholly before the
	 * boundary are counted, a record crossing it is not, even if its first
	 * bytes were written.
	 */
	for (size_t room = 0; room < 160; room++) {
		unsigned char *start = (unsigned char *)two + PAGE_SZ - room;
		/* a record counts once it is written with its padding */
		size_t whole = 0, n = 0, sizes[] = { 40, 48, 56 };

		while (n < 3 && whole + sizes[n] <= room)
			whole += sizes[n++];
		errno = 0;
		long got = batch(self->q, &b, 0, start, 4096);

		if (n == 0) {
			ASSERT_EQ(-1, got) TH_LOG("room %zu", room);
			ASSERT_EQ(EFAULT, errno);
			continue;
		}
		ASSERT_EQ((long)n, got) TH_LOG("room %zu", room);
		EXPECT_EQ(whole, b.used);
		for (size_t i = 0, at = 0; i < n; i++) {
			struct mq_peek_record r = rec_at(start, at);

			ASSERT_EQ(10 * (i + 1), r.data_len);
			at += MQ_PEEK_RECORD_SIZE(r.data_len);
		}
	}
	ASSERT_EQ(0, mq_getattr(self->q, &attr));
	EXPECT_EQ(3, attr.mq_curmsgs);
	munmap(two, PAGE_SZ);
}

TEST(ebadf_and_no_provider_switch)
{
	char name[64], buf[256], path[128];
	mqd_t q = mq_peek_open_queue(name, sizeof(name), 4, 64), wo;
	struct mq_peek_batch b;
	int p[2];

	ASSERT_NE(-1, q);
	ASSERT_EQ(0, mq_send(q, "a", 1, 0));
	wo = mq_open(name, O_WRONLY);
	ASSERT_NE(-1, wo);
	batch(q, &b, 0, buf, sizeof(buf));
	EXPECT_EQ(EBADF, batch_err(wo, &b));
	mq_close(wo);
	snprintf(path, sizeof(path), "/dev/mqueue%s", name);
	int fd = open(path, O_PATH);

	ASSERT_NE(-1, fd);
	EXPECT_EQ(EBADF, batch_err(fd, &b));
	close(fd);
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(EBADF, batch_err(p[0], &b));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(EBADF, batch_err(1000, &b));
	/* switched off in debugfs: EINVAL, as on a kernel without the command */
	ASSERT_EQ(0, mq_peek_debugfs_set("peek_batch", 0)) TH_LOG("debugfs: %s", strerror(errno));
	EXPECT_EQ(EINVAL, batch_err(q, &b));
	ASSERT_EQ(0, mq_peek_debugfs_set("peek_batch", 1));
	EXPECT_EQ(0, batch_err(q, &b));
	mq_close(q);
	mq_unlink(name);
}

/*
 * The version: equal across a quiet dump, unchanged by peeking, changed by
 * every send and every receive, and different for different queues.
 */
TEST(version)
{
	unsigned char *buf = malloc(4096);
	struct mq_peek_batch a, b;
	char name[64], msg[64];
	mqd_t q;

	ASSERT_NE(NULL, buf);
	q = mq_peek_open_queue(name, sizeof(name), 64, 64);
	ASSERT_NE(-1, q);
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(0, mq_send(q, "0123456789", 10, i % 4));
	/* a quiet dump in small pieces: every call sees the same version */
	ASSERT_LT(0, batch(q, &a, 0, buf, 100));
	for (unsigned int off = 0; batch(q, &b, off, buf, 100) > 0; off += 2) {
		EXPECT_EQ(a.generation, b.generation);
		EXPECT_EQ(a.mod_seq, b.mod_seq);
	}
	EXPECT_EQ(10, peek(q, 3, msg, sizeof(msg), NULL));
	batch(q, &b, 0, buf, 100);
	EXPECT_EQ(a.mod_seq, b.mod_seq);
	/* a send in between */
	ASSERT_EQ(0, mq_send(q, "x", 1, 0));
	batch(q, &b, 0, buf, 100);
	EXPECT_EQ(a.generation, b.generation);
	EXPECT_NE(a.mod_seq, b.mod_seq);
	/* a receive in between */
	a = b;
	ASSERT_EQ(10, mq_receive(q, msg, sizeof(msg), NULL));
	batch(q, &b, 0, buf, 100);
	EXPECT_NE(a.mod_seq, b.mod_seq);
	/* the same name, a new queue: another generation */
	a = b;
	mq_close(q);
	mq_unlink(name);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	ASSERT_NE(-1, q);
	ASSERT_EQ(0, batch(q, &b, 0, buf, 100));
	EXPECT_NE(a.generation, b.generation);
	mq_close(q);
	mq_unlink(name);
	free(buf);
}

/* Big messages: a record too large for one hold, and whole records around it. */
TEST(big_records)
{
	const size_t big = 3 << 20, len = 8 << 20;
	unsigned char *buf = malloc(len), *msg = malloc(big);
	static const size_t sizes[] = { 10, 3 << 20, 70000, 65536 - 24, 65536 - 23, 5 };
	const int n = ARRAY_SIZE(sizes);
	struct mq_peek_batch b;
	char name[64];
	size_t at = 0;
	mqd_t q;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, msg);
	raise_mq_limits(64, 16 << 20);
	q = mq_peek_open_queue(name, sizeof(name), 16, big);
	ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		pat_fill(msg, i, sizes[i]);
		ASSERT_EQ(0, mq_send(q, (char *)msg, sizes[i], 0));
	}
	ASSERT_EQ(n, batch(q, &b, 0, buf, len));
	for (int i = 0; i < n; i++) {
		struct mq_peek_record r = rec_at(buf, at);

		pat_fill(msg, i, sizes[i]);
		ASSERT_EQ(sizes[i], r.msg_len);
		ASSERT_EQ(sizes[i], r.data_len);
		ASSERT_EQ(0, memcmp(buf + at + HDR, msg, sizes[i])) TH_LOG("record %d", i);
		at += MQ_PEEK_RECORD_SIZE(r.data_len);
	}
	/* the big one first, truncated to a buffer of 1 MiB */
	ASSERT_EQ(1, batch(q, &b, 1, buf, 1 << 20));
	pat_fill(msg, 1, sizes[1]);
	EXPECT_EQ((1 << 20) - HDR, rec_at(buf, 0).data_len);
	EXPECT_EQ(0, memcmp(buf + HDR, msg, (1 << 20) - HDR));
	mq_close(q);
	mq_unlink(name);
	free(buf);
	free(msg);
}

struct churn {
	mqd_t q;
	unsigned int prio;
	atomic_int stop;
};

static void *churner(void *arg)
{
	struct churn *c = arg;
	char rx[64];

	while (!atomic_load(&c->stop)) {
		mq_send(c->q, "churn", 5, c->prio);	/* then take it back */
		mq_receive(c->q, rx, sizeof(rx), NULL);
	}
	return NULL;
}

/*
 * Under constant churn (a message sent and received above the test's
 * priority, so it is at the head whenever it is queued) every call makes
 * progress and every record is a real message: in one call all records come
 * from one version of the queue, so test message k is at offset k + 1 exactly
 * when that call saw the churner's message (curmsgs = n + 1).  A dump whose
 * first and last versions are equal is exactly the queue's contents.
 */
TEST(dump_under_churn)
{
	const int n = 2000;
	unsigned char *buf = malloc(4096);
	struct churn c = { .prio = 2 };
	int consistent = 0;
	pthread_t t;
	char name[64];

	ASSERT_NE(NULL, buf);
	raise_mq_limits(4096, 1 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), n + 4, 64);
	ASSERT_NE(-1, c.q);
	for (uint32_t i = 0; i < (uint32_t)n; i++)
		ASSERT_EQ(0, mq_send(c.q, (char *)&i, sizeof(i), 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, churner, &c));
	for (int round = 0; round < 5; round++) {
		struct mq_peek_batch first = { 0 }, b;
		unsigned int off = 0, calls = 0;
		uint32_t expect = 0;
		int same = 1;
		long got;

		while ((got = batch(c.q, &b, off, buf, 4096)) > 0) {
			unsigned int shift = b.curmsgs == (uint64_t)n + 1;
			size_t at = 0;

			ASSERT_TRUE(b.curmsgs == (uint64_t)n || b.curmsgs == (uint64_t)n + 1);
			if (calls++ == 0)
				first = b;
			same &= b.generation == first.generation && b.mod_seq == first.mod_seq;
			for (long i = 0; i < got; i++, off++) {
				struct mq_peek_record r = rec_at(buf, at);
				uint32_t v;

				ASSERT_EQ(r.msg_len, r.data_len);
				if (r.msg_prio == 2) {	/* the churner's, at the head */
					ASSERT_EQ(0, off);
					ASSERT_EQ(1, shift);
					ASSERT_EQ(0, memcmp(buf + at + HDR, "churn", 5));
				} else {
					ASSERT_EQ(1, r.msg_prio);
					ASSERT_EQ(4, r.data_len);
					memcpy(&v, buf + at + HDR, 4);
					ASSERT_EQ(off - shift, v) TH_LOG("offset %u", off);
					if (same)
						ASSERT_EQ(expect++, v);
				}
				at += MQ_PEEK_RECORD_SIZE(r.data_len);
			}
		}
		ASSERT_EQ(0, got) TH_LOG("errno %d", errno);
		if (same)
			ASSERT_EQ((uint32_t)n, expect);
		consistent += same;
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d of 5 dumps saw one version throughout", consistent);
	mq_close(c.q);
	mq_unlink(name);
	free(buf);
}

/* Batches leave the queue exactly as it was. */
TEST(queue_unchanged)
{
	unsigned char *buf = malloc(65536), msg[100];
	struct mq_attr before, after;
	struct mq_peek_batch b;
	char name[64];
	mqd_t q;

	ASSERT_NE(NULL, buf);
	q = mq_peek_open_queue(name, sizeof(name), 10, 100);
	ASSERT_NE(-1, q);
	for (int i = 0; i < 10; i++) {
		pat_fill(msg, i, 100);
		ASSERT_EQ(0, mq_send(q, (char *)msg, 100, i % 3));
	}
	ASSERT_EQ(0, mq_getattr(q, &before));
	for (unsigned int off = 0; off < 12; off++)
		batch(q, &b, off, buf, 65536);
	ASSERT_EQ(0, mq_getattr(q, &after));
	EXPECT_EQ(before.mq_curmsgs, after.mq_curmsgs);
	ASSERT_EQ(10, batch(q, &b, 0, buf, 65536));
	for (int i = 0, at = 0; i < 10; i++) {
		unsigned int prio;
		struct mq_peek_record r = rec_at(buf, at);

		ASSERT_EQ(100, mq_receive(q, (char *)msg, sizeof(msg), &prio));
		EXPECT_EQ(prio, r.msg_prio);
		EXPECT_EQ(0, memcmp(msg, buf + at + HDR, 100));
		at += MQ_PEEK_RECORD_SIZE(100);
	}
	mq_close(q);
	mq_unlink(name);
	free(buf);
}

TEST_HARNESS_MAIN
