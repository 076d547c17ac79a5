// SPDX-License-Identifier: GPL-2.0
/*
 * mqpeek_tool_test - the msgque.c cycle for POSIX queues, through the mqpeek
 * tool: fill a queue with mixed priorities and multi-segment messages, dump
 * it, check it is unchanged, unlink it, restore the image, and drain it
 * comparing every message byte for byte and in order.  Plus list/show output
 * checks and the tool's error messages.  Needs /opt/mqpeek (scripts/vm --add).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mq_peek.h"

#define TOOL	"/opt/mqpeek"
#define QN	"/mqpeek_tool_q"
#define IMG	"/tmp/mqpeek_tool.img"
#define NMSG	12
#define MSGSZ	20000

static size_t len_of(int i)
{
	static const size_t lens[NMSG] = { 0, 1, 100, 4047, 4048, 4049, 8137, 8138,
					   12000, 20000, 33, 5000 };
	return lens[i];
}

static unsigned char pat(int i, size_t j)
{
	return (unsigned char)(i * 53 + j * 5 + (j >> 10));
}

/* Runs a shell command; returns its exit status and its output in @out. */
static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = 0;
	} else {
		char tmp[4096];

		while (fread(tmp, 1, sizeof(tmp), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static mqd_t fill(void)
{
	struct mq_attr a = { .mq_maxmsg = NMSG + 2, .mq_msgsize = MSGSZ };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned char *m = malloc(MSGSZ);
	mqd_t q;

	setrlimit(RLIMIT_MSGQUEUE, &rl);
	FILE *f = fopen("/proc/sys/fs/mqueue/msgsize_max", "w");

	if (f) {
		fprintf(f, "%d\n", 1 << 20);
		fclose(f);
	}
	mq_unlink(QN);
	q = mq_open(QN, O_RDWR | O_CREAT, 0640, &a);
	for (int i = 0; q >= 0 && i < NMSG; i++) {
		for (size_t j = 0; j < len_of(i); j++)
			m[j] = pat(i, j);
		mq_send(q, (char *)m, len_of(i), (i * 7) % 5);
	}
	free(m);
	return q;
}

/* The expected receive order: priority descending, FIFO within one. */
static void order(int *ord)
{
	int k = 0;

	for (int p = 4; p >= 0; p--)
		for (int i = 0; i < NMSG; i++)
			if ((i * 7) % 5 == p)
				ord[k++] = i;
}

/* Drains @q and checks every message against the fill, in order. */
static int drain_matches(struct __test_metadata *_metadata, mqd_t q)
{
	unsigned char *b = malloc(MSGSZ);
	int ord[NMSG], bad = 0;
	unsigned int prio;

	order(ord);
	for (int k = 0; k < NMSG; k++) {
		int i = ord[k];
		ssize_t n = mq_receive(q, (char *)b, MSGSZ, &prio);

		if (n != (ssize_t)len_of(i) || prio != (unsigned int)(i * 7) % 5) {
			TH_LOG("message %d: length %zd prio %u, want %zu prio %d", k, n, prio,
			       len_of(i), (i * 7) % 5);
			bad++;
			continue;
		}
		for (size_t j = 0; j < len_of(i); j++)
			if (b[j] != pat(i, j)) {
				TH_LOG("message %d: byte %zu differs", k, j);
				bad++;
				break;
			}
	}
	free(b);
	return bad;
}

TEST(dump_restore_cycle)
{
	struct mq_attr before, after;
	struct stat st;
	char out[8192];
	mqd_t q = fill();

	ASSERT_LE(0, q);
	ASSERT_EQ(0, mq_getattr(q, &before));
	ASSERT_EQ(0, run(TOOL " dump " QN " -o " IMG " 2>&1", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "12 messages")) TH_LOG("%s", out);
	/* the queue is unchanged */
	ASSERT_EQ(0, mq_getattr(q, &after));
	EXPECT_EQ(before.mq_curmsgs, after.mq_curmsgs);
	mq_close(q);
	/* restore refuses to overwrite, then restores over a removed queue */
	EXPECT_EQ(1, run(TOOL " restore " IMG " 2>&1", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "use --force")) TH_LOG("%s", out);
	q = mq_open(QN, O_RDONLY);
	ASSERT_LE(0, q);
	EXPECT_EQ(0, drain_matches(_metadata, q));	/* the original, in order */
	mq_close(q);
	ASSERT_EQ(0, mq_unlink(QN));
	ASSERT_EQ(0, run(TOOL " restore " IMG " 2>&1", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, stat("/dev/mqueue" QN, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	q = mq_open(QN, O_RDONLY);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, mq_getattr(q, &after));
	EXPECT_EQ(NMSG + 2, after.mq_maxmsg);
	EXPECT_EQ(MSGSZ, after.mq_msgsize);
	EXPECT_EQ(NMSG, after.mq_curmsgs);
	EXPECT_EQ(0, drain_matches(_metadata, q));	/* the restored one, identical */
	mq_close(q);
	/* --force replaces an existing queue; --name restores under another name */
	ASSERT_EQ(0, run(TOOL " restore --force " IMG " 2>&1", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(0, run(TOOL " restore --name /mqpeek_tool_copy " IMG " 2>&1", out, sizeof(out)));
	q = mq_open("/mqpeek_tool_copy", O_RDONLY);
	ASSERT_LE(0, q);
	EXPECT_EQ(0, drain_matches(_metadata, q));
	mq_close(q);
	mq_unlink("/mqpeek_tool_copy");
	mq_unlink(QN);
}

TEST(list_and_show)
{
	char out[65536];
	mqd_t q = fill();

	ASSERT_LE(0, q);
	ASSERT_EQ(0, run(TOOL " list", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, QN)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "0640"));
	EXPECT_NE(NULL, strstr(out, "CURMSGS"));
	ASSERT_EQ(0, run(TOOL " list --json", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"curmsgs\": 12")) TH_LOG("%s", out);
	ASSERT_EQ(0, run(TOOL " show " QN, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "12 messages")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "20000"));	/* a length */
	ASSERT_EQ(0, run(TOOL " show --json mqpeek_tool_q", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"length\": 20000")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"priority\": 4"));
	ASSERT_EQ(0, run(TOOL " show --full " QN " | wc -l", out, sizeof(out)));
	EXPECT_LT(4000, atoi(out));	/* every byte, 16 a row */
	mq_close(q);
	mq_unlink(QN);
}

TEST(errors)
{
	char out[4096];

	EXPECT_EQ(1, run(TOOL " show /no_such_queue 2>&1", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "no such queue")) TH_LOG("%s", out);
	/* corrupt and truncated images */
	ASSERT_EQ(0, run("echo not an image > /tmp/bad.img", NULL, 0));
	EXPECT_EQ(1, run(TOOL " restore /tmp/bad.img 2>&1", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "not an mqpeek image")) TH_LOG("%s", out);
	mq_close(fill());
	ASSERT_EQ(0, run(TOOL " dump " QN " -o /tmp/t.img 2>/dev/null && "
			 "head -c 100 /tmp/t.img > /tmp/trunc.img", NULL, 0));
	mq_unlink(QN);
	EXPECT_EQ(1, run(TOOL " restore /tmp/trunc.img 2>&1", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "truncated")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue" QN, F_OK));	/* nothing half-restored */
	/* without the module: the tool says what to do */
	mq_close(fill());
	if (syscall(SYS_delete_module, "mq_peek", O_NONBLOCK) == 0) {
		EXPECT_EQ(1, run(TOOL " show " QN " 2>&1", out, sizeof(out)));
		EXPECT_NE(NULL, strstr(out, "F_MQ_PEEK is not available: load mq_peek.ko"))
			TH_LOG("%s", out);
		int fd = open(getenv("MQ_PEEK_KO"), O_RDONLY);

		ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0));
		close(fd);
	}
	mq_unlink(QN);
}

TEST(restore_beyond_limits)
{
	char out[4096];
	mqd_t q = fill();

	ASSERT_LE(0, q);
	mq_close(q);
	ASSERT_EQ(0, run(TOOL " dump " QN " -o " IMG " 2>/dev/null", NULL, 0));
	mq_unlink(QN);
	/* msgsize_max below the image's msgsize: a clear error naming the limit */
	ASSERT_EQ(0, run("echo 8192 > /proc/sys/fs/mqueue/msgsize_max", NULL, 0));
	int p[2], st;
	ssize_t n;

	ASSERT_EQ(0, pipe(p));
	pid_t pid = fork();

	if (pid == 0) {		/* as an unprivileged user, bound by the limits */
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (setgid(65534) || setuid(65534))
			_exit(3);
		execl(TOOL, "mqpeek", "restore", IMG, NULL);
		_exit(4);
	}
	close(p[1]);
	size_t got = 0;

	while ((n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	EXPECT_EQ(1, WEXITSTATUS(st)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "msgsize_max")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue" QN, F_OK));
	run("echo 1048576 > /proc/sys/fs/mqueue/msgsize_max", NULL, 0);
	mq_unlink(QN);
}

TEST_HARNESS_MAIN
