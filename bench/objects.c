// SPDX-License-Identifier: GPL-2.0
/*
 * Memory and object benchmarks:
 *
 *	touch		the guest writes one byte to each 4 KiB page of a fresh
 *			256 MiB memslot (the time of that one KVM_RUN: nested
 *			page faults, pinning or GUP, and the host's own page
 *			faults, as a VM's first touch of its RAM)
 *	memslot		KVM_SET_USER_MEMORY_REGION adding, then deleting, a
 *			256 MiB slot nothing touched
 *	vm_create	KVM_CREATE_VM and close() of the VM fd
 *	vcpu_create	KVM_CREATE_VCPU
 *	memory		kernel memory per VM and per vCPU, measured: the
 *			memory cgroup's "kernel" counter (what is charged to
 *			the process's cgroup) and the system's free pages,
 *			per-CPU lists included (everything, charged or not)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define TOUCH_GPA	0x40000000ULL
#define TOUCH_SIZE	(256ULL << 20)
#define SLOT_GPA	0x40000000ULL
#define SLOT_SIZE	(256ULL << 20)
#define MEMSLOT_ITERS	200L
#define VM_ITERS	50L
#define VCPU_ITERS	64
#define MEM_VMS		64
#define MEM_VCPUS	64

/* 2 MiB-aligned anonymous memory, as VMMs give their RAM (THP-friendly). */
static void *alloc_aligned(uint64_t size)
{
	uint64_t align = 2ULL << 20;
	uint8_t *p = alloc_mem(size + align);
	uint8_t *a = (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));

	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + size + align - (a + size));
	return a;
}

GUEST_CODE(g_touch, ".code64",
	"mov $" STR(TOUCH_GPA) ", %ebx\n"
	"mov $" STR(TOUCH_SIZE) " / 4096, %ecx\n"
	"1: movb $1, (%rbx)\n"
	"add $4096, %rbx\n"
	"dec %ecx\n"
	"jnz 1b\n"
	G_DONE
	"hlt\n");

void bench_touch(void)
{
	struct vcpu *v = GUEST_VM(g_touch, MODE_LONG);
	uint64_t t0, t1;

	vm_set_mem(v->vm, 1, 0, TOUCH_GPA, TOUCH_SIZE,
		   alloc_aligned(TOUCH_SIZE));
	t0 = now_ns();
	if (run_once(v) != KVM_EXIT_IO || vcpu_ucall(v, NULL) != UC_DONE) {
		vcpu_dump(v);
		fail("expected the DONE ucall");
	}
	t1 = now_ns();
	report("touch_256m", (t1 - t0) / 1e6, "ms");
}

void bench_memslot(void)
{
	struct vm *vm = vm_create(0);
	void *mem = alloc_aligned(SLOT_SIZE);
	long i, n = MEMSLOT_ITERS * bench_scale;
	uint64_t add = 0, del = 0, t0, t1, t2;

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		vm_set_mem(vm, 1, 0, SLOT_GPA, SLOT_SIZE, mem);
		t1 = now_ns();
		vm_set_mem(vm, 1, 0, SLOT_GPA, 0, mem);
		t2 = now_ns();
		add += t1 - t0;
		del += t2 - t1;
	}
	report("memslot_add", add / 1e3 / n, "us");
	report("memslot_delete", del / 1e3 / n, "us");
}

void bench_vm_create(void)
{
	long i, n = VM_ITERS * bench_scale;
	uint64_t t0, t1;
	int fd;

	/* The system fd exists before the clock starts. */
	kvm_fd();
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		fd = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
		if (fd < 0)
			fail("KVM_CREATE_VM: %s", strerrorname(errno));
		close(fd);
	}
	t1 = now_ns();
	report("vm_create_destroy", (t1 - t0) / 1e3 / n, "us");
}

void bench_vcpu_create(void)
{
	struct vm *vm = vm_create(0);
	uint64_t t0, total = 0;
	int i, fd;

	for (i = 0; i < VCPU_ITERS; i++) {
		t0 = now_ns();
		fd = ioctl(vm->fd, KVM_CREATE_VCPU, i);
		total += now_ns() - t0;
		if (fd < 0)
			fail("KVM_CREATE_VCPU %d: %s", i, strerrorname(errno));
	}
	report("vcpu_create", total / 1e3 / VCPU_ITERS, "us");
}

/* ------------------------------------------------------------ memory */

static char memcg_dir[128];

