// SPDX-License-Identifier: GPL-2.0
/*
 * bootbench: the Linux boot benchmark.  Starts the kvmlite client booting
 * a kernel on a device and reports the time from the client's start (just
 * before fork) to the marker line the guest's /init prints on its serial
 * console, as "@@BENCH@@ linux_boot <ms> ms".  Then it waits for the guest
 * to power off (the client's exit is not timed).
 *
 *	bootbench DEVICE CLIENT KERNEL INITRD [TIMEOUT_S]
 *
 * The client's output goes to stdout as "# " lines only when something
 * fails, or always with KVMBENCH_BOOT_LOG=1.  KVMBENCH_BOOT_PARAMS replaces
 * the guest's kernel command line (for diagnosis: the figure then is not
 * comparable).  Exit status 0 when the marker was seen, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MARK	"@@BENCH@@"
#define BOOT_MARKER	"KVMLITE-BENCH-BOOTED"
#define GUEST_MEM	"256M"
#define GUEST_PARAMS	"console=ttyS0 quiet nokaslr panic=-1"
#define LOG_MAX		(256 * 1024)

static char log_buf[LOG_MAX + 1];
static size_t log_len;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Keep the client's output (the first LOG_MAX bytes) for diagnostics. */
static void log_add(const char *p, size_t n)
{
	if (n > LOG_MAX - log_len)
		n = LOG_MAX - log_len;
	memcpy(log_buf + log_len, p, n);
	log_len += n;
	log_buf[log_len] = 0;
}

static void log_dump(void)
{
	char *line = log_buf, *nl;

	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			printf("# %s\n", line);
			break;
		}
		*nl = 0;
		printf("# %s\n", line);
	}
}

int main(int argc, char **argv)
{
	int timeout_s = argc > 5 ? atoi(argv[5]) : 600;
	const char *params = getenv("KVMBENCH_BOOT_PARAMS");
	const char *always_log = getenv("KVMBENCH_BOOT_LOG");
	uint64_t t0, t1 = 0, deadline;
	int pfd[2], status = 0, devnull;
	bool seen = false, exited = false;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: bootbench DEVICE CLIENT KERNEL INITRD [TIMEOUT_S]\n");
		return 2;
	}
	if (pipe(pfd)) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execl(argv[2], argv[2], "run", "--dev", argv[1], "-k", argv[3],
		      "-i", argv[4], "-m", GUEST_MEM, "-p",
		      params && *params ? params : GUEST_PARAMS,
		      (char *)NULL);
		fprintf(stderr, "bootbench: exec %s: %s\n", argv[2],
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	deadline = t0 + (uint64_t)timeout_s * 1000000000ull;

	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char buf[4096];
		ssize_t n;
		int r;

		r = poll(&p, 1, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			n = read(pfd[0], buf, sizeof(buf));
			if (n <= 0)
				break;	/* the client is gone */
			log_add(buf, n);
			if (!seen && strstr(log_buf, BOOT_MARKER)) {
				t1 = now_ns();
				seen = true;
			}
		}
		if (now_ns() > deadline)
			break;
	}
	/* The guest powers off after the marker; don't wait for ever. */
	while (!exited && now_ns() < deadline + 60000000000ull) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		else
			usleep(100000);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("# bootbench: the client had to be killed\n");
	}
	if (!seen) {
		printf("# bootbench: no '%s' from the guest within %d s; client %s %d; its output:\n",
		       BOOT_MARKER, timeout_s,
		       WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		log_dump();
		printf("%s-FAIL linux_boot no-marker 1\n", BENCH_MARK);
		return 1;
	}
	if (always_log && *always_log == '1')
		log_dump();
	printf("%s linux_boot %.3f ms\n", BENCH_MARK, (t1 - t0) / 1e6);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("# bootbench: the client ended with %s %d after the marker\n",
		       WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	return 0;
}
