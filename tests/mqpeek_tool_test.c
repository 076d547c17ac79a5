// SPDX-License-Identifier: GPL-2.0
/*
 * mqpeek_tool_test - the mqpeek tool in the VM.
 *
 * The msgque.c cycle for POSIX queues (fill a queue with mixed priorities and
 * multi-segment messages, dump it, check it is unchanged, restore the image,
 * drain it comparing every message in order), the output of list and show,
 * and every finding of issue 11: a failed restore --force must leave the old
 * queue exactly as it was (bad priority, msgsize_max, queues_max,
 * RLIMIT_MSGQUEUE, a message that does not fit, an owner it cannot give),
 * images are private and written through an unpredictable temporary file,
 * --ipc-ns lists, shows, dumps and restores another IPC namespace's queues,
 * errors have their documented exit status, SIGPIPE is quiet, a damaged image
 * is "corrupt", and the tool works on a kernel that implements the RFC exactly
 * and on one without F_MQ_PEEK_BATCH (the module reloaded with test_switches=3,
 * 1 and 2: MQ_PEEK_KO names it).  Limits are tested as uid 65534: root
 * bypasses them.
 * Needs /opt/mqpeek (scripts/vm --add).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "mq_peek_util.h"

#define TOOL	"/opt/mqpeek"
#define QN	"/mqpeek_tool_q"
#define IMG	"/tmp/mqpeek_tool.img"
#define NMSG	12
#define MSGSZ	20000
#define NOBODY	65534
#define DBG	"/sys/kernel/debug/mq_peek/"

/* The exit status of mqpeek (mqpeek --help). */
enum { X_FAIL = 1, X_USAGE, X_NOQUEUE, X_PERM, X_NOPEEK, X_IMAGE, X_LIMITS, X_EXISTS };

/* Lengths around the msg_msg segment boundaries (see mq_peek_util.h), and others. */
static size_t len_of(int i)
{
	static const size_t lens[NMSG] = {
		0, 1, 100, DATALEN_MSG - 1, DATALEN_MSG, DATALEN_MSG + 1,
		DATALEN_MSG + DATALEN_SEG + 1, DATALEN_MSG + DATALEN_SEG + 2, 12000, 20000, 33, 5000
	};
	return lens[i];
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

/* printf-style run() */
static int runf(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return run(cmd, out, outlen);
}

/*
 * Runs mqpeek with the NULL-terminated arguments as @uid (0: root) with
 * RLIMIT_MSGQUEUE @rl (0: unlimited) in the IPC namespace of the caller;
 * stdout and stderr go to @out.  Returns the exit status, or 128 + signal.
 */
static int tool_as(uid_t uid, rlim_t rl, char *out, size_t outlen, ...)
{
	const char *argv[32] = { "mqpeek" };
	int p[2], st, argc = 1;
	size_t got = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, outlen);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct rlimit r = { rl ? rl : RLIM_INFINITY, rl ? rl : RLIM_INFINITY };

		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		if (setrlimit(RLIMIT_MSGQUEUE, &r))
			_exit(120);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(121);
		execv(TOOL, (char **)argv);
		_exit(122);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define tool(out, ...) tool_as(0, 0, out, sizeof(out), __VA_ARGS__, NULL)
#define nobody(rl, out, ...) tool_as(NOBODY, rl, out, sizeof(out), __VA_ARGS__, NULL)

/*
 * The kernel's default limits, which the tests run as uid 65534 are written
 * against (other test binaries raise them).
 */
static void default_limits(void)
{
	mq_sysctl_set("msg_max", 10);
	mq_sysctl_set("msgsize_max", 8192);
	mq_sysctl_set("queues_max", 256);
}

static mqd_t fill(void)
{
	struct mq_attr a = { .mq_maxmsg = NMSG + 2, .mq_msgsize = MSGSZ };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned char *m = malloc(MSGSZ);
	mqd_t q;

	setrlimit(RLIMIT_MSGQUEUE, &rl);
	mq_sysctl_set("msgsize_max", 1 << 20);
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

/* ---- a queue's complete state, to prove a failed restore left it as it was */

#define QS_MAX	16
struct qstate {
	ino_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	long maxmsg, msgsize, curmsgs;
	unsigned int prio[QS_MAX];
	ssize_t len[QS_MAX];
	char data[QS_MAX][256];
};

/* Reads @name's state with F_MQ_PEEK (a real buffer: works with every switch). */
static int capture(const char *name, struct qstate *s)
{
	char path[300];
	struct mq_attr a;
	struct stat st;
	mqd_t q;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/dev/mqueue%s", name);
	if (stat(path, &st))
		return -errno;
	s->ino = st.st_ino;
	s->mode = st.st_mode & 07777;
	s->uid = st.st_uid;
	s->gid = st.st_gid;
	q = mq_open(name, O_RDONLY);
	if (q < 0)
		return -errno;
	mq_getattr(q, &a);
	s->maxmsg = a.mq_maxmsg;
	s->msgsize = a.mq_msgsize;
	s->curmsgs = a.mq_curmsgs;
	for (int i = 0; i < a.mq_curmsgs && i < QS_MAX; i++) {
		struct mq_peek_attr pa = { .offset = i, .buf = s->data[i],
					   .buf_len = sizeof(s->data[i]) };

		s->len[i] = fcntl(q, F_MQ_PEEK, &pa);
		s->prio[i] = pa.msg_prio;
	}
	mq_close(q);
	return 0;
}

#define EXPECT_SAME_QUEUE(a, b) do {						\
	EXPECT_EQ((a).ino, (b).ino) TH_LOG("the queue was replaced");		\
	EXPECT_EQ((a).mode, (b).mode);						\
	EXPECT_EQ((a).uid, (b).uid);						\
	EXPECT_EQ((a).gid, (b).gid);						\
	EXPECT_EQ((a).maxmsg, (b).maxmsg);					\
	EXPECT_EQ((a).msgsize, (b).msgsize);					\
	EXPECT_EQ((a).curmsgs, (b).curmsgs);					\
	EXPECT_EQ(0, memcmp((a).prio, (b).prio, sizeof((a).prio)));		\
	EXPECT_EQ(0, memcmp((a).len, (b).len, sizeof((a).len)));		\
	EXPECT_EQ(0, memcmp((a).data, (b).data, sizeof((a).data)));		\
} while (0)

/* Temporary queues of a restore that were left behind. */
static int leftovers(void)
{
	DIR *d = opendir("/dev/mqueue");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, ".mqpeek", 7))
			n++;
	if (d)
		closedir(d);
	return n;
}

