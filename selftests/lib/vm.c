// SPDX-License-Identifier: GPL-2.0
/*
 * VM, vCPU and guest helpers of the selftests; see vm.h.  Any unexpected
 * error fails the current test case (each case is its own process).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

int run_timeout = 20;

static int sys_fd = -1;

int kvm_fd(void)
{
	if (sys_fd < 0) {
		sys_fd = open(dev_path, O_RDWR | O_CLOEXEC);
		if (sys_fd < 0)
			fail("open %s: %s", dev_path, strerror(errno));
	}
	return sys_fd;
}

bool is_kvmlite(void)
{
	return ioctl(kvm_fd(), KVM_CHECK_EXTENSION, KVM_CAP_KVMLITE) > 0;
}

long kvm_cap(long cap)
{
	long r = ioctl(kvm_fd(), KVM_CHECK_EXTENSION, cap);

	if (r < 0)
		fail("KVM_CHECK_EXTENSION(%ld): %s", cap, strerror(errno));
	return r;
}

struct kvm_cpuid2 *cpuid_alloc(int nent)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c)
		fail("out of memory");
	c->nent = nent;
	return c;
}

struct kvm_cpuid2 *supported_cpuid(void)
{
	static struct kvm_cpuid2 *cached;

	if (!cached) {
		cached = cpuid_alloc(256);
		if (ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, cached))
			fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	return cached;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn,
				    uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

void *alloc_mem(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %llu bytes: %s", (unsigned long long)size,
		     strerror(errno));
	return p;
}

int vm_set_mem_raw(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void vm_set_mem(struct vm *vm, uint32_t slot, uint32_t flags,
		uint64_t gpa, uint64_t size, void *hva)
{
	if (vm_set_mem_raw(vm, slot, flags, gpa, size, hva))
		fail("KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%llx size 0x%llx: %s",
		     slot, (unsigned long long)gpa, (unsigned long long)size,
		     strerror(errno));
}

void *gpa2hva(struct vm *vm, uint64_t gpa)
{
	if (!vm->ram || gpa >= vm->ram_size)
		fail("gpa2hva: 0x%llx is not in the VM's RAM",
		     (unsigned long long)gpa);
	return vm->ram + gpa;
}

void vm_load(struct vm *vm, uint64_t gpa, const char *start, const char *end)
{
	if (end - start > CODE_MAX || gpa + (end - start) > vm->ram_size)
		fail("guest code of %ld bytes does not fit", (long)(end - start));
	memcpy(gpa2hva(vm, gpa), start, end - start);
}

static uint64_t gdt_desc(uint32_t base, uint32_t limit, uint8_t access,
			 uint8_t flags)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

/*
 * Interrupt stubs for long mode: vector v pushes v and jumps to a common
 * handler, which reports the vector on PORT_VECTOR.  NMI and external
 * interrupts (vector 2 and >= 32) then return with iretq; exceptions stay
 * in a hlt loop, for the host to notice.
 */
GUEST_CODE(lib_stubs, ".code64",
	".set vec, 0\n"
	".rept 256\n"
	".byte 0x6a, vec\n"			/* push $vec */
	".byte 0xe9\n"				/* jmp rel32 */
	".long lib_common - . - 4\n"
	".byte 0x90\n"
	".set vec, vec + 1\n"
	".endr\n"
	"lib_common:\n"
	"push %rax\n"
	"push %rdx\n"
	"movzbl 16(%rsp), %eax\n"
	G_OUT(PORT_VECTOR)
	"cmp $2, %eax\n"
	"je 1f\n"
	"cmp $32, %eax\n"
	"jb 2f\n"
	"1: pop %rdx\n"
	"pop %rax\n"
	"add $8, %rsp\n"
	"iretq\n"
	"2: cli\n"
	"3: hlt\n"
	"jmp 3b\n");

