// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_batch_test - fcntl(F_MQ_PEEK_BATCH) with mq_peek.ko loaded.
 *
 * Every record must equal what F_MQ_PEEK answers for the same offset (order,
 * priority, bytes, truncation); records are self-describing (rec_len, a
 * multiple of 8) and written only when they fit whole; buffer sizes around the
 * exact fit; the structure's size checked as copy_struct_from_user() does; the
 * queue's version must stay put across a quiet dump and move when a message is
 * sent or received in between; faults never count partial records and nothing
 * is written past the fault.  Built 64-bit and -m32: the structure has one
 * layout for both.
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
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define HDR		sizeof(struct mq_peek_record)
/* rec_len of a record of @d payload bytes */
#define REC(d)		(HDR + (((d) + 7) & ~(size_t)7))
/* data_len of a lone first record that does not fit a buffer of @len bytes */
#define CAP(len)	(((len) - HDR) & ~(size_t)7)

static_assert(sizeof(struct mq_peek_batch) == 64, "one layout for all callers");
static_assert(sizeof(struct mq_peek_batch) == MQ_PEEK_BATCH_SIZE_VER0, "size ver0");
static_assert(offsetof(struct mq_peek_batch, size) == 0, "size");
static_assert(offsetof(struct mq_peek_batch, flags) == 4, "flags");
static_assert(offsetof(struct mq_peek_batch, buf) == 8, "buf");
static_assert(offsetof(struct mq_peek_batch, buf_len) == 16, "buf_len");
static_assert(offsetof(struct mq_peek_batch, offset) == 24, "offset");
static_assert(offsetof(struct mq_peek_batch, used) == 32, "used");
static_assert(offsetof(struct mq_peek_batch, curmsgs) == 40, "curmsgs");
static_assert(offsetof(struct mq_peek_batch, queue_id) == 48, "queue_id");
static_assert(offsetof(struct mq_peek_batch, changes) == 56, "changes");
static_assert(sizeof(struct mq_peek_record) == 24, "record header");
static_assert(offsetof(struct mq_peek_record, rec_len) == 0, "rec_len");
static_assert(offsetof(struct mq_peek_record, msg_prio) == 4, "msg_prio");
static_assert(offsetof(struct mq_peek_record, msg_len) == 8, "msg_len");
static_assert(offsetof(struct mq_peek_record, data_len) == 16, "data_len");
static_assert(MQ_PEEK_RECORD_ALIGN == 8, "record alignment");

static uint64_t rs = 88172645463325252ull;

/*
 * Tests that dump big queues or run for seconds: minutes, not the harness's
 * default 30 s, on a loaded machine under the debug kernel's detectors.
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

/*
 * RLIMIT_MSGQUEUE unlimited for every test: a test that fails by timeout
 * leaves its queue behind, which must not make the next ones fail with EMFILE.
 */
static void __attribute__((constructor)) unlimited_queue_memory(void)
{
	raise_mq_limits(0, 0);
}

static long batch(int fd, struct mq_peek_batch *b, uint64_t offset, void *buf, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->size = sizeof(*b);
	b->buf = (uintptr_t)buf;
	b->buf_len = len;
	b->offset = offset;
	return fcntl(fd, F_MQ_PEEK_BATCH, b);
}

static long batch_err(int fd, struct mq_peek_batch *b)
{
	return fcntl(fd, F_MQ_PEEK_BATCH, b) == -1 ? errno : 0;
}

