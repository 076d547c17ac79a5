// SPDX-License-Identifier: GPL-2.0
/*
 * mq_criu_bench - what `criu dump` pays for a POSIX message queue, against
 * what draining the same queue would cost.  Runs inside the release VM with
 * mq_peek.ko loaded and CRIU with criu/patches/ (scripts/bench-criu.sh);
 * prints raw times, which bench/render_criu.py turns into ratios.
 *
 * For each cell (n messages of one size: 65,536 x 16 B and 1,024 x 64 KiB),
 * six contenders, each on a fresh queue of n messages (mq_maxmsg n,
 * mq_msgsize size, priorities 0-3, filled before the clock starts):
 *   dump_queue     `criu dump -t PID -v4` of a holder process that has the
 *                  queue open (the holder is this program exec'd anew, so its
 *                  memory is the same in both dumps; criu dump kills it)
 *   dump_empty     the same holder without the queue
 *   dump_drain     `criu dump --posix-mqueue-drain` of the holder with the
 *                  queue and mq_peek.ko unloaded (rmmod before the holder
 *                  starts, insmod after the dump, both off the clock): what
 *                  draining the queue costs a dump, image and put-back included
 *   drain          mq_receive() of all n messages into one buffer, in this
 *                  process: the floor, every byte copied to user space once
 *   drain_resend   receive all n into a buffer each, then mq_send() them all
 *                  back (CRIU's intrusive fallback, the RFC's "drain/re-enqueue")
 *   batch_read     F_MQ_PEEK_BATCH over the whole queue into one reused buffer
 *                  of 1 MiB, as the CRIU series calls it, and nothing else: the
 *                  kernel's part of the dump's read
 * After a warm-up round, each of ROUNDS rounds runs every contender once, in
 * one order on even rounds and the reverse on odd ones, so a drift of the
 * host's speed hits every member of a round alike.  The queue's share of a
 * dump is dump_queue - dump_empty of the same round; and, from the timestamps
 * of the dump's own -v4 log, the read of the queue (from the log line before
 * "Read N messages of queue" to it: F_MQ_PEEK_BATCH and the writing of each
 * batch's messages to posix-mqueue-data.img; in dump_drain, to "Drained N
 * messages of queue": receive all, write them, send them back) and the writing
 * of its entry (from
 * "Dumping queue" to the next line: the queue's protobuf entry).  Prints
 *   BENCH-CRIU n:size contender round ns        (round "w": warm-up)
 *   BENCH-CRIU-STAGE n:size contender round stage ns
 *                       (stage: total, the log's first to last line; read; image)
 *   BENCH-CRIU-IMG n:size bytes                 (the images of a dump)
 *   BENCH-CRIU-NOTE text
 * and BENCH-CRIU-DONE at the end.
 *
 * usage: mq_criu_bench [ROUNDS]   (environment: MQ_PEEK_BENCH_CRIU=/usr/sbin/criu,
 *                                  MQ_PEEK_BENCH_ONLY=N:SIZE one cell)
 *        mq_criu_bench hold NAME N SIZE FD   (the holder, internal)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "mq_peek.h"

#define QNAME "/mq-criu-bench"
#define WORKDIR "/tmp/mq-criu-bench"

static const char *criu = "/usr/sbin/criu";

static void die(const char *what)
{
	fprintf(stderr, "mq_criu_bench: %s: %s\n", what, strerror(errno));
	printf("BENCH-CRIU-NOTE failed: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill_msg(char *buf, size_t size, long i)
{
	memset(buf, 'a' + i % 26, size);
	if (size >= sizeof(i))
		memcpy(buf, &i, sizeof(i));
}

/* Create QNAME with n messages of size bytes; returns the descriptor. */
static mqd_t make_queue(long n, long size)
{
	struct mq_attr attr = { .mq_maxmsg = n, .mq_msgsize = size };
	char *buf = malloc(size);
	mqd_t q;
	long i;

	if (!buf)
		die("malloc");
	mq_unlink(QNAME);
	q = mq_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (q == (mqd_t)-1)
		die("mq_open");
	for (i = 0; i < n; i++) {
		fill_msg(buf, size, i);
		if (mq_send(q, buf, size, i % 4))
			die("mq_send (fill)");
	}
	free(buf);
	return q;
}

/* The process criu dumps: a session of its own, the queue (if n), pause. */
static int holder(char **argv)
{
	long n = atol(argv[3]), size = atol(argv[4]);
	int fd = atoi(argv[5]), null;

	if (setsid() < 0)
		die("setsid");
	if (n)
		make_queue(n, size);
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		die("/dev/null");
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	if (write(fd, "r", 1) != 1)
		return 1;
	close(fd);
	for (;;)
		pause();
}

