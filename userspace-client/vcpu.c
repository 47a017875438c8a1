// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: vCPUs.  One thread per vCPU loops on KVM_RUN, hands port
 * I/O to the registry, injects the 8259's interrupts with KVM_INTERRUPT when
 * the guest can take them (asking for the interrupt window otherwise), and
 * sleeps while the guest halts.  Another thread kicks it out of KVM_RUN with
 * SIGUSR1; the handler sets kvm_run.immediate_exit so that a kick arriving
 * just before KVM_RUN is not lost.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"
#include "ioport.h"
#include "irq.h"

#define VCPU_KICK_SIGNAL SIGUSR1

/* CPUID bits the client changes. */
#define CPUID_1_EDX_APIC	(1U << 9)
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_XSAVE	(1U << 26)
#define CPUID_1_ECX_OSXSAVE	(1U << 27)
#define CPUID_1_ECX_AVX		(1U << 28)

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING	1ULL

static __thread struct kvm_run *vcpu__current_run;

static void vcpu__kick_handler(int sig)
{
	(void)sig;
	if (vcpu__current_run)
		vcpu__current_run->immediate_exit = 1;
}

void vcpu__setup_kick_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu__kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		die_errno("sigaction");
}

/*
 * Is this host itself emulated by QEMU's TCG?  Its nested SVM does not
 * intercept XSETBV, so a nested guest's XCR0 is invisible to KVM (or
 * kvmlite), which then reloads the wrong XCR0 on every entry.
 */
static bool host__is_tcg(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	return b == 0x54474354 && c == 0x43544743 && d == 0x47435447;	/* "TCGTCGTCGTCG" */
}

/*
 * The guest's CPUID: what the device supports, less what this machine does
 * not have.  There is no local APIC (no in-kernel irqchip, and the client
 * emulates none), so Linux runs on the 8259 alone; no paravirtual leaves, so
 * the guest is the same on kvmlite and on KVM.
 */
static void vcpu__setup_cpuid(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *sup = vcpu->vm->supported_cpuid, *c;
	bool no_xsave = host__is_tcg();
	uint32_t i, n = 0;

	c = xzalloc(sizeof(*c) + sup->nent * sizeof(c->entries[0]));
	for (i = 0; i < sup->nent; i++) {
		struct kvm_cpuid_entry2 e = sup->entries[i];

		if (e.function >= 0x40000000 && e.function < 0x80000000)
			continue;
		if (no_xsave && e.function == 0xd)
			continue;
		switch (e.function) {
		case 1:
			e.edx &= ~CPUID_1_EDX_APIC;
			e.ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
			if (no_xsave)
				e.ecx &= ~(CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE | CPUID_1_ECX_AVX);
			e.ebx = (e.ebx & 0x0000ffff) | (1U << 16) | ((uint32_t)vcpu->id << 24);
			break;
		case 0xb:
		case 0x1f:
			e.edx = vcpu->id;
			break;
		}
		c->entries[n++] = e;
	}
	c->nent = n;
	if (ioport__debug) {
		report("vCPU %d CPUID (%u entries)%s:", vcpu->id, n,
		       no_xsave ? ", XSAVE hidden (emulated host)" : "");
		for (i = 0; i < n; i++)
			report("  %08x.%02x flags %x: %08x %08x %08x %08x",
			       c->entries[i].function, c->entries[i].index, c->entries[i].flags,
			       c->entries[i].eax, c->entries[i].ebx, c->entries[i].ecx,
			       c->entries[i].edx);
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		die_errno("%s: KVM_SET_CPUID2", vcpu->vm->dev_path);
	free(c);
}

static bool vcpu__msr_supported(struct vm *vm, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < vm->msr_list->nmsrs; i++)
		if (vm->msr_list->indices[i] == index)
			return true;
	return false;
}

