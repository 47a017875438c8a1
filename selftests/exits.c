// SPDX-License-Identifier: GPL-2.0
/*
 * Exits other than I/O: HLT, triple fault (SHUTDOWN), invalid guest state
 * (SET_SREGS refused or FAIL_ENTRY), code fetched from outside the
 * memslots, and guest exceptions delivered through the IDT.
 */
#include <sys/ioctl.h>

#include "vm.h"

GUEST_CODE(hlt_guest, ".code64",
	"mov $1, %eax\n"
	G_REPORT
	"hlt_insn: hlt\n"
	"hlt_after: mov $2, %eax\n"
	G_REPORT
	"cli\n"
	"hlt\n"
	"mov $3, %eax\n"
	G_REPORT
	G_DONE);

static void hlt_exit(void)
{
	struct vcpu *v = GUEST_VM(hlt_guest, MODE_LONG);
	extern const char hlt_after[];
	struct kvm_regs r;
	struct kvm_mp_state mp;

	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	run_expect_exit(v, KVM_EXIT_HLT);
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rip, guest_addr(hlt_guest, hlt_after), "RIP past the hlt");
	/* Without an in-kernel irqchip the vCPU does not stay halted. */
	CHECK_OK(ioctl(v->fd, KVM_GET_MP_STATE, &mp));
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(run_ucall(v, UC_REPORT), 2, "KVM_RUN goes on after hlt");
	/* hlt with interrupts disabled exits the same way. */
	run_expect_exit(v, KVM_EXIT_HLT);
	CHECK_EQ(run_ucall(v, UC_REPORT), 3);
	run_to_done(v);
}

GUEST_CODE(rm_hlt, ".code16",
	"hlt\n"
	"mov $0x16, %eax\n"
	G_REPORT);

GUEST_CODE(pm_hlt, ".code32",
	"hlt\n"
	"mov $0x32, %eax\n"
	G_REPORT);

static void hlt_modes(void)
{
	struct vcpu *v = GUEST_VM(rm_hlt, MODE_REAL);

	run_expect_exit(v, KVM_EXIT_HLT);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x16);
	v = GUEST_VM(pm_hlt, MODE_PROT);
	run_expect_exit(v, KVM_EXIT_HLT);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x32);
}

/* With an empty IDT any exception becomes a triple fault. */
GUEST_CODE(lm_fault, ".code64",
	"mov $1, %eax\n"
	G_REPORT
	"int3\n"
	"mov $2, %eax\n"
	G_REPORT);

GUEST_CODE(lm_ud, ".code64", "ud2\n");

GUEST_CODE(pm_fault, ".code32",
	"xor %edx, %edx\n"
	"xor %ecx, %ecx\n"
	"mov $1, %eax\n"
	"div %ecx\n");

GUEST_CODE(rm_fault, ".code16", "int $0x10\n");

static void empty_idt(struct vcpu *v)
{
	struct kvm_sregs s;

	vcpu_get_sregs(v, &s);
	s.idt.base = 0;
	s.idt.limit = 0;
	vcpu_set_sregs(v, &s);
}

static void triple_fault(long which)
{
	struct vcpu *v;

	switch (which) {
	case 0:
		v = GUEST_VM(lm_fault, MODE_LONG);
		empty_idt(v);
		CHECK_EQ(run_ucall(v, UC_REPORT), 1);
		break;
	case 1:
		v = GUEST_VM(lm_ud, MODE_LONG);
		empty_idt(v);
		break;
	case 2:
		v = GUEST_VM(pm_fault, MODE_PROT);
		empty_idt(v);
		break;
	default:
		v = GUEST_VM(rm_fault, MODE_REAL);
		empty_idt(v);
		break;
	}
	run_expect_exit(v, KVM_EXIT_SHUTDOWN);
}

GUEST_CODE(lm_ok, ".code64",
	"mov $0x600d, %eax\n"
	G_REPORT
	G_DONE);

/* After a triple fault the vCPU can be set up again and run. */
static void after_shutdown(void)
{
	struct vcpu *v = GUEST_VM(lm_ud, MODE_LONG);

	empty_idt(v);
	run_expect_exit(v, KVM_EXIT_SHUTDOWN);
	vm_load_code(v->vm, lm_ok);
	vcpu_long_mode(v);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x600d);
	run_to_done(v);
}

/*
 * Invalid states.  KVM refuses some in KVM_SET_SREGS (EINVAL) and lets the
 * processor refuse others at VM entry (KVM_EXIT_FAIL_ENTRY); which one
 * depends on the state and the kernel version, so either is accepted.
 * What is refused must not change the vCPU; after a failed entry valid
 * state runs again.
 */
