// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO exits for guest accesses outside every memslot: writes and reads of
 * each size through mov, movzx/movsx, moffs, stos, movs and lods forms, and
 * read-modify-write ALU forms (or, and, add, xor) and read-only ones (test,
 * cmp, add to a register).  The host checks every exit and supplies the
 * read data; the guest checks what it read and the flags.
 */
#include <sys/ioctl.h>

#include "vm.h"

struct access {
	bool write;
	int64_t off;		/* from MMIO_GPA */
	int len;
	uint64_t data;		/* written by the guest, or read by it */
};

/* Serve @n accesses in order; fail on any other exit. */
static void serve(struct vcpu *v, const struct access *a, int n)
{
	struct kvm_run *run = v->run;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t got = 0;

		vcpu_run(v);
		if (run->exit_reason != KVM_EXIT_MMIO) {
			uint32_t val;

			if (vcpu_ucall(v, &val) == UC_FAIL)
				diag("guest check %u failed", val);
			diag("access %d: expected an MMIO %s of %d bytes at 0x%llx",
			     i, a[i].write ? "write" : "read", a[i].len,
			     (unsigned long long)MMIO_GPA + a[i].off);
			vcpu_dump(v);
			fail("no MMIO exit");
		}
		if (run->mmio.phys_addr != (uint64_t)MMIO_GPA + a[i].off ||
		    run->mmio.len != (uint32_t)a[i].len ||
		    run->mmio.is_write != a[i].write) {
			diag("access %d: want %s of %d bytes at 0x%llx", i,
			     a[i].write ? "write" : "read", a[i].len,
			     (unsigned long long)MMIO_GPA + a[i].off);
			vcpu_dump(v);
			fail("wrong MMIO exit");
		}
		if (a[i].write) {
			memcpy(&got, run->mmio.data, a[i].len);
			CHECK_EQ(got, a[i].data, "access %d: data written", i);
		} else {
			memcpy(run->mmio.data, &a[i].data, a[i].len);
		}
	}
}

#define MMIO_BASE	"mov $" STR(MMIO_GPA) ", %edi\n"

GUEST_CODE(mmio_writes, ".code64",
	MMIO_BASE
	"movb $0x11, (%rdi)\n"
	"movw $0x2233, 2(%rdi)\n"
	"movl $0x44556677, 4(%rdi)\n"
	"movabs $0x8899aabbccddeeff, %rax\n"
	"mov %rax, 8(%rdi)\n"
	"mov $0x5a, %bl\n"
	"mov %bl, 0x10(%rdi)\n"
	"mov $0x1234, %eax\n"
	"mov %ah, 0x11(%rdi)\n"
	"mov %ax, 0x12(%rdi)\n"
	"movq $-2, 0x18(%rdi)\n"
	"mov $0xa1b2c3d4, %eax\n"
	"movabs %eax, " STR(MMIO_GPA) " + 0x20\n"
	"mov $0x77, %al\n"
	"movabs %al, " STR(MMIO_GPA) " + 0x24\n"
	"mov $0x25, %ecx\n"
	"movl $0xfeedf00d, (%rdi, %rcx, 4)\n"
	"mov $0x0bad, %r9w\n"
	"mov %r9w, 0x28(%rdi)\n"
	G_DONE);

static void writes(void)
{
	static const struct access a[] = {
		{ true, 0x00, 1, 0x11 },
		{ true, 0x02, 2, 0x2233 },
		{ true, 0x04, 4, 0x44556677 },
		{ true, 0x08, 8, 0x8899aabbccddeeffULL },
		{ true, 0x10, 1, 0x5a },
		{ true, 0x11, 1, 0x12 },
		{ true, 0x12, 2, 0x1234 },
		{ true, 0x18, 8, 0xfffffffffffffffeULL },
		{ true, 0x20, 4, 0xa1b2c3d4 },
		{ true, 0x24, 1, 0x77 },
		{ true, 0x94, 4, 0xfeedf00d },
		{ true, 0x28, 2, 0x0bad },
	};
	struct vcpu *v = GUEST_VM(mmio_writes, MODE_LONG);

	serve(v, a, ARRAY_SIZE(a));
	run_to_done(v);
}

