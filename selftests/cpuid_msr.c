// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID and MSRs as the guest sees them: CPUID returns what
 * KVM_SET_CPUID2 set; RDMSR/WRMSR of the syscall MSRs and others agree
 * with KVM_GET/SET_MSRS; the TSC moves forward and follows a host write;
 * EFER reflects long mode; unknown MSRs and bad values raise #GP.  (Not
 * a non-canonical LSTAR: KVM lets SVM guests write it directly, so what
 * happens is the processor's business, and QEMU's TCG does not check.)
 */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "vm.h"

/* CPUID with the leaf in EAX and index in ECX; EDX comes back in ESI. */
GUEST_CODE(cpuid_guest, ".code64",
	"1: cpuid\n"
	"mov %edx, %esi\n"
	G_REPORT
	"jmp 1b\n");

static void guest_cpuid(struct vcpu *v, uint32_t fn, uint32_t idx,
			uint32_t out[4])
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rip = CODE_GPA;
	r.rax = fn;
	r.rcx = idx;
	vcpu_set_regs(v, &r);
	run_ucall(v, UC_REPORT);
	vcpu_get_regs(v, &r);
	out[0] = r.rax;
	out[1] = r.rbx;
	out[2] = r.rcx;
	out[3] = r.rsi;
}

static void cpuid_matches(void)
{
	struct vcpu *v = GUEST_VM(cpuid_guest, MODE_LONG);
	struct kvm_cpuid2 *c = cpuid_alloc(256), *got = cpuid_alloc(256);
	static const char brand[49] = "kvmlite selftests virtual CPU, brand string 48..";
	uint32_t out[4], i;
	int bad = 0;

	/* The supported table, with a brand string of our own. */
	memcpy(c->entries, supported_cpuid()->entries,
	       supported_cpuid()->nent * sizeof(c->entries[0]));
	c->nent = supported_cpuid()->nent;
	for (i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000002 + i, 0);

		if (!e)
			skip("no brand string leaves");
		memcpy(&e->eax, brand + 16 * i, 16);
	}
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2");
	CHECK_OK(ioctl(v->fd, KVM_GET_CPUID2, got), "KVM_GET_CPUID2");

	for (i = 0; i < 3; i++) {
		char part[17] = { 0 };

		guest_cpuid(v, 0x80000002 + i, 0, out);
		memcpy(part, out, 16);
		CHECK(!memcmp(part, brand + 16 * i, 16),
		      "brand string part %u: \"%s\"", i, part);
	}
	/* Every leaf: what the guest sees is the vCPU's table. */
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &got->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		/* Unindexed leaves ignore ECX. */
		guest_cpuid(v, e->function, indexed ? e->index : 0x37, out);
		if (out[0] != e->eax || out[1] != e->ebx || out[2] != e->ecx ||
		    out[3] != e->edx) {
			diag("leaf 0x%x.%u: guest %08x %08x %08x %08x, table %08x %08x %08x %08x",
			     e->function, e->index, out[0], out[1], out[2],
			     out[3], e->eax, e->ebx, e->ecx, e->edx);
			bad++;
		}
	}
	diag("%u leaves compared", c->nent);
	CHECK(!bad, "%d leaves differ", bad);
}

GUEST_CODE(cpuid_rm, ".code16",
	"xor %eax, %eax\n"
	"cpuid\n"
	"mov %ebx, %eax\n"
	G_REPORT
	G_DONE);

static void cpuid_real_mode(void)
{
	struct vcpu *v = GUEST_VM(cpuid_rm, MODE_REAL);
	struct kvm_cpuid_entry2 *l0 = cpuid_find(supported_cpuid(), 0, 0);

	CHECK_EQ(run_ucall(v, UC_REPORT), l0->ebx, "vendor, first part");
	run_to_done(v);
}

struct msr_row {
	uint32_t index, pad;
	uint64_t value;
};

/*
 * DATA_GPA: count, mode, then rows.  Mode 1: wrmsr each value then rdmsr
 * and compare; mode 0: rdmsr and compare.  Reports the count done, or
 * fails with the row that differs.
 */
