// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_bench - what a full queue dump costs, per message, with F_MQ_PEEK and
 * with everything it replaces, and what Rust costs against the same algorithms
 * in C.  Runs inside the release VM (scripts/bench.sh); prints raw times, which
 * bench/render.py turns into tables, ratios and verdicts.
 *
 * Two providers of the same hook take turns: mq_peek.ko (Rust, $MQ_PEEK_KO)
 * and bench/c-peer's mq_peek_c.ko (the RFC's algorithm in C, $MQ_PEEK_C_KO,
 * default /opt/mq_peek_c.ko).  The bench unloads one and loads the other with
 * delete_module()/finit_module(); before timing it checks the answers of both
 * against a model of the queue.
 *
 * For each queue of n messages of one payload size, every contender reads all
 * n messages:
 *   peek_fwd       F_MQ_PEEK at offsets 0, 1, ..., n-1 (a CRIU dump)
 *   peek_rev       offsets n-1, ..., 0
 *   peek_rand      a random permutation of the offsets
 *   peek_fwd_rfc   offsets 0..n-1 with the module's cursor switched off: the RFC's
 *                  algorithm, a walk from the head on every call
 *   peek_head      offset 0, n times (one peek vs. one receive)
 *   batch_fwd      F_MQ_PEEK_BATCH (v3) from offset 0 with a 1 MiB buffer (or one
 *                  record's worth, if larger) until the end
 *   c_peek_fwd, c_peek_head, c_batch_fwd   the same, with the C peer loaded
 *   drain          mq_receive() n times, i.e. the mq_timedreceive syscall (destructive:
 *                  the floor for reading the same bytes)
 *   drain_resend   CRIU's fallback: receive all n, then mq_send() them all back
 *   sysv_copy      msgrcv(MSG_COPY) at indexes 0..n-1 of a SysV queue holding the
 *                  same messages (the upstream precedent)
 *   copy_floor     pread() of a page-cached file in the shape of batch_fwd: the same
 *                  bytes (records of n messages) in the same number of calls of the
 *                  same size.  No batched dump that hands every byte to user space
 *                  once can cost less.
 *
 * Contenders are interleaved: a warm-up round runs each once, then each of up to
 * ROUNDS rounds runs every contender once, in one order on even rounds and the
 * reverse on odd ones (A B | B A | A B ...), so that a drift of the host's speed
 * hits the two members of a pair alike and a round needs one provider switch.  A
 * contender whose warm-up run takes longer than LONG_RUN seconds is measured by
 * that run alone; one whose run is predicted (from the previous n) to take longer
 * than MAX_RUN seconds is skipped.  Prints
 *   BENCH-T table key contender round ns
 * with round "w" for the warm-up and "s" for the single run of a long contender:
 * ns per message (dump), per call (anatomy, msgsize, copy).  Tables: dump (key
 * n:size), anatomy (key -), msgsize (key mq_msgsize), copy (key size).  Also
 *   BENCH-HOLD n:size contender max_hold_ns holds_over_100us calls
 * the module's holds of info->lock during the contender's warm-up run (the module
 * times its holds only while its "stats" switch is on, which costs two clock reads
 * per hold, so only the warm-up runs with it on), and BENCH-SKIP, BENCH-NOTE,
 * BENCH-CHECK lines.
 *
 * Environment: MQ_PEEK_BENCH_ONLY=N:SIZE one cell (then the anatomy and the copy
 * table, without the msgsize table); MQ_PEEK_BENCH_ANATOMY=1 only the anatomy and
 * the copy table; MQ_PEEK_BENCH_ROUNDS (default 5); MQ_PEEK_BENCH_MAX_RUN
 * (seconds, default 60).
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mq_peek.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

_Static_assert(sizeof(struct mq_peek_batch) == 64, "v3 batch layout");
_Static_assert(sizeof(struct mq_peek_record) == 24, "v3 record layout");

#define LONG_RUN	8.0
#define QNAME		"/mq_peek_bench"
#define DBG		"/sys/kernel/debug/mq_peek/"
#define BATCH_BUF	(1 << 20)
#define REC		((long)sizeof(struct mq_peek_record))

static const long ns_list[] = { 10, 1024, 65536 };
static const long sizes[] = { 16, 4096, 65536, 1 << 20 };

static unsigned char *buf, *bbuf;
static long mem_budget, only, only_n, only_size, rounds = 5;
static double max_run = 60;
static int floor_fd = -1;

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

static long rec_len(long data)
{
	return REC + ((data + 7) & ~7L);
}

/* ---- the providers ------------------------------------------------------------------ */

enum { RUST, CPEER, ANY };
static const char *const prov_name[] = { "mq_peek", "mq_peek_c" };
static const char *ko_path[2];
static int loaded = RUST;	/* scripts/vm loads mq_peek.ko */
static int have_c, batch_ok[2];

static void warm_provider(void);

static void provider(int p)
{
	int fd;

	if (p == ANY || p == loaded)
		return;
	if (syscall(SYS_delete_module, prov_name[loaded], O_NONBLOCK))
		die("delete_module");
	fd = open(ko_path[p], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
		die(ko_path[p]);
	close(fd);
	loaded = p;
	warm_provider();
}

/* ---- queues and contenders ---------------------------------------------------------- */

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

static long batch_call(mqd_t q, struct mq_peek_batch *b)
{
	long r = fcntl(q, F_MQ_PEEK_BATCH, b);

	return r < 0 ? -errno : r;
}

/* The batch's buffer for messages of @size: 1 MiB, or one whole record if larger. */
static long batch_buf(long size)
{
	return rec_len(size) > BATCH_BUF ? rec_len(size) : BATCH_BUF;
}

/* The whole queue with F_MQ_PEEK_BATCH; every message must come back whole. */
static void batch_dump(mqd_t q, long n, long size)
{
	struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)bbuf,
				   .buf_len = batch_buf(size) };
	long got = 0, r;

	while ((r = batch_call(q, &b)) > 0) {
		struct mq_peek_record rec;

		memcpy(&rec, bbuf, sizeof(rec));
		if ((long)rec.data_len != size || rec.rec_len != rec_len(size))
			die("batch record");
		got += r;
		b.offset += r;
	}
	if (r < 0 || got != n)
		die("F_MQ_PEEK_BATCH");
}