static void invalid_state(long which)
{
	struct vcpu *v = GUEST_VM(lm_ok, MODE_LONG);
	struct kvm_sregs good, bad, now;
	const char *what;
	int r;

	vcpu_get_sregs(v, &good);
	bad = good;
	switch (which) {
	case 0:
		what = "long mode with CR0.PE clear";
		bad.cr0 &= ~X86_CR0_PE;
		break;
	case 1:
		what = "EFER.LMA with CR0.PG clear";
		bad.cr0 &= ~X86_CR0_PG;
		break;
	case 2:
		what = "EFER.LME and CR0.PG without CR4.PAE";
		bad.cr4 &= ~X86_CR4_PAE;
		break;
	case 3:
		what = "64-bit code segment with CS.D set";
		bad.cs.db = 1;
		break;
	case 4:
		what = "CR0 bits 63:32 set";
		bad.cr0 |= 1ULL << 40;
		break;
	case 5:
		what = "CR4 reserved bit 63 set";
		bad.cr4 |= 1ULL << 63;
		break;
	case 6:
		what = "CR0.PG without CR0.PE, outside long mode";
		bad.cr0 &= ~X86_CR0_PE;
		bad.efer = 0;
		bad.cr4 &= ~X86_CR4_PAE;
		bad.cs.l = 0;
		bad.cs.db = 1;
		break;
	default:
		what = "CS.L in protected mode (EFER.LMA clear)";
		bad.cr0 &= ~X86_CR0_PG;
		bad.efer = 0;
		bad.cs.l = 1;
		bad.cs.db = 0;
		break;
	}
	diag("%s", what);
	r = ioctl(v->fd, KVM_SET_SREGS, &bad);
	if (r) {
		CHECK_EQ(errno, EINVAL, "KVM_SET_SREGS: %s", strerrorname(errno));
		diag("KVM_SET_SREGS refused it");
		vcpu_get_sregs(v, &now);
		CHECK_EQ(now.cr0, good.cr0, "state changed by a refused SET_SREGS");
		CHECK_EQ(now.cr4, good.cr4, "state changed by a refused SET_SREGS");
		CHECK_EQ(now.efer, good.efer, "state changed by a refused SET_SREGS");
		CHECK_EQ(now.cs.l, good.cs.l, "state changed by a refused SET_SREGS");
		CHECK_EQ(now.cs.db, good.cs.db, "state changed by a refused SET_SREGS");
	} else {
		r = ioctl(v->fd, KVM_RUN, 0);
		CHECK(r == 0, "KVM_RUN: %s", strerrorname(errno));
		if (v->run->exit_reason != KVM_EXIT_FAIL_ENTRY)
			vcpu_dump(v);
		CHECK_EQ(v->run->exit_reason, KVM_EXIT_FAIL_ENTRY,
			 "accepted invalid state must fail at entry");
		diag("entry failed, reason 0x%llx", (unsigned long long)
		     v->run->fail_entry.hardware_entry_failure_reason);
		vcpu_set_sregs(v, &good);
		vcpu_set_rip(v, CODE_GPA);
	}
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x600d, "valid state runs");
}

GUEST_CODE(fetch_mmio, ".code64",
	"mov $" STR(MMIO_GPA) ", %eax\n"
	"jmp *%rax\n");

