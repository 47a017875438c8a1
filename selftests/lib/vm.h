/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small library to drive the KVM ioctl ABI from the selftests: the
 * device, VMs with guest memory, vCPUs with their kvm_run page, guest code
 * written in the test itself, and the ucall ports through which guests
 * report to the host.
 *
 * Guest physical layout of the RAM that vm_create() puts in slot 0 at
 * GPA 0 (every table below is written by vm_create()):
 *
 *	0x00000	real-mode IVT (left zero)
 *	0x01000	GDT (see the SEL_* selectors)
 *	0x02000	IDT: 256 long-mode interrupt gates to the stubs below
 *	0x03000	TSS
 *	0x07000	top of the stack (RSP at start)
 *	0x08000	guest code (vm_load_code()), up to 32 KiB
 *	0x10000	data for the tests, 64 KiB
 *	0x20000	PML4, PDPT, then 4 PDs: 0-4 GiB identity-mapped, 2 MiB pages
 *	0x26000	long-mode interrupt stubs: vector v at STUBS_GPA + 8 * v
 *
 * MMIO_GPA lies in no memslot but is mapped by the guest page tables.
 */
#ifndef SELFTEST_VM_H
#define SELFTEST_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../uapi/kvmlite.h"
#include "test.h"

/* Newer than some <linux/kvm.h>. */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT	39
#endif

#define GDT_GPA		0x1000
#define IDT_GPA		0x2000
#define TSS_GPA		0x3000
#define STACK_TOP	0x7000
#define CODE_GPA	0x8000
#define CODE_MAX	0x8000
#define DATA_GPA	0x10000
#define PML4_GPA	0x20000
#define PDPT_GPA	0x21000
#define PD_GPA		0x22000
#define STUBS_GPA	0x26000
#define TABLES_END	0x27000
#define RAM_SIZE	0x200000
#define MMIO_GPA	0xc0000000

/* GDT selectors. */
#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18
#define SEL_CODE16	0x20
#define SEL_DATA16	0x28
#define SEL_TSS		0x30
/* Left empty for tests that go to CPL 3 (they write the descriptors). */
#define SEL_USER_CODE	0x40
#define SEL_USER_DATA	0x48
#define GDT_LIMIT	0x4f

/*
 * ucall ports: the guest writes EAX to one of them with `out %eax, %dx`.
 * PORT_VECTOR is used by the library's interrupt stubs, with the vector.
 */
#define PORT_REPORT	0x1000
#define PORT_DONE	0x1001
#define PORT_FAIL	0x1002
#define PORT_VECTOR	0x1003

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_NW	(1ULL << 29)
#define X86_CR0_CD	(1ULL << 30)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_OSFXSR	(1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_SCE	(1ULL << 0)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NX		(1ULL << 11)
#define X86_EFLAGS_FIXED (1ULL << 1)
#define X86_EFLAGS_IF	(1ULL << 9)

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_CR_PAT		0x277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define PAGE_SIZE	4096

#define XSTR(x)		#x
#define STR(x)		XSTR(x)

/*
 * Guest code: GUEST_CODE(name, ".code64", "insn\n" ...) defines name_start
 * and name_end around the instructions.  The code is copied into guest
 * memory, so it must be position independent; GADDR(name, label) is the
 * guest address of a label when the code is loaded at CODE_GPA, as an
 * expression for an immediate ("$" GADDR(...)) or a displacement.
 * Top-level asm is basic asm: registers are written %eax, not %%eax.
 */
#define GUEST_CODE(name, mode, body)					\
	extern const char name##_start[], name##_end[];			\
	asm(".pushsection .rodata.guest." #name ", \"a\"\n"		\
	    ".globl " #name "_start\n.globl " #name "_end\n"		\
	    mode "\n" #name "_start:\n" body "\n" #name "_end:\n"	\
	    ".code64\n.popsection\n")

#define GADDR(name, label)	STR(CODE_GPA) " + " label " - " #name "_start"

/* ucalls; each clobbers EDX. */
#define G_OUT(port)	"mov $" STR(port) ", %dx\n\tout %eax, %dx\n\t"
#define G_REPORT	G_OUT(PORT_REPORT)
#define G_DONE		G_OUT(PORT_DONE)
#define G_FAIL		G_OUT(PORT_FAIL)
/*
 * Fail with code @n unless the flags say "equal" (after a cmp or test).
 * It uses the local label 9999, which guest code must not use.
 */
