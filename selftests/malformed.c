// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed input: bad vCPU ids, ioctls on the wrong kind of fd, bad user
 * pointers, bad sizes, bad interrupt vectors, mmap beyond the vCPU's pages
 * and of fds that have none.  The expected errors are KVM's.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm.h"

static void bad_vcpu_ids(void)
{
	struct vm *vm = vm_create(0);
	long max_id = kvm_cap(KVM_CAP_MAX_VCPU_ID);

	if (!max_id)
		max_id = kvm_cap(KVM_CAP_MAX_VCPUS);
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, -1L), EINVAL, "id -1");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, 0xffffffffUL), EINVAL,
		  "id 0xffffffff");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, 0x80000000UL), EINVAL,
		  "id 0x80000000");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, max_id), EINVAL,
		  "id MAX_VCPU_ID");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, max_id + 1), EINVAL,
		  "id MAX_VCPU_ID + 1");
	/* None of that used up anything. */
	CHECK(ioctl(vm->fd, KVM_CREATE_VCPU, 0) >= 0, "vCPU 0: %s",
	      strerror(errno));
}

struct wrong {
	const char *name;
	unsigned long nr;
};

#define W(x)	{ #x, x }

static void check_all(int fd, const struct wrong *w, int n, int err,
		      const char *fdname)
{
	char buf[4096] __attribute__((aligned(64)));
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		long r;

		memset(buf, 0, sizeof(buf));
		r = ioctl(fd, w[i].nr, buf);
		if (r != -1 || errno != err) {
			diag("%s on the %s fd: %ld %s, want %s", w[i].name,
			     fdname, r, r == -1 ? strerrorname(errno) : "",
			     strerrorname(err));
			bad++;
		}
	}
	CHECK(!bad, "%d wrong results", bad);
}

static void vm_fd_wrong_ioctls(void)
{
	static const struct wrong w[] = {
		W(KVM_GET_API_VERSION), W(KVM_CREATE_VM),
		W(KVM_GET_MSR_INDEX_LIST), W(KVM_GET_VCPU_MMAP_SIZE),
		W(KVM_GET_SUPPORTED_CPUID),
		W(KVM_RUN), W(KVM_GET_REGS), W(KVM_SET_REGS), W(KVM_GET_SREGS),
		W(KVM_SET_SREGS), W(KVM_INTERRUPT), W(KVM_NMI), W(KVM_GET_MSRS),
		W(KVM_SET_MSRS), W(KVM_SET_CPUID2), W(KVM_GET_CPUID2),
		W(KVM_GET_FPU), W(KVM_GET_MP_STATE), W(KVM_GET_VCPU_EVENTS),
		{ "_IO('x', 1)", _IO('x', 1) }, { "_IO(KVMIO, 0xff)", _IO(KVMIO, 0xff) },
	};
	struct vm *vm = vm_create(0);

	/* KVM's VM fd answers ENOTTY to system and vCPU ioctls. */
	check_all(vm->fd, w, ARRAY_SIZE(w), ENOTTY, "VM");
}

static void vcpu_fd_wrong_ioctls(void)
{
	static const struct wrong w[] = {
		W(KVM_GET_API_VERSION), W(KVM_CREATE_VM), W(KVM_CHECK_EXTENSION),
		W(KVM_GET_MSR_INDEX_LIST), W(KVM_GET_VCPU_MMAP_SIZE),
		W(KVM_GET_SUPPORTED_CPUID),
		W(KVM_CREATE_VCPU), W(KVM_SET_USER_MEMORY_REGION),
		W(KVM_SET_TSS_ADDR),
		{ "_IO('x', 1)", _IO('x', 1) }, { "_IO(KVMIO, 0xff)", _IO(KVMIO, 0xff) },
	};
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);

	/* KVM's vCPU fd answers EINVAL to system and VM ioctls. */
	check_all(v->fd, w, ARRAY_SIZE(w), EINVAL, "vCPU");
}