/* Each read is checked by the guest: G_FAIL with the access number. */
#define CHECK_RAX(val, n)						\
	"movabs $" val ", %rdx\n"					\
	"cmp %rdx, %rax\n"						\
	G_FAIL_NE(n)

GUEST_CODE(mmio_reads, ".code64",
	MMIO_BASE
	"mov $-1, %rax\n"
	"movb 0x30(%rdi), %al\n"
	CHECK_RAX("0xffffffffffffff9c", 0)
	"movw 0x32(%rdi), %ax\n"
	CHECK_RAX("0xffffffffffffbeef", 1)
	"movl 0x34(%rdi), %eax\n"
	CHECK_RAX("0xcafef00d", 2)
	"movq 0x38(%rdi), %rax\n"
	CHECK_RAX("0x0123456789abcdef", 3)
	"movzbl 0x40(%rdi), %eax\n"
	CHECK_RAX("0x80", 4)
	"movsbl 0x41(%rdi), %eax\n"
	CHECK_RAX("0xffffff80", 5)
	"movzwl 0x42(%rdi), %eax\n"
	CHECK_RAX("0x8001", 6)
	"movswq 0x44(%rdi), %rax\n"
	CHECK_RAX("0xffffffffffff8001", 7)
	"movslq 0x48(%rdi), %rax\n"
	CHECK_RAX("0xffffffff80000000", 8)
	"movabs " STR(MMIO_GPA) " + 0x50, %eax\n"
	CHECK_RAX("0x13572468", 9)
	"mov $0x11223344, %eax\n"
	"mov 0x58(%rdi), %ah\n"
	CHECK_RAX("0x11227744", 10)
	"mov 0x5c(%rdi), %r12d\n"
	"mov %r12, %rax\n"
	CHECK_RAX("0x600df00d", 11)
	"movzbw 0x5e(%rdi), %ax\n"
	"and $0xffff, %eax\n"
	CHECK_RAX("0xfe", 12)
	G_DONE);

static void reads(void)
{
	static const struct access a[] = {
		{ false, 0x30, 1, 0x9c },
		{ false, 0x32, 2, 0xbeef },
		{ false, 0x34, 4, 0xcafef00d },
		{ false, 0x38, 8, 0x0123456789abcdefULL },
		{ false, 0x40, 1, 0x80 },
		{ false, 0x41, 1, 0x80 },
		{ false, 0x42, 2, 0x8001 },
		{ false, 0x44, 2, 0x8001 },
		{ false, 0x48, 4, 0x80000000 },
		{ false, 0x50, 4, 0x13572468 },
		{ false, 0x58, 1, 0x77 },
		{ false, 0x5c, 4, 0x600df00d },
		{ false, 0x5e, 1, 0xfe },
	};
	struct vcpu *v = GUEST_VM(mmio_reads, MODE_LONG);

	serve(v, a, ARRAY_SIZE(a));
	run_to_done(v);
}

GUEST_CODE(mmio_strings, ".code64",
	"cld\n"
	"mov $" STR(MMIO_GPA) " + 0x60, %edi\n"
	"mov $0x01020304, %eax\n"
	"stosl\n"
	"mov %rdi, %rax\n"
	CHECK_RAX(STR(MMIO_GPA) " + 0x64", 0)
	"mov $" STR(MMIO_GPA) " + 0x68, %edi\n"
	"mov $3, %ecx\n"
	"mov $0xab, %al\n"
	"rep stosb\n"
	"mov %rcx, %rax\n"
	CHECK_RAX("0", 1)
	"mov $" STR(MMIO_GPA) " + 0x70, %edi\n"
	"mov $" STR(DATA_GPA) ", %esi\n"
	"movsl\n"
	"mov $" STR(MMIO_GPA) " + 0x78, %esi\n"
	"mov $" STR(DATA_GPA) " + 8, %edi\n"
	"movsq\n"
	"mov (" STR(DATA_GPA) " + 8), %rax\n"
	CHECK_RAX("0x1122334455667788", 2)
	"mov $" STR(MMIO_GPA) " + 0x80, %esi\n"
	"lodsw\n"
	"and $0xffff, %eax\n"
	CHECK_RAX("0x4321", 3)
	"mov $" STR(MMIO_GPA) " + 0x8a, %edi\n"
	"mov $2, %ecx\n"
	"mov $0x5566, %ax\n"
	"std\n"
	"rep stosw\n"
	"cld\n"
	G_DONE);

