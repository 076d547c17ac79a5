// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_fault_test - F_MQ_PEEK and F_MQ_PEEK_BATCH under injected faults.
 *
 * Writing n to /proc/thread-self/fail-nth makes the n-th fault point of the
 * thread's next system call fail: an allocation (failslab, fail_page_alloc,
 * with ignore-gfp-wait off so that GFP_KERNEL allocations count) or a copy
 * from or to user space (fail_usercopy).  For n = 1, 2, ... each call must
 * either succeed with exactly the right result (a failed allocation that the
 * kernel works around, such as kvmalloc() falling back to vmalloc()) or fail
 * with exactly ENOMEM (an allocation) or EFAULT (a user copy), and the queue
 * must be unchanged afterwards: its attributes, its version, every message
 * in order with its priority.  The sweep ends with the first call whose
 * fail-nth is left unconsumed, which must have succeeded.
 *
 * Each sweep must have produced the errors its call can give (at least one
 * EFAULT; at least one ENOMEM where the call allocates), or it fails: a test
 * that injected nothing proves nothing.  Without the fault-injection files
 * (CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC,
 * CONFIG_FAULT_INJECTION_USERCOPY) the tests skip.  Buffers are touched
 * before each sweep so that no page fault (whose page-table allocations could
 * be failed too) happens in the calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define DBGFS		"/sys/kernel/debug/"
#define HDR		sizeof(struct mq_peek_record)
#define REC(d)		(HDR + (((d) + 7) & ~(size_t)7))
/* More fault points than any of these calls reaches: a sweep that gets here is stuck. */
#define MAX_NTH		100000
#define NMSG		4

/*
 * The fault-injection settings a test changes, and restores.  fail-nth
 * ignores task-filter, probability and times; they serve the second kind of
 * sweep (see sweep()), in which every allocation fails from the n-th fault
 * point on, but only in a task whose make-it-fail is 1: the test's thread,
 * during the call.  fail_usercopy keeps probability 0: only its n-th fails.
 */
static const char *const knobs[][2] = {
	{ DBGFS "failslab/ignore-gfp-wait", "N" },
	{ DBGFS "failslab/verbose", "0" },
	{ DBGFS "failslab/task-filter", "Y" },
	{ DBGFS "failslab/probability", "100" },
	{ DBGFS "failslab/interval", "1" },
	{ DBGFS "failslab/times", "-1" },
	{ DBGFS "fail_page_alloc/ignore-gfp-wait", "N" },
	{ DBGFS "fail_page_alloc/verbose", "0" },
	{ DBGFS "fail_page_alloc/task-filter", "Y" },
	{ DBGFS "fail_page_alloc/probability", "100" },
	{ DBGFS "fail_page_alloc/interval", "1" },
	{ DBGFS "fail_page_alloc/times", "-1" },
	{ DBGFS "fail_usercopy/verbose", "0" },
	{ DBGFS "fail_usercopy/probability", "0" },
};

#define NKNOBS	ARRAY_SIZE(knobs)

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* The messages of a queue: sizes and priorities; payload pat(i, ...). */
struct qspec {
	long msgsize;
	size_t len[NMSG];
	unsigned int prio[NMSG];
};

/* Small messages: F_MQ_PEEK copies them on the stack, no allocation. */
static const struct qspec small_q = {
	.msgsize = 256, .len = { 16, 200, 1, 256 }, .prio = { 3, 7, 3, 0 },
};

/*
 * Large ones: 4000 bytes (allocated, one hold), 200,000 bytes (allocated,
 * copied in holds of 64 KiB, larger than the batch's stage: its Big path).
 */
static const struct qspec large_q = {
	.msgsize = 200000, .len = { 4000, 200000, 70000, 5000 }, .prio = { 9, 5, 5, 1 },
};

struct fault_ctx {
	char name[64];
	mqd_t q;
	int nth;			/* /proc/thread-self/fail-nth */
	int make_it_fail;		/* /proc/thread-self/make-it-fail */
	char saved[NKNOBS][16];
	int nsaved;
	const struct qspec *spec;
	unsigned int order[NMSG];	/* message ids in receive order */
	unsigned char *buf;		/* the call's buffer */
	size_t buf_size;
	unsigned char *want;		/* the expected bytes */
	unsigned char *snap;		/* the queue's dump before the sweep */
	unsigned char *now;		/* and after a call */
	size_t dump_size;
	struct mq_attr attr;
	struct mq_peek_batch version;
	int enomem, efault;		/* produced, over the test */
	int short_batches;		/* batches ended early by a fault */
};