static pid_t start_holder(long n, long size)
{
	char ns[32], ss[32], fds[16];
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		die("pipe");
	snprintf(ns, sizeof(ns), "%ld", n);
	snprintf(ss, sizeof(ss), "%ld", size);
	snprintf(fds, sizeof(fds), "%d", p[1]);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[0]);
		execl("/proc/self/exe", "mq_criu_bench", "hold", QNAME, ns, ss, fds, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		errno = EIO;
		die("the holder did not start");
	}
	close(p[0]);
	return pid;
}

static int run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t dir_bytes(const char *dir)
{
	char cmd[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "du -sk %s", dir);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%llu", &kb) != 1)
			kb = 0;
		pclose(f);
	}
	return kb * 1024;
}

static void stages(const char *key, const char *name, const char *round);

/*
 * mq_peek.ko off (rmmod) or back on (insmod): for dump_drain, which CRIU takes
 * only on a kernel without F_MQ_PEEK.
 */
static void module(int on)
{
	const char *ko = getenv("MQ_PEEK_KO");
	char cmd[512];

	if (on)
		snprintf(cmd, sizeof(cmd), "insmod %s", ko && *ko ? ko : "/lib/modules/mq_peek.ko");
	else
		snprintf(cmd, sizeof(cmd), "rmmod mq_peek");
	if (system(cmd)) {
		errno = EIO;
		die(cmd);
	}
}

/*
 * criu dump of a holder with (n > 0) or without the queue, with
 * --posix-mqueue-drain and mq_peek.ko unloaded if drain; ns, or 0 on failure.
 */
static uint64_t dump(long n, long size, int drain, const char *key, const char *name,
		     const char *round)
{
	char pids[32];
	char *argv[] = { (char *)criu, "dump", "-t", pids, "-D", WORKDIR "/img",
			 "-o", "dump.log", "-v4", drain ? "--posix-mqueue-drain" : NULL, NULL };
	uint64_t t0, t;
	pid_t pid;
	int rc, st;

	if (system("rm -rf " WORKDIR "/img") || mkdir(WORKDIR "/img", 0700))
		die("mkdir " WORKDIR "/img");
	if (drain)
		module(0);
	pid = start_holder(n, size);
	snprintf(pids, sizeof(pids), "%d", pid);
	t0 = now_ns();
	rc = run(argv);
	t = now_ns() - t0;
	if (rc) {
		printf("BENCH-CRIU-NOTE %s: criu dump exited %d; the end of its log:\n", key, rc);
		fflush(stdout);
		if (system("tail -n 15 " WORKDIR "/img/dump.log | sed 's/^/BENCH-CRIU-NOTE   /'"))
			printf("BENCH-CRIU-NOTE (no log)\n");
		kill(pid, SIGKILL);
		t = 0;
	} else {
		stages(key, name, round);
	}
	waitpid(pid, &st, 0);
	mq_unlink(QNAME);
	if (drain)
		module(1);
	return t;
}

/* F_MQ_PEEK_BATCH over the whole queue, as CRIU reads it; ns. */
static uint64_t batch_read(long n, long size)
{
	size_t buf_len = 1 << 20;
	mqd_t q = make_queue(n, size);
	char *buf = malloc(buf_len);
	uint64_t off = 0, t0, t;
	int got;

	if (!buf)
		die("malloc");
	memset(buf, 0, buf_len);
	t0 = now_ns();
	do {
		struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)buf,
					   .buf_len = buf_len, .offset = off };

		got = fcntl(q, F_MQ_PEEK_BATCH, &b);
		if (got < 0)
			die("F_MQ_PEEK_BATCH");
		off += got;
	} while (got);
	t = now_ns() - t0;
	if (off != (uint64_t)n) {
		errno = EPROTO;
		die("F_MQ_PEEK_BATCH read a wrong number of messages");
	}
	free(buf);
	mq_close(q);
	mq_unlink(QNAME);
	return t;
}

/* Receive all n (and, if resend, send them all back); ns. */
static uint64_t drain(long n, long size, int resend)
{
	mqd_t q = make_queue(n, size);
	char *bufs = malloc((size_t)n * size);
	unsigned int *prio = malloc(n * sizeof(*prio));
	uint64_t t0, t;
	long i;

	if (!bufs || !prio)
		die("malloc");
	/* Touch the buffers before the clock starts. */
	memset(bufs, 0, (size_t)n * size);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (mq_receive(q, bufs + (size_t)(resend ? i : 0) * size, size, &prio[i]) != size)
			die("mq_receive");
	if (resend)
		for (i = 0; i < n; i++)
			if (mq_send(q, bufs + (size_t)i * size, size, prio[i]))
				die("mq_send (resend)");
	t = now_ns() - t0;
	free(bufs);
	free(prio);
	mq_close(q);
	mq_unlink(QNAME);
	return t;
}

/* "(ss.uuuuuu) text": the timestamp in ns, or -1. */
static long long stamp(const char *line)
{
	unsigned long s, us;

	if (sscanf(line, "(%lu.%lu)", &s, &us) != 2)
		return -1;
	return (long long)s * 1000000000ll + (long long)us * 1000ll;
}

