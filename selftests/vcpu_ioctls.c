// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU ioctls: creation, the kvm_run mapping, register state round trips
 * (REGS, SREGS, FPU, MSRS, CPUID2, MP_STATE, VCPU_EVENTS), KVM_NMI and
 * KVM_INTERRUPT.
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vm.h"

static void create_ids(void)
{
	struct vm *vm = vm_create(0);
	long max_id = kvm_cap(KVM_CAP_MAX_VCPU_ID);
	int fd0, fd1, fd5;

	if (!max_id)
		max_id = kvm_cap(KVM_CAP_MAX_VCPUS);
	fd0 = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	CHECK(fd0 >= 0, "vCPU 0: %s", strerror(errno));
	fd1 = ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	CHECK(fd1 >= 0, "vCPU 1: %s", strerror(errno));
	fd5 = ioctl(vm->fd, KVM_CREATE_VCPU, 5);
	CHECK(fd5 >= 0, "vCPU 5: %s", strerror(errno));
	CHECK(fd0 != fd1 && fd1 != fd5, "fds");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, 1), EEXIST, "duplicate id");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, 0), EEXIST, "duplicate id");
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, max_id), EINVAL,
		  "id == MAX_VCPU_ID %ld", max_id);
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, -1L), EINVAL, "id -1");
	/* The highest id is fine. */
	CHECK(ioctl(vm->fd, KVM_CREATE_VCPU, max_id - 1) >= 0,
	      "id MAX_VCPU_ID - 1: %s", strerror(errno));
	/* A closed vCPU's id stays taken. */
	close(fd5);
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, 5), EEXIST, "id of a closed vCPU");
}

static void create_max(void)
{
	long max = kvm_cap(KVM_CAP_MAX_VCPUS);
	struct rlimit rl = { max + 64, max + 64 };
	struct vm *vm;
	long i;

	/* KVM's 1024 take minutes to tear down in an emulated host. */
	if (max > 256)
		skip("MAX_VCPUS %ld: too many vCPUs to create in a test", max);
	setrlimit(RLIMIT_NOFILE, &rl);
	vm = vm_create(0);
	for (i = 0; i < max; i++)
		CHECK(ioctl(vm->fd, KVM_CREATE_VCPU, i) >= 0,
		      "vCPU %ld of %ld: %s", i, max, strerror(errno));
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_VCPU, max), EINVAL,
		  "one vCPU more than MAX_VCPUS");
}

GUEST_CODE(pio_once, ".code64",
	"mov $0x5a, %al\n"
	"mov $0x1234, %dx\n"
	"out %al, %dx\n"
	"mov $0xa5, %al\n"
	"out %al, %dx\n"
	"hlt\n");

static void run_mmap(void)
{
	struct vcpu *v = GUEST_VM(pio_once, MODE_LONG);
	uint8_t *pio_page;

	CHECK(v->run_size >= 2 * PAGE_SIZE, "mmap size");
	/* The PIO page can also be mapped on its own, at page offset 1. */
	pio_page = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, v->fd, PAGE_SIZE);
	CHECK(pio_page != MAP_FAILED, "mmap of page 1: %s", strerror(errno));

	run_expect_exit(v, KVM_EXIT_IO);
	CHECK_EQ(v->run->io.port, 0x1234);
	CHECK_EQ(v->run->io.size, 1);
	CHECK_EQ(v->run->io.count, 1);
	CHECK_EQ(v->run->io.direction, KVM_EXIT_IO_OUT);
	diag("io.data_offset %llu", (unsigned long long)v->run->io.data_offset);
	CHECK(v->run->io.data_offset >= sizeof(struct kvm_run) &&
	      v->run->io.data_offset + 1 <= v->run_size, "data_offset");
	CHECK_EQ(*pio_data(v), 0x5a);
	if (v->run->io.data_offset == PAGE_SIZE)
		CHECK_EQ(pio_page[0], 0x5a, "separately mapped PIO page");

	/* A second mapping of kvm_run sees the same page. */
	struct kvm_run *run2 = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE,
				    MAP_SHARED, v->fd, 0);
	CHECK(run2 != MAP_FAILED, "second mmap: %s", strerror(errno));
	run_expect_exit(v, KVM_EXIT_IO);
	CHECK_EQ(run2->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(((uint8_t *)run2)[run2->io.data_offset], 0xa5);
	run_expect_exit(v, KVM_EXIT_HLT);
	CHECK_EQ(run2->exit_reason, KVM_EXIT_HLT);
}

