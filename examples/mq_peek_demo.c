// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_demo - what `make run` shows: a queue is peeked and is still intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mq_peek.h"

static void show_queue_file(const char *name)
{
	char path[128], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/dev/mqueue%s", name);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		printf("  %s: %s", path, buf);
	}
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	static const struct { const char *text; unsigned int prio; } msgs[] = {
		{ "low priority, sent first", 1 },
		{ "urgent", 9 },
		{ "low priority, sent second", 1 },
		{ "normal", 5 },
	};
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = 128 };
	const char *name = "/demo";
	char buf[128];
	unsigned int prio;
	long n;
	mqd_t q;

	mq_unlink(name);
	q = mq_open(name, O_RDWR | O_CREAT, 0600, &attr);
	if (q == (mqd_t)-1) {
		perror("mq_open");
		return 1;
	}
	for (unsigned int i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		mq_send(q, msgs[i].text, strlen(msgs[i].text), msgs[i].prio);
	mq_getattr(q, &attr);
	printf("queue %s holds %ld messages\n", name, attr.mq_curmsgs);
	show_queue_file(name);

	printf("peeking with fcntl(F_MQ_PEEK), receive order:\n");
	for (int off = 0;; off++) {
		struct mq_peek_attr pa = { .offset = off };

		n = fcntl(q, F_MQ_PEEK, &pa);	/* length query */
		if (n < 0) {
			printf("  offset %d: %s\n", off, strerror(errno));
			if (errno == EINVAL)
				printf("F_MQ_PEEK is not available: load mq_peek.ko\n");
			break;
		}
		pa.buf = buf;
		pa.buf_len = sizeof(buf);
		n = fcntl(q, F_MQ_PEEK, &pa);
		printf("  offset %d: prio %u, %ld bytes: \"%.*s\"\n", off, pa.msg_prio, n, (int)n, buf);
	}
	mq_getattr(q, &attr);
	printf("after peeking, the queue still holds %ld messages\n", attr.mq_curmsgs);
	show_queue_file(name);

	printf("mq_receive drains the same order:\n");
	for (long i = 0; i < attr.mq_curmsgs; i++) {
		n = mq_receive(q, buf, sizeof(buf), &prio);
		printf("  prio %u: \"%.*s\"\n", prio, (int)n, buf);
	}
	mq_close(q);
	mq_unlink(name);
	return 0;
}