FIXTURE(fault) {
	struct fault_ctx x;
};

FIXTURE_VARIANT(fault) {
	const struct qspec *spec;
};

FIXTURE_VARIANT_ADD(fault, small) {
	.spec = &small_q,
};

FIXTURE_VARIANT_ADD(fault, large) {
	.spec = &large_q,
};

/* A batch dump of the whole queue into @out, and the version in @b. */
static long dump(mqd_t q, unsigned char *out, size_t len, struct mq_peek_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->size = sizeof(*b);
	b->buf = (uintptr_t)out;
	b->buf_len = len;
	return fcntl(q, F_MQ_PEEK_BATCH, b);
}

FIXTURE_SETUP(fault)
{
	struct fault_ctx *x = &self->x;

	const struct qspec *s = variant->spec;
	char path[64];
	size_t i;

	x->nth = -1;
	x->make_it_fail = -1;
	x->nsaved = 0;
	x->enomem = 0;
	x->efault = 0;
	x->short_batches = 0;
	x->q = -1;
	x->buf = NULL;
	x->want = NULL;
	x->snap = NULL;
	x->now = NULL;
	for (i = 0; i < NKNOBS; i++)
		if (access(knobs[i][0], W_OK))
			SKIP(return, "no %s: a kernel without fault injection", knobs[i][0]);
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	x->nth = open(path, O_RDWR | O_CLOEXEC);
	if (x->nth < 0)
		SKIP(return, "no %s: a kernel without fault injection", path);
	snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail", gettid());
	x->make_it_fail = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, x->make_it_fail);
	for (i = 0; i < NKNOBS; i++) {
		ASSERT_EQ(0, read_str(knobs[i][0], x->saved[i], sizeof(x->saved[i])));
		x->nsaved++;
		ASSERT_EQ(0, write_str(knobs[i][0], knobs[i][1])) TH_LOG("%s", knobs[i][0]);
	}

	ASSERT_EQ(0, raise_mq_limits(NMSG, s->msgsize));
	x->spec = s;
	x->q = mq_peek_open_queue(x->name, sizeof(x->name), NMSG, s->msgsize);
	ASSERT_NE(-1, x->q);
	x->dump_size = NMSG * REC(s->msgsize);
	x->buf_size = x->dump_size + 4096;
	x->buf = malloc(x->buf_size);
	x->want = malloc(x->dump_size);
	x->snap = malloc(x->dump_size);
	x->now = malloc(x->dump_size);
	ASSERT_TRUE(x->buf && x->want && x->snap && x->now);
	for (i = 0; i < NMSG; i++) {
		pat_fill(x->want, i, s->len[i]);
		ASSERT_EQ(0, mq_send(x->q, (char *)x->want, s->len[i], s->prio[i]));
	}
	/* receive order: by priority, then FIFO */
	for (i = 0; i < NMSG; i++)
		x->order[i] = i;
	for (i = 1; i < NMSG; i++) {
		for (size_t j = i; j > 0; j--) {
			unsigned int t = x->order[j];

			if (s->prio[t] <= s->prio[x->order[j - 1]])
				break;
			x->order[j] = x->order[j - 1];
			x->order[j - 1] = t;
		}
	}
	memset(x->snap, 0, x->dump_size);
	ASSERT_EQ(NMSG, dump(x->q, x->snap, x->dump_size, &x->version));
	ASSERT_EQ(0, mq_getattr(x->q, &x->attr));
}

FIXTURE_TEARDOWN(fault)
{
	struct fault_ctx *x = &self->x;

	if (x->make_it_fail >= 0) {
		pwrite(x->make_it_fail, "0", 1, 0);
		close(x->make_it_fail);
	}
	if (x->nth >= 0) {
		pwrite(x->nth, "0", 1, 0);
		close(x->nth);
	}
	for (int i = x->nsaved - 1; i >= 0; i--)
		write_str(knobs[i][0], x->saved[i]);
	if (x->q != -1) {
		mq_close(x->q);
		mq_unlink(x->name);
	}
	free(x->buf);
	free(x->want);
	free(x->snap);
	free(x->now);
}