/* The MSRs Linux expects a boot loader to leave at their reset values. */
static void vcpu__setup_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	struct kvm_msrs *msrs;
	uint32_t i, n = 0;
	int r;

	msrs = xzalloc(sizeof(*msrs) + ARRAY_SIZE(boot_msrs) * sizeof(msrs->entries[0]));
	for (i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		if (!vcpu__msr_supported(vcpu->vm, boot_msrs[i].index))
			continue;
		msrs->entries[n].index = boot_msrs[i].index;
		msrs->entries[n].data = boot_msrs[i].value;
		n++;
	}
	msrs->nmsrs = n;
	r = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (r < 0)
		die_errno("%s: KVM_SET_MSRS", vcpu->vm->dev_path);
	if ((uint32_t)r != n)
		die("%s: KVM_SET_MSRS refused MSR %#x", vcpu->vm->dev_path,
		    msrs->entries[r].index);
	free(msrs);
}

static void vcpu__setup_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		die_errno("%s: KVM_SET_FPU", vcpu->vm->dev_path);
}

void vcpu__init(struct vm *vm, struct vcpu *vcpu, int id)
{
	int mmap_size;

	vcpu->vm = vm;
	vcpu->id = id;
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->wake, NULL);
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		die_errno("%s: KVM_CREATE_VCPU %d", vm->dev_path, id);
	mmap_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		die_errno("%s: KVM_GET_VCPU_MMAP_SIZE", vm->dev_path);
	vcpu->run_size = mmap_size;
	vcpu->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		die_errno("%s: mmap of the vCPU", vm->dev_path);
	vcpu__setup_cpuid(vcpu);
	vcpu__setup_msrs(vcpu);
	vcpu__setup_fpu(vcpu);
}

static void segment__flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/*
 * Linux's 64-bit entry: long mode with paging on, the identity map at CR3,
 * CS = __BOOT_CS (0x10) and the data segments __BOOT_DS (0x18) from a GDT in
 * guest memory, interrupts off, RSI = boot_params.
 */
void vcpu__set_boot_state(struct vcpu *vcpu, uint64_t rip, uint64_t rsi,
			  uint64_t cr3, uint64_t gdt_base, uint16_t gdt_limit)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		die_errno("%s: KVM_GET_SREGS", vcpu->vm->dev_path);
	segment__flat(&sregs.cs, 0x10, 0xb, true);
	segment__flat(&sregs.ds, 0x18, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.type = 0xb;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	sregs.tr.limit = 0x67;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = gdt_base;
	sregs.gdt.limit = gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x80050033;		/* PG WP NE ET MP PE */
	sregs.cr3 = cr3;
	sregs.cr4 = 0x20;		/* PAE */
	sregs.efer = 0x500;		/* LMA LME */
	sregs.apic_base = 0;
	memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		die_errno("%s: KVM_SET_SREGS", vcpu->vm->dev_path);

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = rip;
	regs.rsi = rsi;
	regs.rsp = 0x8ff0;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		die_errno("%s: KVM_SET_REGS", vcpu->vm->dev_path);
}

static const char *vcpu__exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR", [KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS", [KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}

static void segment__print(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f, "  %-3s %04x base %016llx limit %08x type %x%s%s%s%s dpl %u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->present ? " P" : "", s->l ? " L" : "", s->db ? " DB" : "",
		s->unusable ? " unusable" : "", s->dpl);
}

