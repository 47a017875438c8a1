// SPDX-License-Identifier: GPL-2.0
/*
 * Guests in real mode, protected mode and long mode compute something and
 * report it; one guest switches from real mode to long mode by itself.
 */
#include <sys/ioctl.h>

#include "vm.h"

/* Sum of 1..100 with loop, call/ret and push/pop in 16-bit code. */
GUEST_CODE(rm_sum, ".code16",
	"xor %ax, %ax\n"
	"mov $100, %cx\n"
	"1: call rm_add\n"
	"loop 1b\n"
	"push %ax\n"
	"mov $0, %ax\n"
	"pop %bx\n"
	"movzwl %bx, %eax\n"
	G_REPORT
	G_DONE
	"rm_add: add %cx, %ax\n"
	"ret\n");

static void real_mode_sum(void)
{
	struct vcpu *v = GUEST_VM(rm_sum, MODE_REAL);
	struct kvm_regs r;

	CHECK_EQ(run_ucall(v, UC_REPORT), 5050);
	run_to_done(v);
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rsp & 0xffff, STACK_TOP, "stack balanced");
}

/* Segment arithmetic: DS = 0x1000 reaches DATA_GPA. */
GUEST_CODE(rm_seg, ".code16",
	"mov $0x1000, %ax\n"
	"mov %ax, %ds\n"
	"movl $0xcafe1234, (0)\n"
	"mov (4), %eax\n"
	"add $0x100, %eax\n"
	"mov %eax, (8)\n"
	"xor %ax, %ax\n"
	"mov %ax, %ds\n"
	G_DONE);

static void real_mode_segments(void)
{
	struct vcpu *v = GUEST_VM(rm_seg, MODE_REAL);
	uint32_t *data = gpa2hva(v->vm, DATA_GPA);

	data[1] = 0x11112222;
	run_to_done(v);
	CHECK_EQ(data[0], 0xcafe1234);
	CHECK_EQ(data[2], 0x11112322);
}

/* INT n through the real-mode IVT. */
GUEST_CODE(rm_int, ".code16",
	"mov $0x1111, %bx\n"
	"int $0x21\n"
	"movzwl %bx, %eax\n"
	G_REPORT
	"pushf\n"
	"pop %ax\n"
	"movzwl %ax, %eax\n"
	G_REPORT
	G_DONE
	"rm_int_handler: mov $0xabcd, %bx\n"
	"iret\n");

static void real_mode_int(void)
{
	struct vcpu *v = GUEST_VM(rm_int, MODE_REAL);
	uint16_t *ivt = gpa2hva(v->vm, 0);
	extern const char rm_int_handler[];

	ivt[0x21 * 2] = guest_addr(rm_int, rm_int_handler);
	ivt[0x21 * 2 + 1] = 0;
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xabcd, "handler result");
	CHECK_EQ(run_ucall(v, UC_REPORT) & 0x300, 0, "IF and TF as before");
	run_to_done(v);
}

/* Recursive fib(20) with a stack, plus a store above 1 MiB. */
GUEST_CODE(pm_fib, ".code32",
	"movl $0x600dd00d, 0x100000\n"
	"mov $20, %ecx\n"
	"call pm_fib_fn\n"
	G_REPORT
	G_DONE
	"pm_fib_fn: cmp $2, %ecx\n"
	"jae 1f\n"
	"mov %ecx, %eax\n"
	"ret\n"
	"1: push %ecx\n"
	"dec %ecx\n"
	"call pm_fib_fn\n"
	"push %eax\n"
	"dec %ecx\n"
	"call pm_fib_fn\n"
	"pop %edx\n"
	"add %edx, %eax\n"
	"pop %ecx\n"
	"ret\n");

static void prot_mode_fib(void)
{
	struct vcpu *v = GUEST_VM(pm_fib, MODE_PROT);
	struct kvm_regs r;

	CHECK_EQ(run_ucall(v, UC_REPORT), 6765, "fib(20)");
	run_to_done(v);
	CHECK_EQ(*(uint32_t *)gpa2hva(v->vm, 0x100000), 0x600dd00d);
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rsp, STACK_TOP, "stack balanced");
}

/* fib(90) in 64-bit registers, r8-r10 included. */
GUEST_CODE(lm_fib, ".code64",
	"xor %r8, %r8\n"
	"mov $1, %r9\n"
	"mov $90, %ecx\n"
	"1: lea (%r8, %r9), %r10\n"
	"mov %r9, %r8\n"
	"mov %r10, %r9\n"
	"loop 1b\n"
	"mov %r8, %rax\n"
	G_REPORT
	G_DONE);

static void long_mode_fib(void)
{
	struct vcpu *v = GUEST_VM(lm_fib, MODE_LONG);
	uint64_t a = 0, b = 1, t;
	struct kvm_regs r;
	int i;

	for (i = 0; i < 90; i++) {
		t = a + b;
		a = b;
		b = t;
	}
	CHECK_EQ(run_ucall(v, UC_REPORT), (uint32_t)a);
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rax, a, "fib(90)");
	CHECK_EQ(r.r8, a);
	run_to_done(v);
}

/* Sum 1024 qwords the host wrote; write 1024 squares for the host. */
GUEST_CODE(lm_mem, ".code64",
	"mov $" STR(DATA_GPA) ", %esi\n"
	"mov $1024, %ecx\n"
	"xor %eax, %eax\n"
	"1: add (%rsi), %rax\n"
	"add $8, %rsi\n"
	"loop 1b\n"
	G_REPORT
	"mov $" STR(DATA_GPA) " + 0x2000, %edi\n"
	"xor %ecx, %ecx\n"
	"2: mov %rcx, %rax\n"
	"imul %rcx, %rax\n"
	"mov %rax, (%rdi, %rcx, 8)\n"
	"inc %rcx\n"
	"cmp $1024, %rcx\n"
	"jne 2b\n"
	G_DONE);