/* The first byte of @p[from..to) that is not @v, or @to. */
static size_t first_not(const unsigned char *p, size_t from, size_t to, unsigned char v)
{
	while (from < to && p[from] == v)
		from++;
	return from;
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
		ASSERT_EQ(0, b.used % 8);
		for (long i = 0; i < n; i++, off++) {
			struct mq_peek_record r = rec_at(buf, at);
			unsigned int prio = 0;
			long full = peek(q, off, NULL, 0, NULL);
			long got = peek(q, off, want, maxsz + 1, &prio);

			ASSERT_EQ(full, got);
			ASSERT_EQ((uint64_t)full, r.msg_len) TH_LOG("offset %u", off);
			ASSERT_EQ(prio, r.msg_prio);
			ASSERT_LE(r.data_len, r.msg_len);
			/* self-describing: the header, the payload, padding to 8 */
			ASSERT_EQ(REC(r.data_len), r.rec_len);
			/* only a lone first record may be truncated, to fill the buffer */
			if (r.data_len < r.msg_len) {
				ASSERT_EQ(1, n);
				ASSERT_LT(len, REC(r.msg_len));
				ASSERT_EQ(CAP(len), r.data_len);
			}
			ASSERT_EQ(0, memcmp(buf + at + HDR, want, r.data_len));
			for (size_t p = HDR + r.data_len; p < r.rec_len; p++)
				ASSERT_EQ(0, buf[at + p]);	/* zero padding */
			at += r.rec_len;
			ASSERT_LE(at, b.used);
		}
		ASSERT_EQ(b.used, at);
		/* the next message did not fit whole */
		if ((uint64_t)off < b.curmsgs)
			ASSERT_LT(len - at, REC(peek(q, off, NULL, 0, NULL)));
	}
	ASSERT_EQ(0, n);
	return off;
}