/*
 * The copy floor in batch_dump()'s shape: each call of the batch hands k records
 * (k * rec_len bytes, k = what fits in the buffer) to user space; pread() the
 * same number of bytes from a page-cached file, in as many calls.
 */
static void copy_floor_dump(long n, long size)
{
	long k = batch_buf(size) / rec_len(size);

	for (long done = 0; done < n; done += k) {
		long bytes = (n - done < k ? n - done : k) * rec_len(size);

		if (pread(floor_fd, bbuf, bytes, 0) != bytes)
			die("pread");
	}
}

enum { PEEK_FWD, PEEK_REV, PEEK_RAND, PEEK_RFC, PEEK_HEAD, BATCH_FWD, DRAIN, DRAIN_RESEND,
       SYSV, COPY_FLOOR };

static const struct contender {
	const char *name;
	int op, prov;
} cont[] = {
	/*
	 * One round's order; odd rounds run it backwards.  Each Rust contender and its
	 * C twin sit symmetrically around the one provider switch, the batches next to
	 * each other with the copy floor and the drain on either side.
	 */
	{ "peek_rev", PEEK_REV, RUST },
	{ "peek_rand", PEEK_RAND, RUST },
	{ "peek_fwd_rfc", PEEK_RFC, RUST },
	{ "drain_resend", DRAIN_RESEND, ANY },
	{ "sysv_copy", SYSV, ANY },
	{ "drain", DRAIN, ANY },
	{ "peek_fwd", PEEK_FWD, RUST },
	{ "peek_head", PEEK_HEAD, RUST },
	{ "copy_floor", COPY_FLOOR, ANY },
	{ "batch_fwd", BATCH_FWD, RUST },
	{ "c_batch_fwd", BATCH_FWD, CPEER },
	{ "c_peek_head", PEEK_HEAD, CPEER },
	{ "c_peek_fwd", PEEK_FWD, CPEER },
};
#define NC ((int)(sizeof(cont) / sizeof(cont[0])))

struct sysv_msg {
	long mtype;
	unsigned char text[];
};

/*
 * After a switch, run the new provider's paths a while, untimed: under TCG a freshly
 * loaded module's code is translated on its first runs, which would otherwise be
 * billed to the first contender after the switch.
 */