/* The vCPU's registers and pending events as text (malloc'd), or NULL. */
static char *vcpu__describe(struct vcpu *vcpu, const char *why)
{
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events ev;
	uint8_t *code;

	if (!f)
		return NULL;
	fprintf(f, "kvmlite: vCPU %d: %s (exit reason %u %s)\n", vcpu->id, why,
		vcpu->run->exit_reason, vcpu__exit_name(vcpu->run->exit_reason));
	if (vcpu->run->exit_reason == KVM_EXIT_SHUTDOWN)
		fprintf(f, "  (on SVM the device resets the vCPU after a triple fault: "
			"the registers below are its reset state)\n");
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "  registers unavailable: %s\n", strerror(errno));
		goto out;
	}
	fprintf(f, "  rip %016llx rsp %016llx rflags %016llx\n",
		r.rip, r.rsp, r.rflags);
	fprintf(f, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n",
		r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(f, "  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n",
		r.rsi, r.rdi, r.rbp, r.r8);
	fprintf(f, "  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n",
		r.r9, r.r10, r.r11, r.r12);
	fprintf(f, "  r13 %016llx r14 %016llx r15 %016llx\n", r.r13, r.r14, r.r15);
	fprintf(f, "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n",
		s.cr0, s.cr2, s.cr3, s.cr4);
	fprintf(f, "  efer %016llx cr8 %llx\n", s.efer, s.cr8);
	segment__print(f, "cs", &s.cs);
	segment__print(f, "ss", &s.ss);
	segment__print(f, "ds", &s.ds);
	segment__print(f, "es", &s.es);
	segment__print(f, "fs", &s.fs);
	segment__print(f, "gs", &s.gs);
	segment__print(f, "tr", &s.tr);
	fprintf(f, "  gdt %016llx/%x idt %016llx/%x\n", s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) == 0)
		fprintf(f, "  events: exception %s%u%s, interrupt %s%u, nmi %s, shadow %u\n",
			ev.exception.injected ? "injected " : "", ev.exception.nr,
			ev.exception.has_error_code ? " (error code)" : "",
			ev.interrupt.injected ? "injected " : "", ev.interrupt.nr,
			ev.nmi.pending ? "pending" : "none", ev.interrupt.shadow);
	/* The code bytes, when RIP is an identity-mapped address. */
	code = vm__gpa_to_hva(vcpu->vm, r.rip, 16);
	if (code && !(s.cr0 & 0x80000000ULL)) {
		int i;

		fprintf(f, "  code:");
		for (i = 0; i < 16; i++)
			fprintf(f, " %02x", code[i]);
		fprintf(f, "\n");
	}
	if (vcpu->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		uint32_t i, n = vcpu->run->internal.ndata;

		fprintf(f, "  internal error suberror %u", vcpu->run->internal.suberror);
		for (i = 0; i < n && i < ARRAY_SIZE(vcpu->run->internal.data); i++)
			fprintf(f, " data[%u]=%#llx", i, vcpu->run->internal.data[i]);
		fprintf(f, "\n");
	}
	if (vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		fprintf(f, "  hardware entry failure reason %#llx\n",
			vcpu->run->fail_entry.hardware_entry_failure_reason);
out:
	fclose(f);
	return text;
}

/*
 * The register dump of a guest crash.  It is kept in vm->crash_dump and
 * printed by the main thread once the terminal is back to normal.
 */
