// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_storm - F_MQ_PEEK under concurrent load, with the module cycled.
 *
 * Senders and receivers move self-checking messages (magic, sequence number,
 * priority, length, checksum over a payload derived from the sequence number)
 * through a queue while peekers read random and sequential offsets and batch
 * readers read runs of records with F_MQ_PEEK_BATCH; other threads unlink and
 * re-create the queue, swap descriptors under everybody's feet, arm and disarm
 * mq_notify(), and unload and reload mq_peek.ko.  Every successful peek must be
 * a whole, real message carrying its true priority: never torn, never stale
 * memory; every batched record too, in receive order (priorities never rise
 * within a call), only the first of a call truncated.  Every failed peek must
 * be one of the errors this load can explain: ENOMSG (offset past the end),
 * EINVAL (no provider while the module is out), EBADF (a descriptor closed
 * meanwhile).
 *
 * Options (environment): MQ_PEEK_STORM_SECS (default 20),
 * MQ_PEEK_STORM_THREADS (peekers; senders and receivers get half as many,
 * default 4), MQ_PEEK_SEED.  The module is cycled when MQ_PEEK_KO gives its
 * path (as the test VM does); MQ_PEEK_STORM_MODULE=0 leaves it alone, =1
 * insists (the test is skipped without MQ_PEEK_KO).
 */
#define _GNU_SOURCE
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define QNAME		"/mq_peek_storm"
#define MAXMSG		32
/* up to three msg_msg segments */
#define MSGSIZE		(DATALEN_MSG + DATALEN_SEG + 1000)
#define MAGIC		0x6d717065u

struct hdr {
	uint32_t magic, seq, prio, len, sum;
};

static atomic_int cur_fd = -1;
static atomic_bool stop;
static atomic_uint next_seq;
static atomic_ulong n_send, n_recv, n_peek_ok, n_peek_trunc, n_enomsg, n_einval, n_ebadf;
static atomic_ulong n_unlink, n_reopen, n_notify, n_unload, n_load, n_busy, n_bad;
static atomic_ulong n_batch, n_batch_rec, n_batch_trunc, n_batch_end;
static const char *ko;
static unsigned int seed;