static void warm_provider(void)
{
	static const long lens[] = { 16, 100, 4096, 5000, 65536, 1 << 20 };
	struct mq_attr a = { .mq_maxmsg = 6, .mq_msgsize = 1 << 20 };
	mqd_t q;

	mq_unlink(QNAME "_warm");
	q = mq_open(QNAME "_warm", O_RDWR | O_CREAT, 0600, &a);
	if (q < 0)
		die("mq_open");
	mq_unlink(QNAME "_warm");
	for (int i = 0; i < 6; i++)
		if (mq_send(q, (char *)buf, lens[i], i % 3))
			die("mq_send");
	for (int r = 0; r < 20; r++) {
		for (int i = 0; i < 8; i++)
			peek(q, i, lens[i % 6]);
		for (int i = 0; i < 200; i++) {
			struct mq_peek_attr pa = { .offset = i % 8 - 1, .buf_len = 16,
						   .buf = (char *)buf };

			fcntl(q, F_MQ_PEEK, &pa);
		}
		if (batch_ok[loaded]) {
			struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)bbuf,
						   .buf_len = 2 * BATCH_BUF };

			while (batch_call(q, &b) > 0)
				b.offset++;
			b.offset = 0;
			b.buf_len = 4096;
			while (batch_call(q, &b) > 0)
				b.offset++;
		}
	}
	mq_close(q);
}

/* One read of a queue of n messages by contender c; returns seconds. */
static double run_once(const struct contender *c, long n, long size, int *perm,
		       unsigned char **store)
{
	double t0, t;
	mqd_t q = -1;
	int id = -1;

	if (c->op == SYSV) {
		struct sysv_msg *m = (struct sysv_msg *)buf;

		id = msgget(IPC_PRIVATE, 0600 | IPC_CREAT);
		if (id < 0)
			die("msgget");
		for (long i = 0; i < n; i++) {
			m->mtype = 1 + i % 8;
			if (msgsnd(id, m, size, 0))
				die("msgsnd");
		}
	} else if (c->op != COPY_FLOOR) {
		q = fill_posix(n, size);
	}
	t0 = now();
	switch (c->op) {
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
	case COPY_FLOOR:
		copy_floor_dump(n, size);
		break;
	}
	t = now() - t0;
	if (q >= 0) {
		mq_close(q);
		mq_unlink(QNAME);
	}
	if (id >= 0)
		msgctl(id, IPC_RMID, NULL);
	return t;
}

/*
 * Reads of a queue per run: a run covers at least 16384 messages or 64 MiB, so
 * that a run of a small queue lasts long enough (milliseconds) not to be decided
 * by one preemption of the VM on a busy host.
 */
static long reps_for(long n, long size)
{
	long by_msgs = (16384 + n - 1) / n, by_bytes = ((64L << 20) + n * size - 1) / (n * size);

	return by_msgs < by_bytes ? by_msgs : by_bytes;
}

/* One run of contender c: reps_for() reads, each of a fresh queue; seconds per message. */
static double run(const struct contender *c, long n, long size, int *perm,
		  unsigned char **store)
{
	long reps = reps_for(n, size);
	double t = 0;

	provider(c->prov);
	/* the RFC's algorithm in the module: its cursor off, for this run only */
	if (c->op == PEEK_RFC)
		write_file(DBG "use_cursor", 0);
	for (long i = 0; i < reps; i++)
		t += run_once(c, n, size, perm, store);
	if (c->op == PEEK_RFC)
		write_file(DBG "use_cursor", 1);
	return t / (n * reps);
}

/* The module's hold statistics: on, and reset, for one run. */
static void stats(int on)
{
	write_file(DBG "max_hold_ns", 0);
	write_file(DBG "holds_over_100us", 0);
	write_file(DBG "calls", 0);
	write_file(DBG "stats", on);
}

static int usable(const struct contender *c, long size)
{
	if (c->prov == CPEER && !have_c)
		return 0;
	if (c->op == BATCH_FWD && !batch_ok[c->prov])
		return 0;
	/* the floor is the batched dumps' yardstick, where copying dominates */
	if (c->op == COPY_FLOOR && size < 4096)
		return 0;
	return 1;
}