/* Records equal F_MQ_PEEK's answers for random queues and buffer sizes. */
TEST_F_TIMEOUT(slow, records_match_peek, 600)
{
	const size_t maxsz = 3 * PAGE_SZ;
	unsigned char *buf = malloc(1 << 20), *want = malloc(maxsz + 1);
	static const size_t lens[] = { HDR, HDR + 1, HDR + 7, HDR + 8, HDR + 9, 100, 4096, 4095,
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
	const size_t all = 40 + 48 + 56;

	memset(self->buf, 0xa5, sizeof(self->buf));
	ASSERT_EQ(3, batch(self->q, &b, 0, self->buf, all));
	EXPECT_EQ(all, b.used);
	EXPECT_EQ(3, b.curmsgs);
	EXPECT_EQ(40, rec_at(self->buf, 0).rec_len);
	EXPECT_EQ(48, rec_at(self->buf, 40).rec_len);
	EXPECT_EQ(56, rec_at(self->buf, 88).rec_len);
	for (size_t i = all; i < sizeof(self->buf); i++)
		ASSERT_EQ(0xa5, self->buf[i]);
	/* padding is zeroed, not stale */
	for (size_t i = 24 + 10; i < 40; i++)
		ASSERT_EQ(0, self->buf[i]);
	for (size_t i = 88 + 24 + 30; i < all; i++)
		ASSERT_EQ(0, self->buf[i]);
	/*
	 * Short of the last record's whole rec_len, even by its padding only: it
	 * is left for the next call, and nothing of it is written.
	 */
	for (size_t len = all - 8; len < all; len++) {
		memset(self->buf, 0xa5, sizeof(self->buf));
		ASSERT_EQ(2, batch(self->q, &b, 0, self->buf, len));
		EXPECT_EQ(40 + 48, b.used);
		ASSERT_EQ(sizeof(self->buf), first_not(self->buf, 88, sizeof(self->buf), 0xa5))
			TH_LOG("len %zu", len);
	}
	/* more room than the records need: used is still their sum */
	for (size_t len = all + 1; len < all + 24; len++) {
		ASSERT_EQ(3, batch(self->q, &b, 0, self->buf, len));
		EXPECT_EQ(all, b.used);
	}
}

/*
 * A first message that does not fit whole is truncated to fill the buffer:
 * data_len = min(msg_len, (buf_len - 24) & ~7); always progress.
 */
TEST_F(three, lone_first_record_truncated)
{
	struct mq_peek_batch b;
	unsigned char msg[32];
	struct mq_peek_record r;

	pat_fill(msg, 0, 10);
	for (size_t len = HDR; len < HDR + 16; len++) {	/* 10 bytes need 40 */
		memset(self->buf, 0xa5, sizeof(self->buf));
		ASSERT_EQ(1, batch(self->q, &b, 0, self->buf, len));
		r = rec_at(self->buf, 0);
		EXPECT_EQ(10, r.msg_len);
		EXPECT_EQ(3, r.msg_prio);
		EXPECT_EQ(len < HDR + 8 ? 0 : 8, r.data_len) TH_LOG("len %zu", len);
		EXPECT_EQ(HDR + r.data_len, r.rec_len);
		EXPECT_EQ(r.rec_len, b.used);
		EXPECT_EQ(0, memcmp(self->buf + HDR, msg, r.data_len));
		for (size_t i = b.used; i < sizeof(self->buf); i++)
			ASSERT_EQ(0xa5, self->buf[i]);
	}
	ASSERT_EQ(1, batch(self->q, &b, 0, self->buf, HDR + 16));	/* whole: 40 */
	EXPECT_EQ(10, rec_at(self->buf, 0).data_len);
	EXPECT_EQ(40, b.used);
	pat_fill(msg, 2, 30);
	ASSERT_EQ(1, batch(self->q, &b, 2, self->buf, HDR + 29));
	r = rec_at(self->buf, 0);
	EXPECT_EQ(30, r.msg_len);
	EXPECT_EQ(24, r.data_len);
	EXPECT_EQ(48, r.rec_len);
	EXPECT_EQ(1, r.msg_prio);
	EXPECT_EQ(0, memcmp(self->buf + HDR, msg, 24));
	/* a first record that fits whole is never truncated, a second never at all */
	ASSERT_EQ(1, batch(self->q, &b, 0, self->buf, 40 + 47));
	EXPECT_EQ(40, b.used);
	EXPECT_EQ(10, rec_at(self->buf, 0).data_len);
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
		EXPECT_EQ(b0.queue_id, b.queue_id);
		EXPECT_EQ(b0.changes, b.changes);
		EXPECT_EQ(0xa5, self->buf[0]);
	}
	ASSERT_EQ(0, batch(self->q, &b, UINT32_MAX, self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, batch(self->q, &b, 1ull << 32, self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, batch(self->q, &b, UINT64_MAX, self->buf, sizeof(self->buf)));
	EXPECT_EQ(3, b.curmsgs);
	EXPECT_EQ(b0.queue_id, b.queue_id);
	/* an empty queue still reports its version */
	char name[64];
	mqd_t e = mq_peek_open_queue(name, sizeof(name), 4, 64);

	ASSERT_NE(-1, e);
	ASSERT_EQ(0, batch(e, &b, 0, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, b.curmsgs);
	EXPECT_NE(0, b.queue_id);
	EXPECT_NE(b0.queue_id, b.queue_id);
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
	/* smaller than the first published size */
	for (uint32_t size = 0; size < MQ_PEEK_BATCH_SIZE_VER0; size++) {
		batch(self->q, &b, 0, self->buf, sizeof(self->buf));
		b.size = size;
		ref = b;
		EXPECT_EQ(EINVAL, batch_err(self->q, &b)) TH_LOG("size %u", size);
		EXPECT_EQ(0, memcmp(&b, &ref, sizeof(b)));
	}
	/* smaller than a record header: no record can ever be returned */
	for (size_t len = 0; len < HDR; len++) {
		batch(self->q, &b, 0, self->buf, sizeof(self->buf));
		b.buf_len = len;
		EXPECT_EQ(EINVAL, batch_err(self->q, &b));
	}
}

/*
 * The size is checked as copy_struct_from_user() does: a larger structure
 * with a zero tail is accepted, a non-zero byte past the known size is E2BIG,
 * and so is a size over a page.  Nothing is written back on an error, and
 * the tail is never written.
 */
TEST_F(three, size_and_tail)
{
	const size_t pg = sysconf(_SC_PAGESIZE);
	unsigned char *big = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mq_peek_batch *b, ref;

	ASSERT_NE(MAP_FAILED, big);
	b = (struct mq_peek_batch *)big;
	for (size_t size = 64; size <= pg;
	     size = size < 256 ? size + 8 :
		    size < pg - 601 ? size + 600 : size < pg ? pg : pg + 1) {
		memset(big, 0, 3 * pg);
		batch(self->q, b, 0, self->buf, sizeof(self->buf));
		b->size = size;
		ASSERT_EQ(3, fcntl(self->q, F_MQ_PEEK_BATCH, b)) TH_LOG("size %zu", size);
		EXPECT_EQ(40 + 48 + 56, b->used);
		EXPECT_EQ(3, b->curmsgs);
		for (size_t i = 64; i < 3 * pg; i++)
			ASSERT_EQ(0, big[i]);	/* the tail is not written */
		/* every byte of the tail counts, the last one too */
		for (size_t at = 64; at < size; at += at < 128 ? 1 : 401) {
			big[at] = 0x01;
			ref = *b;
			EXPECT_EQ(E2BIG, batch_err(self->q, b))
				TH_LOG("size %zu byte %zu", size, at);
			EXPECT_EQ(0, memcmp(b, &ref, sizeof(ref)));
			big[at] = 0;
		}
		big[size - 1] = 0x80;
		if (size > 64)
			EXPECT_EQ(E2BIG, batch_err(self->q, b));
		big[size - 1] = 0;
		big[size] = 0xff;	/* past the caller's size: not looked at */
		EXPECT_EQ(0, batch_err(self->q, b));
		big[size] = 0;
	}
	/* more than a page: E2BIG whatever the tail holds */
	memset(big, 0, 3 * pg);
	batch(self->q, b, 0, self->buf, sizeof(self->buf));
	for (uint64_t size = pg + 1; size < 2 * pg; size += 1000) {
		b->size = size;
		EXPECT_EQ(E2BIG, batch_err(self->q, b))
			TH_LOG("size %llu", (unsigned long long)size);
	}
	b->size = UINT32_MAX;
	EXPECT_EQ(E2BIG, batch_err(self->q, b));
	/* a zero tail that runs into an unmapped page: EFAULT */
	ASSERT_EQ(0, munmap(big + 2 * pg, pg));
	b = (struct mq_peek_batch *)(big + 2 * pg - 64);
	batch(self->q, b, 0, self->buf, sizeof(self->buf));
	b->size = 128;
	EXPECT_EQ(EFAULT, batch_err(self->q, b));
	b->size = 64;
	EXPECT_EQ(0, batch_err(self->q, b));
	/* the first byte that is not zero or not readable decides: E2BIG, EFAULT */
	memset(big + pg, 0, pg);
	b = (struct mq_peek_batch *)(big + 2 * pg - 100);
	batch(self->q, b, 0, self->buf, sizeof(self->buf));
	b->size = 164;
	EXPECT_EQ(EFAULT, batch_err(self->q, b));
	big[2 * pg - 1] = 1;
	EXPECT_EQ(E2BIG, batch_err(self->q, b));
	big[2 * pg - 1] = 0;
	big[2 * pg - 36] = 1;
	EXPECT_EQ(E2BIG, batch_err(self->q, b));
	munmap(big, 2 * pg);
}

/* Only the output fields are written: used, curmsgs, queue_id, changes. */
TEST_F(three, writes_only_output_fields)
{
	struct {
		unsigned char pre[16];
		struct mq_peek_batch b;
		unsigned char tail[24];	/* a newer caller's fields, zero */
		unsigned char post[16];
	} blk, ref;

	memset(&blk, 0x3c, sizeof(blk));
	blk.b.size = sizeof(blk.b) + sizeof(blk.tail);
	blk.b.buf = (uintptr_t)self->buf;
	blk.b.buf_len = sizeof(self->buf);
	blk.b.offset = 1;
	blk.b.flags = 0;
	memset(blk.tail, 0, sizeof(blk.tail));
	ref = blk;
	ASSERT_EQ(2, fcntl(self->q, F_MQ_PEEK_BATCH, &blk.b));
	EXPECT_EQ(0, memcmp(blk.pre, ref.pre, sizeof(blk.pre)));
	EXPECT_EQ(0, memcmp(blk.tail, ref.tail, sizeof(blk.tail)));
	EXPECT_EQ(0, memcmp(blk.post, ref.post, sizeof(blk.post)));
	EXPECT_EQ(ref.b.size, blk.b.size);
	EXPECT_EQ(ref.b.buf, blk.b.buf);
	EXPECT_EQ(ref.b.buf_len, blk.b.buf_len);
	EXPECT_EQ(1, blk.b.offset);
	EXPECT_EQ(0, blk.b.flags);
	EXPECT_EQ(48 + 56, blk.b.used);
	EXPECT_EQ(3, blk.b.curmsgs);
	EXPECT_NE(0x3c3c3c3c3c3c3c3cull, blk.b.queue_id);
	EXPECT_NE(0x3c3c3c3c3c3c3c3cull, blk.b.changes);
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
	/* a struct straddling into the unmapped page: its size is read, then EFAULT */
	batch(self->q, &b, 0, self->buf, sizeof(self->buf));
	memcpy(two + PAGE_SZ - 40, &b, 40);
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, two + PAGE_SZ - 40));
	EXPECT_EQ(EFAULT, errno);
	/* ... unless the size is already wrong: EINVAL comes first */
	((struct mq_peek_batch *)(two + PAGE_SZ - 40))->size = 63;
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, two + PAGE_SZ - 40));
	EXPECT_EQ(EINVAL, errno);
	/* only 3 bytes readable: not even the size */
	EXPECT_EQ(-1, fcntl(self->q, F_MQ_PEEK_BATCH, two + PAGE_SZ - 3));
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
	 * The buffer has @room bytes before an unmapped page: records wholly before
	 * the boundary are counted, a record crossing it is not, even if its first
	 * bytes were written.
	 */
	for (size_t room = 0; room < 160; room++) {
		unsigned char *start = (unsigned char *)two + PAGE_SZ - room;
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
			ASSERT_EQ(sizes[i], r.rec_len);
			at += r.rec_len;
		}
	}
	ASSERT_EQ(0, mq_getattr(self->q, &attr));
	EXPECT_EQ(3, attr.mq_curmsgs);
	munmap(two, PAGE_SZ);
}