static void strings(void)
{
	static const struct access a[] = {
		{ true, 0x60, 4, 0x01020304 },
		{ true, 0x68, 1, 0xab },
		{ true, 0x69, 1, 0xab },
		{ true, 0x6a, 1, 0xab },
		{ true, 0x70, 4, 0xfeedface },
		{ false, 0x78, 8, 0x1122334455667788ULL },
		{ false, 0x80, 2, 0x4321 },
		{ true, 0x8a, 2, 0x5566 },
		{ true, 0x88, 2, 0x5566 },
	};
	struct vcpu *v = GUEST_VM(mmio_strings, MODE_LONG);

	*(uint32_t *)gpa2hva(v->vm, DATA_GPA) = 0xfeedface;
	serve(v, a, ARRAY_SIZE(a));
	run_to_done(v);
}

GUEST_CODE(mmio_alu, ".code64",
	MMIO_BASE
	"mov $0x0f0f0000, %ebx\n"
	"or %ebx, 0x90(%rdi)\n"
	"andl $0xff00ff00, 0x94(%rdi)\n"
	"mov $1, %ecx\n"
	"addl %ecx, 0x98(%rdi)\n"
	"jnc 1f\n"			/* 0xffffffff + 1: CF and ZF */
	"jnz 1f\n"
	"xorb $0xff, 0x9c(%rdi)\n"
	"mov $0x100, %ebx\n"
	"test %ebx, 0xa0(%rdi)\n"
	"jz 2f\n"
	"cmpl $0x55, 0xa4(%rdi)\n"
	"jne 3f\n"
	"mov $5, %cl\n"
	"cmp 0xa8(%rdi), %cl\n"		/* 5 - 7: borrow */
	"jae 4f\n"
	"mov $0x1000, %edx\n"
	"add 0xb0(%rdi), %rdx\n"
	"mov %rdx, %rax\n"
	CHECK_RAX("0x100001000", 5)
	"subw $3, 0xb8(%rdi)\n"
	"incl 0xbc(%rdi)\n"
	G_DONE
	"1: mov $1, %eax\n"
	G_FAIL
	"2: mov $2, %eax\n"
	G_FAIL
	"3: mov $3, %eax\n"
	G_FAIL
	"4: mov $4, %eax\n"
	G_FAIL);

static void alu(void)
{
	static const struct access a[] = {
		{ false, 0x90, 4, 0x000000f0 },
		{ true, 0x90, 4, 0x0f0f00f0 },
		{ false, 0x94, 4, 0x12345678 },
		{ true, 0x94, 4, 0x12005600 },
		{ false, 0x98, 4, 0xffffffff },
		{ true, 0x98, 4, 0 },
		{ false, 0x9c, 1, 0x0f },
		{ true, 0x9c, 1, 0xf0 },
		{ false, 0xa0, 4, 0x100 },	/* test: read only */
		{ false, 0xa4, 4, 0x55 },	/* cmp: read only */
		{ false, 0xa8, 1, 7 },
		{ false, 0xb0, 8, 0x100000000ULL },
		{ false, 0xb8, 2, 2 },
		{ true, 0xb8, 2, 0xffff },
		{ false, 0xbc, 4, 41 },
		{ true, 0xbc, 4, 42 },
	};
	struct vcpu *v = GUEST_VM(mmio_alu, MODE_LONG);

	serve(v, a, ARRAY_SIZE(a));
	run_to_done(v);
}

/* 32-bit protected mode without paging: flat addresses. */
GUEST_CODE(mmio_pm, ".code32",
	"movl $0x31323334, " STR(MMIO_GPA) " + 0xc0\n"
	"mov " STR(MMIO_GPA) " + 0xc4, %eax\n"
	G_REPORT
	"mov $" STR(MMIO_GPA) " + 0xc8, %ebx\n"
	"movw $0x4142, (%ebx)\n"
	"movzbl 1(%ebx), %eax\n"
	G_REPORT
	G_DONE);