/*
 * Per message, each contender's time at each size for the n measured so far (the
 * warm-up), to predict the next n's: per message a + b * n through the last two
 * points when it grew by half or more (a walk from the head costs O(n) per
 * message), else constant (a smaller growth is a busy host, not a walk).
 */
static double per_msg[NC][4][3];

static double predict(int k, int si, int a)
{
	double p1, p2, b;

	if (a < 1 || !per_msg[k][si][a - 1])
		return 0;
	p2 = per_msg[k][si][a - 1];
	if (a < 2 || !per_msg[k][si][a - 2])
		return p2 * ns_list[a];
	p1 = per_msg[k][si][a - 2];
	b = (p2 - p1) / (ns_list[a - 1] - ns_list[a - 2]);
	return (p2 > 1.5 * p1 ? p2 + b * (ns_list[a] - ns_list[a - 1]) : p2) * ns_list[a];
}

static void cell(int a, int si, int *perm, unsigned char **store)
{
	long n = ns_list[a], size = sizes[si];
	int active[NC], k;

	for (k = 0; k < NC; k++) {
		double t = predict(k, si, a) * reps_for(n, size);

		active[k] = usable(&cont[k], size);
		if (active[k] && t > max_run) {
			printf("BENCH-SKIP %ld %ld %s: a run would take about %.0f s (over %.0f s)\n",
			       n, size, cont[k].name, t, max_run);
			active[k] = 0;
		}
	}
	/* round 0 is the warm-up; a long warm-up is the contender's only measurement */
	for (long r = 0; r <= rounds; r++) {
		for (int i = 0; i < NC; i++) {
			const struct contender *c;
			long hold = -1, over = -1, calls = -1;
			double t;

			k = r % 2 ? NC - 1 - i : i;
			c = &cont[k];
			if (!active[k])
				continue;
			if (!r && c->prov == RUST)
				stats(1);
			t = run(c, n, size, perm, store);
			if (!r && c->prov == RUST) {
				hold = read_file(DBG "max_hold_ns");
				over = read_file(DBG "holds_over_100us");
				calls = read_file(DBG "calls");
				stats(0);
				printf("BENCH-HOLD %ld:%ld %s %ld %ld %ld\n", n, size, c->name, hold,
				       over, calls);
			}
			if (!r)
				per_msg[k][si][a] = t;
			if (!r && t * n * reps_for(n, size) > LONG_RUN) {
				printf("BENCH-T dump %ld:%ld %s s %.1f\n", n, size, c->name, t * 1e9);
				active[k] = 0;
			} else {
				printf("BENCH-T dump %ld:%ld %s %s%.0ld %.1f\n", n, size, c->name,
				       r ? "" : "w", r, t * 1e9);
			}
			fflush(stdout);
		}
	}
}

/* ---- the anatomy of one peek, Rust and C ------------------------------------------- */

static long op_peek_at(mqd_t q, int off, size_t len, char *b)
{
	struct mq_peek_attr pa = { .offset = off, .buf_len = len, .buf = b };
	long r = fcntl(q, F_MQ_PEEK, &pa);

	return r < 0 ? -errno : r;
}

static long op_getfl(mqd_t q)
{
	return fcntl(q, F_GETFL) >= 0;
}

static long op_einval(mqd_t q)
{
	return op_peek_at(q, -1, 16, (char *)buf);
}

static long op_enomsg(mqd_t q)
{
	return op_peek_at(q, 1, 16, (char *)buf);
}

static long op_lenq(mqd_t q)
{
	return op_peek_at(q, 0, 0, NULL);
}

static long op_peek16(mqd_t q)
{
	return op_peek_at(q, 0, 16, (char *)buf);
}

/* The anatomy's second queue: one 4 KiB message, mq_msgsize 4 KiB. */
static mqd_t anat_q4k;

static long op_peek4k(mqd_t q)
{
	(void)q;
	return op_peek_at(anat_q4k, 0, 4096, (char *)buf);
}

static long op_send(mqd_t q)
{
	return mq_send(q, (char *)buf, 16, 1);
}

static long op_receive(mqd_t q)
{
	return mq_receive(q, (char *)buf, 16, NULL);
}