static void reset_state(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_regs r;
	struct kvm_sregs s;

	vcpu_get_regs(v, &r);
	vcpu_get_sregs(v, &s);
	diag("rip %llx rflags %llx cs %x/%llx cr0 %llx", r.rip, r.rflags,
	     s.cs.selector, s.cs.base, s.cr0);
	CHECK_EQ(r.rip, 0xfff0);
	CHECK_EQ(r.rflags, 2);
	CHECK_EQ(s.cs.selector, 0xf000);
	CHECK_EQ(s.cs.base, 0xffff0000);
	CHECK_EQ(s.cr0, 0x60000010);
	CHECK_EQ(s.cr3, 0);
	CHECK_EQ(s.cr4, 0);
	CHECK_EQ(s.efer, 0);
	CHECK_EQ(s.idt.limit, 0xffff);
	CHECK_EQ(s.gdt.limit, 0xffff);
}

static void regs_roundtrip(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_regs in, out;
	uint64_t *p = (uint64_t *)&in;
	unsigned int i;

	for (i = 0; i < sizeof(in) / 8; i++)
		p[i] = 0x0101010101010101ULL * (i + 1) ^ 0x8000000000000000ULL;
	in.rip = 0x123456789a;
	in.rflags = 0xed7;	/* CF PF AF ZF SF IF DF OF + fixed bit 1 */
	vcpu_set_regs(v, &in);
	vcpu_get_regs(v, &out);
	for (i = 0; i < sizeof(in) / 8; i++)
		CHECK_EQ(((uint64_t *)&out)[i], p[i], "register %u", i);
}

static void seg_eq(const char *name, const struct kvm_segment *a,
		   const struct kvm_segment *b)
{
	if (a->base == b->base && a->limit == b->limit &&
	    a->selector == b->selector && a->type == b->type &&
	    a->present == b->present && a->dpl == b->dpl && a->db == b->db &&
	    a->s == b->s && a->l == b->l && a->g == b->g)
		return;
	diag("%s: set sel %x base %llx limit %x type %u p %u dpl %u db %u s %u l %u g %u",
	     name, a->selector, a->base, a->limit, a->type, a->present, a->dpl,
	     a->db, a->s, a->l, a->g);
	diag("%s: got sel %x base %llx limit %x type %u p %u dpl %u db %u s %u l %u g %u",
	     name, b->selector, b->base, b->limit, b->type, b->present, b->dpl,
	     b->db, b->s, b->l, b->g);
	fail("segment %s differs", name);
}

static void data_seg(struct kvm_segment *s, uint16_t sel, uint64_t base)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffffffff;
	s->type = 3;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