#define G_FAIL_NE(n)	"je 9999f\n\tmov $" #n ", %eax\n\t" G_FAIL "9999:\n\t"
/* Fail with code @n unless @reg == @imm (clobbers the flags). */
#define G_EXPECT(reg, imm, n) "cmp $" imm ", " reg "\n\t" G_FAIL_NE(n)

struct vm {
	int fd;
	uint8_t *ram;		/* slot 0 at GPA 0, or NULL */
	uint64_t ram_size;
};

struct vcpu {
	struct vm *vm;
	int fd;
	int id;
	struct kvm_run *run;
	size_t run_size;
};

/* The system fd of the device, opened once per process. */
int kvm_fd(void);
bool is_kvmlite(void);
long kvm_cap(long cap);
/* The supported CPUID table, fetched once. */
struct kvm_cpuid2 *supported_cpuid(void);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn,
				    uint32_t index);
struct kvm_cpuid2 *cpuid_alloc(int nent);

/* A VM with @ram_size bytes of RAM in slot 0 at GPA 0 (0: no memory). */
struct vm *vm_create(uint64_t ram_size);
void *alloc_mem(uint64_t size);
int vm_set_mem_raw(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *hva);
void vm_set_mem(struct vm *vm, uint32_t slot, uint32_t flags,
		uint64_t gpa, uint64_t size, void *hva);
void *gpa2hva(struct vm *vm, uint64_t gpa);
/* Point long-mode IDT entry @vector at the guest code at @handler. */
void vm_set_idt_gate(struct vm *vm, uint8_t vector, uint64_t handler);
void vm_load(struct vm *vm, uint64_t gpa, const char *start, const char *end);
#define vm_load_code(vm, name) vm_load(vm, CODE_GPA, name##_start, name##_end)
#define guest_addr(name, sym)	(CODE_GPA + (uint64_t)((sym) - name##_start))

/* Create vCPU @id, map its kvm_run and set the supported CPUID. */
struct vcpu *vcpu_add(struct vm *vm, int id);

/* Put the vCPU in a mode, with RIP = CODE_GPA and RSP = STACK_TOP. */
void vcpu_real_mode(struct vcpu *v);
void vcpu_prot_mode(struct vcpu *v);
void vcpu_long_mode(struct vcpu *v);
/* The same, for a VM + vCPU 0 + code in one call. */
struct vcpu *vm_with_guest(const char *start, const char *end, int mode);
#define MODE_REAL	16
#define MODE_PROT	32
#define MODE_LONG	64
#define GUEST_VM(name, mode)	vm_with_guest(name##_start, name##_end, mode)

void vcpu_get_regs(struct vcpu *v, struct kvm_regs *r);
void vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r);
void vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s);
void vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *s);
void vcpu_set_rip(struct vcpu *v, uint64_t rip);
/*
 * RFLAGS.IF on, for a guest that spins until the host acts (a signal, a
 * kill, closing fds): see vm.c for why.
 */
void vcpu_spin_interruptible(struct vcpu *v);
uint64_t vcpu_get_msr(struct vcpu *v, uint32_t index);
void vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t value);

/* Seconds a single vcpu_run() may take before the test fails. */
extern int run_timeout;
/* KVM_RUN once; returns the exit reason, fails the test on an error. */
int vcpu_run(struct vcpu *v);

enum ucall { UC_NONE, UC_REPORT, UC_DONE, UC_FAIL, UC_VECTOR };
/* The ucall of the last exit, with its value, or UC_NONE. */
enum ucall vcpu_ucall(struct vcpu *v, uint32_t *val);
/* Run; the exit must be ucall @type: returns its value. */
uint32_t run_ucall(struct vcpu *v, enum ucall type);
/* Run; the exit must be @exit_reason. */
void run_expect_exit(struct vcpu *v, int exit_reason);
/* Run until the guest says done; any other exit fails the test. */
void run_to_done(struct vcpu *v);

const char *exit_name(int reason);
const char *ucall_name(enum ucall u);
/* Print the last exit and the registers as diagnostics. */
void vcpu_dump(struct vcpu *v);

static inline uint8_t *pio_data(struct vcpu *v)
{
	return (uint8_t *)v->run + v->run->io.data_offset;
}

#endif