/*
 * A fault after the first record, with writable memory past the hole: the
 * call returns the records written whole before the first byte that could not
 * be written, used covers exactly them, and nothing is written past the
 * faulting page (bytes between used and the fault may be).  Records of 40
 * bytes, staged and copied in one piece, and of 70 000 bytes, too large for
 * the stage and copied one by one.
 */
TEST_F_TIMEOUT(slow, fault_after_first_record, 600)
{
	static const size_t sizes[] = { 10, 70000 - 24 };
	const size_t pg = PAGE_SZ;
	unsigned char *map, *msg = malloc(70000);
	char name[64];

	ASSERT_NE(NULL, msg);
	raise_mq_limits(1024, 1 << 20);
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		const size_t sz = sizes[k], rec = REC(sz);
		const int n = sz < 100 ? 500 : 12;
		const size_t span = ((n * rec) / pg + 3) * pg;
		mqd_t q = mq_peek_open_queue(name, sizeof(name), n, sz);

		ASSERT_NE(-1, q) TH_LOG("mq_open: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			pat_fill(msg, i, sz);
			ASSERT_EQ(0, mq_send(q, (char *)msg, sz, 0));
		}
		map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, map);
		for (size_t hole = pg; hole + 2 * pg <= span; hole += hole < 4 * pg ? pg : 7 * pg) {
			for (size_t skew = 0; skew < 64; skew += 8) {
				unsigned char *start = map + skew;
				size_t whole = (hole - skew) / rec, used;
				struct mq_peek_batch b;
				long got;

				ASSERT_EQ(0, mprotect(map, span, PROT_READ | PROT_WRITE));
				memset(map, 0x5a, span);
				ASSERT_EQ(0, mprotect(map + hole, pg, PROT_NONE));
				errno = 0;
				got = batch(q, &b, 0, start, span - skew);
				if (whole == 0) {
					ASSERT_EQ(-1, got);
					ASSERT_EQ(EFAULT, errno);
					continue;
				}
				if (whole > (size_t)n)
					whole = n;
				used = whole * rec;
				ASSERT_EQ((long)whole, got)
					TH_LOG("size %zu hole %zu skew %zu", sz, hole, skew);
				ASSERT_EQ(used, b.used);
				ASSERT_EQ(n, b.curmsgs);
				for (size_t i = 0; i < whole; i++) {
					struct mq_peek_record r = rec_at(start, i * rec);

					pat_fill(msg, i, sz);
					ASSERT_EQ(rec, r.rec_len);
					ASSERT_EQ(sz, r.data_len);
					ASSERT_EQ(0, memcmp(start + i * rec + HDR, msg, sz));
				}
				/* nothing past the faulting page */
				ASSERT_EQ(span, first_not(map, hole + pg, span, 0x5a));
			}
		}
		munmap(map, span);
		mq_close(q);
		mq_unlink(name);
	}
	free(msg);
}

