// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_bench - what a full queue dump costs, per message, with F_MQ_PEEK and
 * with everything it replaces.  Runs inside the release VM (scripts/bench.sh).
 *
 * For each queue of n messages of one payload size, every contender reads all
 * n messages:
 *   peek_fwd       F_MQ_PEEK at offsets 0, 1, ..., n-1 (a CRIU dump)
 *   peek_rev       offsets n-1, ..., 0
 *   peek_rand      a random permutation of the offsets
 *   peek_fwd_rfc   offsets 0..n-1 with the module's cursor switched off: the RFC's
 *                  algorithm, a walk from the head on every call
 *   peek_head      offset 0, n times (one peek vs. one receive)
 *   batch_fwd      F_MQ_PEEK_BATCH from offset 0 with a 1 MiB buffer until the end
 *   drain          mq_receive() n times, i.e. the mq_timedreceive syscall (destructive:
 *                  the floor for reading the same bytes)
 *   drain_resend   CRIU's fallback: receive all n, then mq_send() them all back
 *   sysv_copy      msgrcv(MSG_COPY) at indexes 0..n-1 of a SysV queue holding the
 *                  same messages (the upstream precedent)
 *
 * One warm-up run, then up to REPS runs; a contender whose run takes longer than
 * LONG_RUN seconds stops there, and a warm-up that long is the one measured run
 * (reps=1 says so).  Prints
 *   BENCH n size contender reps median_ns_per_msg max_hold_ns holds_over_100us calls
 * where the holds are the module's holds of info->lock during the contender's
 * warm-up run: the longest, and how many of them took over 100 µs, out of that
 * many calls (/sys/kernel/debug/mq_peek/).  The module times its holds only
 * while its "stats" switch is on, which costs two clock reads per hold, so
 * the warm-up runs with it on and the measured runs with it off.
 *
 * Then the cost of a peek against the queue's mq_msgsize: one 1-byte message
 * in a queue of mq_msgsize 64 and in one of 8 MiB, peeked at offset 0 with a
 * buffer of mq_msgsize bytes (what a dumper that sizes its buffer by
 * mq_getattr() passes), and at offset 1 (ENOMSG):
 *   BENCH-MSGSIZE msgsize peek_1byte|enomsg ns_per_call
 *
 * And the floor that copying imposes: pread() of a page-cached file, size bytes
 * at a time over a 1 MiB file.  pread(size) - pread(16) is what the kernel's
 * copy_to_user() of size bytes costs here (under TCG, without FSRM, it is `rep
 * movsb`, emulated byte by byte); no reader that hands every byte to user space
 * once can go below it, however few system calls it makes:
 *   BENCH-COPY size ns_per_call
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mq_peek.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define REPS		5
#define LONG_RUN	8.0
#define QNAME		"/mq_peek_bench"
#define DBG		"/sys/kernel/debug/mq_peek/"

static const long ns_list[] = { 10, 1024, 65536 };
static const long sizes[] = { 16, 4096, 65536, 1 << 20 };

static unsigned char *buf;
static long mem_budget, only, only_n, only_size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_file(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

static long read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void die(const char *what)
{
	printf("BENCH-ERROR %s: %s\n", what, strerror(errno));
	exit(1);
}

static mqd_t fill_posix(long n, long size)
{
	struct mq_attr a = { .mq_maxmsg = n, .mq_msgsize = size };
	mqd_t q;

	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT, 0600, &a);
	if (q < 0)
		die("mq_open");
	for (long i = 0; i < n; i++) {
		buf[0] = (unsigned char)i;
		if (mq_send(q, (char *)buf, size, i % 8))
			die("mq_send");
	}
	return q;
}

static long peek(mqd_t q, int off, long size)
{
	struct mq_peek_attr pa = { .offset = off, .buf_len = size, .buf = (char *)buf };

	return fcntl(q, F_MQ_PEEK, &pa);
}

#define BATCH_BUF	(1 << 20)
static unsigned char *bbuf;

/* The whole queue with F_MQ_PEEK_BATCH; every message must come back whole. */
static void batch_dump(mqd_t q, long n, long size)
{
	struct mq_peek_batch b = { .buf = (uintptr_t)bbuf, .buf_len = BATCH_BUF };
	long got = 0, r;

	while ((r = fcntl(q, F_MQ_PEEK_BATCH, &b)) > 0) {
		struct mq_peek_record rec;

		memcpy(&rec, bbuf, sizeof(rec));
		if (rec.data_len != (uint64_t)size && size + sizeof(rec) <= BATCH_BUF)
			die("batch record");
		got += r;
		b.offset += r;
	}
	if (r < 0 || got < n)
		die("F_MQ_PEEK_BATCH");
}

