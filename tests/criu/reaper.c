// SPDX-License-Identifier: GPL-2.0
/*
 * reaper CMD [ARGS...] - run CMD as a child subreaper and reap every orphan
 * below it; exit with CMD's status.
 *
 * A ZDTM test daemonizes, so once `criu dump` kills it, it is the zombie of
 * whatever adopted it; the VM's /init (a shell busy running the tests) would
 * leave it unreaped, its pid taken, and `criu restore` could not give the
 * task its pid back.  Under this reaper the zombie goes at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	pid_t pid, w;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: reaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0) {
			perror("waitpid");
			return 1;
		}
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}