/* One call: F_MQ_PEEK (buf_len 0: the length query) or F_MQ_PEEK_BATCH. */
struct call {
	int cmd;
	uint64_t offset;
	size_t buf_len;
	int allocates;		/* 1: ENOMEM must be seen, 0: must not, -1: may */
	struct mq_peek_attr pa;
	struct mq_peek_batch b;
};

static void prepare(struct fault_ctx *self, struct call *c)
{
	/* touched, so that the call takes no page fault */
	memset(self->buf, 0xa5, self->buf_size);
	if (c->cmd == F_MQ_PEEK) {
		memset(&c->pa, 0, sizeof(c->pa));
		c->pa.offset = c->offset;
		c->pa.buf = c->buf_len ? (char *)self->buf : NULL;
		c->pa.buf_len = c->buf_len;
	} else {
		memset(&c->b, 0, sizeof(c->b));
		c->b.size = sizeof(c->b);
		c->b.buf = (uintptr_t)self->buf;
		c->b.buf_len = c->buf_len;
		c->b.offset = c->offset;
	}
}

/*
 * The records F_MQ_PEEK_BATCH writes from @offset into @len bytes, by the man
 * page's rules, into @out; returns how many, their size in *@used.
 */
static long model_batch(struct fault_ctx *self, uint64_t offset, size_t len,
			unsigned char *out, size_t *used)
{
	const struct qspec *s = self->spec;
	long count = 0;

	*used = 0;
	for (uint64_t i = offset; i < NMSG; i++) {
		unsigned int id = self->order[i];
		size_t d = s->len[id], room = len - *used;
		struct mq_peek_record r;

		if (REC(d) > room) {
			if (count)
				break;
			d = (room - HDR) & ~(size_t)7;
		}
		r.rec_len = REC(d);
		r.msg_prio = s->prio[id];
		r.msg_len = s->len[id];
		r.data_len = d;
		memset(out + *used, 0, REC(d));
		memcpy(out + *used, &r, HDR);
		pat_fill(out + *used + HDR, id, d);
		*used += REC(d);
		count++;
	}
	return count;
}

/*
 * Whether a call that returned @r gave exactly the right result.  A batch
 * whose n-th fault point failed (@injected) may have ended early, after its
 * first record: a fault or a failed allocation after the first record is not
 * an error, the call returns the records before it.  Those must then be
 * exactly the first records of the right answer.
 */
static int result_right(struct __test_metadata *_metadata, struct fault_ctx *self,
			struct call *c, long r, int injected)
{
	const struct qspec *s = self->spec;

	if (c->cmd == F_MQ_PEEK) {
		unsigned int id = self->order[c->offset];
		size_t k = c->buf_len < s->len[id] ? c->buf_len : s->len[id];

		pat_fill(self->want, id, k);
		if (c->pa.msg_prio != s->prio[id] ||
		    r != (long)(c->buf_len ? k : s->len[id]) ||
		    memcmp(self->buf, self->want, k) ||
		    (k < self->buf_size && self->buf[k] != 0xa5)) {
			TH_LOG("F_MQ_PEEK offset %llu buf_len %zu: %ld (prio %u), want %zu",
			       (unsigned long long)c->offset, c->buf_len, r, c->pa.msg_prio,
			       c->buf_len ? k : s->len[id]);
			return 0;
		}
	} else {
		size_t used;
		long n = model_batch(self, c->offset, c->buf_len, self->want, &used);

		size_t end = used;	/* what the call may have written */

		if (injected && r >= 1 && r < n) {
			/*
			 * Ended early: the first bytes of the next record may
			 * have been written (they are its right bytes), none past
			 * it.
			 */
			used = 0;
			for (long i = 0; i < r; i++)
				used += ((struct mq_peek_record *)(self->want + used))->rec_len;
			end = used + ((struct mq_peek_record *)(self->want + used))->rec_len;
			for (size_t i = used; i < end; i++)
				if (self->buf[i] != self->want[i] && self->buf[i] != 0xa5) {
					TH_LOG("byte %zu past used written wrong", i - used);
					return 0;
				}
			self->short_batches++;
			n = r;
		}
		if (r != n || c->b.used != used || c->b.curmsgs != NMSG ||
		    c->b.queue_id != self->version.queue_id ||
		    c->b.changes != self->version.changes ||
		    memcmp(self->buf, self->want, used) ||
		    (end < self->buf_size && self->buf[end] != 0xa5)) {
			TH_LOG("F_MQ_PEEK_BATCH offset %llu buf_len %zu: %ld records, used %llu;"
			       " want %ld, %zu",
			       (unsigned long long)c->offset, c->buf_len, r,
			       (unsigned long long)c->b.used, n, used);
			return 0;
		}
	}
	return 1;
}

