// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_fuzz - seeded random calls of fcntl(fd, F_MQ_PEEK, attr) against a
 * model of the documented semantics.
 *
 * Each call draws a descriptor kind (mqueue O_RDWR/O_RDONLY/O_WRONLY, O_PATH,
 * pipe, socket, regular file, closed), an attr placement (valid, NULL,
 * unmapped, read-only, kernel address, straddling into an unmapped page), an
 * offset (in range, at and past the end, negative, INT_MIN/INT_MAX, random),
 * a length (0, 1, random, the message's, mq_msgsize, huge, SIZE_MAX) and a
 * buffer (NULL, valid, read-only, unmapped, kernel address, ending in an
 * unmapped page).  The model predicts the exact result: the byte count and
 * payload, or the errno.  After a success only msg_prio may have changed in
 * the attr and no byte past the copy in the buffer; after an error nothing
 * changed.  At the end the queue must hold exactly what it held before.
 *
 * MQ_PEEK_FUZZ_ITERS (default 1000000, 250000 for the 32-bit build) and
 * MQ_PEEK_SEED (default: time) control the run; the seed is printed so that a
 * failure can be replayed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define MSGSIZE		9000
#define NMSG		7
#define GOOD_LEN	(4 * PAGE_SZ)
#define FILLB		0xc3

#if UINTPTR_MAX == 0xffffffffu	/* the -m32 build */
#define DEFAULT_ITERS	250000
#define KERNEL_ADDR	((uintptr_t)0xfffff000u)	/* above the compat TASK_SIZE */
#else
#define DEFAULT_ITERS	1000000
#define KERNEL_ADDR	((uintptr_t)0xffffffff81000000ull)
#endif

/* around the end of the first segment, into the third, the queue's mq_msgsize */
static const size_t lens[NMSG] = {
	0, 100, DATALEN_MSG - 1, DATALEN_MSG, DATALEN_MSG + 1, 8200, MSGSIZE,
};

static const unsigned int prios[NMSG] = { 2, 9, 2, 0, 9, 31, 2 };

enum fdk { FD_RW, FD_RO, FD_WO, FD_PATH, FD_PIPE, FD_SOCK, FD_FILE, FD_CLOSED, FD_N };
enum ak { A_GOOD, A_NULL, A_NONE, A_RO, A_KERNEL, A_STRADDLE, A_N };
enum bk { B_NULL, B_GOOD, B_RO, B_NONE, B_KERNEL, B_STRADDLE, B_N };

struct env {
	char name[64];
	int fd[FD_N];
	unsigned char *good;		/* GOOD_LEN bytes, RW */
	unsigned char *ro, *none;	/* one page each */
	unsigned char *edge;		/* RW page followed by a PROT_NONE page */
	struct mq_peek_attr *attr;	/* RW, inside a guarded block */
	/* receive-order model */
	size_t len[NMSG];
	unsigned int prio[NMSG];
	unsigned char *msg[NMSG];
};

static uint64_t rs;	/* the generator's state, from the seed */

static void setup_env(struct __test_metadata *_metadata, struct env *e)
{
	struct mq_attr qa = { .mq_maxmsg = NMSG + 1, .mq_msgsize = MSGSIZE };
	int order[NMSG], p[2], sv[2];
	char path[128];

	raise_mq_limits(0, 1 << 20);
	snprintf(e->name, sizeof(e->name), "/mq_peek_fuzz_%d", getpid());
	mq_unlink(e->name);
	e->fd[FD_RW] = mq_open(e->name, O_RDWR | O_CREAT | O_EXCL, 0600, &qa);
	ASSERT_LE(0, e->fd[FD_RW]) TH_LOG("mq_open: %s", strerror(errno));
	e->fd[FD_RO] = mq_open(e->name, O_RDONLY);
	e->fd[FD_WO] = mq_open(e->name, O_WRONLY);
	snprintf(path, sizeof(path), "/dev/mqueue%s", e->name);
	e->fd[FD_PATH] = open(path, O_PATH);
	ASSERT_EQ(0, pipe(p));
	e->fd[FD_PIPE] = p[0];
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	e->fd[FD_SOCK] = sv[0];
	e->fd[FD_FILE] = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	e->fd[FD_CLOSED] = 1000;
	close(1000);
	for (int k = 0; k < FD_N; k++)
		ASSERT_LE(0, e->fd[k]);

	/* GOOD_LEN bytes, then a guard page: a longer write faults, never hits a neighbour */
	e->good = mmap(NULL, GOOD_LEN + PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->ro = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->none = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->edge = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	ASSERT_NE(MAP_FAILED, e->good);
	ASSERT_NE(MAP_FAILED, e->ro);
	ASSERT_NE(MAP_FAILED, e->none);
	ASSERT_NE(MAP_FAILED, e->edge);
	ASSERT_EQ(0, mprotect(e->edge + PAGE_SZ, PAGE_SZ, PROT_NONE));
	ASSERT_EQ(0, mprotect(e->good + GOOD_LEN, PAGE_SZ, PROT_NONE));
	memset(e->good, FILLB, GOOD_LEN);
	/* a read-only attr: valid, so only the msg_prio write-back can fail */
	struct mq_peek_attr roa = { .offset = 1, .buf_len = 64, .buf = (char *)e->good };

	memcpy(e->ro, &roa, sizeof(roa));
	ASSERT_EQ(0, mprotect(e->ro, PAGE_SZ, PROT_READ));
	e->attr = malloc(sizeof(*e->attr) + 64);

	/* fill the queue and build the receive-order model */
	for (int i = 0; i < NMSG; i++) {
		unsigned char *m = malloc(lens[i] + 1);

		for (size_t j = 0; j < lens[i]; j++)
			m[j] = pat(i, j);
		ASSERT_EQ(0, mq_send(e->fd[FD_RW], (char *)m, lens[i], prios[i]));
		free(m);
		order[i] = i;
	}
	for (int i = 1; i < NMSG; i++)		/* stable sort, priority descending */
		for (int j = i; j > 0 && prios[order[j]] > prios[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < NMSG; k++) {
		int i = order[k];

		e->len[k] = lens[i];
		e->prio[k] = prios[i];
		e->msg[k] = malloc(lens[i] + 1);
		for (size_t j = 0; j < lens[i]; j++)
			e->msg[k][j] = pat(i, j);
	}
}

static int pick_offset(void)
{
	switch (rnd(&rs) % 8) {
	case 0: return -1;
	case 1: return INT_MIN;
	case 2: return INT_MAX;
	case 3: return (int)(uint32_t)rnd(&rs);
	case 4: return NMSG + (int)(rnd(&rs) % 3);
	default: return (int)(rnd(&rs) % NMSG);
	}
}

static size_t pick_len(const struct env *e, int off)
{
	switch (rnd(&rs) % 9) {
	case 0: return 0;
	case 1: return 1;
	case 2: return SIZE_MAX;
	case 3: return (size_t)1 << (sizeof(size_t) * 8 - 2);
	case 4: return MSGSIZE;
	case 5:
		return off >= 0 && off < NMSG ? e->len[off] : 7;
	case 6:
		return off >= 0 && off < NMSG && e->len[off] ? e->len[off] - 1 : 3;
	default: return 1 + rnd(&rs) % (MSGSIZE + 64);
	}
}

/* Where the call may write: [*lo, *hi) is writable, anything else faults. */
static char *pick_buf(struct env *e, int kind, size_t *writable)
{
	size_t k;

	switch (kind) {
	case B_NULL:
		*writable = 0;
		return NULL;
	case B_GOOD:
		*writable = GOOD_LEN;
		return (char *)e->good;
	case B_RO:
		*writable = 0;
		return (char *)e->ro;
	case B_NONE:
		*writable = 0;
		return (char *)e->none;
	case B_KERNEL:
		*writable = 0;
		return (char *)KERNEL_ADDR;
	default:
		k = rnd(&rs) % (PAGE_SZ + 1);		/* k writable bytes, then a fault */
		*writable = k;
		return (char *)e->edge + PAGE_SZ - k;
	}
}

/*
 * Where a struct of @size bytes is placed for a kind @ak that faults: NULL, an
 * unmapped page, a kernel address, or straddling into the PROT_NONE page (all
 * but 1..@size-1 of its bytes readable).
 */
static void *faulting_place(struct env *e, int ak, size_t size)
{
	switch (ak) {
	case A_NULL:
		return NULL;
	case A_NONE:
		return e->none;
	case A_KERNEL:
		return (void *)KERNEL_ADDR;
	default:
		return e->edge + PAGE_SZ - (1 + rnd(&rs) % (size - 1));
	}
}

FIXTURE(fuzz) {
	struct env e;
};

FIXTURE_SETUP(fuzz)
{
	setup_env(_metadata, &self->e);
}

FIXTURE_TEARDOWN(fuzz)
{
	mq_unlink(self->e.name);
}

TEST_F_TIMEOUT(fuzz, model, 900)
{
	struct env *e = &self->e;
	const char *it = getenv("MQ_PEEK_FUZZ_ITERS"), *sd = getenv("MQ_PEEK_SEED");
	unsigned long iters = it && *it ? strtoul(it, NULL, 0) : DEFAULT_ITERS;
	unsigned long seed = sd && *sd ? strtoul(sd, NULL, 0) : (unsigned long)time(NULL);
	unsigned long results[8] = { 0 }, mismatches = 0;
	const size_t asz = sizeof(struct mq_peek_attr);
	struct mq_attr qa;

	rs = seed * 0x9e3779b97f4a7c15ull + 1;
	TH_LOG("seed %lu, %lu calls, %zu-byte attr", seed, iters, asz);
	for (unsigned long n = 0; n < iters; n++) {
		int fk = rnd(&rs) % 16 < 9 ? (rnd(&rs) % 2 ? FD_RW : FD_RO) :
					     (int)(rnd(&rs) % FD_N);
		int ak = rnd(&rs) % 16 < 10 ? A_GOOD : (int)(rnd(&rs) % A_N);
		int bk = rnd(&rs) % 16 < 10 ? B_GOOD : (int)(rnd(&rs) % B_N);
		int off = pick_offset();
		size_t len = pick_len(e, off), writable;
		char *buf = pick_buf(e, bk, &writable);
		struct mq_peek_attr want = { .offset = off, .msg_prio = (uint32_t)rnd(&rs),
					     .buf_len = len, .buf = buf };
		void *uattr;
		unsigned char before[sizeof(struct mq_peek_attr)];
		long expect, ret;
		size_t copy = 0;
		int err, attr_ok = 1, prio_writable = 1;

		/* place the attr */
		switch (ak) {
		case A_GOOD:
			memcpy(e->attr, &want, asz);
			uattr = e->attr;
			break;
		case A_RO:
			uattr = e->ro;
			memcpy(&want, e->ro, asz);	/* its fixed content */
			buf = want.buf;
			len = want.buf_len;
			off = want.offset;
			writable = GOOD_LEN;
			prio_writable = 0;
			break;
		default:
			uattr = faulting_place(e, ak, asz);
			attr_ok = 0;
			break;
		}
		if (ak == A_GOOD)
			memcpy(before, e->attr, asz);

		/* the model */
		if (fk != FD_RW && fk != FD_RO) {
			expect = -EBADF;
		} else if (!attr_ok) {
			expect = -EFAULT;
		} else if (off < 0) {
			expect = -EINVAL;
		} else if (!buf != !len) {
			expect = -EINVAL;
		} else if (off >= NMSG) {
			expect = -ENOMSG;
		} else if (!buf) {		/* length query */
			expect = prio_writable ? (long)e->len[off] : -EFAULT;
		} else {
			copy = len < e->len[off] ? len : e->len[off];
			if (copy > writable || !prio_writable)
				expect = -EFAULT;
			else
				expect = (long)copy;
		}

		ret = fcntl(e->fd[fk], F_MQ_PEEK, uattr);
		err = ret < 0 ? errno : 0;
		if (ret < 0)
			ret = -err;
		results[ret >= 0 ? 0 : ret == -EBADF ? 1 : ret == -EFAULT ? 2 : ret == -EINVAL ? 3 :
			ret == -ENOMSG ? 4 : 5]++;
		if (ret < 0 && buf == (char *)e->good)	/* an EFAULT after the copy */
			memset(e->good, FILLB, MSGSIZE + 1);
		if (ret != expect) {
			if (mismatches++ < 10)
				TH_LOG("call %lu: fd %d attr %d buf %d off %d len %zu: %ld != %ld",
				       n, fk, ak, bk, off, len, ret, expect);
			continue;
		}
		if (ak == A_GOOD) {
			struct mq_peek_attr *a = e->attr;

			if (ret >= 0) {
				/* only msg_prio changed, and it is the true priority */
				if (a->msg_prio != e->prio[off])
					mismatches++;
				a->msg_prio = want.msg_prio;
			}
			if (memcmp(before, e->attr, asz)) {
				mismatches++;
				TH_LOG("call %lu: attr bytes changed", n);
			}
		}
		if (ret > 0 && buf == (char *)e->good) {
			if (memcmp(e->good, e->msg[off], ret) || e->good[ret] != FILLB) {
				mismatches++;
				TH_LOG("call %lu: payload or guard byte wrong", n);
			}
			memset(e->good, FILLB, ret);
		}
	}
	TH_LOG("%lu calls: %lu ok, %lu EBADF, %lu EFAULT, %lu EINVAL, %lu ENOMSG, %lu other",
	       iters, results[0], results[1], results[2], results[3], results[4], results[5]);
	printf("# fuzz: seed %lu, %lu calls, %lu ok, %lu EBADF, %lu EFAULT, ",
	       seed, iters, results[0], results[1], results[2]);
	printf("%lu EINVAL, %lu ENOMSG, %lu other, %lu mismatches\n",
	       results[3], results[4], results[5], mismatches);
	EXPECT_EQ(0, mismatches);
	EXPECT_EQ(0, results[5]);

	/* the queue is exactly as filled */
	ASSERT_EQ(0, mq_getattr(e->fd[FD_RW], &qa));
	ASSERT_EQ(NMSG, qa.mq_curmsgs);
	for (int k = 0; k < NMSG; k++) {
		unsigned int prio;
		ssize_t n = mq_receive(e->fd[FD_RW], (char *)e->good, GOOD_LEN, &prio);

		ASSERT_EQ((ssize_t)e->len[k], n);
		ASSERT_EQ(e->prio[k], prio);
		ASSERT_EQ(0, memcmp(e->good, e->msg[k], n));
	}
}

/*
 * F_MQ_PEEK_BATCH against its model: descriptor, struct placement (valid,
 * NULL, unmapped, kernel address, read-only so that only the write-back of the
 * output fields can fail, straddling into an unmapped page), size (mostly
 * the first published one; smaller, larger with a zero or non-zero tail, over
 * a page), flags (mostly zero), offset, buffer length (below a header, a
 * header, random, huge) and buffer (as for F_MQ_PEEK, including k writable
 * bytes before a fault).  The model predicts the record count, used bytes,
 * every record, and the errno; the version must never move (nothing changes
 * the queue); the input fields and the tail are never written.
 */
struct brec { size_t at, end, data; int idx; };

/* rec_len of a record of @data payload bytes: header, payload, padding to 8 */
static uint64_t rec_len(uint64_t data)
{
	return sizeof(struct mq_peek_record) + ((data + 7) & ~(uint64_t)7);
}

/*
 * The records a batch from @off with @len >= 24 bytes of buffer holds; returns
 * how many.  A record only when its whole rec_len fits; a lone first record
 * truncated to (len - 24) & ~7 bytes.
 */
static int batch_model(const struct env *e, uint64_t off, uint64_t len, struct brec *r)
{
	const size_t hdr = sizeof(struct mq_peek_record);
	size_t used = 0;
	int n = 0;

	for (uint64_t k = off; k < NMSG; k++) {
		uint64_t room = len - used, cap = (room - hdr) & ~(uint64_t)7;
		size_t data;

		if (rec_len(e->len[k]) <= room)
			data = e->len[k];
		else if (n == 0)
			data = e->len[k] < cap ? e->len[k] : cap;
		else
			break;
		r[n].at = used;
		r[n].data = data;
		r[n].idx = k;
		r[n].end = used + rec_len(data);
		used = r[n].end;
		n++;
	}
	return n;
}

TEST_F_TIMEOUT(fuzz, batch_model, 900)
{
	struct env *e = &self->e;
	const char *it = getenv("MQ_PEEK_FUZZ_ITERS"), *sd = getenv("MQ_PEEK_SEED");
	unsigned long iters = (it && *it ? strtoul(it, NULL, 0) : DEFAULT_ITERS) / 4;
	unsigned long seed = sd && *sd ? strtoul(sd, NULL, 0) : (unsigned long)time(NULL);
	unsigned long results[8] = { 0 }, mismatches = 0;
	const size_t bsz = sizeof(struct mq_peek_batch), hdr = sizeof(struct mq_peek_record);
	struct mq_peek_batch *ba = (struct mq_peek_batch *)e->attr, v0 = { 0 }, *rob;
	struct mq_attr qa;

	/* the queue's version, from one plain call */
	unsigned char *all = malloc(1 << 16);

	ASSERT_NE(NULL, all);
	v0.size = bsz;
	v0.buf = (uintptr_t)all;
	v0.buf_len = 1 << 16;
	ASSERT_EQ(NMSG, fcntl(e->fd[FD_RW], F_MQ_PEEK_BATCH, &v0)) TH_LOG("%s", strerror(errno));
	free(all);
	/* a read-only struct: valid, so only the write-back of the output fields fails */
	rob = (struct mq_peek_batch *)(e->ro + 512);
	ASSERT_EQ(0, mprotect(e->ro, PAGE_SZ, PROT_READ | PROT_WRITE));
	memset(rob, 0, bsz);
	rob->size = bsz;
	rob->buf = (uintptr_t)e->good;
	rob->buf_len = 4096;
	rob->offset = 2;
	ASSERT_EQ(0, mprotect(e->ro, PAGE_SZ, PROT_READ));
	e->attr = realloc(e->attr, bsz + 128);	/* room for a tail */
	ba = (struct mq_peek_batch *)e->attr;

	rs = seed * 0x9e3779b97f4a7c15ull + 7;
	TH_LOG("seed %lu, %lu batch calls", seed, iters);
	for (unsigned long n = 0; n < iters; n++) {
		int fk = rnd(&rs) % 16 < 10 ? (rnd(&rs) % 2 ? FD_RW : FD_RO) :
					      (int)(rnd(&rs) % FD_N);
		int ak = rnd(&rs) % 16 < 11 ? A_GOOD : (int)(rnd(&rs) % A_N);
		int bk = rnd(&rs) % 16 < 10 ? B_GOOD : (int)(rnd(&rs) % B_N);
		size_t writable;
		char *buf = pick_buf(e, bk, &writable);
		struct mq_peek_batch want = { 0 }, before;
		unsigned char tail[128] = { 0 }, tail_before[128];
		struct brec rec[NMSG];
		int attr_ok = 1, out_writable = 1, nrec = 0, tail_bad = 0;
		long expect, ret;
		size_t readable = 0;
		void *ub;

		want.size = bsz;
		switch (rnd(&rs) % 32) {
		case 0:		/* smaller than the first published size */
			want.size = rnd(&rs) % bsz;
			break;
		case 1:		/* over a page */
			want.size = rnd(&rs) % 2 ? PAGE_SZ + 1 + rnd(&rs) % PAGE_SZ :
				    (uint32_t)rnd(&rs) | 0x80000000u;
			break;
		case 2:		/* a newer caller's size, with a zero tail */
		case 3:
		case 4:
			want.size = bsz + 1 + rnd(&rs) % sizeof(tail);
			break;
		case 5:		/* ... and a non-zero byte in it */
			want.size = bsz + 1 + rnd(&rs) % sizeof(tail);
			tail[rnd(&rs) % (want.size - bsz)] = 1 + rnd(&rs) % 255;
			tail_bad = 1;
			break;
		}
		want.buf = (uintptr_t)buf;
		switch (rnd(&rs) % 8) {
		case 0:
			want.buf_len = rnd(&rs) % hdr;
			break;
		case 1:
			want.buf_len = hdr + rnd(&rs) % 16;
			break;
		case 2:
			want.buf_len = UINT64_MAX;
			break;
		case 3:
			want.buf_len = GOOD_LEN;
			break;
		default:
			want.buf_len = hdr + rnd(&rs) % (2 * GOOD_LEN);
			break;
		}
		want.offset = rnd(&rs) % 8 ? rnd(&rs) % (NMSG + 2) : rnd(&rs);
		if (rnd(&rs) % 16 == 0)
			want.flags = 1u << (rnd(&rs) % 32);
		want.used = rnd(&rs);	/* output fields: any input is ignored */
		want.changes = rnd(&rs);

		switch (ak) {
		case A_GOOD:
			memcpy(ba, &want, bsz);
			memcpy((char *)ba + bsz, tail, sizeof(tail));
			ub = ba;
			break;
		case A_RO:
			ub = rob;
			want = *rob;
			tail_bad = 0;
			buf = (char *)e->good;
			writable = GOOD_LEN;
			out_writable = 0;
			break;
		default:
			ub = faulting_place(e, ak, bsz);
			attr_ok = 0;
			if (ak == A_STRADDLE) {	/* its first bytes are readable */
				readable = (char *)e->edge + PAGE_SZ - (char *)ub;
				memcpy(ub, &want, readable);
			}
			break;
		}
		if (ak == A_GOOD) {
			before = *ba;
			memcpy(tail_before, (char *)ba + bsz, sizeof(tail));
		}

		/* the model */
		if (fk != FD_RW && fk != FD_RO) {
			expect = -EBADF;
		} else if (!attr_ok && readable < sizeof(want.size)) {
			expect = -EFAULT;
		} else if (want.size < bsz) {
			expect = -EINVAL;
		} else if (want.size > PAGE_SZ) {
			expect = -E2BIG;
		} else if (!attr_ok) {
			expect = -EFAULT;
		} else if (tail_bad) {
			expect = -E2BIG;
		} else if (want.flags || want.buf_len < hdr) {
			expect = -EINVAL;
		} else {
			int all = batch_model(e, want.offset, want.buf_len, rec);

			/* whole records, with their padding, before the first fault */
			while (nrec < all && rec[nrec].end <= writable)
				nrec++;
			if (all && !nrec)
				expect = -EFAULT;
			else if (!out_writable)
				expect = -EFAULT;
			else
				expect = nrec;
		}

		ret = fcntl(e->fd[fk], F_MQ_PEEK_BATCH, ub);
		if (ret < 0)
			ret = -errno;
		results[ret >= 0 ? 0 : ret == -EBADF ? 1 : ret == -EFAULT ? 2 : ret == -EINVAL ? 3 :
			ret == -E2BIG ? 6 : ret == -ENOMSG ? 4 : 5]++;
		if (ret != expect) {
			if (mismatches++ < 10) {
				TH_LOG("%lu: fd %d at %d buf %d size %u", n, fk, ak, bk, want.size);
				TH_LOG("%lu: off %llu len %llu: %ld, model %ld", n,
				       (unsigned long long)want.offset,
				       (unsigned long long)want.buf_len, ret, expect);
			}
			memset(e->good, FILLB, GOOD_LEN);
			continue;
		}
		if (ak == A_GOOD) {
			struct mq_peek_batch got = *ba;

			if (ret >= 0) {
				size_t used = nrec ? rec[nrec - 1].end : 0;

				if (got.used != used || got.curmsgs != NMSG ||
				    got.queue_id != v0.queue_id || got.changes != v0.changes) {
					mismatches++;
					TH_LOG("batch %lu: output fields wrong (used %llu, %zu)",
					       n, (unsigned long long)got.used, used);
				}
				got.used = before.used;
				got.curmsgs = before.curmsgs;
				got.queue_id = before.queue_id;
				got.changes = before.changes;
			}
			if (memcmp(&got, &before, bsz) ||
			    memcmp((char *)ba + bsz, tail_before, sizeof(tail))) {
				mismatches++;
				TH_LOG("batch %lu: input fields or tail changed", n);
			}
		}
		if (ret > 0 && buf == (char *)e->good) {
			for (int i = 0; i < nrec; i++) {
				struct mq_peek_record r;
				const unsigned char *p = e->good + rec[i].at;

				memcpy(&r, p, hdr);
				if (r.msg_len != e->len[rec[i].idx] || r.data_len != rec[i].data ||
				    r.msg_prio != e->prio[rec[i].idx] ||
				    r.rec_len != rec[i].end - rec[i].at ||
				    memcmp(p + hdr, e->msg[rec[i].idx], rec[i].data)) {
					mismatches++;
					TH_LOG("batch %lu: record %d wrong", n, i);
					break;
				}
			}
			/* nothing written past the records unless a fault cut the call short */
			if (nrec == batch_model(e, want.offset, want.buf_len, rec) &&
			    rec[nrec - 1].end < GOOD_LEN && e->good[rec[nrec - 1].end] != FILLB) {
				mismatches++;
				TH_LOG("batch %lu: byte past the records written", n);
			}
		}
		memset(e->good, FILLB, GOOD_LEN);
	}
	printf("# fuzz: batch: seed %lu, %lu calls, %lu ok, %lu EBADF, %lu EFAULT, ",
	       seed, iters, results[0], results[1], results[2]);
	printf("%lu EINVAL, %lu E2BIG, %lu other, %lu mismatches\n",
	       results[3], results[6], results[4] + results[5], mismatches);
	EXPECT_EQ(0, mismatches);
	EXPECT_EQ(0, results[4] + results[5]);
	ASSERT_EQ(0, mq_getattr(e->fd[FD_RW], &qa));
	ASSERT_EQ(NMSG, qa.mq_curmsgs);
}

TEST_HARNESS_MAIN