static void sys_fd_wrong_ioctls(void)
{
	static const struct wrong w[] = {
		W(KVM_CREATE_VCPU), W(KVM_SET_USER_MEMORY_REGION),
		W(KVM_SET_TSS_ADDR), W(KVM_RUN), W(KVM_GET_REGS),
		W(KVM_SET_REGS), W(KVM_GET_SREGS), W(KVM_INTERRUPT), W(KVM_NMI),
		W(KVM_SET_MSRS), W(KVM_SET_CPUID2), W(KVM_GET_FPU),
	};

	/*
	 * KVM's system fd answers EINVAL to VM and vCPU ioctls.  (Not
	 * KVM_GET_MSRS: on the system fd KVM reads feature MSRs with it.)
	 */
	check_all(kvm_fd(), w, ARRAY_SIZE(w), EINVAL, "system");
}

enum { SYS, VM, VCPU };

struct ptr_ioctl {
	const char *name;
	unsigned long nr;
	int fd;
	bool out;		/* the kernel writes to the argument */
};

#define P(fd, x, out)	{ #x, x, fd, out }

static const struct ptr_ioctl ptr_ioctls[] = {
	P(SYS, KVM_GET_MSR_INDEX_LIST, true),
	P(SYS, KVM_GET_SUPPORTED_CPUID, true),
	P(VM, KVM_SET_USER_MEMORY_REGION, false),
	P(VCPU, KVM_GET_REGS, true),
	P(VCPU, KVM_SET_REGS, false),
	P(VCPU, KVM_GET_SREGS, true),
	P(VCPU, KVM_SET_SREGS, false),
	P(VCPU, KVM_GET_FPU, true),
	P(VCPU, KVM_SET_FPU, false),
	P(VCPU, KVM_GET_MSRS, true),
	P(VCPU, KVM_SET_MSRS, false),
	P(VCPU, KVM_SET_CPUID2, false),
	P(VCPU, KVM_GET_CPUID2, true),
	P(VCPU, KVM_INTERRUPT, false),
	P(VCPU, KVM_GET_MP_STATE, true),
	P(VCPU, KVM_SET_MP_STATE, false),
	P(VCPU, KVM_GET_VCPU_EVENTS, true),
	P(VCPU, KVM_SET_VCPU_EVENTS, false),
};

/*
 * Every pointer argument: NULL, an inaccessible page, and for what the
 * kernel writes, a read-only page holding a sane input.
 */
static void bad_pointers(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	int fds[] = { kvm_fd(), vm->fd, v->fd };
	uint8_t *none, *ro;
	unsigned int i;
	int bad = 0;

	none = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ro = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(none != MAP_FAILED && ro != MAP_FAILED, "mmap");
	/* Counts of 1 for the variable-size ones: header then one entry. */
	*(uint32_t *)ro = 1;
	((struct kvm_msrs *)ro)->entries[0].index = MSR_STAR;
	CHECK_OK(mprotect(ro, PAGE_SIZE, PROT_READ));
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, supported_cpuid()));

	for (i = 0; i < ARRAY_SIZE(ptr_ioctls); i++) {
		const struct ptr_ioctl *p = &ptr_ioctls[i];
		void *args[3] = { NULL, none, ro };
		const char *what[3] = { "NULL", "PROT_NONE", "read-only" };
		int k;

		for (k = 0; k < (p->out ? 3 : 2); k++) {
			long r = ioctl(fds[p->fd], p->nr, args[k]);

			if (r == -1 && errno == EFAULT)
				continue;
			/* GET_MSR_INDEX_LIST and GET_SUPPORTED_CPUID with 1 */
			/* entry say E2BIG before they write. */
			if (k == 2 && r == -1 && errno == E2BIG &&
			    (p->nr == KVM_GET_MSR_INDEX_LIST ||
			     p->nr == KVM_GET_SUPPORTED_CPUID ||
			     p->nr == KVM_GET_CPUID2))
				continue;
			diag("%s with a %s pointer: %ld %s, want EFAULT",
			     p->name, what[k], r,
			     r == -1 ? strerrorname(errno) : "");
			bad++;
		}
	}
	CHECK(!bad, "%d wrong results", bad);
}

