/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite core objects: the VM, the vCPU and the memslots, and the one
 * backend ops table that VMX and SVM implement.  Nothing in here knows
 * which backend is loaded.
 *
 * Each field says what protects it; the lock order is written once in
 * Documentation/locking.rst.
 */
#ifndef KVMLITE_CORE_H
#define KVMLITE_CORE_H

#include <linux/kvm.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/kref.h>
#include <linux/xarray.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "../uapi/kvmlite.h"

#define KVML_MAX_VCPUS		256
#define KVML_MAX_VCPU_ID	1024
#define KVML_MAX_MEMSLOTS	509
#define KVML_MAX_CPUID_ENTRIES	256
/* kvm_run page, then the PIO data page. */
#define KVML_PIO_PAGE_OFFSET	1
#define KVML_RUN_MMAP_PAGES	2
/* Debug register power-on values (Intel SDM 17.2, AMD APM 13.1). */
#define KVML_DR6_INIT		0xffff0ff0ULL
#define KVML_DR7_INIT		0x400ULL

/* General purpose registers, in the x86 encoding order. */
enum kvml_reg {
	VCPU_RAX, VCPU_RCX, VCPU_RDX, VCPU_RBX,
	VCPU_RSP, VCPU_RBP, VCPU_RSI, VCPU_RDI,
	VCPU_R8, VCPU_R9, VCPU_R10, VCPU_R11,
	VCPU_R12, VCPU_R13, VCPU_R14, VCPU_R15,
	VCPU_NR_GPRS,
};

/* Segment registers, in the x86 encoding order (as in ModRM/SREG). */
enum kvml_seg {
	SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_TR, SEG_LDTR,
	SEG_NR,
};

struct kvml_vm;
struct kvml_vcpu;

/*
 * The pinned pages of one block of KVML_PIN_BLOCK pages of a memslot
 * (2 MiB), by offset in the block.  An entry is set once, with cmpxchg(),
 * and stays until the slot is freed.
 */
#define KVML_PIN_SHIFT		9
#define KVML_PIN_BLOCK		(1U << KVML_PIN_SHIFT)
/*
 * xarray mark of a block that one huge page of the client backs: page[0]
 * holds the pins of all its 512 physically contiguous pages.
 */
#define KVML_PINS_HUGE		XA_MARK_2
struct kvml_pins {
	struct page *page[KVML_PIN_BLOCK];
};

/*
 * A guest physical range backed by the client's memory.  Fields are set
 * under vm->lock and, once published, change only with vm->mmu_lock held
 * for write (a move changes @base_gfn).  @pins has its own lock.
 */
struct kvml_memslot {
	u32 id;
	u32 flags;			/* KVM_MEM_READONLY */
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	struct xarray pins;		/* kvml_pins by offset >> KVML_PIN_SHIFT */
};

/* Second-level page tables: NPT or EPT (npt.c). */
struct kvml_npt {
	u64 *root;			/* immutable: the top table */
	u64 root_pa;			/* immutable */
	u64 present_bits;		/* immutable, set by the backend */
	u64 table_bits;			/* immutable, set by the backend */
	u64 leaf_rw_bits;		/* immutable, set by the backend */
	u64 leaf_ro_bits;		/* immutable, set by the backend */
	u64 huge_bit;			/* immutable: 2 MiB leaves, or 0 */
};

/* What an I/O-port exit asks for, as decoded by the backend. */
struct kvml_pio {
	u16 port;
	u8 size;			/* 1, 2 or 4 */
	bool in;
	bool string;
	bool rep;
	u8 addr_size;			/* 2, 4 or 8, for string forms */
	u64 next_rip;
};

/*
 * Emulation state between an MMIO exit and its completion: the decoded
 * instruction (decode.c) and where emulate.c stands in executing it.
 */