static int count_queues(void)
{
	DIR *d = opendir("/dev/mqueue");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

/*
 * Creates @name as @uid (so RLIMIT_MSGQUEUE charges that user) with @n
 * messages "old message K" of priority K % 3, mode 0600.  0 or an errno.
 */
static int old_queue_as(uid_t uid, const char *name, long maxmsg, long msgsize, int n)
{
	int st;
	pid_t pid;

	mq_unlink(name);
	pid = fork();
	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
		struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
		char m[64];
		mqd_t q;

		setrlimit(RLIMIT_MSGQUEUE, &r);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(1);
		umask(0);
		q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		if (q < 0)
			_exit(errno);
		for (int i = 0; i < n; i++) {
			int len = snprintf(m, sizeof(m), "old message %d", i);

			if (mq_send(q, m, len, i % 3))
				_exit(errno);
		}
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- images written by hand: version 1 of the format (image.rs) */

static uint64_t fnv1a(const unsigned char *p, size_t n, uint64_t h)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

struct buf {
	unsigned char b[65536];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* A version 1 image of @n messages "image message K" with priorities @prio. */
static int write_v1(const char *path, const char *name, int64_t maxmsg, int64_t msgsize,
		    uint32_t mode, uint32_t uid, uint32_t gid, int n, const uint32_t *prio)
{
	static struct buf b;
	uint32_t v = 1, nl = strlen(name);
	uint64_t cnt = n, sum;
	FILE *f;

	b.n = 0;
	put(&b, "MQPEEK\0\n", 8);
	put(&b, &v, 4);
	put(&b, &maxmsg, 8);
	put(&b, &msgsize, 8);
	put(&b, &mode, 4);
	put(&b, &uid, 4);
	put(&b, &gid, 4);
	put(&b, &nl, 4);
	put(&b, name, nl);
	put(&b, &cnt, 8);
	for (int i = 0; i < n; i++) {
		char m[64];
		uint64_t len = snprintf(m, sizeof(m), "image message %d", i);

		put(&b, &prio[i], 4);
		put(&b, &len, 8);
		put(&b, m, len);
	}
	sum = fnv1a(b.b, b.n, 0xcbf29ce484222325ULL);
	put(&b, &sum, 8);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fwrite(b.b, 1, b.n, f);
	fclose(f);
	return chmod(path, 0644);
}

static const uint32_t prios3[] = { 1, 7, 1 };

/* ---- the cycle, list and show */

TEST(dump_restore_cycle)
{
	struct mq_attr before, after;
	struct stat st;
	char out[8192];
	mqd_t q = fill();

	ASSERT_LE(0, q);
	ASSERT_EQ(0, mq_getattr(q, &before));
	ASSERT_EQ(0, run(TOOL " dump -f " QN " -o " IMG " 2>&1", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "12 messages")) TH_LOG("%s", out);
	/* the queue is unchanged */
	ASSERT_EQ(0, mq_getattr(q, &after));
	EXPECT_EQ(before.mq_curmsgs, after.mq_curmsgs);
	mq_close(q);
	/* restore refuses to overwrite, then restores over a removed queue */
	EXPECT_EQ(X_EXISTS, run(TOOL " restore " IMG " 2>&1", out, sizeof(out)));
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
	q = mq_open(QN, O_RDONLY);
	ASSERT_LE(0, q);
	EXPECT_EQ(0, drain_matches(_metadata, q));
	mq_close(q);
	ASSERT_EQ(0, run(TOOL " restore --name /mqpeek_tool_copy " IMG " 2>&1", out, sizeof(out)));
	q = mq_open("/mqpeek_tool_copy", O_RDONLY);
	ASSERT_LE(0, q);
	EXPECT_EQ(0, drain_matches(_metadata, q));
	mq_close(q);
	EXPECT_EQ(0, leftovers());
	mq_unlink("/mqpeek_tool_copy");
	mq_unlink(QN);
}

/* Finding 6: lsipc's POSIX-queue columns, -J, -n, -r, -o. */
TEST(list_like_lsipc)
{
	char out[65536];
	mqd_t q = fill();

	ASSERT_LE(0, q);
	ASSERT_EQ(0, tool(out, "list"));
	EXPECT_EQ((char *)out, strstr(out, "NAME ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " PERMS OWNER MTIME USEDBYTES MSGS\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, QN " ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " rw-r----- "));
	ASSERT_EQ(0, tool(out, "list", "-J", "-o", "NAME,MSGS,MAXMSG,PERMS", "-P"));
	EXPECT_NE(NULL, strstr(out, "\"posix-messages\": [")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"name\": \"" QN "\",\n         \"msgs\": \"12\",\n"
				    "         \"maxmsg\": \"14\",\n         \"perms\": null\n"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "list", "--noheadings", "-r", "-o", "NAME,USEDBYTES,MSGS", "-b"));
	EXPECT_NE(NULL, strstr(out, QN " 65553 12\n")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "NAME")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "list", "-o", "+NOTIFY_PID,SIGNO", "--noheadings"));
	EXPECT_NE(NULL, strstr(out, " 0 0\n")) TH_LOG("%s", out);
	EXPECT_EQ(X_USAGE, tool(out, "list", "-o", "NAME,KEY"));
	EXPECT_NE(NULL, strstr(out, "unknown column: KEY")) TH_LOG("%s", out);
	mq_close(q);
	mq_unlink(QN);
}

TEST(show_formats_and_ranges)
{
	char out[65536];
	mqd_t q = fill();
	int lines = 0;

	ASSERT_LE(0, q);
	ASSERT_EQ(0, tool(out, "show", QN));
	EXPECT_NE(NULL, strstr(out, "12 messages")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "20000"));	/* a length */
	/* JSON lines: one object per message */
	ASSERT_EQ(0, tool(out, "show", "--json", "mqpeek_tool_q"));
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	EXPECT_EQ(NMSG, lines) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"index\":0,\"priority\":4,\"length\":100,")) TH_LOG("%s", out);
	/* --offset, --count, --prio keep the index in the queue */
	ASSERT_EQ(0, tool(out, "show", QN, "--json", "--offset", "3", "--count", "2"));
	EXPECT_EQ((char *)out, strstr(out, "{\"index\":3,")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\n{\"index\":4,")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "\"index\":5,")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "show", QN, "--json", "--prio", "0"));
	EXPECT_NE(NULL, strstr(out, "{\"index\":9,\"priority\":0,\"length\":0,")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "{\"index\":10,\"priority\":0,\"length\":4049,"))
		TH_LOG("%s", out);
	/* formats */
	ASSERT_EQ(0, tool(out, "show", QN, "--format", "base64", "--offset", "11"));
	EXPECT_NE(NULL, strstr(out, "    11      0       33  ")) TH_LOG("%s", out);
	ASSERT_EQ(0, runf(out, sizeof(out), TOOL " show " QN " --format raw --offset 9 --count 2"
			  " | wc -c"));
	EXPECT_EQ(4049, atoi(out));	/* the 0-byte and the 4049-byte message */
	ASSERT_EQ(0, runf(out, sizeof(out), TOOL " show --full " QN " | wc -l"));
	EXPECT_LT(4000, atoi(out));	/* every byte, 16 a row */
	mq_close(q);
	mq_unlink(QN);
}

/* ---- finding 4: errors people can script */

TEST(errors)
{
	char out[4096];

	EXPECT_EQ(X_NOQUEUE, tool(out, "show", "/no_such_queue"));
	EXPECT_NE(NULL, strstr(out, "no such queue")) TH_LOG("%s", out);
	EXPECT_EQ(X_NOQUEUE, tool(out, "dump", "/no_such_queue", "-f", "-o", "/tmp/x.img"));
	EXPECT_EQ(X_USAGE, tool(out, "show"));
	/* not an image, a truncated one */
	ASSERT_EQ(0, run("echo not an image > /tmp/bad.img", NULL, 0));
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "/tmp/bad.img"));
	EXPECT_NE(NULL, strstr(out, "not an mqpeek image")) TH_LOG("%s", out);
	mq_close(fill());
	ASSERT_EQ(0, run(TOOL " dump -f " QN " -o /tmp/t.img 2>/dev/null && "
			 "head -c 100 /tmp/t.img > /tmp/trunc.img", NULL, 0));
	mq_unlink(QN);
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "/tmp/trunc.img"));
	EXPECT_NE(NULL, strstr(out, "truncated")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue" QN, F_OK));	/* nothing half-restored */
	EXPECT_EQ(X_IMAGE, tool(out, "inspect", "/tmp/trunc.img"));
	/* without the module: the tool says what to do */
	mq_close(fill());
	if (syscall(SYS_delete_module, "mq_peek", O_NONBLOCK) == 0) {
		EXPECT_EQ(X_NOPEEK, tool(out, "show", QN));
		EXPECT_NE(NULL, strstr(out, "no fcntl(F_MQ_PEEK): load mq_peek.ko")) TH_LOG("%s", out);
		EXPECT_EQ(X_NOPEEK, tool(out, "dump", QN, "-f", "-o", "/tmp/x.img"));
		int fd = open(getenv("MQ_PEEK_KO"), O_RDONLY);

		ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0));
		close(fd);
	}
	mq_unlink(QN);
}

/* Finding 4: a damaged length field is corruption, not truncation. */
TEST(flipped_length_byte_is_corrupt)
{
	char out[4096];
	unsigned char b[4096];
	size_t len_at = 92 + strlen(QN) + 8 + 4;	/* first record's length (image.rs) */
	FILE *f;
	size_t n;
	mqd_t q;
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };

	mq_unlink(QN);
	q = mq_open(QN, O_RDWR | O_CREAT, 0600, &a);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, mq_send(q, "hello", 5, 1));
	ASSERT_EQ(0, tool(out, "dump", QN, "-f", "-o", IMG)) TH_LOG("%s", out);
	f = fopen(IMG, "r");
	ASSERT_NE(NULL, f);
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	ASSERT_LT(len_at + 8, n);
	ASSERT_EQ(5, b[len_at]) TH_LOG("the image layout moved");
	b[len_at] ^= 0x40;
	f = fopen("/tmp/flip.img", "w");
	fwrite(b, 1, n, f);
	fclose(f);
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "--force", "/tmp/flip.img"));
	EXPECT_NE(NULL, strstr(out, "corrupt (checksum mismatch)")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "truncated")) TH_LOG("%s", out);
	EXPECT_EQ(X_IMAGE, tool(out, "inspect", "/tmp/flip.img"));
	EXPECT_NE(NULL, strstr(out, "checksum")) TH_LOG("%s", out);
	a.mq_curmsgs = 0;
	mq_getattr(q, &a);
	EXPECT_EQ(1, a.mq_curmsgs);
	mq_close(q);
	mq_unlink(QN);
}

/* Finding 4: `show --full | head` must not panic (exit 101): quiet, like cat. */
TEST(sigpipe_is_quiet)
{
	int out[2], err[2], st;
	char buf[256], e[4096];
	ssize_t n, got = 0;
	pid_t pid;

	mq_close(fill());
	ASSERT_EQ(0, pipe(out));
	ASSERT_EQ(0, pipe(err));
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execl(TOOL, "mqpeek", "show", "--full", QN, NULL);
		_exit(122);
	}
	close(out[1]);
	close(err[1]);
	ASSERT_LT(0, read(out[0], buf, sizeof(buf)));
	close(out[0]);		/* like head: stop reading */
	while ((n = read(err[0], e + got, sizeof(e) - 1 - got)) > 0)
		got += n;
	e[got] = 0;
	close(err[0]);
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE)
		TH_LOG("status %#x, stderr: %s", st, e);
	EXPECT_EQ(0, got) TH_LOG("stderr: %s", e);
	EXPECT_EQ(NULL, strstr(e, "panicked"));
	mq_unlink(QN);
}

/* Finding 4: list without an mqueue mount gives the hint, not a bare ENOENT. */
TEST(list_without_mount_hints)
{
	char out[4096];
	int p[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/dev/mqueue", MNT_DETACH))
			_exit(123);
		execl(TOOL, "mqpeek", "list", NULL);
		_exit(122);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(X_FAIL, WEXITSTATUS(st)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "mount -t mqueue none /dev/mqueue")) TH_LOG("%s", out);
}

/* ---- finding 1: a failed restore --force leaves the old queue as it was */