void vcpu__dump(struct vcpu *vcpu, const char *why)
{
	char *text = vcpu__describe(vcpu, why);

	if (!text)
		return;
	pthread_mutex_lock(&vcpu->vm->stop_lock);
	if (!vcpu->vm->crash_dump)
		vcpu->vm->crash_dump = text;
	else
		free(text);
	pthread_mutex_unlock(&vcpu->vm->stop_lock);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * The guest's TSC rate in kHz: the host's TSC measured against the host's
 * CLOCK_MONOTONIC over 100 ms (the guest's TSC is the host's plus an offset
 * when nothing scales it).  Measuring, rather than asking KVM_GET_TSC_KHZ,
 * keeps guest time in step with the host's own clock even where the host's
 * TSC calibration is poor (an emulated host).
 */
unsigned long vcpu__tsc_khz(struct vcpu *vcpu)
{
	struct timespec pause = { 0, 100000000 };
	uint64_t a0, a1, b0, b1, c0, c1;

	(void)vcpu;
	a0 = clock__now_ns();
	c0 = rdtsc();
	b0 = clock__now_ns();
	nanosleep(&pause, NULL);
	a1 = clock__now_ns();
	c1 = rdtsc();
	b1 = clock__now_ns();
	if (c1 <= c0 || (a1 + b1) / 2 <= (a0 + b0) / 2)
		return 0;
	return (unsigned long)((c1 - c0) * 1000000ULL / ((a1 + b1) / 2 - (a0 + b0) / 2));
}

void vcpu__kick(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	pthread_cond_broadcast(&vcpu->wake);
	pthread_mutex_unlock(&vcpu->lock);
	if (vcpu->started && !pthread_equal(pthread_self(), vcpu->thread))
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vm__kick_vcpus(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(&vm->vcpus[i]);
}

/*
 * Offer the 8259's interrupt: inject it when the guest can take one (at most
 * one per KVM_RUN), else ask KVM to exit when the window opens.
 */
static void vcpu__offer_interrupt(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (vcpu->id != 0 || !pic__has_interrupt()) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag) {
		struct kvm_interrupt irq;
		int vector = pic__acknowledge();

		if (vector >= 0) {
			irq.irq = vector;
			if (ioctl(vcpu->fd, KVM_INTERRUPT, &irq) < 0) {
				vcpu__dump(vcpu, "KVM_INTERRUPT failed");
				vm__stop(vcpu->vm, EXIT_GUEST_CRASH,
					 "KVM_INTERRUPT: %s", strerror(errno));
				return;
			}
			/* KVM takes one vector per entry: wait for the next exit. */
			run->ready_for_interrupt_injection = 0;
		}
	}
	run->request_interrupt_window = pic__has_interrupt();
}

/* HLT: sleep until the 8259 has an interrupt for us (or the VM ends). */
static void vcpu__halt(struct vcpu *vcpu)
{
	if (!vcpu->run->if_flag) {
		/* Interrupts off and no NMI source: this CPU stopped for good. */
		if (vcpu->id == 0)
			vm__stop(vcpu->vm, EXIT_GUEST_DONE,
				 "guest halted (HLT with interrupts disabled)");
		return;
	}
	pthread_mutex_lock(&vcpu->lock);
	while (!vm__stopping(vcpu->vm) && !(vcpu->id == 0 && pic__has_interrupt()))
		pthread_cond_wait(&vcpu->wake, &vcpu->lock);
	pthread_mutex_unlock(&vcpu->lock);
	/* HLT does not exit with a window: the guest has IF=1 and no shadow. */
	vcpu->run->ready_for_interrupt_injection = 1;
}

static void vcpu__handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > vcpu->run_size) {
		vcpu__dump(vcpu, "port I/O data outside the kvm_run mapping");
		vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "bad KVM_EXIT_IO from the device");
		return;
	}
	for (i = 0; i < run->io.count; i++) {
		ioport__dispatch(run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
				 data, run->io.size);
		data += run->io.size;
	}
}

static void vcpu__handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	/* No MMIO devices: reads see all ones, writes vanish. */
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	if (ioport__debug)
		report("unhandled MMIO %s at %#llx size %u",
		       run->mmio.is_write ? "write" : "read",
		       (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	sigset_t set;

	vcpu__current_run = run;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm__stopping(vcpu->vm)) {
		vcpu__offer_interrupt(vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			run->immediate_exit = 0;
			if (vcpu->dump_requested) {
				vcpu->dump_requested = 0;
				char *text = vcpu__describe(vcpu, "state on request (SIGUSR2)");

				if (text)
					fputs(text, stderr);
				free(text);
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpu__dump(vcpu, "KVM_RUN failed");
			vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "KVM_RUN: %s", strerror(errno));
			break;
		}
		run->immediate_exit = 0;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu__handle_io(vcpu);
			break;
		case KVM_EXIT_MMIO:
			vcpu__handle_mmio(vcpu);
			break;
		case KVM_EXIT_HLT:
			vcpu__halt(vcpu);
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			vcpu__dump(vcpu, "triple fault");
			vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "guest crashed: triple fault");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu__dump(vcpu, "VM entry failed");
			vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "guest crashed: VM entry failed");
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu__dump(vcpu, "internal error");
			vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "guest crashed: internal error");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm__stop(vcpu->vm, EXIT_GUEST_DONE, "guest system event %u",
				 run->system_event.type);
			break;
		default:
			vcpu__dump(vcpu, "unhandled exit");
			vm__stop(vcpu->vm, EXIT_GUEST_CRASH, "guest crashed: unhandled exit %u",
				 run->exit_reason);
			break;
		}
	}
	return NULL;
}

void vcpu__start(struct vcpu *vcpu)
{
	int err = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);

	if (err) {
		errno = err;
		die_errno("pthread_create");
	}
	vcpu->started = true;
}