/* Move this process into a memory cgroup of its own; false if we can't. */
static bool memcg_enter(void)
{
	const char *root = "/sys/fs/cgroup";
	char path[256], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (!strstr(buf, "memory"))
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "+memory", 7) < 0)
			diag("enabling the memory controller: %s",
			     strerror(errno));
		close(fd);
	}
	snprintf(memcg_dir, sizeof(memcg_dir), "%s/kvmbench-%d", root,
		 getpid());
	if (mkdir(memcg_dir, 0755)) {
		memcg_dir[0] = 0;
		return false;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", memcg_dir);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		if (fd >= 0)
			close(fd);
		rmdir(memcg_dir);
		memcg_dir[0] = 0;
		return false;
	}
	close(fd);
	return true;
}

/* Back to the root cgroup; the (then empty) cgroup is removed. */
static void memcg_leave(void)
{
	int fd = open("/sys/fs/cgroup/cgroup.procs", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "0", 1) < 0)
			diag("leaving the cgroup: %s", strerror(errno));
		close(fd);
	}
	rmdir(memcg_dir);
}

/* Bytes of kernel memory charged to our cgroup (memory.stat "kernel"). */
static int64_t memcg_kernel(void)
{
	char path[256], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", memcg_dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "kernel %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Free bytes of the whole system, pages on the per-CPU lists included. */
static int64_t sys_free(void)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	long long total = 0, v;

	if (!f)
		fail("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " pages free %lld", &v) == 1 ||
		    sscanf(line, " count: %lld", &v) == 1)
			total += v;
	}
	fclose(f);
	return total * PAGE_SIZE;
}

struct snap {
	int64_t memcg, sys;
};

/*
 * Let the kernel settle, then read both counters.  The memory cgroup's
 * statistics are flushed every 2 s: the sleep makes them exact (in the
 * rig, with -icount sleep=off, a sleep costs no real time).  The free
 * pages are read first, before the sleep can let anything else run.
 */
static struct snap snapshot(void)
{
	struct snap s;

	s.sys = sys_free();
	sleep(3);
	s.memcg = memcg_dir[0] ? memcg_kernel() : -1;
	return s;
}

static void report_mem(const char *metric, struct snap a, struct snap b,
		       int n)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_memcg", metric);
	if (a.memcg >= 0 && b.memcg >= 0)
		report(name, (b.memcg - a.memcg) / 1024.0 / n, "KiB");
	snprintf(name, sizeof(name), "%s_sys", metric);
	report(name, (a.sys - b.sys) / 1024.0 / n, "KiB");
}

GUEST_CODE(g_halt, ".code64", "hlt\n");

void bench_memory(void)
{
	static int vm_fds[MEM_VMS];
	static struct vcpu *vcpus[MEM_VCPUS];
	struct snap s0, s1, s2;
	struct vcpu *v0;
	int i;

	if (!memcg_enter())
		diag("no memory cgroup (cgroup2 with the memory controller): "
		     "only the system-wide figures");
	/* Grow the fd table now: its growth is not the VMs'. */
	if (dup2(0, 4 * (MEM_VMS + MEM_VCPUS)) < 0)
		fail("dup2: %s", strerror(errno));
	close(4 * (MEM_VMS + MEM_VCPUS));
	kvm_fd();
	supported_cpuid();

	/* Per VM: bare VMs, no memory, no vCPU. */
	s0 = snapshot();
	for (i = 0; i < MEM_VMS; i++) {
		vm_fds[i] = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
		if (vm_fds[i] < 0)
			fail("KVM_CREATE_VM %d: %s", i, strerrorname(errno));
	}
	s1 = snapshot();
	report_mem("mem_vm", s0, s1, MEM_VMS);
	for (i = 0; i < MEM_VMS; i++)
		close(vm_fds[i]);

	/*
	 * Per vCPU: in a VM that already ran one vCPU (so that what is per
	 * VM, such as the nested page tables of the guest's code, exists),
	 * vCPUs created ready to run (mmap, KVM_SET_CPUID2), then each run
	 * once to a HLT.
	 */
	v0 = GUEST_VM(g_halt, MODE_LONG);
	if (run_once(v0) != KVM_EXIT_HLT)
		fail("vCPU 0 did not halt");
	s0 = snapshot();
	for (i = 0; i < MEM_VCPUS; i++)
		vcpus[i] = vcpu_add(v0->vm, i + 1);
	s1 = snapshot();
	for (i = 0; i < MEM_VCPUS; i++) {
		vcpu_long_mode(vcpus[i]);
		if (run_once(vcpus[i]) != KVM_EXIT_HLT)
			fail("vCPU %d did not halt", i + 1);
	}
	s2 = snapshot();
	report_mem("mem_vcpu", s0, s1, MEM_VCPUS);
	report_mem("mem_vcpu_run", s0, s2, MEM_VCPUS);
	if (memcg_dir[0])
		memcg_leave();
}