/* Whether the queue is as it was: attributes, version, messages in order. */
static int queue_unchanged(struct __test_metadata *_metadata, struct fault_ctx *self)
{
	struct mq_peek_batch b;
	struct mq_attr a;

	if (mq_getattr(self->q, &a) || a.mq_curmsgs != self->attr.mq_curmsgs ||
	    a.mq_flags != self->attr.mq_flags || a.mq_maxmsg != self->attr.mq_maxmsg ||
	    a.mq_msgsize != self->attr.mq_msgsize) {
		TH_LOG("the queue's attributes changed");
		return 0;
	}
	memset(self->now, 0, self->dump_size);
	if (dump(self->q, self->now, self->dump_size, &b) != NMSG ||
	    b.used != self->version.used || b.queue_id != self->version.queue_id ||
	    b.changes != self->version.changes || memcmp(self->now, self->snap, b.used)) {
		TH_LOG("the queue's messages or version changed");
		return 0;
	}
	return 1;
}

/*
 * Writes "0" to fail-nth or make-it-fail.  The write copies from user space:
 * while fail-nth has not run out that copy is a fault point and may be the one
 * that fails (EFAULT); then fail-nth is 0 and the next try works.
 */
static int reset(int fd)
{
	for (int i = 0; i < 3; i++)
		if (pwrite(fd, "0", 1, 0) == 1)
			return 0;
	return -1;
}

/*
 * One call with fail-nth = @n.  Returns the call's result, its errno in
 * *@err, and in *@injected whether the n-th fault point was reached (fail-nth
 * reads 0 afterwards); -2 if fail-nth cannot be written.
 */
static long call_nth(struct fault_ctx *self, struct call *c, int n, int from, int *err,
		     int *injected)
{
	void *arg = c->cmd == F_MQ_PEEK ? (void *)&c->pa : (void *)&c->b;
	char v[16];
	int len = snprintf(v, sizeof(v), "%d", n);
	ssize_t k;
	long r;

	/* first: writing make-it-fail copies from user space, a fault point */
	if (from && pwrite(self->make_it_fail, "1", 1, 0) != 1)
		return -2;
	if (pwrite(self->nth, v, len, 0) != len)
		return -2;
	r = fcntl(self->q, c->cmd, arg);
	*err = r < 0 ? errno : 0;
	/*
	 * Reading fail-nth is a system call too, whose copy to user space is a
	 * fault point while the count has not run out: it fails then, which says
	 * just that the call above did not reach the n-th fault point.
	 */
	k = pread(self->nth, v, sizeof(v) - 1, 0);
	if (k > 0) {
		v[k] = 0;
		*injected = atoi(v) == 0;
	} else {
		*injected = 0;
	}
	if (reset(self->nth) || (from && reset(self->make_it_fail)))
		return -2;
	return r;
}

/*
 * Sweeps fail-nth = 1, 2, ... over @c until a call does not reach the n-th
 * fault point.  With @from 0 only the n-th fault point fails: a failed
 * allocation is often worked around (kvmalloc() falls back to vmalloc(),
 * kmemleak to its pool), so the call may still succeed.  With @from 1 every
 * allocation from the n-th fault point on fails too (make-it-fail): an
 * allocating call must then give ENOMEM.
 */