static void prot_mode(void)
{
	static const struct access a1[] = {
		{ true, 0xc0, 4, 0x31323334 },
		{ false, 0xc4, 4, 0x9abcdef0 },
	};
	static const struct access a2[] = {
		{ true, 0xc8, 2, 0x4142 },
		{ false, 0xc9, 1, 0xe7 },
	};
	struct vcpu *v = GUEST_VM(mmio_pm, MODE_PROT);

	serve(v, a1, ARRAY_SIZE(a1));
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x9abcdef0);
	serve(v, a2, ARRAY_SIZE(a2));
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xe7);
	run_to_done(v);
}

/* Real mode, in a VM whose RAM ends at 512 KiB: 0xf0000 is MMIO. */
GUEST_CODE(mmio_rm, ".code16",
	"mov $0xf000, %ax\n"
	"mov %ax, %es\n"
	"movw $0x1357, %es:(0x10)\n"
	"mov %es:(0x12), %eax\n"
	G_REPORT
	G_DONE);

static void real_mode(void)
{
	struct vm *vm = vm_create(0x80000);
	struct vcpu *v = vcpu_add(vm, 0);
	uint32_t val;

	vm_load_code(vm, mmio_rm);
	vcpu_real_mode(v);
	run_expect_exit(v, KVM_EXIT_MMIO);
	CHECK_EQ(v->run->mmio.phys_addr, 0xf0010);
	CHECK_EQ(v->run->mmio.len, 2);
	CHECK_EQ(v->run->mmio.is_write, 1);
	CHECK_EQ(*(uint16_t *)v->run->mmio.data, 0x1357);
	run_expect_exit(v, KVM_EXIT_MMIO);
	CHECK_EQ(v->run->mmio.phys_addr, 0xf0012);
	CHECK_EQ(v->run->mmio.len, 4);
	CHECK_EQ(v->run->mmio.is_write, 0);
	val = 0x24681357;
	memcpy(v->run->mmio.data, &val, 4);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x24681357);
	run_to_done(v);
}

/*
 * Accesses that cross a page boundary: RAM then MMIO (slot 0 ends at
 * RAM_SIZE), and MMIO on both sides.  The RAM part goes to memory, each
 * MMIO page is its own exit.
 */
GUEST_CODE(mmio_split, ".code64",
	"movl $0x44332211, " STR(RAM_SIZE) " - 2\n"
	"mov " STR(RAM_SIZE) " - 2, %eax\n"
	G_REPORT
	"mov $" STR(MMIO_GPA) " + 0xffc, %edi\n"
	"movabs $0x8877665544332211, %rax\n"
	"mov %rax, (%rdi)\n"
	"mov (%rdi), %rax\n"
	"shr $16, %rax\n"
	G_REPORT
	G_DONE);

static void split(void)
{
	static const struct access a1[] = {
		{ true, (int64_t)RAM_SIZE - MMIO_GPA, 2, 0x4433 },
		{ false, (int64_t)RAM_SIZE - MMIO_GPA, 2, 0xddcc },
	};
	static const struct access a2[] = {
		{ true, 0xffc, 4, 0x44332211 },
		{ true, 0x1000, 4, 0x88776655 },
		{ false, 0xffc, 4, 0xa4a3a2a1 },
		{ false, 0x1000, 4, 0xb4b3b2b1 },
	};
	struct vcpu *v = GUEST_VM(mmio_split, MODE_LONG);
	uint16_t *tail = gpa2hva(v->vm, RAM_SIZE - 2);

	serve(v, a1, 1);
	CHECK_EQ(*tail, 0x2211, "the RAM half of the write");
	*tail = 0xbbaa;
	serve(v, a1 + 1, 1);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xddccbbaa, "RAM and MMIO halves read");
	serve(v, a2, ARRAY_SIZE(a2));
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xb2b1a4a3, "both MMIO halves read");
	run_to_done(v);
}

static const struct tcase cases[] = {
	CASE(writes, "MMIO writes: mov forms of 1, 2, 4, 8 bytes"),
	CASE(reads, "MMIO reads: mov, movzx, movsx, moffs"),
	CASE(strings, "MMIO string forms: stos, rep stos, movs, lods"),
	CASE(alu, "MMIO ALU forms: or, and, add, xor, test, cmp, sub, inc"),
	CASE(prot_mode, "MMIO in 32-bit protected mode"),
	CASE(real_mode, "MMIO in real mode"),
	CASE(split, "accesses split across RAM/MMIO and MMIO/MMIO pages"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