static void sregs_roundtrip(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_sregs in, out;

	vcpu_get_sregs(v, &in);
	memset(&in.cs, 0, sizeof(in.cs));
	in.cs.selector = 0x18;
	in.cs.limit = 0xffffffff;
	in.cs.type = 11;
	in.cs.present = 1;
	in.cs.s = 1;
	in.cs.l = 1;
	in.cs.g = 1;
	data_seg(&in.ds, 0x10, 0);
	data_seg(&in.es, 0x10, 0);
	data_seg(&in.ss, 0x10, 0);
	data_seg(&in.fs, 0x2b, 0x7f0012345000ULL);
	data_seg(&in.gs, 0x33, 0xffff888012340000ULL);
	memset(&in.tr, 0, sizeof(in.tr));
	in.tr.selector = 0x40;
	in.tr.base = 0xfffffe0000003000ULL;
	in.tr.limit = 0x4087;
	in.tr.type = 11;
	in.tr.present = 1;
	memset(&in.ldt, 0, sizeof(in.ldt));
	in.ldt.selector = 0x50;
	in.ldt.base = 0x5000;
	in.ldt.limit = 0xfff;
	in.ldt.type = 2;
	in.ldt.present = 1;
	in.gdt.base = 0xfffffe0000001000ULL;
	in.gdt.limit = 0x7f;
	in.idt.base = 0xfffffe0000000000ULL;
	in.idt.limit = 0xfff;
	in.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		 X86_CR0_WP | X86_CR0_PG;
	in.cr2 = 0xdeadbeef000ULL;
	in.cr3 = 0x1234000;
	in.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	in.cr8 = 5;
	in.efer = EFER_LME | EFER_LMA | EFER_SCE;
	memset(in.interrupt_bitmap, 0, sizeof(in.interrupt_bitmap));
	vcpu_set_sregs(v, &in);
	vcpu_get_sregs(v, &out);

	seg_eq("cs", &in.cs, &out.cs);
	seg_eq("ds", &in.ds, &out.ds);
	seg_eq("es", &in.es, &out.es);
	seg_eq("ss", &in.ss, &out.ss);
	seg_eq("fs", &in.fs, &out.fs);
	seg_eq("gs", &in.gs, &out.gs);
	seg_eq("tr", &in.tr, &out.tr);
	seg_eq("ldt", &in.ldt, &out.ldt);
	CHECK_EQ(out.gdt.base, in.gdt.base);
	CHECK_EQ(out.gdt.limit, in.gdt.limit);
	CHECK_EQ(out.idt.base, in.idt.base);
	CHECK_EQ(out.idt.limit, in.idt.limit);
	CHECK_EQ(out.cr0, in.cr0);
	CHECK_EQ(out.cr2, in.cr2);
	CHECK_EQ(out.cr3, in.cr3);
	CHECK_EQ(out.cr4, in.cr4);
	CHECK_EQ(out.cr8, in.cr8);
	CHECK_EQ(out.efer, in.efer);
	CHECK_EQ(out.apic_base, in.apic_base);

	/* And back to real mode. */
	in = out;
	in.cr0 = X86_CR0_ET;
	in.cr4 = 0;
	in.efer = 0;
	in.cs.l = 0;
	in.cs.selector = 0x1000;
	in.cs.base = 0x10000;
	in.cs.limit = 0xffff;
	in.cs.g = 0;
	vcpu_set_sregs(v, &in);
	vcpu_get_sregs(v, &out);
	seg_eq("cs", &in.cs, &out.cs);
	CHECK_EQ(out.cr0, in.cr0);
	CHECK_EQ(out.efer, 0);
}

static void fpu_fill(struct kvm_fpu *f)
{
	int i, j;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 8; i++)
		for (j = 0; j < 10; j++)
			f->fpr[i][j] = 0x10 * i + j + 1;
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			f->xmm[i][j] = 0x80 + 7 * i + j;
	f->fcw = 0x027f;
	f->fsw = 0x3800;
	f->ftwx = 0xf0;
	f->last_opcode = 0x1de;
	f->last_ip = 0x1122334455ULL;
	f->last_dp = 0x5566778899ULL;
	f->mxcsr = 0x7fa0;
}

static void fpu_compare(const struct kvm_fpu *a, const struct kvm_fpu *b)
{
	int i;

	CHECK_EQ(b->fcw, a->fcw);
	CHECK_EQ(b->fsw, a->fsw);
	CHECK_EQ(b->ftwx, a->ftwx);
	CHECK_EQ(b->last_opcode, a->last_opcode);
	CHECK_EQ(b->last_ip, a->last_ip);
	CHECK_EQ(b->last_dp, a->last_dp);
	/* KVM neither sets nor reports mxcsr through KVM_SET/GET_FPU. */
	for (i = 0; i < 8; i++)
		CHECK(!memcmp(a->fpr[i], b->fpr[i], 10), "st%d differs", i);
	for (i = 0; i < 16; i++)
		CHECK(!memcmp(a->xmm[i], b->xmm[i], 16), "xmm%d differs", i);
}

static void fpu_roundtrip(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_fpu in, out;

	fpu_fill(&in);
	CHECK_OK(ioctl(v->fd, KVM_SET_FPU, &in), "KVM_SET_FPU");
	memset(&out, 0xcc, sizeof(out));
	CHECK_OK(ioctl(v->fd, KVM_GET_FPU, &out), "KVM_GET_FPU");
	fpu_compare(&in, &out);
}

/* The guest changes xmm0, xmm15 and the x87 control word. */
GUEST_CODE(fpu_guest, ".code64",
	"movabs $0x1122334455667788, %rax\n"
	"movq %rax, %xmm0\n"
	"pinsrq $1, %rax, %xmm0\n"
	"movabs $0x0f0e0d0c0b0a0908, %rax\n"
	"movq %rax, %xmm15\n"
	"fninit\n"
	"movw $0x037a, (0x10000)\n"
	"fldcw (0x10000)\n"
	"ldmxcsr (0x10004)\n"
	G_DONE);