/* As root: an image with a priority >= MQ_PRIO_MAX (32768) is refused whole. */
TEST(force_keeps_old_on_bad_priority)
{
	uint32_t prio[3] = { 1, 40000, 2 };
	struct qstate before, after;
	char out[4096];

	ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	ASSERT_EQ(0, write_v1("/tmp/prio.img", QN, 8, 64, 0644, 0, 0, 3, prio));
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "--force", "/tmp/prio.img"));
	EXPECT_NE(NULL, strstr(out, "priority 40000")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "nothing was changed")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	mq_unlink(QN);
}

/* As nobody: msgsize above msgsize_max, and root may (CAP_SYS_RESOURCE). */
TEST(force_keeps_old_over_msgsize_max)
{
	long saved = mq_sysctl_get("msgsize_max");
	struct qstate before, after;
	char out[4096];

	default_limits();
	mq_sysctl_set("msgsize_max", 8192);
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	ASSERT_EQ(0, write_v1("/tmp/big.img", QN, 8, 16384, 0600, NOBODY, NOBODY, 3, prios3));
	EXPECT_EQ(X_LIMITS, nobody(0, out, "restore", "--force", "/tmp/big.img"));
	EXPECT_NE(NULL, strstr(out, "msgsize_max (8192)")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	/* --msgsize fits it under the limit */
	EXPECT_EQ(0, nobody(0, out, "restore", "--force", "--msgsize", "8192", "/tmp/big.img"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_EQ(8192, after.msgsize);
	EXPECT_EQ(3, after.curmsgs);
	EXPECT_EQ(0, strcmp(after.data[0], "image message 1"));	/* prio 7 first */
	/* root is not bound by msgsize_max */
	EXPECT_EQ(0, tool(out, "restore", "--force", "/tmp/big.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_EQ(16384, after.msgsize);
	mq_unlink(QN);
	mq_sysctl_set("msgsize_max", saved);
}

/*
 * As nobody: the namespace is at queues_max, and the old queue is held open by
 * a process (a service using it), so unlinking it frees no room.
 */
TEST(force_keeps_old_at_queues_max)
{
	long saved = mq_sysctl_get("queues_max");
	struct qstate before, after;
	char out[4096];
	mqd_t held;

	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	held = mq_open(QN, O_RDONLY);
	ASSERT_LE(0, held);
	ASSERT_EQ(0, write_v1("/tmp/q.img", QN, 8, 64, 0600, NOBODY, NOBODY, 3, prios3));
	mq_sysctl_set("queues_max", count_queues());
	EXPECT_EQ(X_LIMITS, nobody(0, out, "restore", "--force", "/tmp/q.img"));
	EXPECT_NE(NULL, strstr(out, "queues_max")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "unchanged")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	mq_sysctl_set("queues_max", saved);
	mq_close(held);
	mq_unlink(QN);
}

/*
 * As nobody: RLIMIT_MSGQUEUE holds the old queue or the new one, not both; the
 * old queue is held open by a process, so unlinking it frees nothing.
 */
TEST(force_keeps_old_over_rlimit)
{
	/* the kernel's charge: maxmsg * (msgsize + 48) + min(maxmsg, 32768) * 48 */
	rlim_t one = 8 * (1024 + 48) + 8 * 48;
	struct qstate before, after;
	char out[4096], rl[32];
	mqd_t held;

	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 1024, 5));
	ASSERT_EQ(0, capture(QN, &before));
	held = mq_open(QN, O_RDONLY);
	ASSERT_LE(0, held);
	ASSERT_EQ(0, write_v1("/tmp/rl.img", QN, 8, 1024, 0600, NOBODY, NOBODY, 3, prios3));
	EXPECT_EQ(X_LIMITS, nobody(2 * one - 1, out, "restore", "--force", "/tmp/rl.img"));
	EXPECT_NE(NULL, strstr(out, "RLIMIT_MSGQUEUE")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	/* an image that alone is over the limit is refused before anything is tried */
	EXPECT_EQ(X_LIMITS, nobody(one - 1, out, "restore", "--force", "/tmp/rl.img"));
	snprintf(rl, sizeof(rl), "the limit is %lu", (unsigned long)one - 1);
	EXPECT_NE(NULL, strstr(out, rl)) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	/* with room for both it works */
	EXPECT_EQ(0, nobody(2 * one, out, "restore", "--force", "/tmp/rl.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_EQ(3, after.curmsgs);
	EXPECT_NE(before.ino, after.ino);
	mq_close(held);
	mq_unlink(QN);
}

/* Messages that do not fit the queue asked for are refused whole. */
TEST(force_keeps_old_when_a_message_does_not_fit)
{
	struct qstate before, after;
	char out[4096];

	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	ASSERT_EQ(0, write_v1("/tmp/fit.img", QN, 8, 64, 0600, NOBODY, NOBODY, 3, prios3));
	EXPECT_EQ(X_IMAGE, nobody(0, out, "restore", "--force", "--msgsize", "10", "/tmp/fit.img"));
	EXPECT_NE(NULL, strstr(out, "does not fit mq_msgsize 10")) TH_LOG("%s", out);
	EXPECT_EQ(X_IMAGE, nobody(0, out, "restore", "--force", "--maxmsg", "2", "/tmp/fit.img"));
	EXPECT_NE(NULL, strstr(out, "3 messages do not fit mq_maxmsg 2")) TH_LOG("%s", out);
	/* an image whose message is longer than its own msgsize */
	ASSERT_EQ(0, write_v1("/tmp/fit.img", QN, 8, 10, 0600, NOBODY, NOBODY, 3, prios3));
	EXPECT_EQ(X_IMAGE, nobody(0, out, "restore", "--force", "/tmp/fit.img"));
	EXPECT_NE(NULL, strstr(out, "longer than mq_msgsize")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	mq_unlink(QN);
}

/* Finding 4: an owner that cannot be given is an error (exit 4), unless --no-owner. */
TEST(force_keeps_old_when_owner_cannot_be_given)
{
	struct qstate before, after;
	char out[4096];

	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	ASSERT_EQ(0, write_v1("/tmp/own.img", QN, 8, 64, 0640, 0, 0, 3, prios3));
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--force", "/tmp/own.img"));
	EXPECT_NE(NULL, strstr(out, "cannot give it to 0:0")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "--no-owner")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_SAME_QUEUE(before, after);
	EXPECT_EQ(0, leftovers());
	/* a new queue: same error, and nothing left behind */
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--name", "/mqpeek_tool_new", "/tmp/own.img"));
	EXPECT_NE(0, access("/dev/mqueue/mqpeek_tool_new", F_OK));
	/* --no-owner: the caller keeps it, with the image's mode and messages */
	EXPECT_EQ(0, nobody(0, out, "restore", "--force", "--no-owner", "/tmp/own.img"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_EQ(NOBODY, after.uid);
	EXPECT_EQ(0640, after.mode);
	EXPECT_EQ(3, after.curmsgs);
	EXPECT_EQ(0, strcmp(after.data[0], "image message 1"));
	EXPECT_EQ(0, leftovers());
	mq_unlink(QN);
}

/*
 * The one window left: between the unlink of the old name and the creation of
 * the new queue, another process takes the name.  A racer spins on
 * mq_open(O_CREAT | O_EXCL); when it wins, the old queue cannot be put back
 * under its name, so its contents must be saved in an image that restores it.
 */
TEST(force_race_keeps_a_copy)
{
	struct qstate before, after;
	char out[4096], cmd[512];
	int won = 0, tries;

	for (tries = 0; tries < 5 && !won; tries++) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
		int st, rc;
		pid_t racer;
		char *img, *end;

		ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 5));
		ASSERT_EQ(0, capture(QN, &before));
		ASSERT_EQ(0, write_v1("/tmp/race.img", QN, 8, 64, 0600, 0, 0, 3, prios3));
		racer = fork();
		if (racer == 0) {
			for (long i = 0; i < 100000000; i++) {
				mqd_t q = mq_open(QN, O_RDWR | O_CREAT | O_EXCL, 0600, &a);

				if (q >= 0)
					_exit(0);
				if (errno != EEXIST)
					_exit(2);
			}
			_exit(3);
		}
		rc = tool(out, "restore", "--force", "/tmp/race.img");
		kill(racer, SIGKILL);
		waitpid(racer, &st, 0);
		/* whose queue is it now? the racer's has maxmsg 2 */
		ASSERT_EQ(0, capture(QN, &after)) TH_LOG("%s", out);
		if (after.maxmsg != 2) {
			/* the tool won: replaced as asked */
			EXPECT_EQ(0, rc) TH_LOG("%s", out);
			EXPECT_EQ(3, after.curmsgs);
			continue;
		}
		won = 1;
		TH_LOG("the racer took the name in try %d", tries + 1);
		EXPECT_EQ(X_FAIL, rc) TH_LOG("%s", out);
		img = strstr(out, "saved in ");
		ASSERT_NE(NULL, img) TH_LOG("%s", out);
		img += strlen("saved in ");
		end = img + strcspn(img, " \n");
		*end = 0;
		ASSERT_EQ(0, mq_unlink(QN));	/* the intruder's */
		snprintf(cmd, sizeof(cmd), TOOL " restore %s 2>&1", img);
		EXPECT_EQ(0, run(cmd, out, sizeof(out))) TH_LOG("%s", out);
		ASSERT_EQ(0, capture(QN, &after));
		after.ino = before.ino;
		EXPECT_SAME_QUEUE(before, after);
		unlink(img);
	}
	EXPECT_EQ(0, leftovers());
	mq_unlink(QN);
	if (!won)
		SKIP(return, "the racer never took the name in %d tries", tries);
}

/* The happy path as nobody: replaced, with the image's mode; version 1 images read. */
TEST(force_replaces_and_reads_v1_images)
{
	struct qstate before, after;
	char out[4096];

	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 5));
	ASSERT_EQ(0, capture(QN, &before));
	ASSERT_EQ(0, write_v1("/tmp/v1.img", QN, 4, 32, 0604, NOBODY, NOBODY, 3, prios3));
	EXPECT_EQ(0, tool(out, "inspect", "/tmp/v1.img")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "version 1")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "notify:    not recorded")) TH_LOG("%s", out);
	EXPECT_EQ(0, nobody(0, out, "restore", "--force", "/tmp/v1.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &after));
	EXPECT_NE(before.ino, after.ino);
	EXPECT_EQ(0604, after.mode);
	EXPECT_EQ(4, after.maxmsg);
	EXPECT_EQ(32, after.msgsize);
	EXPECT_EQ(3, after.curmsgs);
	EXPECT_EQ(7, after.prio[0]);
	EXPECT_EQ(0, strcmp(after.data[0], "image message 1"));
	EXPECT_EQ(0, strcmp(after.data[1], "image message 0"));
	EXPECT_EQ(0, strcmp(after.data[2], "image message 2"));
	EXPECT_EQ(0, leftovers());
	/* --dry-run changes nothing */
	EXPECT_EQ(0, nobody(0, out, "restore", "--force", "--dry-run", "/tmp/v1.img"));
	EXPECT_NE(NULL, strstr(out, "nothing was changed")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &before));
	EXPECT_EQ(after.ino, before.ino);
	mq_unlink(QN);
}

/* ---- finding 2: images are private, written through an unpredictable temporary file */

TEST(images_are_private)
{
	static const struct { mode_t queue, image; } modes[] = {
		{ 0644, 0600 }, { 0600, 0600 }, { 0640, 0600 }, { 0444, 0600 }, { 0400, 0600 },
		{ 0044, 0600 }, { 0004, 0600 },
	};
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	char out[4096];
	struct stat st;
	mqd_t q;

	for (unsigned int i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		mq_unlink(QN);
		umask(0);
		q = mq_open(QN, O_RDWR | O_CREAT, modes[i].queue, &a);
		ASSERT_LE(0, q);
		mq_send(q, "secret", 6, 0);
		mq_close(q);
		unlink(IMG);
		ASSERT_EQ(0, tool(out, "dump", QN, "-f", "-o", IMG)) TH_LOG("%s", out);
		ASSERT_EQ(0, stat(IMG, &st));
		EXPECT_EQ(modes[i].image, st.st_mode & 07777)
			TH_LOG("queue %o: image %o", modes[i].queue, st.st_mode & 07777);
	}
	/* issue 18 item 4: a non-owner dumps a 0044 queue and can read the image back */
	unlink(IMG);
	ASSERT_EQ(0, nobody(0, out, "dump", QN, "-o", "/tmp/nobody.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, stat("/tmp/nobody.img", &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(NOBODY, st.st_uid);
	EXPECT_EQ(0, nobody(0, out, "inspect", "/tmp/nobody.img")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "mode:      0004\n")) TH_LOG("%s", out);
	unlink("/tmp/nobody.img");
	umask(022);
	/* item 7: dump -o never replaces a file or a symlink without --force */
	ASSERT_EQ(0, run("echo precious > /tmp/victim; ln -sfn /tmp/victim /tmp/link.img; "
			 "echo mine > /tmp/file.img", NULL, 0));
	EXPECT_EQ(X_EXISTS, tool(out, "dump", QN, "-o", "/tmp/file.img"));
	EXPECT_NE(NULL, strstr(out, "exists")) TH_LOG("%s", out);
	EXPECT_EQ(X_EXISTS, tool(out, "dump", QN, "-o", "/tmp/link.img"));
	EXPECT_EQ(0, run("grep -qx mine /tmp/file.img && grep -qx precious /tmp/victim", NULL, 0));
	/* with --force the symlink itself is replaced, its target is untouched */
	EXPECT_EQ(0, tool(out, "dump", QN, "-f", "-o", "/tmp/link.img")) TH_LOG("%s", out);
	EXPECT_EQ(0, run("test ! -L /tmp/link.img && grep -qx precious /tmp/victim", NULL, 0));
	EXPECT_EQ(0, tool(out, "inspect", "/tmp/link.img")) TH_LOG("%s", out);
	run("rm -f /tmp/victim /tmp/link.img /tmp/file.img", NULL, 0);
	/* the old tool's predictable temporary name: a symlink there is not followed */
	ASSERT_EQ(0, run("echo precious > /tmp/victim; "
			 "ln -sf /tmp/victim " IMG ".mqpeek-tmp; ln -sf /tmp/victim /tmp/mqpeek_tool.mqpeek-tmp",
			 NULL, 0));
	ASSERT_EQ(0, tool(out, "dump", QN, "-f", "-o", IMG)) TH_LOG("%s", out);
	ASSERT_EQ(0, run("grep -qx precious /tmp/victim", NULL, 0));
	ASSERT_EQ(0, run("rm -f " IMG ".mqpeek-tmp /tmp/mqpeek_tool.mqpeek-tmp /tmp/victim", NULL, 0));
	/* no temporary file is left next to the image */
	EXPECT_EQ(0, run("! ls -a /tmp | grep -q 'mqpeek-.*tmp'", NULL, 0));
	/* "-o -" is standard output, not a file named "-" */
	ASSERT_EQ(0, run("cd /tmp && " TOOL " dump -f " QN " -o - 2>/dev/null > /tmp/stdout.img",
			 NULL, 0));
	EXPECT_NE(0, access("/tmp/-", F_OK));
	EXPECT_EQ(0, tool(out, "inspect", "/tmp/stdout.img")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "name:      " QN "\n")) TH_LOG("%s", out);
	EXPECT_EQ(0, run(TOOL " inspect - < /tmp/stdout.img > /dev/null", NULL, 0));
	mq_unlink(QN);
}

/* ---- finding 6: inspect, and the notification state recorded in the image */

TEST(inspect_shows_notification_state)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	char out[8192], want[128];
	mqd_t q;

	signal(SIGUSR1, SIG_IGN);
	mq_unlink(QN);
	q = mq_open(QN, O_RDWR | O_CREAT, 0600, &a);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, mq_send(q, "{\"id\": 42}", 10, 9));
	ASSERT_EQ(0, mq_notify(q, &sev));
	ASSERT_EQ(0, tool(out, "dump", QN, "-f", "-o", IMG)) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "inspect", IMG, "--format", "text", "--full"));
	snprintf(want, sizeof(want), "notify:    process %d (SIGEV_SIGNAL, signal %d)\n",
		 getpid(), SIGUSR1);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "maxmsg:    4\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "     0      9       10  {\"id\": 42}\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "inspect", IMG, "--json"));
	snprintf(want, sizeof(want), "\"notify_pid\": %d,", getpid());
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"signo\": 10,")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"version\": 2\n")) TH_LOG("%s", out);
	/* list shows it too, and the registration is still armed after all this */
	snprintf(want, sizeof(want), "%s %d %d\n", QN, SIGUSR1, getpid());
	ASSERT_EQ(0, tool(out, "list", "-r", "--noheadings", "-o", "NAME,SIGNO,NOTIFY_PID"));
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_EQ(-1, mq_notify(q, &sev));
	EXPECT_EQ(EBUSY, errno);
	/* restore says it cannot re-arm it */
	ASSERT_EQ(0, tool(out, "restore", IMG, "--name", "/mqpeek_tool_copy"));
	EXPECT_NE(NULL, strstr(out, "not re-armed")) TH_LOG("%s", out);
	mq_unlink("/mqpeek_tool_copy");
	mq_close(q);
	mq_unlink(QN);
}