static void write_tables(struct vm *vm)
{
	uint64_t *gdt = gpa2hva(vm, GDT_GPA);
	uint64_t *pml4 = gpa2hva(vm, PML4_GPA);
	uint64_t *pdpt = gpa2hva(vm, PDPT_GPA);
	uint64_t *pd = gpa2hva(vm, PD_GPA);
	int i;

	gdt[SEL_CODE32 / 8] = gdt_desc(0, 0xfffff, 0x9b, 0xc);
	gdt[SEL_DATA / 8] = gdt_desc(0, 0xfffff, 0x93, 0xc);
	gdt[SEL_CODE64 / 8] = gdt_desc(0, 0xfffff, 0x9b, 0xa);
	gdt[SEL_CODE16 / 8] = gdt_desc(0, 0xffff, 0x9b, 0);
	gdt[SEL_DATA16 / 8] = gdt_desc(0, 0xffff, 0x93, 0);
	gdt[SEL_TSS / 8] = gdt_desc(TSS_GPA, 0x67, 0x8b, 0);
	gdt[SEL_TSS / 8 + 1] = 0;
	/* No I/O permission bitmap: its offset points past the limit. */
	*(uint16_t *)gpa2hva(vm, TSS_GPA + 0x66) = 0x68;

	pml4[0] = PDPT_GPA | 3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_GPA + i * PAGE_SIZE) | 3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* P, RW, PS */

	for (i = 0; i < 256; i++)
		vm_set_idt_gate(vm, i, STUBS_GPA + 8 * i);
	vm_load(vm, STUBS_GPA, lib_stubs_start, lib_stubs_end);
}

void vm_set_idt_gate(struct vm *vm, uint8_t vector, uint64_t handler)
{
	uint64_t *idt = gpa2hva(vm, IDT_GPA);

	/* A present, DPL 0, 64-bit interrupt gate (type 0xe): IF=0 inside. */
	idt[2 * vector] = (handler & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
			  0x8eULL << 40 | ((handler >> 16) & 0xffff) << 48;
	idt[2 * vector + 1] = handler >> 32;
}

struct vm *vm_create(uint64_t ram_size)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		fail("out of memory");
	vm->fd = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		fail("KVM_CREATE_VM: %s", strerror(errno));
	/* Needed by KVM on Intel hosts for real mode; harmless elsewhere. */
	ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	if (ram_size) {
		vm->ram = alloc_mem(ram_size);
		vm->ram_size = ram_size;
		vm_set_mem(vm, 0, 0, 0, ram_size, vm->ram);
		if (ram_size >= TABLES_END)
			write_tables(vm);
	}
	return vm;
}

struct vcpu *vcpu_add(struct vm *vm, int id)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	long size;

	if (!v)
		fail("out of memory");
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		fail("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	size = ioctl(kvm_fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (long)sizeof(struct kvm_run))
		fail("KVM_GET_VCPU_MMAP_SIZE: %ld (%s)", size, strerror(errno));
	v->run_size = size;
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		fail("mmap of the vCPU fd: %s", strerror(errno));
	if (ioctl(v->fd, KVM_SET_CPUID2, supported_cpuid()))
		fail("KVM_SET_CPUID2: %s", strerror(errno));
	return v;
}

void vcpu_get_regs(struct vcpu *v, struct kvm_regs *r)
{
	if (ioctl(v->fd, KVM_GET_REGS, r))
		fail("KVM_GET_REGS: %s", strerror(errno));
}

void vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r)
{
	if (ioctl(v->fd, KVM_SET_REGS, r))
		fail("KVM_SET_REGS: %s", strerror(errno));
}

/*
 * Nothing is injected into such a guest, so IF changes nothing on real
 * hardware.  But Bochs 2.7, the emulated VMX test host, never lets a host
 * interrupt exit a guest that runs with IF clear: that vCPU would keep its
 * CPU against the host's timer and IPIs, on KVM as on kvmlite (which arms
 * the VMX-preemption timer against it), and the test would hang.
 */
void vcpu_spin_interruptible(struct vcpu *v)
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rflags |= X86_EFLAGS_IF;
	vcpu_set_regs(v, &r);
}

void vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
	if (ioctl(v->fd, KVM_GET_SREGS, s))
		fail("KVM_GET_SREGS: %s", strerror(errno));
}

void vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *s)
{
	if (ioctl(v->fd, KVM_SET_SREGS, s))
		fail("KVM_SET_SREGS: %s", strerror(errno));
}

void vcpu_set_rip(struct vcpu *v, uint64_t rip)
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rip = rip;
	vcpu_set_regs(v, &r);
}