static void fpu_from_guest(void)
{
	struct vcpu *v = GUEST_VM(fpu_guest, MODE_LONG);
	struct kvm_fpu f;
	uint64_t want[2] = { 0x1122334455667788ULL, 0x1122334455667788ULL };
	uint64_t want15 = 0x0f0e0d0c0b0a0908ULL;

	*(uint32_t *)gpa2hva(v->vm, DATA_GPA + 4) = 0x3f80;	/* RC = down */
	run_to_done(v);
	CHECK_OK(ioctl(v->fd, KVM_GET_FPU, &f), "KVM_GET_FPU");
	CHECK(!memcmp(f.xmm[0], want, 16), "xmm0 not as the guest left it");
	CHECK(!memcmp(f.xmm[15], &want15, 8), "xmm15 not as the guest left it");
	CHECK_EQ(f.fcw, 0x037a);
}

struct msrs {
	struct kvm_msrs h;
	struct kvm_msr_entry e[8];
};

static void msrs_processed(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct msrs m;
	int r;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 4;
	m.e[0].index = MSR_STAR;
	m.e[0].data = 0x0023001000000000ULL;
	m.e[1].index = MSR_LSTAR;
	m.e[1].data = 0xffffffff81000000ULL;
	m.e[2].index = 0xdeadbeef;		/* no such MSR */
	m.e[3].index = MSR_IA32_SYSENTER_CS;
	m.e[3].data = 0x10;
	r = ioctl(v->fd, KVM_SET_MSRS, &m);
	CHECK_EQ(r, 2, "KVM_SET_MSRS stops at the unknown MSR");

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 4;
	m.e[0].index = MSR_STAR;
	m.e[1].index = MSR_LSTAR;
	m.e[2].index = 0xdeadbeef;
	m.e[3].index = MSR_IA32_SYSENTER_CS;
	r = ioctl(v->fd, KVM_GET_MSRS, &m);
	CHECK_EQ(r, 2, "KVM_GET_MSRS stops at the unknown MSR");
	CHECK_EQ(m.e[0].data, 0x0023001000000000ULL);
	CHECK_EQ(m.e[1].data, 0xffffffff81000000ULL);
	/* SYSENTER_CS was not written. */
	CHECK_EQ(vcpu_get_msr(v, MSR_IA32_SYSENTER_CS), 0);

	/* Nothing to do is 0 done. */
	m.h.nmsrs = 0;
	CHECK_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 0);
	CHECK_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 0);

	/* A non-canonical LSTAR is refused: 0 processed. */
	m.h.nmsrs = 1;
	m.e[0].index = MSR_LSTAR;
	m.e[0].data = 0x8000000000000000ULL;
	CHECK_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 0, "non-canonical LSTAR");
	CHECK_EQ(vcpu_get_msr(v, MSR_LSTAR), 0xffffffff81000000ULL);
}

static void msrs_roundtrip(void)
{
	static const struct { uint32_t index; uint64_t value; } list[] = {
		{ MSR_IA32_SYSENTER_CS, 0x10 },
		/* 32 bits: KVM drops the high half for AMD guests. */
		{ MSR_IA32_SYSENTER_ESP, 0xc9001000 },
		{ MSR_IA32_SYSENTER_EIP, 0x81001000 },
		{ MSR_STAR, 0x0023001000000000ULL },
		{ MSR_LSTAR, 0xffffffff81800000ULL },
		{ MSR_CSTAR, 0xffffffff81900000ULL },
		{ MSR_SYSCALL_MASK, 0x47700 },
		{ MSR_KERNEL_GS_BASE, 0x00007f1234567000ULL },
	};
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	uint64_t tsc;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(list); i++)
		vcpu_set_msr(v, list[i].index, list[i].value);
	for (i = 0; i < ARRAY_SIZE(list); i++)
		CHECK_EQ(vcpu_get_msr(v, list[i].index), list[i].value,
			 "MSR 0x%x", list[i].index);
	vcpu_set_msr(v, MSR_IA32_TSC, 1ULL << 40);
	tsc = vcpu_get_msr(v, MSR_IA32_TSC);
	CHECK(tsc >= 1ULL << 40, "TSC 0x%llx after setting 2^40",
	      (unsigned long long)tsc);
}