/* ---- finding 3: --ipc-ns, and never a row mixing two namespaces */

TEST(ipc_namespace)
{
	int ready[2], done[2], err = 0, st;
	char out[8192], pid_s[16], ns[64];
	pid_t child;
	mqd_t q;

	mq_close(fill());		/* a queue in this namespace */
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	child = fork();
	if (child == 0) {	/* the "container": its own IPC namespace and queue */
		struct mq_attr a = { .mq_maxmsg = 5, .mq_msgsize = 64 };
		char c;

		close(ready[0]);
		close(done[1]);
		if (unshare(CLONE_NEWIPC)) {
			err = errno;
			write(ready[1], &err, sizeof(err));
			_exit(2);
		}
		q = mq_open("/nsq", O_RDWR | O_CREAT, 0640, &a);
		mq_send(q, "ns-0", 4, 0);
		mq_send(q, "ns-1", 4, 5);
		mq_send(q, "ns-2", 4, 2);
		write(ready[1], &err, sizeof(err));
		read(done[0], &c, 1);	/* until the parent is done */
		/* what the parent restored into this namespace is here, not there */
		q = mq_open("/nsq_copy", O_RDONLY);
		_exit(q >= 0 ? 0 : 1);
	}
	close(ready[1]);
	close(done[0]);
	ASSERT_EQ(sizeof(err), read(ready[0], &err, sizeof(err)));
	if (err) {
		close(done[1]);
		waitpid(child, &st, 0);
		mq_unlink(QN);
		SKIP(return, "no IPC namespaces in this kernel (unshare: %s)", strerror(err));
	}
	snprintf(pid_s, sizeof(pid_s), "%d", child);
	snprintf(ns, sizeof(ns), "/proc/%d/ns/ipc", child);

	/* list: that namespace's queues only, every column from it */
	ASSERT_EQ(0, tool(out, "--ipc-ns", pid_s, "list", "-J", "-o", "NAME,MSGS,MAXMSG,MSGSIZE"));
	EXPECT_NE(NULL, strstr(out, "\"name\": \"/nsq\",\n         \"msgs\": \"3\",\n"
				    "         \"maxmsg\": \"5\",\n         \"msgsize\": \"64\"\n"))
		TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, QN)) TH_LOG("%s", out);
	/* and ours are not mixed into it, nor its into ours */
	ASSERT_EQ(0, tool(out, "list"));
	EXPECT_EQ(NULL, strstr(out, "/nsq")) TH_LOG("%s", out);
	/* show, dump, restore */
	ASSERT_EQ(0, tool(out, "show", "/nsq", "--ipc-ns", pid_s, "--format", "text"));
	EXPECT_NE(NULL, strstr(out, "/nsq: 3 messages (maxmsg 5, msgsize 64)")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "     0      5        4  ns-1\n     1      2        4  ns-2\n"
				    "     2      0        4  ns-0\n")) TH_LOG("%s", out);
	EXPECT_EQ(X_NOQUEUE, tool(out, "show", "/nsq"));	/* not in ours */
	ASSERT_EQ(0, tool(out, "--ipc-ns", ns, "dump", "/nsq", "-f", "-o", "/tmp/ns.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "--ipc-ns", ns, "restore", "/tmp/ns.img", "--name", "/nsq_copy"))
		TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue/nsq_copy", F_OK));
	ASSERT_EQ(0, tool(out, "--ipc-ns", pid_s, "list", "--noheadings", "-r", "-o", "NAME,MSGS"));
	EXPECT_NE(NULL, strstr(out, "/nsq 3\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "/nsq_copy 3\n")) TH_LOG("%s", out);
	EXPECT_EQ(X_USAGE, tool(out, "--ipc-ns", "/proc/self/status", "list"));
	close(done[1]);
	waitpid(child, &st, 0);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("/nsq_copy not in the namespace");

	/*
	 * A process in a new IPC namespace that still sees this namespace's
	 * /dev/mqueue: the tool must refuse rather than mix names from the mount
	 * with attributes from its own namespace (the old --mount did).
	 */
	child = fork();
	if (child == 0) {
		int fd = open("/tmp/mix.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (unshare(CLONE_NEWIPC))
			_exit(120);
		execl(TOOL, "mqpeek", "list", NULL);
		_exit(122);
	}
	waitpid(child, &st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(X_FAIL, WEXITSTATUS(st));
	ASSERT_EQ(0, run("cat /tmp/mix.out", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "belongs to another IPC namespace")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "--ipc-ns")) TH_LOG("%s", out);
	mq_unlink(QN);
}

/* ---- finding 5: a kernel that implements the RFC exactly, and one without the batch */

static int dump_and_compare(struct __test_metadata *_metadata, const char *how)
{
	char out[8192];
	mqd_t q;
	int bad;

	mq_close(fill());
	if (tool(out, "dump", QN, "-f", "-o", IMG)) {
		TH_LOG("%s: dump failed: %s", how, out);
		return 1;
	}
	if (tool(out, "show", QN) || !strstr(out, "12 messages")) {
		TH_LOG("%s: show failed: %s", how, out);
		return 1;
	}
	mq_unlink("/mqpeek_tool_copy");
	if (tool(out, "restore", IMG, "--name", "/mqpeek_tool_copy")) {
		TH_LOG("%s: restore failed: %s", how, out);
		return 1;
	}
	q = mq_open("/mqpeek_tool_copy", O_RDONLY);
	bad = drain_matches(_metadata, q);
	mq_close(q);
	mq_unlink("/mqpeek_tool_copy");
	mq_unlink(QN);
	return bad;
}

/*
 * The module reloaded with test_switches (mq_peek_reload()): the only way to
 * make it behave as an older kernel.  Each test puts the plain module back.
 */
static void reload(struct __test_metadata *_metadata, const char *params)
{
	int err = mq_peek_reload(params);

	ASSERT_EQ(0, err) TH_LOG("reloading mq_peek.ko %s: %s", params, strerror(-err));
}

TEST(rfc_exact_kernel)
{
	/* F_MQ_PEEK alone, without the length query: mq_msgsize buffers */
	reload(_metadata, "test_switches=3");
	EXPECT_EQ(0, dump_and_compare(_metadata, "RFC-exact F_MQ_PEEK"));
	/* the batch without the length query (the batch never needed it) */
	reload(_metadata, "test_switches=1");
	EXPECT_EQ(0, dump_and_compare(_metadata, "batch, no length query"));
	reload(_metadata, "");
}

/* A dump of the 12-message queue: F_MQ_PEEK calls the module counted. */
static long dump_calls(void)
{
	char out[4096];
	long before;

	mq_close(fill());
	before = mq_peek_debugfs_get("calls");
	if (tool(out, "dump", QN, "-f", "-o", IMG))
		return -1;
	mq_unlink(QN);
	return mq_peek_debugfs_get("calls") - before;
}

TEST(no_batch_fallback)
{
	long batch, single;

	reload(_metadata, "test_switches=2");
	EXPECT_EQ(0, dump_and_compare(_metadata, "F_MQ_PEEK with the length query"));
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	single = dump_calls();
	reload(_metadata, "");
	EXPECT_EQ(0, dump_and_compare(_metadata, "F_MQ_PEEK_BATCH"));
	/* the batch is used when it is there: a probe and one call, not a call a message */
	ASSERT_EQ(0, mq_peek_debugfs_set("stats", 1));
	batch = dump_calls();
	mq_peek_debugfs_set("stats", 0);
	EXPECT_GE(3, batch) TH_LOG("%ld calls with F_MQ_PEEK_BATCH", batch);
	EXPECT_LE(2 * 2 * NMSG, single) TH_LOG("%ld calls with F_MQ_PEEK", single);
}

/* Messages larger than one batch buffer (1 MiB): the truncated record is re-read. */
TEST(large_messages)
{
	static const size_t lens[] = { (3 << 20) / 2, 10, 2 << 20, 1 << 20 };
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 2 << 20 };
	unsigned char *m = malloc(2 << 20), *r = malloc(2 << 20);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char out[4096];
	unsigned int prio;
	mqd_t q;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, setrlimit(RLIMIT_MSGQUEUE, &rl));
	mq_unlink(QN);
	q = mq_open(QN, O_RDWR | O_CREAT, 0600, &a);
	ASSERT_LE(0, q);
	for (int i = 0; i < 4; i++) {
		for (size_t j = 0; j < lens[i]; j++)
			m[j] = pat(i, j);
		ASSERT_EQ(0, mq_send(q, (char *)m, lens[i], 0));
	}
	mq_close(q);
	ASSERT_EQ(0, tool(out, "dump", QN, "-f", "-o", IMG)) TH_LOG("%s", out);
	mq_unlink("/mqpeek_tool_copy");
	ASSERT_EQ(0, tool(out, "restore", IMG, "--name", "/mqpeek_tool_copy")) TH_LOG("%s", out);
	q = mq_open("/mqpeek_tool_copy", O_RDONLY);
	ASSERT_LE(0, q);
	for (int i = 0; i < 4; i++) {
		ssize_t n = mq_receive(q, (char *)r, 2 << 20, &prio);

		EXPECT_EQ((ssize_t)lens[i], n);
		for (size_t j = 0; j < lens[i] && n == (ssize_t)lens[i]; j++)
			if (r[j] != pat(i, j)) {
				TH_LOG("message %d: byte %zu differs", i, j);
				break;
			}
	}
	mq_close(q);
	mq_unlink("/mqpeek_tool_copy");
	mq_unlink(QN);
	free(m);
	free(r);
}

TEST(send)
{
	struct qstate st;
	char out[4096];

	mq_unlink(QN);
	EXPECT_EQ(X_NOQUEUE, tool(out, "send", QN, "x"));
	ASSERT_EQ(0, tool(out, "send", QN, "--create", "--mode", "640", "--maxmsg", "2",
			  "--msgsize", "16", "--prio", "3", "one", "two")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &st));
	EXPECT_EQ(0640, st.mode);
	EXPECT_EQ(2, st.maxmsg);
	EXPECT_EQ(16, st.msgsize);
	EXPECT_EQ(2, st.curmsgs);
	EXPECT_EQ(3, st.prio[1]);
	EXPECT_EQ(0, strcmp(st.data[1], "two"));
	EXPECT_EQ(X_LIMITS, tool(out, "send", QN, "three"));	/* full: never blocks */
	EXPECT_NE(NULL, strstr(out, "full")) TH_LOG("%s", out);
	mq_unlink(QN);
}

TEST(restore_beyond_limits)
{
	char out[4096];
	long saved = mq_sysctl_get("msgsize_max");
	mqd_t q = fill();

	default_limits();
	ASSERT_LE(0, q);
	mq_close(q);
	ASSERT_EQ(0, run(TOOL " dump -f " QN " -o " IMG " 2>/dev/null; chmod 644 " IMG, NULL, 0));
	mq_unlink(QN);
	/* msgsize_max below the image's msgsize: a clear error naming the limit */
	mq_sysctl_set("msgsize_max", 8192);
	EXPECT_EQ(X_LIMITS, nobody(0, out, "restore", IMG));
	EXPECT_NE(NULL, strstr(out, "msgsize_max")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "msg_max")) TH_LOG("%s", out);	/* 14 > 10 too */
	EXPECT_NE(0, access("/dev/mqueue" QN, F_OK));
	mq_sysctl_set("msgsize_max", saved);
	mq_unlink(QN);
}

