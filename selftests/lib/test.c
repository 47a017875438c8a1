// SPDX-License-Identifier: GPL-2.0
/*
 * TAP output and the forking case runner; see test.h.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define DEFAULT_TIMEOUT	30

const char *dev_path = "/dev/kvmlite";

/* In a case's child: where skip() writes its reason. */
static int reason_fd = -1;

void diag(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line so that threads do not interleave mid-line. */
	printf("# %s\n", buf);
	fflush(stdout);
}

void fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (buf[strspn(buf, " ")])
		diag("%s", buf + strspn(buf, " "));
	fflush(stdout);
	_exit(KSFT_FAIL);
}

void skip(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (reason_fd >= 0) {
		if (write(reason_fd, buf, strlen(buf)) < 0)
			diag("skip: %s", buf);
	}
	fflush(stdout);
	_exit(KSFT_SKIP);
}

const char *strerrorname(int err)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" },
		{ ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ESRCH, "ESRCH" },
		{ EOVERFLOW, "EOVERFLOW" }, { 0, "0" },
	};
	static char other[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].e == err)
			return names[i].n;
	snprintf(other, sizeof(other), "errno %d", err);
	return other;
}

/* Run one case in a child; return KSFT_* and fill @reason on a skip. */
static int run_one(const struct tcase *c, char *reason, size_t rlen)
{
	int timeout = c->timeout ? c->timeout : DEFAULT_TIMEOUT;
	struct timespec start, now, tick = { 0, 10 * 1000 * 1000 };
	int pfd[2], status, n;
	pid_t pid, w;

	reason[0] = 0;
	if (pipe(pfd)) {
		diag("pipe: %s", strerror(errno));
		return KSFT_FAIL;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		diag("fork: %s", strerror(errno));
		return KSFT_FAIL;
	}
	if (pid == 0) {
		close(pfd[0]);
		reason_fd = pfd[1];
		if (c->fn)
			c->fn();
		else
			c->fn_arg(c->arg);
		fflush(stdout);
		_exit(KSFT_PASS);
	}
	close(pfd[1]);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			diag("waitpid: %s", strerror(errno));
			close(pfd[0]);
			return KSFT_FAIL;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout) {
			diag("case still running after %d s: killing it", timeout);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd[0]);
			return KSFT_FAIL;
		}
		nanosleep(&tick, NULL);
	}

	n = read(pfd[0], reason, rlen - 1);
	reason[n > 0 ? n : 0] = 0;
	close(pfd[0]);

	if (WIFSIGNALED(status)) {
		diag("case killed by signal %d (%s)", WTERMSIG(status),
		     strsignal(WTERMSIG(status)));
		return KSFT_FAIL;
	}
	if (WEXITSTATUS(status) == KSFT_PASS || WEXITSTATUS(status) == KSFT_SKIP)
		return WEXITSTATUS(status);
	return KSFT_FAIL;
}

int run_cases(int argc, char **argv, const struct tcase *cases, int n)
{
	int i, fd, r, failed = 0, skipped = 0;
	char reason[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		dev_path = argv[1];

	printf("TAP version 13\n");
	fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("1..0 # SKIP cannot open %s: %s\n", dev_path,
		       strerror(errno));
		return KSFT_SKIP;
	}
	close(fd);

	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		r = run_one(&cases[i], reason, sizeof(reason));
		if (r == KSFT_PASS) {
			printf("ok %d - %s\n", i + 1, cases[i].name);
		} else if (r == KSFT_SKIP) {
			printf("ok %d - %s # SKIP %s\n", i + 1, cases[i].name,
			       reason[0] ? reason : "no reason given");
			skipped++;
		} else {
			printf("not ok %d - %s\n", i + 1, cases[i].name);
			failed++;
		}
	}
	printf("# Totals: pass:%d fail:%d skip:%d\n", n - failed - skipped,
	       failed, skipped);
	if (failed)
		return KSFT_FAIL;
	if (n && skipped == n)
		return KSFT_SKIP;
	return KSFT_PASS;
}