/*
 * Where a 16-byte peek's time goes, by subtraction: the fcntl() floor
 * (F_GETFL), F_MQ_PEEK failing after reading the attr (EINVAL), after finding
 * no message under the lock (ENOMSG), a length query, the whole peek; a send
 * and a receive of the same message for comparison; and the C peer's steps.
 * Interleaved: each round runs every step once (50,000 calls), in one order or
 * the reverse; the sends and receives stay a pair (the receives take the sends'
 * messages).  A 4 KiB peek of each provider, from a second queue, shows what
 * a message of more than the module's stack buffer adds (an allocation, a
 * page-sized copy in and out).
 */
static void anatomy(void)
{
	struct mq_attr a = { .mq_maxmsg = 50001, .mq_msgsize = 16 };
	struct mq_attr a4k = { .mq_maxmsg = 1, .mq_msgsize = 4096 };
	const long calls = 50000;
	static const struct {
		const char *name;
		long (*op)(mqd_t);
		long want;
		int prov;
	} ops[] = {
		{ "fcntl_getfl", op_getfl, 1, ANY },
		{ "peek_einval", op_einval, -EINVAL, RUST },
		{ "peek_enomsg", op_enomsg, -ENOMSG, RUST },
		{ "peek_length_query", op_lenq, 16, RUST },
		{ "mq_send+mq_receive", NULL, 0, ANY },
		/* the pair, next to each other around the provider switch */
		{ "peek_16", op_peek16, 16, RUST },
		{ "c_peek_16", op_peek16, 16, CPEER },
		{ "c_peek_enomsg", op_enomsg, -ENOMSG, CPEER },
		{ "c_peek_einval", op_einval, -EINVAL, CPEER },
		{ "c_peek_4k", op_peek4k, 4096, CPEER },
		{ "peek_4k", op_peek4k, 4096, RUST },
	};
	const int nops = sizeof(ops) / sizeof(ops[0]);
	int skip[sizeof(ops) / sizeof(ops[0])] = { 0 };
	mqd_t q;

	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT, 0600, &a);
	if (q < 0 || mq_send(q, (char *)buf, 16, 1))
		die("mq_open/mq_send");
	mq_unlink(QNAME "4k");
	anat_q4k = mq_open(QNAME "4k", O_RDWR | O_CREAT, 0600, &a4k);
	if (anat_q4k < 0 || mq_send(anat_q4k, (char *)buf, 4096, 1))
		die("mq_open/mq_send 4k");
	for (long r = 0; r <= rounds; r++) {
		for (int i = 0; i < nops; i++) {
			int k = r % 2 ? nops - 1 - i : i;
			char round[24] = "w";
			double t0, t1;

			if (skip[k] || (ops[k].prov == CPEER && !have_c))
				continue;
			if (r)
				snprintf(round, sizeof(round), "%ld", r);
			provider(ops[k].prov);
			if (!ops[k].op) {
				/* the queue holds one message; 50,000 sends, then receives */
				t0 = now();
				for (long j = 0; j < calls; j++)
					if (op_send(q))
						die("mq_send");
				t1 = now();
				for (long j = 0; j < calls; j++)
					if (op_receive(q) != 16)
						die("mq_receive");
				printf("BENCH-T anatomy - mq_send %s %.1f\n", round,
				       (t1 - t0) * 1e9 / calls);
				printf("BENCH-T anatomy - mq_receive %s %.1f\n", round,
				       (now() - t1) * 1e9 / calls);
				continue;
			}
			/* a provider without the step (an RFC-exact one has no length query) */
			if (ops[k].op(q) != ops[k].want) {
				printf("BENCH-NOTE anatomy: %s not supported by %s\n", ops[k].name,
				       prov_name[loaded]);
				skip[k] = 1;
				continue;
			}
			t0 = now();
			for (long j = 0; j < calls; j++)
				if (ops[k].op(q) != ops[k].want)
					die(ops[k].name);
			printf("BENCH-T anatomy - %s %s %.1f\n", ops[k].name, round,
			       (now() - t0) * 1e9 / calls);
		}
		fflush(stdout);
	}
	provider(RUST);
	mq_close(q);
	mq_unlink(QNAME);
	mq_close(anat_q4k);
	mq_unlink(QNAME "4k");
}

