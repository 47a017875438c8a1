// SPDX-License-Identifier: GPL-2.0
/*
 * kvmbench: the kvmlite benchmarks, run against one device.
 *
 *	kvmbench [DEVICE [BENCHMARK...]]	(default /dev/kvmlite, all)
 *	kvmbench --list
 *
 * Each benchmark runs in a child process of its own (a fresh process, so
 * that one benchmark's memory and file descriptors cannot disturb the
 * next) and prints its figures as "@@BENCH@@ metric value unit" lines.  A
 * benchmark that fails prints "@@BENCH@@-FAIL name status" instead and the
 * program exits 1 at the end.  Environment: KVMBENCH_SCALE=N multiplies the
 * iteration counts (for real hardware, where an exit is fast and a clock
 * tick is coarse by comparison).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

long bench_scale = 1;

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "cpuid", bench_cpuid },
	{ "pio_out", bench_pio_out },
	{ "pio_in", bench_pio_in },
	{ "mmio_write", bench_mmio_write },
	{ "mmio_read", bench_mmio_read },
	{ "hlt_irq", bench_hlt_irq },
	{ "touch", bench_touch },
	{ "memslot", bench_memslot },
	{ "vm_create", bench_vm_create },
	{ "vcpu_create", bench_vcpu_create },
	{ "memory", bench_memory },
};

void report(const char *metric, double value, const char *unit)
{
	printf("%s %s %.3f %s\n", BENCH_MARK, metric, value, unit);
	fflush(stdout);
}

int run_once(struct vcpu *v)
{
	int r;

	do {
		r = ioctl(v->fd, KVM_RUN, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		diag("KVM_RUN: %s", strerrorname(errno));
		vcpu_dump(v);
		fail("KVM_RUN failed");
	}
	return v->run->exit_reason;
}

void set_idt_gate(struct vm *vm, int vec, uint64_t handler)
{
	uint64_t *idt = gpa2hva(vm, IDT_GPA);

	idt[2 * vec] = (handler & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
		       0x8eULL << 40 | ((handler >> 16) & 0xffff) << 48;
	idt[2 * vec + 1] = handler >> 32;
}

static int run_bench(int i)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		benches[i].fn();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	printf("%s-FAIL %s %s %d\n", BENCH_MARK, benches[i].name,
	       WIFSIGNALED(status) ? "signal" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	const char *scale = getenv("KVMBENCH_SCALE");
	int i, j, failed = 0, fd;

	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < (int)ARRAY_SIZE(benches); i++)
			printf("%s\n", benches[i].name);
		return 0;
	}
	if (argc > 1)
		dev_path = argv[1];
	if (scale && atol(scale) > 0)
		bench_scale = atol(scale);
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open(dev_path, O_RDWR);
	if (fd < 0) {
		printf("%s-FAIL all open %d\n", BENCH_MARK, errno);
		fprintf(stderr, "kvmbench: cannot open %s: %s\n", dev_path,
			strerror(errno));
		return 1;
	}
	close(fd);
	printf("# kvmbench on %s, scale %ld\n", dev_path, bench_scale);

	if (argc <= 2) {
		for (i = 0; i < (int)ARRAY_SIZE(benches); i++)
			failed |= run_bench(i);
		return failed;
	}
	for (j = 2; j < argc; j++) {
		for (i = 0; i < (int)ARRAY_SIZE(benches); i++)
			if (!strcmp(argv[j], benches[i].name))
				break;
		if (i == (int)ARRAY_SIZE(benches)) {
			fprintf(stderr, "kvmbench: no benchmark '%s'\n", argv[j]);
			return 2;
		}
		failed |= run_bench(i);
	}
	return failed;
}