/* ---- issue 18: SIGKILL at every step, racing consumers, a name that changes hands */

#define BK	"/tmp/mqpeek_bk"

/*
 * The tests below run the tool tens of times each; on a loaded host under TCG
 * and the debug kernel that can pass the harness's default 30 s.
 */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

/* @a and @b hold the same queue (contents, attributes, mode, owner), maybe not the same inode. */
static int same_contents(const struct qstate *a, const struct qstate *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->maxmsg == b->maxmsg && a->msgsize == b->msgsize && a->curmsgs == b->curmsgs &&
	       !memcmp(a->prio, b->prio, sizeof(a->prio)) && !memcmp(a->len, b->len, sizeof(a->len)) &&
	       !memcmp(a->data, b->data, sizeof(a->data));
}

/* Files in BK whose name contains @what. */
static int files_in_bk(const char *what)
{
	DIR *d = opendir(BK);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strstr(e->d_name, what))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* The path after "saved in " in @out (the last one printed), or NULL. */
static char *saved_path(const char *out, char *path, size_t len)
{
	const char *p = out, *q, *last = NULL;

	while ((q = strstr(p, "saved in "))) {
		last = q + strlen("saved in ");
		p = last;
	}
	if (!last)
		return NULL;
	snprintf(path, len, "%.*s", (int)strcspn(last, " \n)'"), last);
	return path;
}