/* A 1-byte peek, and an ENOMSG, in queues of mq_msgsize 64 and 8 MiB, interleaved. */
static void msgsize_table(void)
{
	static const long msgsizes[] = { 64, 8 << 20 };
	const long calls = 20000;
	unsigned char *big = malloc(8 << 20);
	mqd_t q[2];

	if (!big)
		die("malloc");
	provider(RUST);
	for (int s = 0; s < 2; s++) {
		struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = msgsizes[s] };
		char name[32];

		snprintf(name, sizeof(name), QNAME "_%d", s);
		mq_unlink(name);
		q[s] = mq_open(name, O_RDWR | O_CREAT, 0600, &a);
		if (q[s] < 0 || mq_send(q[s], "x", 1, 0))
			die("mq_open/mq_send");
		mq_unlink(name);
	}
	for (long r = 0; r <= rounds; r++) {
		for (int i = 0; i < 4; i++) {
			int k = r % 2 ? 3 - i : i, s = k / 2, off = k % 2;
			struct mq_peek_attr pa = { .offset = off, .buf = (char *)big,
						   .buf_len = msgsizes[s] };
			double t0 = now();

			for (long j = 0; j < calls; j++)
				if (fcntl(q[s], F_MQ_PEEK, &pa) != (off ? -1 : 1))
					die("peek");
			printf("BENCH-T msgsize %ld %s %s%.0ld %.1f\n", msgsizes[s],
			       off ? "enomsg" : "peek_1byte", r ? "" : "w", r,
			       (now() - t0) * 1e9 / calls);
		}
	}
	mq_close(q[0]);
	mq_close(q[1]);
	free(big);
}

/* pread() of a page-cached file: a system call plus one copy_to_user(); interleaved. */
static void copy_table(void)
{
	static const long copy_sizes[] = { 16, 4096, 65536, 1 << 20 };
	const long file = 1 << 20;

	for (long r = 0; r <= rounds; r++) {
		for (int i = 0; i < 4; i++) {
			int k = r % 2 ? 3 - i : i;
			long size = copy_sizes[k], calls = size >= 65536 ? 200 : 20000;
			double t0 = now();

			for (long j = 0; j < calls; j++)
				if (pread(floor_fd, buf, size, (j * size) % file) != size)
					die("pread");
			printf("BENCH-T copy %ld pread %s%.0ld %.1f\n", size, r ? "" : "w", r,
			       (now() - t0) * 1e9 / calls);
		}
	}
}

/* ---- correctness of both providers, against a model of the queue -------------------- */

#define CHK_N	37
static long chk_len(int i)
{
	return (i * 997) % 9000;	/* 0 .. 8999: one, two and three segments */
}

static int chk_prio(int i)
{
	return (i * 7) % 5;
}

static void chk_payload(unsigned char *p, int i, long len)
{
	for (long j = 0; j < len; j++)
		p[j] = (unsigned char)(i * 31 + j * 7);
}

/* The index, in the order of the sends, of the message at receive index @at. */
static int chk_order(int at)
{
	for (int prio = 4, seen = 0; prio >= 0; prio--)
		for (int i = 0; i < CHK_N; i++)
			if (chk_prio(i) == prio && seen++ == at)
				return i;
	return -1;
}

static int check_fail;

static void expect(int ok, const char *what, long a, long b)
{
	if (!ok && check_fail++ < 10)
		printf("BENCH-CHECK %s: FAIL %s (offset/len %ld/%ld)\n", prov_name[loaded], what,
		       a, b);
}

/*
 * Answers of the loaded provider for a queue of CHK_N messages of 0 to 8999
 * bytes and 5 priorities, against the model: F_MQ_PEEK at every offset with
 * whole and truncating buffers, and F_MQ_PEEK_BATCH at several offsets and
 * buffer sizes (whole records only, the first one truncated to fit, zero
 * padding, used, curmsgs, the version unchanged, 0 past the end).  Returns the
 * number of answers checked.
 */