GUEST_CODE(msr_guest, ".code64",
	"mov $" STR(DATA_GPA) ", %esi\n"
	"mov (%rsi), %r8d\n"
	"mov 4(%rsi), %r9d\n"
	"add $8, %rsi\n"
	"xor %r10d, %r10d\n"
	"1: cmp %r8d, %r10d\n"
	"je 3f\n"
	"mov (%rsi), %ecx\n"
	"test %r9d, %r9d\n"
	"jz 2f\n"
	"mov 8(%rsi), %eax\n"
	"mov 12(%rsi), %edx\n"
	"wrmsr\n"
	"2: rdmsr\n"
	"cmp 8(%rsi), %eax\n"
	"jne 4f\n"
	"cmp 12(%rsi), %edx\n"
	"jne 4f\n"
	"add $16, %rsi\n"
	"inc %r10d\n"
	"jmp 1b\n"
	"3: mov %r10d, %eax\n"
	G_REPORT
	G_DONE
	"4: mov %r10d, %eax\n"
	G_FAIL);

static void msrs_in_guest(void)
{
	struct msr_row rows[] = {
		{ MSR_IA32_SYSENTER_CS, 0, 0x10 },
		{ MSR_IA32_SYSENTER_ESP, 0, 0xc9003000 },
		{ MSR_IA32_SYSENTER_EIP, 0, 0x81002000 },
		{ MSR_STAR, 0, 0x0023001000000000ULL },
		{ MSR_LSTAR, 0, 0xffffffff81a00000ULL },
		{ MSR_CSTAR, 0, 0xffffffff81b00000ULL },
		{ MSR_SYSCALL_MASK, 0, 0x47700 },
		{ MSR_KERNEL_GS_BASE, 0, 0x00007f0011223000ULL },
		{ MSR_FS_BASE, 0, 0x00007f0044556000ULL },
		{ MSR_GS_BASE, 0, 0xffff888077889000ULL },
		{ MSR_IA32_CR_PAT, 0, 0x0007010600070106ULL },
		{ MSR_TSC_AUX, 0, 0x12345678 },
	};
	struct vcpu *v = GUEST_VM(msr_guest, MODE_LONG);
	struct kvm_cpuid_entry2 *e = cpuid_find(supported_cpuid(), 0x80000001, 0);
	uint32_t *hdr = gpa2hva(v->vm, DATA_GPA);
	uint32_t n = ARRAY_SIZE(rows), i;

	/* TSC_AUX exists with RDTSCP only. */
	if (!(e->edx & (1u << 27)))
		n--;
	hdr[0] = n;
	hdr[1] = 1;
	memcpy(hdr + 2, rows, n * sizeof(rows[0]));
	CHECK_EQ(run_ucall(v, UC_REPORT), n, "guest wrote and read back");
	run_to_done(v);
	for (i = 0; i < n; i++)
		CHECK_EQ(vcpu_get_msr(v, rows[i].index), rows[i].value,
			 "KVM_GET_MSRS of MSR 0x%x after the guest wrote it",
			 rows[i].index);

	/* Host writes, the guest reads. */
	for (i = 0; i < n; i++) {
		rows[i].value ^= 0x30000;
		vcpu_set_msr(v, rows[i].index, rows[i].value);
	}
	hdr[1] = 0;
	memcpy(hdr + 2, rows, n * sizeof(rows[0]));
	vcpu_set_rip(v, CODE_GPA);
	CHECK_EQ(run_ucall(v, UC_REPORT), n, "guest read the host's values");
	run_to_done(v);
}

#define RDTSC_TO(reg) "rdtsc\nshl $32, %rdx\nor %rdx, %rax\nmov %rax, " reg "\n"

GUEST_CODE(tsc_guest, ".code64",
	RDTSC_TO("%r8")
	"mov $10000, %ecx\n"
	"1: loop 1b\n"
	RDTSC_TO("%r9")
	"mov $0x10, %ecx\n"
	"rdmsr\n"
	"shl $32, %rdx\n"
	"or %rdx, %rax\n"
	"mov %rax, %r10\n"
	G_REPORT
	RDTSC_TO("%r11")
	G_REPORT
	G_DONE);