/*
 * Where a -v4 dump spends its time: the log's first and last stamps, the read
 * of the queue (from the line before "Read N messages of queue", or "Drained N
 * messages of queue", to it), and
 * the rest of the queue's dump (from it to the line after "Dumping queue",
 * i.e. the queue's entry written).
 */
static void stages(const char *key, const char *name, const char *round)
{
	FILE *f = fopen(WORKDIR "/img/dump.log", "r");
	char line[4096];
	long long first = -1, last = -1, prev = -1, before_read = -1, read = -1, dumping = -1,
		  after = -1, t;
	int want_after = 0;

	if (!f) {
		printf("BENCH-CRIU-NOTE %s: no dump.log\n", key);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		t = stamp(line);
		if (t < 0)
			continue;
		if (first < 0)
			first = t;
		last = t;
		if (want_after) {
			after = t;
			want_after = 0;
		}
		if (strstr(line, "messages of queue /") &&
		    (strstr(line, "Read ") || strstr(line, "Drained "))) {
			before_read = prev;
			read = t;
		}
		if (strstr(line, "Dumping queue /")) {
			dumping = t;
			want_after = 1;
		}
		prev = t;
	}
	fclose(f);
	printf("BENCH-CRIU-STAGE %s %s %s total %lld\n", key, name, round, last - first);
	if (read >= 0 && before_read >= 0)
		printf("BENCH-CRIU-STAGE %s %s %s read %lld\n", key, name, round, read - before_read);
	if (dumping >= 0 && after >= 0)
		printf("BENCH-CRIU-STAGE %s %s %s image %lld\n", key, name, round, after - dumping);
}

static void cell(long n, long size, int rounds)
{
	enum { DUMP_QUEUE, DUMP_EMPTY, DUMP_DRAIN, DRAIN, DRAIN_RESEND, BATCH_READ, NC };
	static const char *const names[NC] = { "dump_queue", "dump_empty", "dump_drain", "drain",
					       "drain_resend", "batch_read" };
	char key[64];
	int r, i;

	snprintf(key, sizeof(key), "%ld:%ld", n, size);
	for (r = -1; r < rounds; r++) {
		char rs[16];

		if (r < 0)
			snprintf(rs, sizeof(rs), "w");
		else
			snprintf(rs, sizeof(rs), "%d", r);
		for (i = 0; i < NC; i++) {
			int c = (r & 1) ? NC - 1 - i : i;
			uint64_t t = 0;

			switch (c) {
			case DUMP_QUEUE:
				t = dump(n, size, 0, key, names[c], rs);
				if (t && r == rounds - 1)
					printf("BENCH-CRIU-IMG %s %llu\n", key,
					       (unsigned long long)dir_bytes(WORKDIR "/img"));
				break;
			case DUMP_EMPTY:
				t = dump(0, size, 0, key, names[c], rs);
				break;
			case DUMP_DRAIN:
				t = dump(n, size, 1, key, names[c], rs);
				break;
			case DRAIN:
				t = drain(n, size, 0);
				break;
			case DRAIN_RESEND:
				t = drain(n, size, 1);
				break;
			case BATCH_READ:
				t = batch_read(n, size);
				break;
			}
			if (t)
				printf("BENCH-CRIU %s %s %s %llu\n", key, names[c], rs,
				       (unsigned long long)t);
			fflush(stdout);
		}
	}
}

static void sysctl(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f))
		die(path);
}

int main(int argc, char **argv)
{
	static const long cells[][2] = { { 65536, 16 }, { 1024, 65536 } };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	const char *only = getenv("MQ_PEEK_BENCH_ONLY"), *c = getenv("MQ_PEEK_BENCH_CRIU");
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	unsigned int i;

	if (argc == 6 && !strcmp(argv[1], "hold"))
		return holder(argv);
	if (c && *c)
		criu = c;
	if (rounds < 1) {
		fprintf(stderr, "usage: mq_criu_bench [ROUNDS]\n");
		return 2;
	}
	/* The queues are far above the defaults: raise the IPC namespace's limits. */
	sysctl("/proc/sys/fs/mqueue/msg_max", 65536);
	sysctl("/proc/sys/fs/mqueue/msgsize_max", 65536);
	sysctl("/proc/sys/fs/mqueue/queues_max", 256);
	if (setrlimit(RLIMIT_MSGQUEUE, &unlimited))
		die("RLIMIT_MSGQUEUE");
	if (mkdir(WORKDIR, 0700) && errno != EEXIST)
		die("mkdir " WORKDIR);
	if (chdir(WORKDIR))
		die("chdir");
	printf("BENCH-CRIU-NOTE rounds %d, criu %s\n", rounds, criu);
	for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "%ld:%ld", cells[i][0], cells[i][1]);
		if (only && *only && strcmp(only, key))
			continue;
		cell(cells[i][0], cells[i][1], rounds);
	}
	printf("BENCH-CRIU-DONE\n");
	return 0;
}