/*
 * Issue 18 item 1: restore --force killed after every one of its steps in turn
 * (MQPEEK_KILL_AT_STEP=K, K = 1, 2, ... until a run completes).  After each
 * kill the old queue is under the name, or the new one complete, or the backup
 * whose path was printed restores the old one; the next run reports the
 * backup and removes the temporary queue and files; nothing is left behind.
 */
TEST_F_TIMEOUT(slow, force_survives_sigkill_at_every_step, 300)
{
	struct qstate old, new, now;
	int seen_old = 0, seen_new = 0, seen_backup = 0, k, rc = -1;
	char out[8192], path[512], env[16];

	run("rm -rf " BK "; mkdir -p " BK, NULL, 0);
	setenv("MQPEEK_BACKUP_DIR", BK, 1);
	ASSERT_EQ(0, write_v1("/tmp/kill.img", QN, 4, 32, 0604, 0, 0, 3, prios3));
	/* what the new queue looks like, built once under another name */
	mq_unlink("/mqpeek_tool_ref");
	ASSERT_EQ(0, tool(out, "restore", "--name", "/mqpeek_tool_ref", "/tmp/kill.img"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, capture("/mqpeek_tool_ref", &new));
	mq_unlink("/mqpeek_tool_ref");
	for (k = 1; k < 200; k++) {
		ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 5));
		ASSERT_EQ(0, capture(QN, &old));
		snprintf(env, sizeof(env), "%d", k);
		setenv("MQPEEK_KILL_AT_STEP", env, 1);
		rc = tool(out, "restore", "--force", "/tmp/kill.img");
		unsetenv("MQPEEK_KILL_AT_STEP");
		if (rc != 128 + SIGKILL) {
			EXPECT_EQ(0, rc) TH_LOG("step %d: %s", k, out);
			ASSERT_EQ(0, capture(QN, &now));
			EXPECT_TRUE(same_contents(&now, &new));
			break;
		}
		if (!capture(QN, &now) && same_contents(&now, &old)) {
			seen_old++;
		} else if (!capture(QN, &now) && same_contents(&now, &new)) {
			seen_new++;
		} else {
			/* neither: the printed backup must put the old queue back */
			seen_backup++;
			ASSERT_NE(NULL, saved_path(out, path, sizeof(path)))
				TH_LOG("killed after step %d: no queue and no backup: %s", k, out);
			ASSERT_EQ(0, access(path, R_OK)) TH_LOG("step %d: %s", k, path);
			EXPECT_EQ(0, tool(out, "restore", "--force", path))
				TH_LOG("step %d: %s", k, out);
			EXPECT_NE(NULL, strstr(out, "interrupted")) TH_LOG("step %d: %s", k, out);
			ASSERT_EQ(0, capture(QN, &now));
			EXPECT_TRUE(same_contents(&now, &old)) TH_LOG("step %d", k);
			unlink(path);
		}
		/* the next run cleans up and reports what it keeps */
		mq_unlink("/mqpeek_tool_scratch");
		EXPECT_EQ(0, tool(out, "restore", "--name", "/mqpeek_tool_scratch", "/tmp/kill.img"))
			TH_LOG("step %d: %s", k, out);
		mq_unlink("/mqpeek_tool_scratch");
		if (files_in_bk("mqpeek-backup-")) {
			EXPECT_NE(NULL, strstr(out, "left by an interrupted restore --force"))
				TH_LOG("step %d: %s", k, out);
			run("rm -f " BK "/mqpeek-backup-*", NULL, 0);
		}
		EXPECT_EQ(0, leftovers()) TH_LOG("step %d: a temporary queue is left", k);
		EXPECT_EQ(0, files_in_bk(".tmp"));
		EXPECT_EQ(0, files_in_bk(".journal")) TH_LOG("step %d", k);
	}
	TH_LOG("restore --force has %d steps: killed after each, the old queue was there %d "
	       "times, the new one %d, the backup put the old one back %d", k - 1, seen_old,
	       seen_new, seen_backup);
	EXPECT_EQ(0, rc);
	/* every outcome happened, so the test tells them apart */
	EXPECT_LT(10, k);
	EXPECT_LT(0, seen_old);
	EXPECT_LT(0, seen_new);
	EXPECT_LT(0, seen_backup);
	EXPECT_EQ(0, leftovers());
	unsetenv("MQPEEK_BACKUP_DIR");
	mq_unlink(QN);
}

/*
 * The same for a plain restore: after a kill there is no queue, or the whole
 * new one, or one of mode 0000 that no unprivileged process can open, which
 * the next run reports as half-built.
 */
TEST_F_TIMEOUT(slow, plain_restore_survives_sigkill_at_every_step, 300)
{
	int k, rc = -1, half = 0;
	struct qstate new, now;
	char out[8192], env[16];

	run("rm -rf " BK "; mkdir -p " BK, NULL, 0);
	setenv("MQPEEK_BACKUP_DIR", BK, 1);
	ASSERT_EQ(0, write_v1("/tmp/kill.img", QN, 4, 32, 0604, 0, 0, 3, prios3));
	mq_unlink("/mqpeek_tool_ref");
	ASSERT_EQ(0, tool(out, "restore", "--name", "/mqpeek_tool_ref", "/tmp/kill.img"));
	ASSERT_EQ(0, capture("/mqpeek_tool_ref", &new));
	mq_unlink("/mqpeek_tool_ref");
	for (k = 1; k < 100; k++) {
		mq_unlink(QN);
		snprintf(env, sizeof(env), "%d", k);
		setenv("MQPEEK_KILL_AT_STEP", env, 1);
		rc = tool(out, "restore", "/tmp/kill.img");
		unsetenv("MQPEEK_KILL_AT_STEP");
		if (rc != 128 + SIGKILL)
			break;
		if (capture(QN, &now) == 0 && !same_contents(&now, &new)) {
			half++;
			EXPECT_EQ(0, now.mode) TH_LOG("step %d: a half-built queue is open to all", k);
			mq_unlink("/mqpeek_tool_scratch");
			EXPECT_EQ(0, tool(out, "restore", "--name", "/mqpeek_tool_scratch",
					  "/tmp/kill.img"));
			EXPECT_NE(NULL, strstr(out, "interrupted")) TH_LOG("step %d: %s", k, out);
			EXPECT_NE(NULL, strstr(out, "mode 0000")) TH_LOG("step %d: %s", k, out);
			mq_unlink("/mqpeek_tool_scratch");
		}
	}
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	EXPECT_LT(0, half);
	ASSERT_EQ(0, capture(QN, &now));
	EXPECT_TRUE(same_contents(&now, &new));
	unsetenv("MQPEEK_BACKUP_DIR");
	mq_unlink(QN);
}

/*
 * Issue 18 item 2: a consumer (uid 65534, allowed by the image's mode 0666)
 * spins on mq_open + mq_receive while the tool builds the queue.  It must not
 * get in before the queue is complete: the tool reads back all 10 messages
 * and succeeds, every time.
 */