TEST(ebadf)
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
	mq_close(q);
	mq_unlink(name);
}

/*
 * The module loaded with test_switches=2 (its only way to lack the command):
 * EINVAL, as on a kernel without F_MQ_PEEK_BATCH, while F_MQ_PEEK still works;
 * reloaded without it, the batch is back.
 */
TEST(no_batch_test_switch)
{
	struct mq_peek_batch b;
	struct mq_peek_attr pa = { 0 };
	char name[64], buf[256];
	mqd_t q = mq_peek_open_queue(name, sizeof(name), 4, 16);
	int err;

	if (!getenv("MQ_PEEK_KO")) {
		mq_close(q);
		mq_unlink(name);
		SKIP(return, "MQ_PEEK_KO does not name the module to reload");
	}
	ASSERT_NE(-1, q);
	ASSERT_EQ(0, mq_send(q, "a", 1, 0));
	batch(q, &b, 0, buf, sizeof(buf));
	err = mq_peek_reload("test_switches=2");
	ASSERT_EQ(0, err) TH_LOG("reload with test_switches=2: %s", strerror(-err));
	EXPECT_EQ(EINVAL, batch_err(q, &b));
	pa.buf = buf;
	pa.buf_len = sizeof(buf);
	EXPECT_EQ(1, fcntl(q, F_MQ_PEEK, &pa));
	/* no file to flip it at run time */
	EXPECT_EQ(-1, access("/sys/module/mq_peek/parameters/test_switches", F_OK));
	EXPECT_EQ(-1, access("/sys/kernel/debug/mq_peek/peek_batch", F_OK));
	err = mq_peek_reload("");
	ASSERT_EQ(0, err) TH_LOG("reload: %s", strerror(-err));
	EXPECT_EQ(0, batch_err(q, &b));
	/* unknown switches are refused */
	EXPECT_EQ(-EINVAL, mq_peek_reload("test_switches=4"));
	ASSERT_EQ(0, mq_peek_reload(""));
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
		EXPECT_EQ(a.queue_id, b.queue_id);
		EXPECT_EQ(a.changes, b.changes);
	}
	EXPECT_EQ(10, peek(q, 3, msg, sizeof(msg), NULL));
	batch(q, &b, 0, buf, 100);
	EXPECT_EQ(a.changes, b.changes);
	/* 50 insertions so far */
	EXPECT_EQ(50, b.changes);
	/* a send in between: one more */
	ASSERT_EQ(0, mq_send(q, "x", 1, 0));
	batch(q, &b, 0, buf, 100);
	EXPECT_EQ(a.queue_id, b.queue_id);
	EXPECT_EQ(a.changes + 1, b.changes);
	/* a receive in between: one more */
	a = b;
	ASSERT_EQ(10, mq_receive(q, msg, sizeof(msg), NULL));
	batch(q, &b, 0, buf, 100);
	EXPECT_EQ(a.changes + 1, b.changes);
	/* the same name, a new queue: another id */
	a = b;
	mq_close(q);
	mq_unlink(name);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	ASSERT_NE(-1, q);
	ASSERT_EQ(0, batch(q, &b, 0, buf, 100));
	EXPECT_NE(a.queue_id, b.queue_id);
	EXPECT_EQ(0, b.changes);
	mq_close(q);
	mq_unlink(name);
	free(buf);
}