static uint32_t checksum(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t make_msg(unsigned char *buf, uint64_t *s, unsigned int *prio)
{
	struct hdr h;
	size_t len = sizeof(h) + rnd(s) % (MSGSIZE - sizeof(h) + 1);

	h.magic = MAGIC;
	h.seq = atomic_fetch_add(&next_seq, 1);
	h.prio = rnd(s) % 32;
	h.len = len;
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = pat(h.seq, i);
	h.sum = checksum(buf + sizeof(h), len - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	*prio = h.prio;
	return len;
}

/*
 * A message (or its first @n bytes when @n < full length) is real: header
 * consistent with the length and priority the kernel reported, payload equal
 * to the pattern of its sequence number.
 */
static int verify(const unsigned char *buf, size_t n, unsigned int prio, int full)
{
	struct hdr h;

	if (n < sizeof(h))
		return full ? -1 : 0;	/* too short to judge a prefix */
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MAGIC || h.prio != prio || h.len > MSGSIZE || h.len < sizeof(h))
		return -1;
	if (full && (h.len != n || checksum(buf + sizeof(h), n - sizeof(h)) != h.sum))
		return -1;
	for (size_t i = sizeof(h); i < n; i++)
		if (buf[i] != pat(h.seq, i))
			return -1;
	return 0;
}

static void bad(const char *what, long ret, int err)
{
	atomic_fetch_add(&n_bad, 1);
	fprintf(stderr, "# storm: %s: ret %ld errno %d (%s)\n", what, ret, err, strerror(err));
}

/* The absolute deadline of a timed send or receive: 2 ms from now. */
static struct timespec soon(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 2000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static void *sender(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	unsigned char *buf = malloc(MSGSIZE);
	unsigned int prio;

	while (!atomic_load(&stop)) {
		struct timespec ts = soon();
		size_t len = make_msg(buf, &s, &prio);

		if (!mq_timedsend(atomic_load(&cur_fd), (char *)buf, len, prio, &ts))
			atomic_fetch_add(&n_send, 1);
	}
	free(buf);
	return NULL;
}

static void *receiver(void *arg)
{
	unsigned char *buf = malloc(MSGSIZE);
	unsigned int prio;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct timespec ts = soon();
		ssize_t n;

		n = mq_timedreceive(atomic_load(&cur_fd), (char *)buf, MSGSIZE, &prio, &ts);
		if (n >= 0) {
			atomic_fetch_add(&n_recv, 1);
			if (verify(buf, n, prio, 1))
				bad("received message corrupt", n, 0);
		}
	}
	free(buf);
	return NULL;
}

static void *peeker(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	unsigned char *buf = malloc(MSGSIZE);
	int seq_off = 0;

	while (!atomic_load(&stop)) {
		/* alternate a sequential scan with random offsets and lengths */
		int sequential = rnd(&s) % 2;
		int off = sequential ? seq_off++ : (int)(rnd(&s) % (MAXMSG + 2));
		size_t len = rnd(&s) % 4 ? MSGSIZE : 1 + rnd(&s) % MSGSIZE;
		struct mq_peek_attr pa = { .offset = off, .buf_len = len, .buf = (char *)buf };
		long ret = fcntl(atomic_load(&cur_fd), F_MQ_PEEK, &pa);
		int err = errno;

		if (ret >= 0) {
			/* fewer bytes than asked for: that is the whole message */
			int full = (size_t)ret < len;

			if ((size_t)ret > len || verify(buf, ret, pa.msg_prio, full))
				bad("peeked message corrupt", ret, 0);
			if (!full)
				atomic_fetch_add(&n_peek_trunc, 1);
			atomic_fetch_add(&n_peek_ok, 1);
			continue;
		}
		if (err == ENOMSG) {
			seq_off = 0;
			atomic_fetch_add(&n_enomsg, 1);
		} else if (err == EINVAL) {
			atomic_fetch_add(&n_einval, 1);
		} else if (err == EBADF) {
			atomic_fetch_add(&n_ebadf, 1);
		} else {
			bad("peek failed", ret, err);
		}
	}
	free(buf);
	return NULL;
}

/* F_MQ_PEEK_BATCH with random buffer sizes from sequential and random offsets. */
static void *batcher(void *arg)
{
	const size_t hdr = sizeof(struct mq_peek_record), max = 4 * MSGSIZE;
	uint64_t s = (uintptr_t)arg;
	unsigned char *buf = malloc(max);
	unsigned int seq_off = 0;

	while (!atomic_load(&stop)) {
		int sequential = rnd(&s) % 2;
		struct mq_peek_batch b = {
			.size = sizeof(b),
			.buf = (uintptr_t)buf,
			.buf_len = hdr + rnd(&s) % (max - hdr + 1),
			.offset = sequential ? seq_off : rnd(&s) % (MAXMSG + 2),
		};
		long ret = fcntl(atomic_load(&cur_fd), F_MQ_PEEK_BATCH, &b);
		int err = errno;
		unsigned int last_prio = ~0u;
		size_t at = 0;

		if (ret < 0) {
			if (err == EINVAL)
				atomic_fetch_add(&n_einval, 1);
			else if (err == EBADF)
				atomic_fetch_add(&n_ebadf, 1);
			else
				bad("batch failed", ret, err);
			continue;
		}
		atomic_fetch_add(&n_batch, 1);
		if (ret == 0) {
			seq_off = 0;
			atomic_fetch_add(&n_batch_end, 1);
			if (b.used || b.offset < b.curmsgs)
				bad("empty batch inconsistent", ret, 0);
			continue;
		}
		if (b.used > b.buf_len || b.used % 8 || b.offset + ret > b.curmsgs)
			bad("batch counts inconsistent", ret, 0);
		for (long i = 0; i < ret; i++) {
			struct mq_peek_record r;
			int full;

			if (at + hdr > b.used) {
				bad("batch records past used", i, 0);
				break;
			}
			memcpy(&r, buf + at, hdr);
			full = r.data_len == r.msg_len;
			if (r.data_len > r.msg_len || at + r.rec_len > b.used ||
			    r.rec_len != hdr + ((r.data_len + 7) & ~7ull) ||
			    /* only a lone first record, and only to fill the buffer */
			    (!full && (i || ret != 1 ||
				       r.data_len != ((b.buf_len - hdr) & ~7ull))) ||
			    r.msg_prio > last_prio ||
			    verify(buf + at + hdr, r.data_len, r.msg_prio, full))
				bad("batched record corrupt", i, 0);
			last_prio = r.msg_prio;
			if (!full)
				atomic_fetch_add(&n_batch_trunc, 1);
			atomic_fetch_add(&n_batch_rec, 1);
			at += r.rec_len;
		}
		if (at != b.used)
			bad("used is not the sum of rec_len", at, 0);
		if (sequential)
			seq_off += ret;
	}
	free(buf);
	return NULL;
}

static mqd_t open_q(int create)
{
	struct mq_attr attr = { .mq_maxmsg = MAXMSG, .mq_msgsize = MSGSIZE };

	return mq_open(QNAME, O_RDWR | (create ? O_CREAT : 0), 0600, &attr);
}

/* Swap in a fresh descriptor and close the old one under everybody's feet. */
static void *reopener(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		mqd_t fd = open_q(1);

		if (fd >= 0) {
			close(atomic_exchange(&cur_fd, fd));
			atomic_fetch_add(&n_reopen, 1);
		}
		usleep(3000);
	}
	return NULL;
}

/* Unlink the queue; the next reopen creates a new, empty one. */
static void *unlinker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usleep(50000);
		if (!mq_unlink(QNAME))
			atomic_fetch_add(&n_unlink, 1);
	}
	return NULL;
}