/* KVM cannot run code from outside the memslots. */
static void code_from_mmio(void)
{
	struct vcpu *v = GUEST_VM(fetch_mmio, MODE_LONG);

	run_expect_exit(v, KVM_EXIT_INTERNAL_ERROR);
	diag("suberror %u", v->run->internal.suberror);
	CHECK_EQ(v->run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
}

/* Exceptions go through the IDT to the library's stubs. */
GUEST_CODE(exceptions, ".code64",
	"mov $1, %eax\n"
	G_REPORT
		"cmp $0, %ebx\n"
	"je 1f\n"
	"cmp $1, %ebx\n"
	"je 2f\n"
	"cmp $2, %ebx\n"
	"je 3f\n"
	"cmp $3, %ebx\n"
	"je 4f\n"
	"int $0x77\n"
	"1: ud2\n"
	"2: int3\n"
	"3: movabs $0x8000000000000000, %rax\n"
	"mov (%rax), %rax\n"
	"4: mov $0x4000000000, %rax\n"
	"mov (%rax), %rax\n");

static void exception_vectors(void)
{
	static const struct { int sel; uint32_t vector; } t[] = {
		{ 0, 6 },	/* #UD */
		{ 1, 3 },	/* #BP */
		{ 2, 13 },	/* #GP: non-canonical */
		{ 3, 14 },	/* #PF: beyond the identity map */
		{ 4, 0x77 },	/* int n */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct vcpu *v = GUEST_VM(exceptions, MODE_LONG);
		struct kvm_regs r;
		struct kvm_sregs s;

		CHECK_EQ(run_ucall(v, UC_REPORT), 1);
		vcpu_get_regs(v, &r);
		r.rbx = t[i].sel;
		vcpu_set_regs(v, &r);
		CHECK_EQ(run_ucall(v, UC_VECTOR), t[i].vector, "case %u", i);
		if (t[i].vector == 14) {
			vcpu_get_sregs(v, &s);
			CHECK_EQ(s.cr2, 0x4000000000ULL, "CR2 of the #PF");
		}
	}
}

/*
 * #AC: alignment checking on (CR0.AM, RFLAGS.AC), a misaligned load at
 * CPL 3.  kvmlite intercepts #AC (a guest could otherwise keep a host CPU
 * delivering it for ever) and must hand it back to the guest's IDT.  A CPU
 * that does not check alignment (QEMU TCG) runs on to the UD2 instead.
 */
GUEST_CODE(user_ac, ".code64",
	"mov %cr0, %rax\n"
	"or $0x40000, %eax\n"
	"mov %rax, %cr0\n"
	"push $" STR(SEL_USER_DATA) " + 3\n"
	"push $0x6800\n"
	"pushfq\n"
	"orq $0x40000, (%rsp)\n"
	"push $" STR(SEL_USER_CODE) " + 3\n"
	"lea user_ac_cpl3(%rip), %rax\n"
	"push %rax\n"
	"iretq\n"
	"user_ac_cpl3: mov 0x6001, %eax\n"
	"ud2\n");

static void alignment_check(void)
{
	struct vcpu *v = GUEST_VM(user_ac, MODE_LONG);
	uint64_t *gdt = gpa2hva(v->vm, GDT_GPA);
	uint64_t *tss_rsp0 = gpa2hva(v->vm, TSS_GPA + 4);
	uint64_t *pml4 = gpa2hva(v->vm, PML4_GPA);
	uint64_t *pdpt = gpa2hva(v->vm, PDPT_GPA);
	uint64_t *pd = gpa2hva(v->vm, PD_GPA);
	uint32_t vector;

	/* 64-bit code and data segments at DPL 3, user pages, a ring-0 stack. */
	gdt[SEL_USER_CODE / 8] = 0x00affb000000ffffULL;
	gdt[SEL_USER_DATA / 8] = 0x00cff3000000ffffULL;
	pml4[0] |= 4;
	pdpt[0] |= 4;
	pd[0] |= 4;
	*tss_rsp0 = STACK_TOP;
	vector = run_ucall(v, UC_VECTOR);
	if (vector == 6)	/* #UD: the load ran on */
		skip("this CPU does not raise #AC (QEMU TCG does not check alignment)");
	CHECK_EQ(vector, 17, "#AC reaches the guest");
}

static const struct tcase cases[] = {
	CASE(hlt_exit, "HLT exits with KVM_EXIT_HLT, RIP past it"),
	CASE(hlt_modes, "HLT in real and protected mode"),
	CASE_ARG(triple_fault, 0, "triple fault (int3, empty IDT): SHUTDOWN"),
	CASE_ARG(triple_fault, 1, "triple fault (ud2, empty IDT): SHUTDOWN"),
	CASE_ARG(triple_fault, 2, "triple fault in protected mode: SHUTDOWN"),
	CASE_ARG(triple_fault, 3, "triple fault in real mode: SHUTDOWN"),
	CASE(after_shutdown, "the vCPU runs again after a SHUTDOWN"),
	CASE_ARG(invalid_state, 0, "invalid state: long mode without PE"),
	CASE_ARG(invalid_state, 1, "invalid state: LMA without PG"),
	CASE_ARG(invalid_state, 2, "invalid state: long mode without PAE"),
	CASE_ARG(invalid_state, 3, "invalid state: CS.L and CS.D"),
	CASE_ARG(invalid_state, 4, "invalid state: CR0 high bits"),
	CASE_ARG(invalid_state, 5, "invalid state: CR4 reserved bit"),
	CASE_ARG(invalid_state, 6, "invalid state: CR0.PG without PE"),
	CASE_ARG(invalid_state, 7, "invalid state: CS.L outside long mode"),
	CASE(code_from_mmio, "code fetch outside memslots: INTERNAL_ERROR"),
	CASE(exception_vectors, "guest exceptions reach the guest IDT"),
	CASE(alignment_check, "#AC at CPL 3 reaches the guest IDT"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