uint64_t vcpu_get_msr(struct vcpu *v, uint32_t index)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index };
	int r = ioctl(v->fd, KVM_GET_MSRS, &m);

	if (r != 1)
		fail("KVM_GET_MSRS 0x%x: %d (%s)", index, r, strerror(errno));
	return m.e.data;
}

void vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index, .e.data = value };
	int r = ioctl(v->fd, KVM_SET_MSRS, &m);

	if (r != 1)
		fail("KVM_SET_MSRS 0x%x: %d (%s)", index, r, strerror(errno));
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint64_t base,
		    uint32_t limit, uint8_t type, bool code64, bool db, bool g)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code64;
	s->db = db;
	s->g = g;
}

static void set_data_segs(struct kvm_sregs *s, uint16_t sel, uint32_t limit,
			  bool db, bool g)
{
	set_seg(&s->ds, sel, 0, limit, 3, false, db, g);
	s->es = s->fs = s->gs = s->ss = s->ds;
}

static void reset_regs(struct vcpu *v)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = CODE_GPA;
	r.rsp = STACK_TOP;
	r.rflags = X86_EFLAGS_FIXED;
	vcpu_set_regs(v, &r);
}

static void set_tr(struct kvm_sregs *s)
{
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = SEL_TSS;
	s->tr.base = TSS_GPA;
	s->tr.limit = 0x67;
	s->tr.type = 11;		/* busy TSS */
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.type = 2;
	s->ldt.unusable = 1;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = GDT_LIMIT;
}

void vcpu_real_mode(struct vcpu *v)
{
	struct kvm_sregs s;

	vcpu_get_sregs(v, &s);
	set_seg(&s.cs, 0, 0, 0xffff, 11, false, false, false);
	set_data_segs(&s, 0, 0xffff, false, false);
	s.gdt.base = GDT_GPA;
	s.gdt.limit = GDT_LIMIT;
	s.idt.base = 0;
	s.idt.limit = 0x3ff;
	s.cr0 = X86_CR0_ET;
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	vcpu_set_sregs(v, &s);
	reset_regs(v);
}

void vcpu_prot_mode(struct vcpu *v)
{
	struct kvm_sregs s;

	vcpu_get_sregs(v, &s);
	set_seg(&s.cs, SEL_CODE32, 0, 0xffffffff, 11, false, true, true);
	set_data_segs(&s, SEL_DATA, 0xffffffff, true, true);
	set_tr(&s);
	s.idt.base = IDT_GPA;
	s.idt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE;
	s.cr3 = 0;
	s.cr4 = X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s.efer = 0;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	vcpu_set_sregs(v, &s);
	reset_regs(v);
}

void vcpu_long_mode(struct vcpu *v)
{
	struct kvm_sregs s;

	vcpu_get_sregs(v, &s);
	set_seg(&s.cs, SEL_CODE64, 0, 0xffffffff, 11, true, false, true);
	set_data_segs(&s, SEL_DATA, 0xffffffff, true, true);
	set_tr(&s);
	s.idt.base = IDT_GPA;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		X86_CR0_WP | X86_CR0_PG;
	s.cr3 = PML4_GPA;
	s.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s.efer = EFER_LME | EFER_LMA;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	vcpu_set_sregs(v, &s);
	reset_regs(v);
}

struct vcpu *vm_with_guest(const char *start, const char *end, int mode)
{
	struct vm *vm = vm_create(RAM_SIZE);
	struct vcpu *v = vcpu_add(vm, 0);

	vm_load(vm, CODE_GPA, start, end);
	if (mode == MODE_REAL)
		vcpu_real_mode(v);
	else if (mode == MODE_PROT)
		vcpu_prot_mode(v);
	else
		vcpu_long_mode(v);
	return v;
}

static __thread volatile sig_atomic_t watchdog_fired;

static void watchdog_handler(int sig)
{
	(void)sig;
	watchdog_fired = 1;
}

int vcpu_run(struct vcpu *v)
{
	static bool installed;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;
	int r, err;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = watchdog_handler;	/* no SA_RESTART */
		sigaction(SIGALRM, &sa, NULL);
		installed = true;
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		fail("timer_create: %s", strerror(errno));
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = run_timeout;
	watchdog_fired = 0;
	timer_settime(timer, 0, &its, NULL);

	r = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	timer_delete(timer);

	if (r < 0) {
		if (err == EINTR && watchdog_fired) {
			diag("vCPU %d still in the guest after %d s", v->id,
			     run_timeout);
			vcpu_dump(v);
			fail("guest timed out");
		}
		diag("KVM_RUN on vCPU %d: %s", v->id, strerrorname(err));
		vcpu_dump(v);
		fail("KVM_RUN failed");
	}
	return v->run->exit_reason;
}