static void *notifier(void *arg)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };

	(void)arg;
	while (!atomic_load(&stop)) {
		mqd_t fd = atomic_load(&cur_fd);

		if (!mq_notify(fd, &sev))
			atomic_fetch_add(&n_notify, 1);
		usleep(1000);
		mq_notify(fd, NULL);
	}
	return NULL;
}

static void *module_cycler(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		/* loading is slow under TCG+KASAN: stay loaded most of the time */
		usleep(1000000);
		if (atomic_load(&stop))
			break;
		if (syscall(SYS_delete_module, "mq_peek", O_NONBLOCK)) {
			atomic_fetch_add(&n_busy, 1);	/* a peek held it: EWOULDBLOCK */
			continue;
		}
		atomic_fetch_add(&n_unload, 1);
		int fd = open(ko, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
			bad("reload mq_peek.ko", -1, errno);
			atomic_store(&stop, true);
		} else {
			atomic_fetch_add(&n_load, 1);
		}
		close(fd);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

static void on_usr1(int sig)
{
	(void)sig;
}

FIXTURE(storm) {
	int unused;
};

FIXTURE_SETUP(storm)
{
	raise_mq_limits(0, 0);
	mq_unlink(QNAME);
}

FIXTURE_TEARDOWN(storm)
{
	mq_unlink(QNAME);
}

TEST_F_TIMEOUT(storm, run, 600)
{
	int secs = env_int("MQ_PEEK_STORM_SECS", 20);
	int np = env_int("MQ_PEEK_STORM_THREADS", 4);
	int cycle;
	pthread_t t[64];
	int nt = 0;

	seed = env_int("MQ_PEEK_SEED", (int)time(NULL));
	ko = getenv("MQ_PEEK_KO");
	cycle = env_int("MQ_PEEK_STORM_MODULE", !!ko);
	if (cycle && !ko)
		SKIP(return, "MQ_PEEK_KO is not set: cannot cycle the module");
	if (np < 2)
		np = 2;
	if (np > 16)
		np = 16;
	TH_LOG("seed %u, %d s, %d peekers, %d senders, %d receivers, module cycling %s",
	       seed, secs, np, np / 2, np / 2, cycle ? "on" : "off");
	signal(SIGUSR1, on_usr1);
	atomic_store(&cur_fd, open_q(1));
	ASSERT_LE(0, atomic_load(&cur_fd));

	for (int i = 0; i < np / 2; i++) {
		pthread_create(&t[nt++], NULL, sender, (void *)(uintptr_t)(seed * 7919u + i + 1));
		pthread_create(&t[nt++], NULL, receiver, NULL);
	}
	for (int i = 0; i < np; i++)
		pthread_create(&t[nt++], NULL, peeker, (void *)(uintptr_t)(seed * 104729u + i + 1));
	for (int i = 0; i < np / 2; i++)
		pthread_create(&t[nt++], NULL, batcher,
			       (void *)(uintptr_t)(seed * 15485863u + i + 1));
	pthread_create(&t[nt++], NULL, reopener, NULL);
	pthread_create(&t[nt++], NULL, unlinker, NULL);
	pthread_create(&t[nt++], NULL, notifier, NULL);
	if (cycle)
		pthread_create(&t[nt++], NULL, module_cycler, NULL);

	/* mq_notify()'s SIGUSR1 cuts sleeps short: wait for a deadline, not a count */
	double t0 = now(), elapsed;

	while ((elapsed = now() - t0) < secs && !atomic_load(&stop))
		usleep(100000);
	atomic_store(&stop, true);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	close(atomic_load(&cur_fd));

	printf("# storm: %.1f s: %lu sent, %lu received, %lu peeks verified (%lu truncated), ",
	       elapsed, n_send, n_recv, n_peek_ok, n_peek_trunc);
	printf("%lu batches with %lu records verified (%lu truncated, %lu at the end), ",
	       n_batch, n_batch_rec, n_batch_trunc, n_batch_end);
	printf("%lu ENOMSG, %lu EINVAL (module out), %lu EBADF (fd swapped), %lu reopens, ",
	       n_enomsg, n_einval, n_ebadf, n_reopen);
	printf("%lu unlinks, %lu notify arms, %lu unloads, %lu loads, %lu unloads refused (busy); ",
	       n_unlink, n_notify, n_unload, n_load, n_busy);
	printf("%.0f calls/s\n",
	       (double)(n_peek_ok + n_batch + n_enomsg + n_einval + n_ebadf) / elapsed);
	EXPECT_EQ(0, atomic_load(&n_bad));
	/* the storm must really have stormed */
	EXPECT_LT(0, atomic_load(&n_peek_ok));
	EXPECT_LT(0, atomic_load(&n_batch_rec));
	EXPECT_LT(0, atomic_load(&n_send));
	EXPECT_LT(0, atomic_load(&n_recv));
	if (cycle) {
		EXPECT_LT(0, atomic_load(&n_unload));
		EXPECT_EQ(atomic_load(&n_unload), atomic_load(&n_load));
	}
}

TEST_HARNESS_MAIN