static long check_provider(mqd_t q, int batch, unsigned long long *version)
{
	static const long lens[] = { 9000, 100, 1 };
	static const long blens[] = { 24, 31, 100, 4096, 20000, 1 << 20 };
	static const long offs[] = { 0, 1, 5, 36, 37, 100 };
	unsigned char *want = malloc(9000);
	long answers = 0;

	for (int off = 0; off <= CHK_N; off++) {
		for (int l = 0; l < 3; l++) {
			struct mq_peek_attr pa = { .offset = off, .buf = (char *)buf,
						   .buf_len = lens[l] };
			long r = fcntl(q, F_MQ_PEEK, &pa), i = chk_order(off);

			answers++;
			if (off == CHK_N) {
				expect(r == -1 && errno == ENOMSG, "peek past the end", off, lens[l]);
				continue;
			}
			long len = chk_len(i) < lens[l] ? chk_len(i) : lens[l];

			chk_payload(want, i, len);
			expect(r == len && pa.msg_prio == (unsigned int)chk_prio(i) &&
			       !memcmp(buf, want, len), "peek", off, lens[l]);
		}
	}
	for (int o = 0; batch && o < 6; o++) {
		for (int l = 0; l < 6; l++) {
			struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)bbuf,
						   .buf_len = blens[l], .offset = offs[o] };
			long r, used = 0, recs = 0, at = offs[o];

			memset(bbuf, 0xa5, blens[l]);
			r = batch_call(q, &b);
			answers++;
			/* the model: whole records, the first truncated to fit */
			while (at < CHK_N) {
				int i = chk_order(at);
				long data = chk_len(i), len = rec_len(data);
				struct mq_peek_record *rec = (void *)(bbuf + used);

				if (len > blens[l] - used) {
					if (recs)
						break;
					data = (blens[l] - REC) & ~7L;
					len = REC + data;
				}
				chk_payload(want, i, data);
				expect(rec->rec_len == len && rec->msg_prio == (unsigned int)chk_prio(i) &&
				       (long)rec->msg_len == chk_len(i) && (long)rec->data_len == data &&
				       !memcmp(rec + 1, want, data), "batch record", at, blens[l]);
				for (long j = REC + data; j < len; j++)
					expect(!bbuf[used + j], "batch padding", at, blens[l]);
				used += len;
				recs++;
				at++;
			}
			expect(r == recs && (long)b.used == used && b.curmsgs == CHK_N,
			       "batch count", offs[o], blens[l]);
			if (!*version)
				*version = b.changes;
			expect(b.changes == *version, "batch version", offs[o], blens[l]);
		}
	}
	free(want);
	return answers;
}

/* Does the loaded provider speak the v3 batch ABI?  (A v2 module does not.) */
static int batch_v3(mqd_t q)
{
	struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)bbuf, .buf_len = 4096 };

	return batch_call(q, &b) > 0 && b.curmsgs == CHK_N && b.used >= (uint64_t)REC;
}