enum ucall vcpu_ucall(struct vcpu *v, uint32_t *val)
{
	struct kvm_run *run = v->run;

	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
	    run->io.count != 1 || run->io.port < PORT_REPORT ||
	    run->io.port > PORT_VECTOR)
		return UC_NONE;
	if (val)
		memcpy(val, pio_data(v), 4);
	return UC_REPORT + (run->io.port - PORT_REPORT);
}

const char *ucall_name(enum ucall u)
{
	static const char *const names[] = {
		"no ucall", "REPORT", "DONE", "FAIL", "VECTOR",
	};
	return u <= UC_VECTOR ? names[u] : "?";
}

uint32_t run_ucall(struct vcpu *v, enum ucall type)
{
	uint32_t val = 0;
	enum ucall u;

	vcpu_run(v);
	u = vcpu_ucall(v, &val);
	if (u == type)
		return val;
	if (u == UC_FAIL)
		diag("guest check %u failed", val);
	else if (u == UC_VECTOR)
		diag("unexpected guest interrupt or exception, vector %u", val);
	else
		diag("expected ucall %s, got %s", ucall_name(type),
		     u == UC_NONE ? exit_name(v->run->exit_reason) :
				    ucall_name(u));
	vcpu_dump(v);
	fail("vCPU %d: unexpected exit", v->id);
}

void run_expect_exit(struct vcpu *v, int exit_reason)
{
	uint32_t val;

	if (vcpu_run(v) == exit_reason)
		return;
	if (vcpu_ucall(v, &val) != UC_NONE)
		diag("ucall %s 0x%x", ucall_name(vcpu_ucall(v, NULL)), val);
	diag("expected exit %s, got %s", exit_name(exit_reason),
	     exit_name(v->run->exit_reason));
	vcpu_dump(v);
	fail("vCPU %d: unexpected exit", v->id);
}

void run_to_done(struct vcpu *v)
{
	run_ucall(v, UC_DONE);
}

const char *exit_name(int reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
		[KVM_EXIT_MEMORY_FAULT] = "MEMORY_FAULT",
	};
	static char buf[32];

	if (reason >= 0 && reason < (int)ARRAY_SIZE(names) && names[reason])
		return names[reason];
	snprintf(buf, sizeof(buf), "exit %d", reason);
	return buf;
}

void vcpu_dump(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint32_t val;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		diag("exit IO: port 0x%x %s size %u count %u",
		     run->io.port, run->io.direction ? "out" : "in",
		     run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		diag("exit MMIO: gpa 0x%llx %s len %u",
		     (unsigned long long)run->mmio.phys_addr,
		     run->mmio.is_write ? "write" : "read", run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		diag("exit FAIL_ENTRY: reason 0x%llx",
		     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		diag("exit INTERNAL_ERROR: suberror %u", run->internal.suberror);
		break;
	default:
		diag("exit %s", exit_name(run->exit_reason));
	}
	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return;
	diag("rip %llx rsp %llx rflags %llx rax %llx rbx %llx rcx %llx rdx %llx rsi %llx rdi %llx",
	     r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi);
	diag("cr0 %llx cr3 %llx cr4 %llx efer %llx cs %x/%llx",
	     s.cr0, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base);
	/* An exception reported by the stubs: show where it happened. */
	if (vcpu_ucall(v, &val) == UC_VECTOR && v->vm->ram &&
	    r.rsp + 48 <= v->vm->ram_size) {
		uint64_t *sp = (uint64_t *)(v->vm->ram + r.rsp);
		bool err = val < 32 && ((1u << val) & 0x60227d00u);

		if (err)
			diag("vector %u error code 0x%llx at rip 0x%llx",
			     val, (unsigned long long)sp[3],
			     (unsigned long long)sp[4]);
		else
			diag("vector %u at rip 0x%llx", val,
			     (unsigned long long)sp[3]);
	}
}