enum { PEEK_FWD, PEEK_REV, PEEK_RAND, PEEK_RFC, PEEK_HEAD, BATCH_FWD, DRAIN, DRAIN_RESEND, SYSV,
       NC };
static const char *const names[NC] = { "peek_fwd", "peek_rev", "peek_rand", "peek_fwd_rfc",
					"peek_head", "batch_fwd", "drain", "drain_resend",
					"sysv_copy" };

struct sysv_msg {
	long mtype;
	unsigned char text[];
};

/* One run of contender c; returns seconds, or a negative value on error. */
static double run(int c, long n, long size, int *perm, unsigned char **store)
{
	double t0, t;
	mqd_t q = -1;
	int id = -1;

	if (c == SYSV) {
		struct sysv_msg *m = (struct sysv_msg *)buf;

		id = msgget(IPC_PRIVATE, 0600 | IPC_CREAT);
		if (id < 0)
			die("msgget");
		for (long i = 0; i < n; i++) {
			m->mtype = 1 + i % 8;
			if (msgsnd(id, m, size, 0))
				die("msgsnd");
		}
	} else {
		q = fill_posix(n, size);
	}
	write_file(DBG "use_cursor", c != PEEK_RFC);

	t0 = now();
	switch (c) {
	case PEEK_FWD:
	case PEEK_RFC:
		for (long i = 0; i < n; i++)
			if (peek(q, i, size) != size)
				die("peek");
		break;
	case PEEK_REV:
		for (long i = n - 1; i >= 0; i--)
			if (peek(q, i, size) != size)
				die("peek");
		break;
	case PEEK_RAND:
		for (long i = 0; i < n; i++)
			if (peek(q, perm[i], size) != size)
				die("peek");
		break;
	case PEEK_HEAD:
		for (long i = 0; i < n; i++)
			if (peek(q, 0, size) != size)
				die("peek");
		break;
	case BATCH_FWD:
		batch_dump(q, n, size);
		break;
	case DRAIN:
		for (long i = 0; i < n; i++)
			if (mq_receive(q, (char *)buf, size, NULL) != size)
				die("mq_receive");
		break;
	case DRAIN_RESEND: {
		unsigned int prio;

		for (long i = 0; i < n; i++) {
			if (mq_receive(q, (char *)store[i], size, &prio) != size)
				die("mq_receive");
			store[i][size] = (unsigned char)prio;
		}
		for (long i = 0; i < n; i++)
			if (mq_send(q, (char *)store[i], size, store[i][size]))
				die("mq_send");
		break;
	}
	case SYSV:
		for (long i = 0; i < n; i++)
			if (msgrcv(id, buf, size, i, IPC_NOWAIT | MSG_COPY | MSG_NOERROR) != size)
				die("msgrcv(MSG_COPY)");
		break;
	}
	t = now() - t0;
	write_file(DBG "use_cursor", 1);
	if (q >= 0) {
		mq_close(q);
		mq_unlink(QNAME);
	}
	if (id >= 0)
		msgctl(id, IPC_RMID, NULL);
	return t;
}

static int cmp_double(const void *a, const void *b);

/* Median ns per call of op() over REPS runs of @calls calls, after a warm-up run. */
static double per_call(long calls, long (*op)(mqd_t, long), mqd_t q, long want)
{
	double t[REPS];

	for (int r = 0; r <= REPS; r++) {
		double t0 = now();

		for (long i = 0; i < calls; i++)
			if (op(q, i) != want)
				die("anatomy");
		if (r)
			t[r - 1] = now() - t0;
	}
	qsort(t, REPS, sizeof(t[0]), cmp_double);
	return t[REPS / 2] * 1e9 / calls;
}

static long op_getfl(mqd_t q, long i)
{
	return fcntl(q, F_GETFL) >= 0;
}

static long op_peek_at(mqd_t q, int off, size_t len, char *b)
{
	struct mq_peek_attr pa = { .offset = off, .buf_len = len, .buf = b };
	long r = fcntl(q, F_MQ_PEEK, &pa);

	return r < 0 ? -errno : r;
}

static long op_einval(mqd_t q, long i)
{
	return op_peek_at(q, -1, 16, (char *)buf);
}

static long op_enomsg(mqd_t q, long i)
{
	return op_peek_at(q, 1, 16, (char *)buf);
}

static long op_lenq(mqd_t q, long i)
{
	return op_peek_at(q, 0, 0, NULL);
}

static long op_peek16(mqd_t q, long i)
{
	return op_peek_at(q, 0, 16, (char *)buf);
}

static long op_send(mqd_t q, long i)
{
	return mq_send(q, (char *)buf, 16, 1);
}

static long op_receive(mqd_t q, long i)
{
	return mq_receive(q, (char *)buf, 16, NULL);
}