static void cpuid2(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_cpuid2 *sup = supported_cpuid(), *c, *got;
	struct kvm_cpuid_entry2 *e;
	const uint32_t check[] = { 0, 0x80000000, 0x80000002, 0x80000003,
				   0x80000004 };
	static const char brand[49] = "kvmlite selftest CPU, a brand string of 48 chars";
	unsigned int i;

	c = cpuid_alloc(257);
	memcpy(c->entries, sup->entries, sup->nent * sizeof(sup->entries[0]));
	c->nent = 257;
	CHECK_ERR(ioctl(v->fd, KVM_SET_CPUID2, c), E2BIG, "nent 257");

	/* The supported table with a brand string of our own. */
	c->nent = sup->nent;
	for (i = 0; i < 3; i++) {
		e = cpuid_find(c, 0x80000002 + i, 0);
		if (!e)
			skip("no leaf 0x%x", 0x80000002 + i);
		memcpy(&e->eax, brand + 16 * i, 16);
	}
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2");

	got = cpuid_alloc(256);
	got->nent = c->nent - 1;
	CHECK_ERR(ioctl(v->fd, KVM_GET_CPUID2, got), E2BIG, "nent one too few");
	CHECK_EQ(got->nent, c->nent - 1, "nent changed on E2BIG");
	got->nent = 256;
	CHECK_OK(ioctl(v->fd, KVM_GET_CPUID2, got), "KVM_GET_CPUID2");
	/* The count, as documented; KVM before 6.2 left nent unchanged. */
	CHECK(got->nent == c->nent || got->nent == 256, "nent %u", got->nent);
	for (i = 0; i < c->nent; i++) {
		CHECK_EQ(got->entries[i].function, c->entries[i].function);
		CHECK_EQ(got->entries[i].index, c->entries[i].index);
	}
	for (i = 0; i < ARRAY_SIZE(check); i++) {
		struct kvm_cpuid_entry2 *a = cpuid_find(c, check[i], 0);
		struct kvm_cpuid_entry2 *b = cpuid_find(got, check[i], 0);

		CHECK(a && b, "leaf 0x%x", check[i]);
		CHECK(a->eax == b->eax && a->ebx == b->ebx &&
		      a->ecx == b->ecx && a->edx == b->edx,
		      "leaf 0x%x differs", check[i]);
	}
}

static void mp_state(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v0 = vcpu_add(vm, 0), *v1 = vcpu_add(vm, 1);
	struct kvm_mp_state mp;

	CHECK_OK(ioctl(v0->fd, KVM_GET_MP_STATE, &mp));
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE, "vCPU 0");
	CHECK_OK(ioctl(v1->fd, KVM_GET_MP_STATE, &mp));
	/* Without an in-kernel irqchip every vCPU starts runnable. */
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE, "vCPU 1");
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	CHECK_OK(ioctl(v1->fd, KVM_SET_MP_STATE, &mp));
	/* Other states need the in-kernel LAPIC. */
	mp.mp_state = KVM_MP_STATE_HALTED;
	CHECK_ERR(ioctl(v1->fd, KVM_SET_MP_STATE, &mp), EINVAL, "HALTED");
	mp.mp_state = 1000;
	CHECK_ERR(ioctl(v1->fd, KVM_SET_MP_STATE, &mp), EINVAL, "state 1000");
	CHECK_OK(ioctl(v1->fd, KVM_GET_MP_STATE, &mp));
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
}

