// SPDX-License-Identifier: GPL-2.0
/*
 * mqstate NAME - print the state of POSIX message queue NAME on one line:
 * its attributes, mode, owner, access and modification times, its
 * F_MQ_PEEK_BATCH version (queue_id, changes) and a checksum of every
 * message (priority, length, bytes) in receive order, read with
 * F_MQ_PEEK_BATCH, which does not change the queue.  Two equal lines mean
 * the same queue, unchanged.  tests/criu/criu-tests.sh compares them around
 * `criu dump --leave-running`.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../include/mq_peek.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

int main(int argc, char **argv)
{
	uint64_t h = 0xcbf29ce484222325ULL, off = 0, qid = 0, ch = 0, cur = 0;
	size_t len = 4 << 20;
	struct mq_attr a;
	struct stat st;
	char *buf;
	int fd, first = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: mqstate NAME\n");
		return 2;
	}
	fd = mq_open(argv[1], O_RDONLY);
	if (fd < 0 || mq_getattr(fd, &a) || fstat(fd, &st)) {
		perror(argv[1]);
		return 1;
	}
	buf = malloc(len);
	for (;;) {
		struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)buf, .buf_len = len, .offset = off };
		char *p = buf;
		int n = fcntl(fd, F_MQ_PEEK_BATCH, &b), i;

		if (n < 0) {
			perror("F_MQ_PEEK_BATCH");
			return 1;
		}
		if (first) {
			qid = b.queue_id;
			ch = b.changes;
			cur = b.curmsgs;
			first = 0;
		} else if (b.queue_id != qid || b.changes != ch) {
			fprintf(stderr, "the queue changed while it was read\n");
			return 1;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			struct mq_peek_record *r = (struct mq_peek_record *)p;

			if (r->data_len != r->msg_len) {
				fprintf(stderr, "message %llu longer than %zu bytes\n", (unsigned long long)off, len);
				return 1;
			}
			h = fnv(h, &r->msg_prio, sizeof(r->msg_prio));
			h = fnv(h, &r->msg_len, sizeof(r->msg_len));
			h = fnv(h, p + sizeof(*r), r->data_len);
			p += r->rec_len;
			off++;
		}
	}
	printf("maxmsg=%ld msgsize=%ld curmsgs=%ld flags=%#lx mode=%#o uid=%d gid=%d atime=%lld.%09ld "
	       "mtime=%lld.%09ld messages=%llu queue_id=%llu changes=%llu sum=%016llx\n",
	       a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, a.mq_flags, st.st_mode & 07777, st.st_uid, st.st_gid,
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (unsigned long long)cur, (unsigned long long)qid, (unsigned long long)ch, (unsigned long long)h);
	return off == cur ? 0 : 1;
}