static void check(void)
{
	struct mq_attr a = { .mq_maxmsg = CHK_N, .mq_msgsize = 9000 };
	unsigned long long version[2] = { 0, 0 };
	struct mq_peek_batch b[2] = { { 0 } };
	mqd_t q;

	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT, 0600, &a);
	if (q < 0)
		die("mq_open");
	for (int i = 0; i < CHK_N; i++) {
		chk_payload(buf, i, chk_len(i));
		if (mq_send(q, (char *)buf, chk_len(i), chk_prio(i)))
			die("mq_send");
	}
	for (int p = RUST; p <= (have_c ? CPEER : RUST); p++) {
		long answers;

		provider(p);
		batch_ok[p] = batch_v3(q);
		if (!batch_ok[p])
			printf("BENCH-NOTE %s does not speak the v3 F_MQ_PEEK_BATCH: its batch is "
			       "not measured\n", prov_name[p]);
		answers = check_provider(q, batch_ok[p], &version[p]);
		if (batch_ok[p]) {
			b[p] = (struct mq_peek_batch){ .size = sizeof(b[p]), .buf = (uintptr_t)bbuf,
						       .buf_len = 24, .offset = 100 };
			batch_call(q, &b[p]);
		}
		printf("BENCH-CHECK %s: %ld answers %s\n", prov_name[p], answers,
		       check_fail ? "WRONG" : "right");
	}
	/* the same queue, unchanged, must have the same version for both */
	if (batch_ok[RUST] && have_c && batch_ok[CPEER] &&
	    (b[0].queue_id != b[1].queue_id || b[0].changes != b[1].changes)) {
		printf("BENCH-CHECK versions differ: %llu/%llu against %llu/%llu\n",
		       (unsigned long long)b[0].queue_id, (unsigned long long)b[0].changes,
		       (unsigned long long)b[1].queue_id, (unsigned long long)b[1].changes);
		check_fail++;
	}
	/* and peeking changed nothing: the receive order is the model's */
	for (int at = 0; at < CHK_N; at++) {
		int i = chk_order(at);
		unsigned int prio;

		chk_payload(bbuf, i, chk_len(i));
		if (mq_receive(q, (char *)buf, 9000, &prio) != chk_len(i) ||
		    prio != (unsigned int)chk_prio(i) || memcmp(buf, bbuf, chk_len(i))) {
			printf("BENCH-CHECK the queue changed (receive %d)\n", at);
			check_fail++;
			break;
		}
	}
	mq_close(q);
	mq_unlink(QNAME);
	provider(RUST);
	if (check_fail) {
		printf("BENCH-ERROR a provider gave a wrong answer: no timing\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long maxsize = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
	const char *floor_path = "/tmp/mq_peek_bench.dat";
	uint64_t rs = 88172645463325252ull;
	int quick = 0;

	mem_budget = argc > 1 ? atol(argv[1]) << 20 : 1L << 30;
	if (getenv("MQ_PEEK_BENCH_ONLY") &&
	    sscanf(getenv("MQ_PEEK_BENCH_ONLY"), "%ld:%ld", &only_n, &only_size) == 2)
		only = 1;
	if (getenv("MQ_PEEK_BENCH_ROUNDS"))
		rounds = atol(getenv("MQ_PEEK_BENCH_ROUNDS"));
	if (getenv("MQ_PEEK_BENCH_MAX_RUN"))
		max_run = atof(getenv("MQ_PEEK_BENCH_MAX_RUN"));
	quick = !!getenv("MQ_PEEK_BENCH_ANATOMY");
	ko_path[RUST] = getenv("MQ_PEEK_KO") ?: "/lib/modules/mq_peek.ko";
	ko_path[CPEER] = getenv("MQ_PEEK_C_KO") ?: "/opt/mq_peek_c.ko";
	have_c = !access(ko_path[CPEER], R_OK);
	if (!have_c)
		printf("BENCH-NOTE no C peer at %s: Rust alone\n", ko_path[CPEER]);
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	write_file("/proc/sys/fs/mqueue/msg_max", 65536);
	write_file("/proc/sys/fs/mqueue/msgsize_max", 16 << 20);
	write_file("/proc/sys/kernel/msgmax", maxsize);
	write_file("/proc/sys/kernel/msgmnb", 2147483647L);
	buf = malloc(maxsize + sizeof(long) + 16);
	bbuf = malloc(2 * BATCH_BUF);
	if (!buf || !bbuf)
		die("malloc");
	memset(buf, 0x5a, maxsize + sizeof(long));
	memset(bbuf, 0x5a, 2 * BATCH_BUF);
	/* the page-cached file of the copy floor */
	floor_fd = open(floor_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (floor_fd < 0 || write(floor_fd, bbuf, 2 * BATCH_BUF) != 2 * BATCH_BUF)
		die("copy floor file");
	unlink(floor_path);
	if (read_file(DBG "use_cursor") < 0)
		printf("BENCH-NOTE no %suse_cursor: mq_peek.ko not loaded?\n", DBG);
	printf("BENCH-CONFIG rounds %ld max_run %.0f long_run %.0f c_peer %d\n", rounds, max_run,
	       LONG_RUN, have_c);

	check();
	for (size_t a = 0; !quick && a < sizeof(ns_list) / sizeof(ns_list[0]); a++) {
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
			if (!perm || !store)
				die("malloc");
			for (long i = 0; i < n; i++) {
				perm[i] = i;
				store[i] = malloc(size + 1);
				if (!store[i])
					die("malloc");
			}
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
			cell(a, b, perm, store);
			for (long i = 0; i < n; i++)
				free(store[i]);
			free(perm);
			free(store);
		}
	}
	anatomy();
	if (!only && !quick)
		msgsize_table();
	copy_table();
	provider(RUST);
	printf("BENCH-DONE\n");
	return 0;
}