TEST_F_TIMEOUT(slow, no_consumer_sees_a_half_built_queue, 300)
{
	static const uint32_t p10[10] = { 0 };
	char out[4096];

	ASSERT_EQ(0, write_v1("/tmp/cons.img", QN, 10, 64, 0666, 0, 0, 10, p10));
	for (int round = 0; round < 5; round++) {
		int st, rc;
		pid_t c;

		mq_unlink(QN);
		c = fork();
		if (c == 0) {
			char m[64];

			alarm(120);	/* a failed restore leaves nothing to receive */
			if (setgid(NOBODY) || setuid(NOBODY))
				_exit(1);
			for (;;) {
				mqd_t q = mq_open(QN, O_RDONLY | O_NONBLOCK);

				if (q >= 0 && mq_receive(q, m, sizeof(m), NULL) >= 0)
					_exit(0);
				if (q >= 0)
					mq_close(q);
			}
		}
		usleep(10000);
		rc = tool(out, "restore", "/tmp/cons.img");
		waitpid(c, &st, 0);
		EXPECT_EQ(0, rc) TH_LOG("round %d: %s", round, out);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	mq_unlink(QN);
}

/*
 * Issue 18 item 3: the name is re-created by the application between the copy
 * and the unlink (the tool is stopped there: MQPEEK_STOP_AT_STEP).  The tool
 * must not unlink the new queue; it says so and keeps the copy.
 */
TEST_F_TIMEOUT(slow, force_never_unlinks_a_queue_it_did_not_copy, 300)
{
	/*
	 * Stopped after the trial build, and after the last check of the contents:
	 * the name's identity is checked after both, right before mq_unlink().
	 */
	static const char *const stops[] = { "temporary queue removed", "contents checked again" };
	struct qstate intruder, now, old;
	char out[8192] = "", path[512];
	int p[2], st, rc;
	unsigned int i;
	size_t got;
	ssize_t n;
	pid_t pid;
	mqd_t q;

	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		TH_LOG("stopped after the step \"%s\"", stops[i]);
		run("rm -rf " BK "; mkdir -p " BK, NULL, 0);
		ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 5));
		ASSERT_EQ(0, capture(QN, &old));
		ASSERT_EQ(0, write_v1("/tmp/hands.img", QN, 4, 32, 0604, 0, 0, 3, prios3));
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		if (pid == 0) {
			dup2(p[1], 1);
			dup2(p[1], 2);
			close(p[0]);
			setenv("MQPEEK_BACKUP_DIR", BK, 1);
			setenv("MQPEEK_STOP_AT_STEP", stops[i], 1);
			execl(TOOL, "mqpeek", "restore", "--force", "/tmp/hands.img", NULL);
			_exit(122);
		}
		close(p[1]);
		ASSERT_EQ(pid, waitpid(pid, &st, WUNTRACED));
		ASSERT_TRUE(WIFSTOPPED(st));
		/* the application replaces its queue meanwhile */
		ASSERT_EQ(0, mq_unlink(QN));
		q = mq_open(QN, O_RDWR | O_CREAT | O_EXCL, 0600,
			    &(struct mq_attr){ .mq_maxmsg = 3, .mq_msgsize = 16 });
		ASSERT_LE(0, q);
		ASSERT_EQ(0, mq_send(q, "intruder", 8, 0));
		ASSERT_EQ(0, capture(QN, &intruder));
		kill(pid, SIGCONT);
		got = 0;
		while ((n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
			got += n;
		out[got] = 0;
		close(p[0]);
		waitpid(pid, &st, 0);
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		EXPECT_EQ(X_FAIL, rc) TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, "was replaced by another queue")) TH_LOG("%s", out);
		ASSERT_EQ(0, capture(QN, &now));
		EXPECT_SAME_QUEUE(intruder, now);
		/* the queue it copied is in the backup */
		ASSERT_NE(NULL, saved_path(out, path, sizeof(path))) TH_LOG("%s", out);
		EXPECT_EQ(0, tool(out, "restore", "--force", "--name", "/mqpeek_tool_back", path))
			TH_LOG("%s", out);
		ASSERT_EQ(0, capture("/mqpeek_tool_back", &now));
		EXPECT_TRUE(same_contents(&now, &old));
		mq_unlink("/mqpeek_tool_back");
		mq_close(q);
		mq_unlink(QN);
		run("rm -rf " BK, NULL, 0);
		EXPECT_EQ(0, leftovers());
	}
}

/* Issue 18 item 7: every smaller finding, one check each. */
TEST_F_TIMEOUT(slow, issue18_smaller_findings, 300)
{
	static const uint32_t p1[1] = { 0 };
	struct qstate st;
	char out[8192];

	/* completions | a reader that goes away: no panic (101), a quiet end */
	run("(" TOOL " completions bash; echo $? > /tmp/st) | true; cat /tmp/st", out, sizeof(out));
	EXPECT_TRUE(atoi(out) == 0 || atoi(out) == 141) TH_LOG("exit %s", out);
	run("(" TOOL " completions bash; echo $? > /tmp/st) | head -c 1 >/dev/null; cat /tmp/st",
	    out, sizeof(out));
	EXPECT_TRUE(atoi(out) == 0 || atoi(out) == 141) TH_LOG("exit %s", out);
	/* write errors, clap's own output included, are failures */
	EXPECT_EQ(X_FAIL, run(TOOL " --help > /dev/full 2>/dev/null", NULL, 0));
	EXPECT_EQ(X_FAIL, run(TOOL " --version > /dev/full 2>/dev/null", NULL, 0));
	EXPECT_EQ(X_FAIL, run(TOOL " completions bash > /dev/full 2>/dev/null", NULL, 0));
	EXPECT_EQ(X_USAGE, run(TOOL " list --bogus 2> /dev/full", NULL, 0));
	/* --offset past what an int holds is past the end, not "no F_MQ_PEEK" */
	ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 3));
	EXPECT_EQ(0, tool(out, "show", QN, "--offset", "2147483648")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "F_MQ_PEEK")) TH_LOG("%s", out);
	EXPECT_EQ(0, tool(out, "show", QN, "--offset", "18446744073709551615")) TH_LOG("%s", out);
	/* a name with '/' is not a queue name (not "permission denied") */
	EXPECT_EQ(X_USAGE, tool(out, "show", "/a/b"));
	EXPECT_NE(NULL, strstr(out, "not a queue name")) TH_LOG("%s", out);
	EXPECT_EQ(X_USAGE, tool(out, "dump", "/a/b", "-o", "/tmp/ab.img"));
	/* --ipc-ns of a process that does not exist */
	EXPECT_EQ(X_FAIL, tool(out, "--ipc-ns", "999999", "list"));
	EXPECT_NE(NULL, strstr(out, "no such process")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "no such queue")) TH_LOG("%s", out);
	/* setuid bits, (uid_t)-1: invalid images, refused before anything changes */
	ASSERT_EQ(0, write_v1("/tmp/suid.img", "/mqpeek_tool_suid", 4, 32, 04777, 0, 0, 1, p1));
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "/tmp/suid.img"));
	EXPECT_NE(NULL, strstr(out, "0777")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue/mqpeek_tool_suid", F_OK));
	ASSERT_EQ(0, write_v1("/tmp/suid.img", "/mqpeek_tool_suid", 4, 32, 0600, 0xffffffff, 0,
			      1, p1));
	EXPECT_EQ(X_IMAGE, tool(out, "restore", "/tmp/suid.img"));
	EXPECT_NE(NULL, strstr(out, "4294967295")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue/mqpeek_tool_suid", F_OK));
	/* --dry-run fails where the real run fails: an owner it cannot give ... */
	default_limits();
	ASSERT_EQ(0, old_queue_as(NOBODY, QN, 8, 64, 3));
	ASSERT_EQ(0, write_v1("/tmp/dry.img", QN, 8, 64, 0640, 0, 0, 1, p1));
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--force", "--dry-run", "/tmp/dry.img"));
	EXPECT_NE(NULL, strstr(out, "cannot give it")) TH_LOG("%s", out);
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--force", "/tmp/dry.img"));
	/* ... and a queue it may not unlink (root's, in the sticky /dev/mqueue) */
	ASSERT_EQ(0, old_queue_as(0, QN, 8, 64, 3));
	ASSERT_EQ(0, chmod("/dev/mqueue" QN, 0666));
	ASSERT_EQ(0, write_v1("/tmp/dry.img", QN, 8, 64, 0640, NOBODY, NOBODY, 1, p1));
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--force", "--dry-run", "/tmp/dry.img"));
	EXPECT_NE(NULL, strstr(out, "only its owner")) TH_LOG("%s", out);
	EXPECT_EQ(X_PERM, nobody(0, out, "restore", "--force", "/tmp/dry.img"));
	ASSERT_EQ(0, capture(QN, &st));
	EXPECT_EQ(3, st.curmsgs);
	/* send --create on an existing queue does not ignore --maxmsg and --mode */
	EXPECT_EQ(X_EXISTS, tool(out, "send", QN, "--create", "--maxmsg", "2", "x"));
	EXPECT_NE(NULL, strstr(out, "exists with maxmsg 8")) TH_LOG("%s", out);
	EXPECT_EQ(X_EXISTS, tool(out, "send", QN, "--create", "--mode", "600", "x"));
	EXPECT_NE(NULL, strstr(out, "mode 0666")) TH_LOG("%s", out);
	EXPECT_EQ(0, tool(out, "send", QN, "--create", "--maxmsg", "8", "x")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &st));
	EXPECT_EQ(4, st.curmsgs);
	/* a partial send says how many went in */
	EXPECT_EQ(X_LIMITS, tool(out, "send", QN, "a", "b", "c", "d", "e", "f"));
	EXPECT_NE(NULL, strstr(out, "4 of 6 messages were sent")) TH_LOG("%s", out);
	/* errors are sentences, not Rust's "(os error N)" */
	EXPECT_EQ(X_FAIL, tool(out, "dump", QN, "-o", "/nonexistent/dir/x.img"));
	EXPECT_EQ(NULL, strstr(out, "os error")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "No such file or directory")) TH_LOG("%s", out);
	EXPECT_EQ(X_FAIL, tool(out, "inspect", "/nonexistent.img"));
	EXPECT_EQ(NULL, strstr(out, "os error")) TH_LOG("%s", out);
	mq_unlink(QN);
}

/*
 * Issue 18 items 4 and 6: names escaped as util-linux does and never dropped,
 * JSON with their exact bytes, lsipc's -n/-e/-g/-N/-y, rm like ipcrm, and
 * dump --pid --fd of a queue that is open but unlinked.
 */