struct kvml_emul {
	struct kvml_insn {
		u8 bytes[15];		/* fetched at CS:RIP */
		u8 nbytes;		/* how many were fetched */
		u8 mode;		/* code size in bytes: 2, 4 or 8 */
		u8 len;			/* instruction length */
		u8 op;			/* KVML_OP_* (emulate.h) */
		u8 dst, src;		/* KVML_OPND_* (emulate.h) */
		u8 opsize;		/* operand size: 1, 2, 4 or 8 */
		u8 memsize;		/* size of the memory operand */
		u8 addrsize;		/* 2, 4 or 8 */
		u8 rep;			/* 0, 0xf2 or 0xf3 (string forms) */
		u8 seg;			/* segment of the memory operand */
		u8 rex;			/* REX prefix, or 0 */
		u8 modrm;
		u8 reg;			/* ModRM.reg, with REX.R */
		u8 rm;			/* ModRM.rm, with REX.B */
		u8 base, index;		/* GPRs, or KVML_NO_REG */
		u8 scale;		/* 1, 2, 4 or 8 */
		bool rip_rel;		/* disp is relative to the next RIP */
		s64 disp;		/* displacement, or moffs address */
		s64 imm;		/* immediate, sign-extended */
	} insn;
	bool active;			/* an access awaits userspace */
	u8 stage;			/* KVML_EMUL_* (emulate.h) */
	u8 size;			/* bytes of the access in flight */
	bool done;			/* RIP is past the instruction */
	u64 gpa;			/* address of the access in flight */
	/* A memory operand split at a page boundary: up to two pieces. */
	u8 nfrags, frag;		/* pieces, and the one in flight */
	u8 frag_len[2];
	u64 frag_gpa[2];
	u64 value;			/* the operand's bytes, little-endian */
};

/*
 * The core vCPU.  Backends embed it and reach their own state with
 * container_of().  Fields are protected by @mutex, which is held across
 * every vCPU ioctl, KVM_RUN included, unless they say otherwise.
 */
struct kvml_vcpu {
	struct kvml_vm *vm;		/* immutable */
	u32 id;				/* immutable */
	int index;			/* immutable: slot in vm->vcpus */
	struct mutex mutex;
	struct kvm_run *run;		/* immutable: page mapped by the client */
	void *pio_data;			/* immutable: page after @run */

	/* Guest state the core owns; the backend syncs RAX/RSP/RIP/RFLAGS. */
	u64 regs[VCPU_NR_GPRS];
	u64 rip;
	u64 rflags;

	struct fpu_guest guest_fpu;
	u64 xcr0;

	/* Pending work for the next entry. */
	bool irq_pending;		/* KVM_INTERRUPT vector not yet injected */
	u8 irq_vector;
	bool nmi_pending;
	bool nmi_injected;		/* interrupted delivery: re-inject */
	bool nmi_masked;		/* an NMI handler runs in the guest */
	bool exception_pending;
	bool exception_has_error;
	u8 exception_vector;
	u32 exception_error;
	u32 interrupt_shadow;		/* KVM_X86_SHADOW_INT_* */
	u32 mp_state;

	/* Completion of a userspace exit, done on the next KVM_RUN. */
	int (*complete_userspace)(struct kvml_vcpu *vcpu);
	struct kvml_pio pio;		/* the port access in flight */
	u64 pio_rip;			/* RIP of that access */
	u32 pio_count;			/* string I/O repetitions in flight */
	struct kvml_emul emul;

	/* CPUID table set by KVM_SET_CPUID2. */
	int cpuid_nent;
	struct kvm_cpuid_entry2 *cpuid;

	/* MSRs the core keeps (backend-owned ones live in the VMCB/VMCS). */
	u64 apic_base;
	u64 misc_enable;
	u64 tsc_aux;
	u64 mtrr_def_type;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];		/* base, mask pairs */
	u64 tsc_offset;

	/* Debug registers, emulated: the guest never owns the hardware ones. */
	u64 dr[4];
	u64 dr6;
	u64 dr7;

	int last_cpu;			/* CPU of the last entry, or -1 */
	u64 npt_gen;			/* vm->npt_gen seen at the last entry */
	bool dead;			/* broken beyond recovery: ioctls fail */
};