static void events_roundtrip(void)
{
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_vcpu_events ev, got;

	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK(!ev.exception.injected && !ev.interrupt.injected &&
	      !ev.nmi.injected && !ev.nmi.pending && !ev.nmi.masked,
	      "a new vCPU has events");

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ev.exception.injected = 1;
	ev.exception.nr = 13;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x18;
	ev.interrupt.injected = 1;
	ev.interrupt.nr = 0x45;
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	ev.nmi.pending = 1;
	ev.nmi.masked = 1;
	CHECK_OK(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), "KVM_SET_VCPU_EVENTS");
	memset(&got, 0xcc, sizeof(got));
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &got));
	CHECK_EQ(got.exception.injected, 1);
	CHECK_EQ(got.exception.nr, 13);
	CHECK_EQ(got.exception.has_error_code, 1);
	CHECK_EQ(got.exception.error_code, 0x18);
	CHECK_EQ(got.interrupt.injected, 1);
	CHECK_EQ(got.interrupt.nr, 0x45);
	CHECK_EQ(got.interrupt.soft, 0);
	CHECK(got.interrupt.shadow != 0, "interrupt shadow lost");
	CHECK_EQ(got.nmi.pending, 1);
	CHECK_EQ(got.nmi.masked, 1);
	CHECK_EQ(got.nmi.injected, 0);
	CHECK(got.flags & KVM_VCPUEVENT_VALID_NMI_PENDING, "flags 0x%x", got.flags);
	CHECK(got.flags & KVM_VCPUEVENT_VALID_SHADOW, "flags 0x%x", got.flags);

	/* Clear everything again. */
	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	CHECK_OK(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &got));
	CHECK(!got.exception.injected && !got.interrupt.injected &&
	      !got.interrupt.shadow && !got.nmi.pending && !got.nmi.masked,
	      "events not cleared");

	/* Exception vectors above 31, or NMI as an exception: EINVAL. */
	ev.exception.injected = 1;
	ev.exception.nr = 32;
	CHECK_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL, "vector 32");
	ev.exception.nr = 2;
	CHECK_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL, "vector 2");
	memset(&ev, 0, sizeof(ev));
	ev.flags = 0x80000000;
	CHECK_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL, "unknown flag");
}

/* Reports 1 forever, with interrupts enabled. */
GUEST_CODE(report_loop, ".code64",
	"sti\n"
	"1: mov $1, %eax\n"
	G_REPORT
	"jmp 1b\n");

static void nmi(void)
{
	struct vcpu *v = GUEST_VM(report_loop, MODE_LONG);
	struct kvm_vcpu_events ev;

	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	CHECK_OK(ioctl(v->fd, KVM_NMI), "KVM_NMI");
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_EQ(ev.nmi.pending, 1, "NMI pending after KVM_NMI");
	CHECK_EQ(run_ucall(v, UC_VECTOR), 2, "the guest takes the NMI");
	CHECK_EQ(run_ucall(v, UC_REPORT), 1, "and returns to its loop");
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_EQ(ev.nmi.pending, 0);
	CHECK_EQ(ev.nmi.masked, 0, "NMIs unmasked after iretq");
}

static void interrupt(void)
{
	struct vcpu *v = GUEST_VM(report_loop, MODE_LONG);
	struct kvm_interrupt irq = { .irq = 0x50 };
	struct kvm_vcpu_events ev;

	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	CHECK(v->run->ready_for_interrupt_injection, "not ready for injection");
	CHECK_OK(ioctl(v->fd, KVM_INTERRUPT, &irq), "KVM_INTERRUPT");
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_EQ(ev.interrupt.injected, 1, "interrupt queued");
	CHECK_EQ(ev.interrupt.nr, 0x50);
	CHECK_EQ(run_ucall(v, UC_VECTOR), 0x50, "the guest takes vector 0x50");
	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_EQ(ev.interrupt.injected, 0);
}

static const struct tcase cases[] = {
	CASE(create_ids, "KVM_CREATE_VCPU ids: duplicates EEXIST, too big EINVAL"),
	CASE_TIMEOUT(create_max, 90, "KVM_CREATE_VCPU up to MAX_VCPUS, then EINVAL"),
	CASE(run_mmap, "kvm_run and the PIO data page are mapped"),
	CASE(reset_state, "a new vCPU is in the reset state"),
	CASE(regs_roundtrip, "KVM_SET_REGS / KVM_GET_REGS round trip"),
	CASE(sregs_roundtrip, "KVM_SET_SREGS / KVM_GET_SREGS round trip"),
	CASE(fpu_roundtrip, "KVM_SET_FPU / KVM_GET_FPU round trip"),
	CASE(fpu_from_guest, "KVM_GET_FPU sees the guest's FPU/SSE state"),
	CASE(msrs_processed, "KVM_GET/SET_MSRS return the number processed"),
	CASE(msrs_roundtrip, "KVM_SET_MSRS / KVM_GET_MSRS round trip"),
	CASE(cpuid2, "KVM_SET_CPUID2 / KVM_GET_CPUID2 and E2BIG"),
	CASE(mp_state, "KVM_GET/SET_MP_STATE"),
	CASE(events_roundtrip, "KVM_SET_VCPU_EVENTS / KVM_GET_VCPU_EVENTS"),
	CASE(nmi, "KVM_NMI is delivered to the guest"),
	CASE(interrupt, "KVM_INTERRUPT is delivered to the guest"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