static void long_mode_memory(void)
{
	struct vcpu *v = GUEST_VM(lm_mem, MODE_LONG);
	uint64_t *in = gpa2hva(v->vm, DATA_GPA);
	uint64_t *out = gpa2hva(v->vm, DATA_GPA + 0x2000);
	uint64_t sum = 0;
	struct kvm_regs r;
	int i;

	for (i = 0; i < 1024; i++) {
		in[i] = 0x100000001ULL * i + 3;
		sum += in[i];
	}
	run_ucall(v, UC_REPORT);
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rax, sum, "sum of the host's numbers");
	run_to_done(v);
	for (i = 0; i < 1024; i++)
		CHECK_EQ(out[i], (uint64_t)i * i, "square %d", i);
}

/* Real mode -> protected mode -> long mode, all by the guest. */
GUEST_CODE(switcher, ".code16",
	"cli\n"
	"lgdtl " GADDR(switcher, "sw_gdtr") "\n"
	"mov %cr0, %eax\n"
	"or $1, %eax\n"
	"mov %eax, %cr0\n"
	"ljmpl $" STR(SEL_CODE32) ", $" GADDR(switcher, "sw_pm") "\n"
	".code32\n"
	"sw_pm: mov $" STR(SEL_DATA) ", %ax\n"
	"mov %ax, %ds\n"
	"mov %ax, %es\n"
	"mov %ax, %ss\n"
	"mov $" STR(STACK_TOP) ", %esp\n"
	"mov $1, %eax\n"
	G_REPORT
	"mov %cr4, %eax\n"
	"or $0x20, %eax\n"
	"mov %eax, %cr4\n"
	"mov $" STR(PML4_GPA) ", %eax\n"
	"mov %eax, %cr3\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"or $0x100, %eax\n"
	"wrmsr\n"
	"mov %cr0, %eax\n"
	"or $0x80000000, %eax\n"
	"mov %eax, %cr0\n"
	"ljmp $" STR(SEL_CODE64) ", $" GADDR(switcher, "sw_lm") "\n"
	".code64\n"
	"sw_lm: mov $2, %eax\n"
	G_REPORT
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	G_REPORT
	"push $0x42\n"
	"pop %rax\n"
	G_DONE
	".balign 8\n"
	"sw_gdtr: .word " STR(GDT_LIMIT) "\n"
	".long " STR(GDT_GPA) "\n");

static void mode_switch(void)
{
	struct vcpu *v = GUEST_VM(switcher, MODE_REAL);
	struct kvm_sregs s;

	CHECK_EQ(run_ucall(v, UC_REPORT), 1, "in protected mode");
	vcpu_get_sregs(v, &s);
	CHECK(s.cr0 & X86_CR0_PE, "CR0.PE");
	CHECK_EQ(s.cs.selector, SEL_CODE32);
	CHECK_EQ(s.cs.db, 1);
	CHECK_EQ(run_ucall(v, UC_REPORT), 2, "in long mode");
	CHECK_EQ(run_ucall(v, UC_REPORT) & (EFER_LME | EFER_LMA),
		 EFER_LME | EFER_LMA, "EFER as the guest reads it");
	run_to_done(v);
	vcpu_get_sregs(v, &s);
	CHECK(s.cr0 & X86_CR0_PG, "CR0.PG");
	CHECK(s.cr4 & X86_CR4_PAE, "CR4.PAE");
	CHECK_EQ(s.cr3, PML4_GPA);
	CHECK_EQ(s.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	CHECK_EQ(s.cs.selector, SEL_CODE64);
	CHECK_EQ(s.cs.l, 1);
	CHECK_EQ(s.gdt.base, GDT_GPA);
}

/* The host changes registers between two exits; the guest sees them. */
GUEST_CODE(lm_regs, ".code64",
	"1: lea (%rbx, %rcx), %rax\n"
	"add %r15, %rax\n"
	G_REPORT
	"jmp 1b\n");

static void host_sets_registers(void)
{
	struct vcpu *v = GUEST_VM(lm_regs, MODE_LONG);
	struct kvm_regs r;
	int i;

	for (i = 0; i < 5; i++) {
		vcpu_get_regs(v, &r);
		r.rbx = 0x1000 * i;
		r.rcx = 7 * i;
		r.r15 = 0x100000000ULL + i;
		vcpu_set_regs(v, &r);
		CHECK_EQ(run_ucall(v, UC_REPORT), 0x1000 * i + 8 * i);
		vcpu_get_regs(v, &r);
		CHECK_EQ(r.rax, 0x100000000ULL + 0x1000 * i + 8 * i);
	}
}

static const struct tcase cases[] = {
	CASE(real_mode_sum, "real mode: loop, call, push/pop"),
	CASE(real_mode_segments, "real mode: segment bases"),
	CASE(real_mode_int, "real mode: INT through the IVT"),
	CASE(prot_mode_fib, "protected mode: recursive fib(20)"),
	CASE(long_mode_fib, "long mode: fib(90) in 64-bit registers"),
	CASE(long_mode_memory, "long mode: guest reads and writes RAM"),
	CASE(mode_switch, "guest switches real -> protected -> long mode"),
	CASE(host_sets_registers, "registers set by the host between exits"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