static void sweep(struct __test_metadata *_metadata, struct fault_ctx *self, struct call *c,
		  int from)
{
	int n, err, injected, ok = 0, absorbed = 0, enomem = 0, efault = 0;
	long r;

	for (n = 1; n <= MAX_NTH; n++) {
		prepare(self, c);
		r = call_nth(self, c, n, from, &err, &injected);
		ASSERT_NE(-2, r) TH_LOG("cannot write fail-nth: %s", strerror(errno));
		if (r >= 0) {
			ASSERT_TRUE(result_right(_metadata, self, c, r, injected))
				TH_LOG("fail-nth %d, %sinjected", n, injected ? "" : "not ");
			if (injected)
				absorbed++;
			else
				ok++;
		} else {
			ASSERT_TRUE(err == ENOMEM || err == EFAULT)
				TH_LOG("fail-nth %d: %s", n, strerror(err));
			ASSERT_TRUE(injected)
				TH_LOG("fail-nth %d: %s, no fault injected", n, strerror(err));
			if (err == ENOMEM)
				enomem++;
			else
				efault++;
		}
		ASSERT_TRUE(queue_unchanged(_metadata, self)) TH_LOG("after fail-nth %d", n);
		if (!injected)
			break;
	}
	TH_LOG("%s offset %llu buf_len %zu, %s: %d points: %d EFAULT, %d ENOMEM, %d absorbed",
	       c->cmd == F_MQ_PEEK ? "F_MQ_PEEK" : "F_MQ_PEEK_BATCH",
	       (unsigned long long)c->offset, c->buf_len,
	       from ? "the n-th on" : "the n-th", n - 1, efault, enomem, absorbed);
	ASSERT_LE(n, MAX_NTH) TH_LOG("fail-nth never left unconsumed");
	ASSERT_EQ(1, ok);
	/* the attr or the batch is read from user space first: that copy can fail */
	ASSERT_LE(1, efault);
	if (c->allocates == 0)
		ASSERT_EQ(0, enomem + absorbed) TH_LOG("the call allocated");
	if (c->allocates == 1 && from)
		ASSERT_LE(1, enomem) TH_LOG("no ENOMEM although the call allocates");
	self->enomem += enomem;
	self->efault += efault;
}

/* Both sweeps. */
static void sweeps(struct __test_metadata *_metadata, struct fault_ctx *self, struct call *c)
{
	sweep(_metadata, self, c, 0);
	sweep(_metadata, self, c, 1);
}

/* The length query never allocates: only its copies can fail. */
TEST_F(fault, peek_length_query)
{
	struct call c = { .cmd = F_MQ_PEEK, .buf_len = 0 };

	for (c.offset = 0; c.offset < NMSG; c.offset++)
		sweeps(_metadata, &self->x, &c);
}

/*
 * A copy: on the stack for small messages (no allocation, so never ENOMEM),
 * allocated for large ones; whole, and truncated.
 */
TEST_F(fault, peek_copy)
{
	struct call c = { .cmd = F_MQ_PEEK };

	for (c.offset = 0; c.offset < NMSG; c.offset++) {
		size_t len = self->x.spec->len[self->x.order[c.offset]];

		c.allocates = len > 256;
		c.buf_len = self->x.spec->msgsize;
		sweeps(_metadata, &self->x, &c);
		c.buf_len = len / 2 + 1;
		c.allocates = c.buf_len > 256;
		sweeps(_metadata, &self->x, &c);
	}
}

/* A whole dump, the rest from offset 1, and a buffer too short for all. */
TEST_F(fault, batch)
{
	struct call c = { .cmd = F_MQ_PEEK_BATCH, .allocates = 1 };

	c.buf_len = self->x.dump_size;
	for (c.offset = 0; c.offset < 2; c.offset++)
		sweeps(_metadata, &self->x, &c);
	c.offset = 0;
	c.buf_len = self->x.spec->msgsize / 2;
	/* a stage this small may need no allocation */
	c.allocates = c.buf_len > 4096 ? 1 : -1;
	sweeps(_metadata, &self->x, &c);
	TH_LOG("%d calls ended early, after their first record", self->x.short_batches);
	/* records too large for the stage are taken one by one: a fault between them */
	if (self->x.spec == &large_q)
		ASSERT_LE(1, self->x.short_batches);
}

/* The dump the setup took is right: the model and the sweeps agree. */
TEST_F(fault, model)
{
	size_t used;

	ASSERT_EQ(NMSG, model_batch(&self->x, 0, self->x.dump_size, self->x.want, &used));
	ASSERT_EQ(used, self->x.version.used);
	ASSERT_EQ(0, memcmp(self->x.want, self->x.snap, used));
}

TEST_HARNESS_MAIN