/*
 * Where a 16-byte peek's time goes, by subtraction: the fcntl() floor
 * (F_GETFL), F_MQ_PEEK failing after reading the attr (EINVAL), after finding
 * no message under the lock (ENOMSG), a length query, the whole peek; and a
 * send and a receive of the same message for comparison.
 *   BENCH-ANATOMY name ns_per_call
 */
static void anatomy(void)
{
	struct mq_attr a = { .mq_maxmsg = 50000, .mq_msgsize = 16 };
	const long calls = 50000;
	static const struct {
		const char *name;
		long (*op)(mqd_t, long);
		long want;
	} ops[] = {
		{ "fcntl_getfl", op_getfl, 1 },
		{ "peek_einval", op_einval, -EINVAL },
		{ "peek_enomsg", op_enomsg, -ENOMSG },
		{ "peek_length_query", op_lenq, 16 },
		{ "peek_16", op_peek16, 16 },
	};
	mqd_t q;

	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT, 0600, &a);
	if (q < 0 || mq_send(q, (char *)buf, 16, 1))
		die("mq_open/mq_send");
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		/* a provider without the step (the length query of an RFC-exact one) */
		if (ops[k].op(q, 0) != ops[k].want) {
			printf("BENCH-ANATOMY %s -1\n", ops[k].name);
			continue;
		}
		printf("BENCH-ANATOMY %s %.0f\n", ops[k].name, per_call(calls, ops[k].op, q, ops[k].want));
	}
	if (mq_receive(q, (char *)buf, 16, NULL) != 16)
		die("mq_receive");
	/* runs of 20000 sends and 20000 receives alternate on the now empty queue */
	double ts[REPS], tr[REPS];

	for (int r = 0; r <= REPS; r++) {
		double t0 = now(), t1;

		for (long i = 0; i < calls; i++)
			if (op_send(q, i))
				die("mq_send");
		t1 = now();
		for (long i = 0; i < calls; i++)
			if (op_receive(q, i) != 16)
				die("mq_receive");
		if (r) {
			ts[r - 1] = (t1 - t0) * 1e9 / calls;
			tr[r - 1] = (now() - t1) * 1e9 / calls;
		}
	}
	qsort(ts, REPS, sizeof(ts[0]), cmp_double);
	qsort(tr, REPS, sizeof(tr[0]), cmp_double);
	printf("BENCH-ANATOMY mq_send %.0f\nBENCH-ANATOMY mq_receive %.0f\n", ts[REPS / 2],
	       tr[REPS / 2]);
	mq_close(q);
	mq_unlink(QNAME);
}

/* The module's hold statistics: on, and reset, for one run. */
static void stats(int on)
{
	write_file(DBG "max_hold_ns", 0);
	write_file(DBG "holds_over_100us", 0);
	write_file(DBG "calls", 0);
	write_file(DBG "stats", on);
}

/* A 1-byte peek, and an ENOMSG, in a queue of the given mq_msgsize. */
static void msgsize_cell(long msgsize)
{
	struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = msgsize };
	const long calls = 20000;
	unsigned char *big = malloc(msgsize);
	struct mq_peek_attr pa = { .buf = (char *)big, .buf_len = msgsize };
	double t[REPS];
	mqd_t q;

	if (!big)
		die("malloc");
	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT, 0600, &a);
	if (q < 0 || mq_send(q, "x", 1, 0))
		die("mq_open/mq_send");
	for (int off = 0; off < 2; off++) {
		pa.offset = off;
		for (int r = 0; r <= REPS; r++) {	/* r == 0: warm-up */
			double t0 = now();

			for (long i = 0; i < calls; i++)
				if (fcntl(q, F_MQ_PEEK, &pa) != (off ? -1 : 1))
					die("peek");
			if (r)
				t[r - 1] = now() - t0;
		}
		qsort(t, REPS, sizeof(t[0]), cmp_double);
		printf("BENCH-MSGSIZE %ld %s %.0f\n", msgsize, off ? "enomsg" : "peek_1byte",
		       t[REPS / 2] * 1e9 / calls);
	}
	mq_close(q);
	mq_unlink(QNAME);
	free(big);
}