/* Big messages: a record too large for one hold, and whole records around it. */
TEST_F_TIMEOUT(slow, big_records, 600)
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
		ASSERT_EQ(REC(sizes[i]), r.rec_len);
		at += r.rec_len;
	}
	ASSERT_EQ(at, b.used);
	/* the big one first, truncated to fill a buffer of 1 MiB + 5 */
	ASSERT_EQ(1, batch(q, &b, 1, buf, (1 << 20) + 5));
	pat_fill(msg, 1, sizes[1]);
	EXPECT_EQ((1 << 20) - HDR, rec_at(buf, 0).data_len);
	EXPECT_EQ(1 << 20, rec_at(buf, 0).rec_len);
	EXPECT_EQ(1 << 20, b.used);
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
TEST_F_TIMEOUT(slow, dump_under_churn, 600)
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
			same &= b.queue_id == first.queue_id && b.changes == first.changes;
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
				at += r.rec_len;
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

struct replacer {
	mqd_t q;
	size_t small, big;
	atomic_int stop;
	unsigned char *msg;
};

/* Keeps one message at the head, replaced over and over by one of the other size. */
static void *replacer(void *arg)
{
	struct replacer *c = arg;
	unsigned char *rx = malloc(c->big);

	for (unsigned long i = 0; rx && !atomic_load(&c->stop); i++) {
		size_t sz = i & 1 ? c->big : c->small;

		pat_fill(c->msg, sz, sz);
		mq_send(c->q, (char *)c->msg, sz, 0);	/* at index 1 ... */
		mq_receive(c->q, (char *)rx, c->big, NULL);	/* ... then at 0 */
	}
	free(rx);
	return NULL;
}