TEST_F_TIMEOUT(slow, lsipc_names_rm_and_open_unlinked, 300)
{
	static const char esc[] = "/mqpeek_tool_\x1b[31mred\nx", bad[] = "/mqpeek_tool_\xff\xfe";
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	char out[16384], cmd[256];
	struct qstate st;
	mqd_t q1, q2, q3;
	pid_t pid;
	int p[2];

	mq_unlink(esc);
	mq_unlink(bad);
	q1 = mq_open(esc, O_RDWR | O_CREAT, 0600, &a);
	q2 = mq_open(bad, O_RDWR | O_CREAT, 0600, &a);
	ASSERT_LE(0, q1);
	ASSERT_LE(0, q2);
	ASSERT_EQ(0, mq_send(q2, "b", 1, 0));
	ASSERT_EQ(0, tool(out, "list", "-o", "NAME,MSGS"));
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\x1b[31mred\\x0ax ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\xff\\xfe ")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strchr(out, '\x1b')) TH_LOG("a raw escape reached the output");
	ASSERT_EQ(0, tool(out, "list", "-J", "-o", "NAME"));
	EXPECT_NE(NULL, strstr(out, "\"/mqpeek_tool_\\u001b[31mred\\nx\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"/mqpeek_tool_\xff\xfe\"")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "list", "-e", "-o", "NAME,MSGS"));
	EXPECT_NE(NULL, strstr(out, "NAME=\"/mqpeek_tool_\\xff\\xfe\" MSGS=\"1\"\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "list", "-n", "-y", "-o", "NAME,USEDBYTES"));
	EXPECT_NE(NULL, strstr(out, "NAME=\"/mqpeek_tool_\\xff\\xfe\"\nUSEDBYTES=\"1B\"\n"))
		TH_LOG("%s", out);
	/* -N: lsipc's one-queue view; -g: the system-wide limits */
	ASSERT_EQ(0, tool(out, "list", "-N", bad));
	EXPECT_NE(NULL, strstr(out, "Name:                               /mqpeek_tool_\\xff\\xfe"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "Messages:                           1 ")) TH_LOG("%s", out);
	EXPECT_EQ(X_NOQUEUE, tool(out, "list", "-N", "/mqpeek_tool_none"));
	/* as lsipc -Q -g: -Q's columns first, empty (scripts/lsipc-compare.sh) */
	ASSERT_EQ(0, tool(out, "list", "-g"));
	EXPECT_EQ((char *)out, strstr(out, "NAME PERMS OWNER MTIME USEDBYTES MSGS RESOURCE DESCRIPTION"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "MQUMNI   Number of POSIX message queues")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "MQUMNB   Number of messages in POSIX message queue")) TH_LOG("%s", out);
	EXPECT_EQ(X_USAGE, tool(out, "list", "-g", "-N", bad));
	/* rm, as ipcrm --posix-mqueue: every name tried, the first failure's status */
	EXPECT_EQ(X_NOQUEUE, tool(out, "rm", "/mqpeek_tool_none", esc, bad));
	EXPECT_NE(NULL, strstr(out, "failed to remove mqueue /mqpeek_tool_none")) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue/mqpeek_tool_\xff\xfe", F_OK));
	EXPECT_EQ(-1, mq_unlink(esc));
	/* dump --pid --fd: a queue open in another process, unlinked */
	q3 = mq_open(QN, O_RDWR | O_CREAT, 0640, &a);
	ASSERT_LE(0, q3);
	ASSERT_EQ(0, mq_send(q3, "hidden", 6, 5));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	if (pid == 0) {
		char c;

		close(p[1]);
		read(p[0], &c, 1);	/* holds q3 until told */
		_exit(0);
	}
	close(p[0]);
	ASSERT_EQ(0, mq_unlink(QN));
	snprintf(cmd, sizeof(cmd), "%d", pid);
	{
		char fd[16];

		snprintf(fd, sizeof(fd), "%d", q3);
		unlink("/tmp/pidfd.img");
		EXPECT_EQ(0, tool(out, "dump", "--pid", cmd, "--fd", fd, "-o", "/tmp/pidfd.img"))
			TH_LOG("%s", out);
		EXPECT_EQ(X_USAGE, tool(out, "dump", "--pid", cmd, "--fd", "0", "-o", "/tmp/no.img"))
			TH_LOG("%s", out);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);
	mq_close(q3);
	mq_close(q1);
	mq_close(q2);
	ASSERT_EQ(0, tool(out, "restore", "/tmp/pidfd.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(QN, &st));
	EXPECT_EQ(1, st.curmsgs);
	EXPECT_EQ(5, st.prio[0]);
	EXPECT_EQ(0, strcmp(st.data[0], "hidden"));
	EXPECT_EQ(0640, st.mode);
	mq_unlink(QN);
}

/*
 * Issue 18, names as bytes: a queue whose name is not UTF-8 and carries an
 * escape sequence is reached by every command that takes a name (send, show,
 * dump, restore --name, list, rm), is printed escaped as util-linux prints
 * it, never raw, and keeps its exact bytes through an image, restored under
 * another such name; an image file name need not be UTF-8 either.
 */
TEST_F_TIMEOUT(slow, names_are_bytes, 300)
{
	static const char qa[] = "/mqpeek_tool_\xff\x1b[1mq", qb[] = "/mqpeek_tool_\xfe\x1b]0;r";
	static const char img[] = "/tmp/mqpeek_tool_\xff.img";
	char out[16384];
	struct qstate a, b;

	mq_unlink(qa);
	mq_unlink(qb);
	unlink(img);
	ASSERT_EQ(0, tool(out, "send", "--create", "--maxmsg", "4", "--msgsize", "64",
			  "--prio", "3", qa, "one", "\xff\x01two")) TH_LOG("%s", out);
	/* the leading '/' may be left out, as for every name */
	ASSERT_EQ(0, tool(out, "send", qa + 1, "three")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(qa, &a));
	ASSERT_EQ(3, a.curmsgs);
	EXPECT_EQ(3, a.prio[0]);
	EXPECT_EQ(5, a.len[1]);
	EXPECT_EQ(0, memcmp(a.data[1], "\xff\x01two", 5));
	EXPECT_EQ(0, a.prio[2]);

	ASSERT_EQ(0, tool(out, "show", qa, "--format", "text")) TH_LOG("%s", out);
	EXPECT_EQ((char *)out, strstr(out, "/mqpeek_tool_\\xff\\x1b[1mq: 3 messages (maxmsg 4"))
		TH_LOG("%s", out);
	EXPECT_EQ(NULL, strchr(out, '\x1b')) TH_LOG("a raw escape reached the output");
	EXPECT_EQ(X_NOQUEUE, tool(out, "show", qb));
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\xfe\\x1b]0;r: no such queue")) TH_LOG("%s", out);

	ASSERT_EQ(0, tool(out, "dump", qa, "-o", img)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\xff\\x1b[1mq: 3 messages, 13 bytes written to "
				    "/tmp/mqpeek_tool_\\xff.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "inspect", img)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\nname:      /mqpeek_tool_\\xff\\x1b[1mq\n")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strchr(out, '\x1b')) TH_LOG("a raw escape reached the output");
	ASSERT_EQ(0, tool(out, "inspect", "--json", img)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"name_hex\": \"2f6d717065656b5f746f6f6c5fff1b5b316d71\""))
		TH_LOG("%s", out);

	/* the image's own name is taken: without --force, exit 8 */
	EXPECT_EQ(X_EXISTS, tool(out, "restore", img)) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "restore", img, "--name", qb)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\xfe\\x1b]0;r: restored 3 messages from "
				    "/tmp/mqpeek_tool_\\xff.img")) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(qb, &b));
	EXPECT_EQ(a.curmsgs, b.curmsgs);
	EXPECT_EQ(a.maxmsg, b.maxmsg);
	EXPECT_EQ(a.msgsize, b.msgsize);
	EXPECT_EQ(a.mode, b.mode);
	EXPECT_EQ(0, memcmp(a.prio, b.prio, sizeof(a.prio)));
	EXPECT_EQ(0, memcmp(a.len, b.len, sizeof(a.len)));
	EXPECT_EQ(0, memcmp(a.data, b.data, sizeof(a.data)));
	/* --force onto the image's own (non-UTF-8) name */
	ASSERT_EQ(0, tool(out, "send", qa, "four")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "restore", "--force", img)) TH_LOG("%s", out);
	ASSERT_EQ(0, capture(qa, &b));
	EXPECT_EQ(3, b.curmsgs);

	/* -J carries the exact bytes; the table escapes them */
	ASSERT_EQ(0, tool(out, "list", "-J", "-o", "NAME,MSGS")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"/mqpeek_tool_\xfe\\u001b]0;r\"")) TH_LOG("%s", out);
	ASSERT_EQ(0, tool(out, "list", "-o", "NAME,MSGS")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\xfe\\x1b]0;r ")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strchr(out, '\x1b')) TH_LOG("a raw escape reached the output");
	/* a name with '/' or nothing after the slash is a usage error, escaped */
	EXPECT_EQ(X_USAGE, tool(out, "show", "/mqpeek_tool_\x1b/x"));
	EXPECT_NE(NULL, strstr(out, "/mqpeek_tool_\\x1b/x: not a queue name")) TH_LOG("%s", out);

	EXPECT_EQ(0, tool(out, "rm", qa, qb)) TH_LOG("%s", out);
	EXPECT_NE(0, access("/dev/mqueue/mqpeek_tool_\xff\x1b[1mq", F_OK));
	unlink(img);
}

TEST_HARNESS_MAIN