/*
 * The core VM.  Backends embed it.  @lock serializes configuration
 * ioctls; @mmu_lock is taken for write to change memslots and the nested
 * page tables' shape, for read by each guest entry and fault.
 */
struct kvml_vm {
	struct kref ref;		/* one per fd: VM fd and each vCPU fd */
	struct mm_struct *mm;		/* immutable: the creating process */
	struct mutex lock;
	struct rw_semaphore mmu_lock;
	spinlock_t npt_lock;		/* fills of nested page table entries */
	struct kvml_npt npt;		/* entries: npt_lock; tables: mmu_lock */

	/* Protected by @lock for writers; @mmu_lock for readers. */
	int nr_slots;
	struct kvml_memslot *slots[KVML_MAX_MEMSLOTS];	/* sorted by gfn */
	u64 npt_gen;			/* @mmu_lock write: bumped by each zap */

	/* Protected by @lock. */
	int nr_vcpus;
	struct kvml_vcpu *vcpus[KVML_MAX_VCPUS];
	u64 tss_addr;
	u64 identity_map_addr;
	bool identity_map_set;
	bool vcpus_created;		/* no more TSS/identity map changes */
	bool dead;
};

/*
 * The backend: VMX or SVM, chosen once at load.  Return conventions of
 * handle_exit: > 0 re-enter the guest, 0 exit to userspace with
 * run->exit_reason set, < 0 fail KVM_RUN with that errno.
 */
struct kvml_backend_ops {
	const char *name;
	int (*hardware_supported)(void);	/* at load; -errno says why not */
	void (*hardware_unsetup)(void);		/* at unload */
	int (*cpu_enable)(void);		/* on each CPU, IRQs off */
	void (*cpu_disable)(void);		/* on each CPU, IRQs off */

	struct kvml_vm *(*vm_alloc)(void);
	int (*vm_init)(struct kvml_vm *vm);
	void (*vm_free)(struct kvml_vm *vm);
	struct kvml_vcpu *(*vcpu_alloc)(void);
	int (*vcpu_init)(struct kvml_vcpu *vcpu);
	void (*vcpu_free)(struct kvml_vcpu *vcpu);

	/* Enter the guest once and handle the exit. */
	int (*run)(struct kvml_vcpu *vcpu);

	void (*get_sregs)(struct kvml_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs);
	void (*get_segment)(struct kvml_vcpu *vcpu, struct kvm_segment *s,
			    int seg);
	u64 (*get_cr)(struct kvml_vcpu *vcpu, int cr);	/* 0, 2, 3, 4 */
	u64 (*get_efer)(struct kvml_vcpu *vcpu);
	int (*get_cpl)(struct kvml_vcpu *vcpu);
	/* Backend-owned MSRs; return 1 when @index is not theirs. */
	int (*get_msr)(struct kvml_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct kvml_vcpu *vcpu, u32 index, u64 data,
		       bool host);
	u32 (*get_interrupt_shadow)(struct kvml_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct kvml_vcpu *vcpu, u32 mask);
	void (*tsc_offset_changed)(struct kvml_vcpu *vcpu);
};

extern const struct kvml_backend_ops *kvml_ops;
extern const struct kvml_backend_ops kvml_svm_ops;
extern const struct kvml_backend_ops kvml_vmx_ops;

/* main.c */
extern bool kvml_rebooting;
int kvml_hw_get(void);
void kvml_hw_put(void);
long kvml_vm_check_extension(long ext);

/* vm.c / vcpu.c */
void kvml_vm_put(struct kvml_vm *vm);
void kvml_vm_mark_dead(struct kvml_vm *vm, const char *why);
int kvml_dev_create_vm(unsigned long type);
int kvml_vcpu_create(struct kvml_vm *vm, unsigned long id);
void kvml_vcpu_destroy(struct kvml_vcpu *vcpu);
void kvml_vcpu_mark_dead(struct kvml_vcpu *vcpu, const char *why);
int kvml_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs);