/*
 * A first record is truncated only when it does not fit the buffer: while the
 * message at the index is replaced by a larger one between the module's holds
 * of the lock (a 100 KiB record is too large for one hold, so it is taken in
 * several), a 1 MiB buffer still gets every message whole.  The module's
 * fallbacks counter proves that calls were overtaken by the replacements (it
 * runs until a few were, on a slow machine too).
 */
TEST_F_TIMEOUT(slow, first_record_whole_under_replacement, 600)
{
	struct replacer c = { .small = 100 << 10, .big = 500 << 10 };
	const size_t len = 1 << 20;
	unsigned char *buf = malloc(len), *want = malloc(c.big);
	long long fallbacks;
	struct timespec t0, t;
	int calls = 0;
	pthread_t th;
	char name[64];

	c.msg = malloc(c.big);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, c.msg);
	raise_mq_limits(64, 1 << 20);
	c.q = mq_peek_open_queue(name, sizeof(name), 4, c.big);
	ASSERT_NE(-1, c.q) TH_LOG("mq_open: %s", strerror(errno));
	pat_fill(c.msg, c.small, c.small);
	ASSERT_EQ(0, mq_send(c.q, (char *)c.msg, c.small, 0));
	ASSERT_EQ(0, mq_peek_debugfs_set("fallbacks", 0));
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, replacer, &c));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct mq_peek_batch b;
		struct mq_peek_record r;
		long n = batch(c.q, &b, 0, buf, len);

		ASSERT_LE(1, n) TH_LOG("errno %d", errno);
		r = rec_at(buf, 0);
		ASSERT_TRUE(r.msg_len == c.small || r.msg_len == c.big);
		/* the whole message: a truncation would be to a stale length */
		ASSERT_EQ(r.msg_len, r.data_len) TH_LOG("call %d", calls);
		pat_fill(want, r.msg_len, r.msg_len);
		ASSERT_EQ(0, memcmp(buf + HDR, want, r.msg_len));
		calls++;
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* at least 4 s, and on until calls were overtaken (at most 60 s) */
	} while (t.tv_sec - t0.tv_sec < 4 ||
		 (t.tv_sec - t0.tv_sec < 60 && mq_peek_debugfs_get("fallbacks") < 3));
	atomic_store(&c.stop, 1);
	pthread_join(th, NULL);
	fallbacks = mq_peek_debugfs_get("fallbacks");
	mq_peek_debugfs_set("stats", 0);
	TH_LOG("%d calls, %lld overtaken by a replacement", calls, fallbacks);
	EXPECT_LT(0, fallbacks);
	mq_close(c.q);
	mq_unlink(name);
	free(buf);
	free(want);
	free(c.msg);
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
		at += REC(100);
	}
	mq_close(q);
	mq_unlink(name);
	free(buf);
}

TEST_HARNESS_MAIN