/*
 * Variable-size arguments whose header is readable but whose entries lie
 * in an inaccessible page.
 */
static void entries_unmapped(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	uint8_t *two, *end;

	two = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(two != MAP_FAILED, "mmap");
	CHECK_OK(mprotect(two + PAGE_SIZE, PAGE_SIZE, PROT_NONE));
	end = two + PAGE_SIZE - 8;	/* an 8-byte header, then nothing */

	((struct kvm_msrs *)end)->nmsrs = 4;
	CHECK_ERR(ioctl(v->fd, KVM_GET_MSRS, end), EFAULT, "GET_MSRS");
	((struct kvm_msrs *)end)->nmsrs = 4;
	CHECK_ERR(ioctl(v->fd, KVM_SET_MSRS, end), EFAULT, "SET_MSRS");
	((struct kvm_cpuid2 *)end)->nent = 2;
	CHECK_ERR(ioctl(v->fd, KVM_SET_CPUID2, end), EFAULT, "SET_CPUID2");
	((struct kvm_cpuid2 *)end)->nent = 256;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, end), EFAULT,
		  "GET_SUPPORTED_CPUID");
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, supported_cpuid()));
	((struct kvm_cpuid2 *)end)->nent = 256;
	CHECK_ERR(ioctl(v->fd, KVM_GET_CPUID2, end), EFAULT, "GET_CPUID2");
	end = two + PAGE_SIZE - 4;	/* kvm_msr_list: a 4-byte header */
	((struct kvm_msr_list *)end)->nmsrs = 1000;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_MSR_INDEX_LIST, end), EFAULT,
		  "GET_MSR_INDEX_LIST");
}

static void bad_sizes(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + 300 * sizeof(m->entries[0]));
	struct kvm_cpuid2 *c = cpuid_alloc(300), *got = cpuid_alloc(300);
	int i;

	for (i = 0; i < 300; i++)
		m->entries[i].index = MSR_STAR;
	m->nmsrs = 256;
	CHECK_ERR(ioctl(v->fd, KVM_GET_MSRS, m), E2BIG, "GET_MSRS 256");
	CHECK_ERR(ioctl(v->fd, KVM_SET_MSRS, m), E2BIG, "SET_MSRS 256");
	m->nmsrs = 0xffffffff;
	CHECK_ERR(ioctl(v->fd, KVM_GET_MSRS, m), E2BIG, "GET_MSRS huge");
	CHECK_ERR(ioctl(v->fd, KVM_SET_MSRS, m), E2BIG, "SET_MSRS huge");
	m->nmsrs = 255;
	CHECK_EQ(ioctl(v->fd, KVM_GET_MSRS, m), 255, "GET_MSRS 255");

	memcpy(c->entries, supported_cpuid()->entries,
	       supported_cpuid()->nent * sizeof(c->entries[0]));
	c->nent = 257;
	CHECK_ERR(ioctl(v->fd, KVM_SET_CPUID2, c), E2BIG, "SET_CPUID2 257");
	c->nent = 0xffffffff;
	CHECK_ERR(ioctl(v->fd, KVM_SET_CPUID2, c), E2BIG, "SET_CPUID2 huge");
	c->nent = supported_cpuid()->nent;
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2");
	got->nent = 0;
	CHECK_ERR(ioctl(v->fd, KVM_GET_CPUID2, got), E2BIG, "GET_CPUID2 0");
	got->nent = 0xffffffff;
	CHECK_OK(ioctl(v->fd, KVM_GET_CPUID2, got), "GET_CPUID2 huge");
	c->nent = 0;
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 with no entries");
}