static void tsc(void)
{
	struct vcpu *v = GUEST_VM(tsc_guest, MODE_LONG);
	struct kvm_regs r;

	run_ucall(v, UC_REPORT);
	vcpu_get_regs(v, &r);
	diag("tsc %llx %llx %llx", r.r8, r.r9, r.r10);
	CHECK(r.r9 > r.r8, "RDTSC went backwards or stood still");
	CHECK(r.r10 >= r.r9, "RDMSR(TSC) below the RDTSC before it");
	vcpu_set_msr(v, MSR_IA32_TSC, 1ULL << 50);
	run_ucall(v, UC_REPORT);
	vcpu_get_regs(v, &r);
	CHECK(r.r11 >= 1ULL << 50, "TSC 0x%llx after the host set 2^50", r.r11);
	run_to_done(v);
}

GUEST_CODE(efer_guest, ".code64",
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	G_REPORT
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"or $1, %eax\n"
	"wrmsr\n"
	"rdmsr\n"
	G_REPORT
	G_DONE);

static void efer(void)
{
	struct vcpu *v = GUEST_VM(efer_guest, MODE_LONG);
	struct kvm_sregs s;

	CHECK_EQ(run_ucall(v, UC_REPORT) & (EFER_LME | EFER_LMA | EFER_SCE),
		 EFER_LME | EFER_LMA, "EFER in long mode");
	CHECK_EQ(run_ucall(v, UC_REPORT) & EFER_SCE, EFER_SCE, "SCE set");
	vcpu_get_sregs(v, &s);
	CHECK_EQ(s.efer & (EFER_LME | EFER_LMA | EFER_SCE),
		 EFER_LME | EFER_LMA | EFER_SCE, "KVM_GET_SREGS sees SCE");
	CHECK_EQ(vcpu_get_msr(v, MSR_EFER) & EFER_SCE, EFER_SCE,
		 "KVM_GET_MSRS sees SCE");
	run_to_done(v);
}

/* RDMSR (RBX = 0) or WRMSR (RBX = 1) of ECX with EDX:EAX. */
GUEST_CODE(msr_op, ".code64",
	"test %ebx, %ebx\n"
	"jnz 1f\n"
	"rdmsr\n"
	G_REPORT
	"1: wrmsr\n"
	G_REPORT);

static void gp(long which)
{
	struct vcpu *v = GUEST_VM(msr_op, MODE_LONG);
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	switch (which) {
	case 0:		/* rdmsr of no MSR */
		r.rcx = 0xdeadbeef;
		break;
	case 1:		/* wrmsr of no MSR */
		r.rcx = 0xdeadbeef;
		r.rbx = 1;
		break;
	case 2:		/* a reserved EFER bit */
		r.rcx = MSR_EFER;
		r.rax = EFER_LME | EFER_LMA;
		r.rdx = 0x80000000;
		r.rbx = 1;
		break;
	default:	/* PAT entry 0 of reserved memory type 2 */
		r.rcx = MSR_IA32_CR_PAT;
		r.rax = 0x00070402;
		r.rdx = 0x00070406;
		r.rbx = 1;
		break;
	}
	vcpu_set_regs(v, &r);
	CHECK_EQ(run_ucall(v, UC_VECTOR), 13, "#GP");
}

static const struct tcase cases[] = {
	CASE(cpuid_matches, "guest CPUID matches KVM_SET_CPUID2, every leaf"),
	CASE(cpuid_real_mode, "CPUID in real mode"),
	CASE(msrs_in_guest, "guest RDMSR/WRMSR agree with KVM_GET/SET_MSRS"),
	CASE(tsc, "TSC moves forward and follows a host write"),
	CASE(efer, "EFER reflects long mode; guest sets SCE"),
	CASE_ARG(gp, 0, "RDMSR of an unknown MSR: #GP"),
	CASE_ARG(gp, 1, "WRMSR of an unknown MSR: #GP"),
	CASE_ARG(gp, 2, "WRMSR of a reserved EFER bit: #GP"),
	CASE_ARG(gp, 3, "WRMSR of an invalid PAT: #GP"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