/* memslot.c */
int kvml_set_memory_region(struct kvml_vm *vm,
			   const struct kvm_userspace_memory_region *mr);
struct kvml_memslot *kvml_gfn_to_slot(struct kvml_vm *vm, u64 gfn);
void kvml_free_memslots(struct kvml_vm *vm);
int kvml_read_gpa(struct kvml_vm *vm, u64 gpa, void *buf, unsigned int len);
int kvml_write_gpa(struct kvml_vm *vm, u64 gpa, const void *buf,
		   unsigned int len);

/* npt.c */
int kvml_npt_init(struct kvml_npt *npt);
int kvml_npt_map(struct kvml_vm *vm, struct kvml_memslot *slot, u64 gpa);
void kvml_npt_zap(struct kvml_vm *vm, struct kvml_npt *npt);
void kvml_npt_destroy(struct kvml_vm *vm, struct kvml_npt *npt);

/* run.c */
int kvml_vcpu_ioctl_run(struct kvml_vcpu *vcpu);
bool kvml_ready_for_interrupt(struct kvml_vcpu *vcpu);
int kvml_entry_check(void);

/* cpuid.c */
int kvml_dev_get_supported_cpuid(struct kvm_cpuid2 __user *ucpuid);
int kvml_set_cpuid2(struct kvml_vcpu *vcpu, struct kvm_cpuid2 __user *u);
int kvml_get_cpuid2(struct kvml_vcpu *vcpu, struct kvm_cpuid2 __user *u);
int kvml_handle_cpuid(struct kvml_vcpu *vcpu);
u64 kvml_supported_xcr0(void);
struct kvm_cpuid_entry2 *kvml_find_cpuid_entry(struct kvml_vcpu *vcpu,
					       u32 function, u32 index);
int kvml_cpuid_maxphyaddr(struct kvml_vcpu *vcpu);

/* msr.c */
bool kvml_pat_valid(u64 pat);
int kvml_dev_get_msr_index_list(struct kvm_msr_list __user *ulist);
int kvml_get_msr(struct kvml_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvml_set_msr(struct kvml_vcpu *vcpu, u32 index, u64 data, bool host);
int kvml_vcpu_ioctl_msrs(struct kvml_vcpu *vcpu, struct kvm_msrs __user *u,
			 bool set);
int kvml_handle_rdmsr(struct kvml_vcpu *vcpu);
int kvml_handle_wrmsr(struct kvml_vcpu *vcpu);
void kvml_msr_reset(struct kvml_vcpu *vcpu);

/* pio.c */
int kvml_handle_pio(struct kvml_vcpu *vcpu, const struct kvml_pio *pio);

/* emulate.c: instruction decoding and emulation for MMIO exits */
int kvml_emulate_mmio(struct kvml_vcpu *vcpu, u64 gpa);
int kvml_emulate_mov_dr(struct kvml_vcpu *vcpu);
int kvml_handle_xsetbv(struct kvml_vcpu *vcpu);

/* guest.c: guest-virtual memory access for the emulator and string I/O */
int kvml_gva_to_gpa(struct kvml_vcpu *vcpu, u64 gva, bool write, u64 *gpa);
int kvml_read_guest_virt(struct kvml_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len);
int kvml_write_guest_virt(struct kvml_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len);
u64 kvml_seg_base(struct kvml_vcpu *vcpu, int seg);
int kvml_code_size(struct kvml_vcpu *vcpu);

/* events.c: exceptions and interrupts for the guest */
void kvml_queue_exception(struct kvml_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error);
void kvml_inject_gp(struct kvml_vcpu *vcpu);
void kvml_inject_ud(struct kvml_vcpu *vcpu);
int kvml_exit_internal_error(struct kvml_vcpu *vcpu, u32 suberror);
int kvml_get_vcpu_events(struct kvml_vcpu *vcpu, void __user *argp);
int kvml_set_vcpu_events(struct kvml_vcpu *vcpu, void __user *argp);

#endif /* KVMLITE_CORE_H */