static void bad_vectors(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_interrupt irq;

	irq.irq = 256;
	CHECK_ERR(ioctl(v->fd, KVM_INTERRUPT, &irq), EINVAL, "vector 256");
	irq.irq = 0xffffffff;
	CHECK_ERR(ioctl(v->fd, KVM_INTERRUPT, &irq), EINVAL, "vector ~0");
	irq.irq = 255;
	CHECK_OK(ioctl(v->fd, KVM_INTERRUPT, &irq), "vector 255");
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* Touching the page must raise SIGBUS (or SIGSEGV); true if it did. */
static bool touch_faults(volatile uint8_t *p)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sig = sigsetjmp(bus_jmp, 1);
	if (sig) {
		diag("touching it raised signal %d", sig);
		return true;
	}
	(void)*p;
	return false;
}

static void mmap_beyond(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	long pages = v->run_size / PAGE_SIZE;
	long offs[] = { pages, 40 };
	unsigned int i;
	uint8_t *p;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 v->fd, offs[i] * PAGE_SIZE);
		if (p == MAP_FAILED) {
			diag("mmap at page %ld: %s", offs[i], strerrorname(errno));
			continue;
		}
		CHECK(touch_faults(p), "page %ld of the vCPU fd is accessible",
		      offs[i]);
	}
	/* One mapping running past the end. */
	p = mmap(NULL, v->run_size + PAGE_SIZE, PROT_READ, MAP_SHARED, v->fd, 0);
	if (p != MAP_FAILED) {
		CHECK(!touch_faults(p), "page 0 not accessible");
		CHECK(touch_faults(p + v->run_size), "the page past the end is accessible");
	} else {
		diag("long mmap: %s", strerrorname(errno));
	}
}

static void mmap_no_pages(void)
{
	struct vm *vm = vm_create(0);

	CHECK(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, vm->fd, 0) ==
	      MAP_FAILED && errno == ENODEV, "mmap of the VM fd: %s",
	      strerrorname(errno));
	CHECK(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, kvm_fd(), 0) ==
	      MAP_FAILED && errno == ENODEV, "mmap of the system fd: %s",
	      strerrorname(errno));
}

GUEST_CODE(hlt_only, ".code64", "hlt\n");

/* kvm_run lives in the kernel: KVM_RUN works before anyone maps it. */
static void run_before_mmap(void)
{
	struct vm *vm = vm_create(RAM_SIZE);
	struct kvm_run *run;
	struct vcpu v = { .vm = vm, .id = 0 };
	long size;

	v.fd = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	CHECK(v.fd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	CHECK_OK(ioctl(v.fd, KVM_SET_CPUID2, supported_cpuid()));
	vm_load_code(vm, hlt_only);
	/* vcpu_long_mode() needs no mapping either. */
	vcpu_long_mode(&v);
	CHECK_EQ(ioctl(v.fd, KVM_RUN, 0), 0, "KVM_RUN: %s", strerror(errno));
	size = ioctl(kvm_fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, size, PROT_READ, MAP_SHARED, v.fd, 0);
	CHECK(run != MAP_FAILED, "mmap");
	CHECK_EQ(run->exit_reason, KVM_EXIT_HLT);
}

static const struct tcase cases[] = {
	CASE(bad_vcpu_ids, "KVM_CREATE_VCPU with bad ids: EINVAL"),
	CASE(vm_fd_wrong_ioctls, "system and vCPU ioctls on a VM fd: ENOTTY"),
	CASE(vcpu_fd_wrong_ioctls, "system and VM ioctls on a vCPU fd: EINVAL"),
	CASE(sys_fd_wrong_ioctls, "VM and vCPU ioctls on the system fd: EINVAL"),
	CASE(bad_pointers, "NULL, unmapped, read-only arguments: EFAULT"),
	CASE(entries_unmapped, "entries past an unmapped page boundary: EFAULT"),
	CASE(bad_sizes, "nmsrs >= 256, nent > 256: E2BIG"),
	CASE(bad_vectors, "KVM_INTERRUPT vector > 255: EINVAL"),
	CASE(mmap_beyond, "mmap beyond the vCPU's pages cannot be used"),
	CASE(mmap_no_pages, "mmap of the VM and system fds: ENODEV"),
	CASE(run_before_mmap, "KVM_RUN before kvm_run is mapped"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
