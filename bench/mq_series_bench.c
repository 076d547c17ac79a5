// SPDX-License-Identifier: GPL-2.0
/*
 * mq_series_bench - what the kernel series costs a plain mq_send()+mq_receive()
 * pair.  Run in one boot of the patched release kernel (mq_peek.ko loaded) and
 * in one of the unpatched one (scripts/bench-series.sh alternates the boots);
 * bench/render_series.py pairs them.
 *
 * Contenders, each a block of ITERS operations timed as one:
 *   pair_d0      mq_send() of 16 B then mq_receive() of it, on an empty queue
 *   pair_d1024   the same on a queue holding 1,024 messages of the same
 *                priority (the send goes to the tail, the receive takes the head:
 *                the depth stays 1,024), where the series' bookkeeping of the
 *                peek position would show if it cost anything per message
 *   ref_pipe     write() of 16 B to a pipe then read() of it: the reference,
 *                measured in the same rounds, so that the host's speed, which
 *                differs from boot to boot, cancels in pair / ref_pipe
 * Both queues have mq_maxmsg 2048 and mq_msgsize 16.  After a warm-up round,
 * each of ROUNDS rounds runs every contender once, in one order on even rounds
 * and the reverse on odd ones.  Prints
 *   BENCH-SERIES LABEL contender round ns_per_op     (round "w": warm-up)
 * and BENCH-SERIES-DONE LABEL.
 *
 * usage: mq_series_bench LABEL [ROUNDS [ITERS]]   (defaults 21, 50000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#define MAXMSG 2048
#define MSGSIZE 16

static void die(const char *what)
{
	fprintf(stderr, "mq_series_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static mqd_t queue(const char *name, long depth)
{
	struct mq_attr attr = { .mq_maxmsg = MAXMSG, .mq_msgsize = MSGSIZE };
	char buf[MSGSIZE];
	mqd_t q;
	long i;

	mq_unlink(name);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (q == (mqd_t)-1)
		die("mq_open");
	mq_unlink(name);
	for (i = 0; i < depth; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (mq_send(q, buf, sizeof(buf), 0))
			die("mq_send (fill)");
	}
	return q;
}

static double pairs(mqd_t q, long iters)
{
	char buf[MSGSIZE] = "0123456789abcde", in[MSGSIZE];
	unsigned int prio;
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++) {
		if (mq_send(q, buf, sizeof(buf), 0))
			die("mq_send");
		if (mq_receive(q, in, sizeof(in), &prio) != MSGSIZE)
			die("mq_receive");
	}
	return (double)(now_ns() - t0) / iters;
}

static double pipes(const int p[2], long iters)
{
	char buf[MSGSIZE] = "0123456789abcde", in[MSGSIZE];
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++) {
		if (write(p[1], buf, sizeof(buf)) != MSGSIZE)
			die("write");
		if (read(p[0], in, sizeof(in)) != MSGSIZE)
			die("read");
	}
	return (double)(now_ns() - t0) / iters;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "pair_d0", "pair_d1024", "ref_pipe" };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	int rounds = argc > 2 ? atoi(argv[2]) : 21, r, i, p[2];
	long iters = argc > 3 ? atol(argv[3]) : 50000;
	mqd_t q0, q1024;
	FILE *f;

	if (argc < 2 || rounds < 1 || iters < 1) {
		fprintf(stderr, "usage: mq_series_bench LABEL [ROUNDS [ITERS]]\n");
		return 2;
	}
	/* mq_maxmsg 2048 is above the default fs.mqueue.msg_max (10). */
	f = fopen("/proc/sys/fs/mqueue/msg_max", "w");
	if (!f || fprintf(f, "%d\n", MAXMSG) < 0 || fclose(f))
		die("/proc/sys/fs/mqueue/msg_max");
	if (setrlimit(RLIMIT_MSGQUEUE, &unlimited))
		die("RLIMIT_MSGQUEUE");
	if (pipe(p))
		die("pipe");
	q0 = queue("/mq-series-bench-0", 0);
	q1024 = queue("/mq-series-bench-1024", 1024);
	for (r = -1; r < rounds; r++) {
		for (i = 0; i < 3; i++) {
			int c = (r & 1) ? 2 - i : i;
			double ns;

			if (c == 0)
				ns = pairs(q0, iters);
			else if (c == 1)
				ns = pairs(q1024, iters);
			else
				ns = pipes(p, iters);
			if (r < 0)
				printf("BENCH-SERIES %s %s w %.1f\n", argv[1], names[c], ns);
			else
				printf("BENCH-SERIES %s %s %d %.1f\n", argv[1], names[c], r, ns);
			fflush(stdout);
		}
	}
	printf("BENCH-SERIES-DONE %s\n", argv[1]);
	return 0;
}