/* pread() of a page-cached file: a system call plus one copy_to_user(). */
static void copy_floor(void)
{
	static const long copy_sizes[] = { 16, 4096, 65536, 1 << 20 };
	const char *path = "/tmp/mq_peek_bench.dat";
	const long file = 1 << 20;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, buf, file) != file)
		die("copy floor file");
	for (size_t k = 0; k < sizeof(copy_sizes) / sizeof(copy_sizes[0]); k++) {
		long size = copy_sizes[k], calls = size >= 65536 ? 200 : 20000;
		double t[REPS];

		for (int r = 0; r <= REPS; r++) {	/* r == 0: warm-up */
			double t0 = now();

			for (long i = 0; i < calls; i++)
				if (pread(fd, buf, size, (i * size) % file) != size)
					die("pread");
			if (r)
				t[r - 1] = now() - t0;
		}
		qsort(t, REPS, sizeof(t[0]), cmp_double);
		printf("BENCH-COPY %ld %.0f\n", size, t[REPS / 2] * 1e9 / calls);
	}
	close(fd);
	unlink(path);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long maxsize = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
	uint64_t rs = 88172645463325252ull;

	mem_budget = argc > 1 ? atol(argv[1]) << 20 : 1L << 30;
	/* MQ_PEEK_BENCH_ONLY=N:SIZE measures one cell (for quick experiments) */
	if (getenv("MQ_PEEK_BENCH_ONLY") &&
	    sscanf(getenv("MQ_PEEK_BENCH_ONLY"), "%ld:%ld", &only_n, &only_size) == 2)
		only = 1;
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	write_file("/proc/sys/fs/mqueue/msg_max", 65536);
	write_file("/proc/sys/fs/mqueue/msgsize_max", 16 << 20);
	write_file("/proc/sys/kernel/msgmax", maxsize);
	write_file("/proc/sys/kernel/msgmnb", 2147483647L);
	buf = malloc(maxsize + sizeof(long) + 16);
	bbuf = malloc(BATCH_BUF);
	if (!buf || !bbuf)
		die("malloc");
	memset(buf, 0x5a, maxsize + sizeof(long));
	if (read_file(DBG "use_cursor") < 0)
		printf("BENCH-NOTE no %suse_cursor: mq_peek.ko not loaded?\n", DBG);
	/* MQ_PEEK_BENCH_ANATOMY=1: only the breakdown of one peek (for quick experiments) */
	if (getenv("MQ_PEEK_BENCH_ANATOMY")) {
		anatomy();
		copy_floor();
		printf("BENCH-DONE\n");
		return 0;
	}

	for (size_t a = 0; a < sizeof(ns_list) / sizeof(ns_list[0]); a++) {
		for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b++) {
			long n = ns_list[a], size = sizes[b];
			/* kernel memory: msg_msg header + payload in 4 KiB segments */
			long per = ((size + 48 + 4095) / 4096) * 4096;
			int *perm;
			unsigned char **store;

			if (size <= 4096 - 48)
				per = size + 48 < 64 ? 64 : size + 48;
			if (only && (n != only_n || size != only_size))
				continue;
			if (n * per > mem_budget) {
				printf("BENCH-SKIP %ld %ld needs %ld MiB of queue memory, budget %ld MiB\n",
				       n, size, n * per >> 20, mem_budget >> 20);
				continue;
			}
			perm = malloc(n * sizeof(*perm));
			store = malloc(n * sizeof(*store));
			for (long i = 0; i < n; i++)
				perm[i] = i;
			for (long i = n - 1; i > 0; i--) {
				long j;
				int t;

				rs ^= rs << 13;
				rs ^= rs >> 7;
				rs ^= rs << 17;
				j = rs % (i + 1);
				t = perm[i];
				perm[i] = perm[j];
				perm[j] = t;
			}
			for (int c = 0; c < NC; c++) {
				double t[REPS];
				int reps = 0;
				long hold, over, calls;

				if (c == DRAIN_RESEND)
					for (long i = 0; i < n; i++)
						if (!(store[i] = malloc(size + 1)))
							die("malloc");
				/*
				 * The warm-up; a run that long is its own measurement (a
				 * warm cache is noise next to it), and the only one.
				 */
				stats(1);
				t[0] = run(c, n, size, perm, store);
				hold = read_file(DBG "max_hold_ns");
				over = read_file(DBG "holds_over_100us");
				calls = read_file(DBG "calls");
				stats(0);
				if (t[0] > LONG_RUN) {
					reps = 1;
				} else {
					while (reps < REPS) {
						t[reps] = run(c, n, size, perm, store);
						if (t[reps++] > LONG_RUN)
							break;
					}
				}
				if (c == DRAIN || c == DRAIN_RESEND || c == SYSV)
					hold = over = calls = -1;	/* not ours */
				qsort(t, reps, sizeof(t[0]), cmp_double);
				printf("BENCH %ld %ld %s %d %.0f %ld %ld %ld\n", n, size, names[c], reps,
				       t[reps / 2] * 1e9 / n, hold, over, calls);
				fflush(stdout);
				if (c == DRAIN_RESEND)
					for (long i = 0; i < n; i++)
						free(store[i]);
			}
			free(perm);
			free(store);
		}
	}
	if (!only) {
		anatomy();
		msgsize_cell(64);
		msgsize_cell(8 << 20);
	}
	copy_floor();
	printf("BENCH-DONE\n");
	return 0;
}
