// SPDX-License-Identifier: GPL-2.0
/*
 * mqchurn COUNT NAME DIR FILE - change POSIX message queue NAME, leaving
 * its contents as they are, each time DIR/FILE is written, COUNT times
 * (0: until SIGTERM).  tests/criu/criu-tests.sh runs it outside the dumped
 * tree with FILE = posix-mqueue-data.img, which `criu dump` writes after
 * each F_MQ_PEEK_BATCH call: the queue moves while the dump reads it.
 *
 * A change is one message out and back in, which moves the queue's
 * F_MQ_PEEK_BATCH version by 2 and leaves every message, priority and
 * order as it was: on a queue with room, a message above every queued
 * priority is sent and received straight back; on a full one, the first
 * message is received and sent back, which puts it back first only if no
 * other message has its priority (checked before, or mqchurn refuses).
 * The access and modification times are put back after each change.
 *
 * It opens the queue and watches DIR, then prints "ready"; at the end
 * "changes N" (N the changes made).  Exit status 0 when it made COUNT
 * changes (any number for COUNT 0), 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "../../include/mq_peek.h"

static int fail(const char *what)
{
	perror(what);
	return 1;
}

/* The priority of the first message and whether the second has it too. */
static int first_prio(mqd_t q, unsigned int *prio, int *tie)
{
	static char buf[4096];
	struct mq_peek_batch b = {
		.size = sizeof(b),
		.buf = (uintptr_t)buf,
		.buf_len = sizeof(buf),
	};
	struct mq_peek_record *r = (struct mq_peek_record *)buf;
	int n;

	*tie = 0;
	*prio = 0;
	n = fcntl(q, F_MQ_PEEK_BATCH, &b);
	if (n < 0)
		return -1;
	if (!n)
		return 0;
	*prio = r->msg_prio;
	/* The second record did not fit in buf: peek at index 1 alone. */
	if (n < 2 && b.curmsgs > 1) {
		/* A lone first record is truncated to fit: its priority comes back. */
		b.offset = 1;
		b.buf_len = sizeof(*r) + 8;
		if (fcntl(q, F_MQ_PEEK_BATCH, &b) < 0)
			return -1;
		*tie = r->msg_prio == *prio;
		return 0;
	}
	if (n >= 2)
		*tie = ((struct mq_peek_record *)(buf + r->rec_len))->msg_prio == *prio;
	return 0;
}

/* One message out and back in; the queue as it was. */
static int churn(mqd_t q, char *buf, const struct mq_attr *a)
{
	struct timespec ts[2];
	struct mq_attr now;
	unsigned int prio;
	struct stat st;
	ssize_t n;
	int tie;

	if (fstat(q, &st) || mq_getattr(q, &now) || first_prio(q, &prio, &tie))
		return fail("mqchurn: the queue");
	if (now.mq_curmsgs < a->mq_maxmsg) {
		if (now.mq_curmsgs && prio >= MQ_PRIO_MAX - 1) {
			fprintf(stderr, "mqchurn: a message has the highest priority already\n");
			return 1;
		}
		prio = now.mq_curmsgs ? prio + 1 : 0;
		buf[0] = 'c';
		if (mq_send(q, buf, 1, prio))
			return fail("mqchurn: mq_send");
		n = mq_receive(q, buf, a->mq_msgsize, NULL);
		if (n != 1)
			return fail("mqchurn: mq_receive");
	} else {
		if (tie) {
			fprintf(stderr, "mqchurn: full, the first two messages of one priority\n");
			return 1;
		}
		n = mq_receive(q, buf, a->mq_msgsize, &prio);
		if (n < 0)
			return fail("mqchurn: mq_receive");
		if (mq_send(q, buf, n, prio))
			return fail("mqchurn: mq_send");
	}
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (futimens(q, ts))
		return fail("mqchurn: futimens");
	return 0;
}

int main(int argc, char **argv)
{
	union {
		struct inotify_event e;
		char b[sizeof(struct inotify_event) + NAME_MAX + 1];
	} ev;
	struct pollfd p[2];
	struct mq_attr a;
	long count, done = 0;
	int err = 0;
	sigset_t term;
	char *buf;
	mqd_t q;
	int in;

	if (argc != 5) {
		fprintf(stderr, "usage: mqchurn COUNT NAME DIR FILE\n");
		return 2;
	}
	count = atol(argv[1]);
	q = mq_open(argv[2], O_RDWR | O_NONBLOCK);
	if (q < 0 || mq_getattr(q, &a))
		return fail(argv[2]);
	buf = malloc(a.mq_msgsize);
	if (!buf)
		return fail("mqchurn: malloc");
	in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, argv[3], IN_MODIFY) < 0)
		return fail(argv[3]);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	if (sigprocmask(SIG_BLOCK, &term, NULL))
		return fail("mqchurn: sigprocmask");
	p[0].fd = in;
	p[0].events = POLLIN;
	p[1].fd = signalfd(-1, &term, SFD_CLOEXEC);
	p[1].events = POLLIN;
	if (p[1].fd < 0)
		return fail("mqchurn: signalfd");
	printf("ready\n");
	fflush(stdout);

	while (!count || done < count) {
		struct inotify_event *ie;
		int hit = 0;
		ssize_t n;
		char *e;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = fail("mqchurn: poll");
			break;
		}
		if (p[1].revents)
			break;
		n = read(in, ev.b, sizeof(ev));
		if (n <= 0) {
			err = fail("mqchurn: read inotify");
			break;
		}
		for (e = ev.b; e < ev.b + n; e += sizeof(*ie) + ie->len) {
			ie = (struct inotify_event *)e;

			if (ie->len && !strcmp(ie->name, argv[4]))
				hit = 1;
		}
		if (!hit)
			continue;
		if (churn(q, buf, &a)) {
			err = 1;
			break;
		}
		done++;
	}
	printf("changes %ld\n", done);
	return err || (count && done != count);
}
