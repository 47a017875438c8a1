/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite VMX backend: private state, the VMX instruction wrappers and the
 * VMCS accessors.  The backend embeds the core VM and vCPU and reaches its
 * own state with container_of().
 *
 * A VMCS is touched only while it is current on the CPU doing it: inside
 * vmx_vcpu_get()/vmx_vcpu_put(), which make it current (clearing it first
 * on the CPU it was active on) and keep preemption and IRQs off.
 */
#ifndef KVMLITE_VMX_H
#define KVMLITE_VMX_H

#include <linux/list.h>
#include <asm/asm.h>
#include <asm/vmx.h>

#include "../kvmlite.h"

/* The guest's syscall MSRs, switched by the VM-entry/VM-exit MSR lists. */
enum vmx_msr_slot {
	VMX_MSR_STAR, VMX_MSR_LSTAR, VMX_MSR_CSTAR, VMX_MSR_SFMASK,
	VMX_MSR_KERNEL_GS_BASE,
	VMX_NR_SWITCHED_MSRS,
};

/* VM-execution, VM-exit and VM-entry controls: set at load, then immutable. */
struct vmx_config {
	u32 revision_id;
	u32 pin;
	u32 cpu;
	u32 cpu2;
	u32 exit;
	u32 entry;
	u64 cr0_fixed0, cr0_fixed1;	/* CR0 bits that must be 1 / may be 1 */
	u64 cr4_fixed0, cr4_fixed1;
	bool vpid;			/* VPID with single-context INVVPID */
	bool invept_single;		/* else global INVEPT */
	bool invept_global;
	bool vpid_global;		/* all-context INVVPID */
	bool ins_outs_info;		/* VMX_INSTRUCTION_INFO for INS/OUTS */
	u32 preempt_ticks;		/* VMX-preemption timer per entry, or 0 */
	u64 host_efer;
	u64 host_pat;
	u64 host_msrs[VMX_NR_SWITCHED_MSRS];	/* but KERNEL_GS_BASE */
};

extern struct vmx_config vmx_cfg;

/* The VM: nothing beyond the core's (the EPTP is the core's NPT root). */
struct vmx_vm {
	struct kvml_vm vm;		/* see struct kvml_vm */
};

/* Fields are protected by the vCPU mutex unless they say otherwise. */
struct vmx_vcpu {
	struct kvml_vcpu vcpu;
	void *vmcs;			/* immutable: one page */
	u64 vmcs_pa;			/* immutable */
	/* CPU where the VMCS is active, or -1; changes with IRQs off. */
	int vmcs_cpu;
	struct list_head loaded_link;	/* on that CPU's list; IRQs off */
	bool launched;			/* VMLAUNCH done since the VMCLEAR */
	u16 vpid;			/* 0: none */
	bool flush;			/* flush the guest TLB at the next entry */
	bool failed;			/* a VMREAD/VMWRITE failed */

	/* VM-entry MSR-load list, also the VM-exit MSR-store list. */
	struct vmx_msr_entry *guest_msrs;
	/* VM-exit MSR-load list: the host's values. */
	struct vmx_msr_entry *host_msrs;

	/* Host state last written to the VMCS, to skip rewriting it. */
	unsigned long host_cr3, host_cr4;

	/* Software copies the hardware does not keep for us. */
	u32 cpu_ctl;			/* CPU_BASED_VM_EXEC_CONTROL */
	u32 intr_state;			/* GUEST_INTERRUPTIBILITY_INFO */
	u64 shadow_rip;			/* RIP that intr_state's shadow is at */
	u64 cr8;			/* the guest's TPR, as CR8 */
	u64 cr2;			/* not in the VMCS */

	/* The last exit, read right after it. */
	u32 exit_reason;
	u64 exit_qual;
	u32 exit_intr_info;
	u32 idt_info;
	u32 idt_error;
	u32 insn_len;
};

static inline struct vmx_vcpu *to_vmx(struct kvml_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

/*
 * The VMX instructions.  Each returns 0, -EIO on VMfailInvalid or
 * VMfailValid (CF or ZF set), or -EFAULT when it faulted (#UD outside VMX
 * operation, #GP): the caller decides what a failure means.
 */
static __always_inline int vmx_vmxon(u64 pa)
{
	asm goto("1: vmxon %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [pa] "m"(pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int vmx_vmxoff(void)
{
	asm goto("1: vmxoff\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int vmx_vmclear(u64 pa)
{
	asm goto("1: vmclear %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [pa] "m"(pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int vmx_vmptrld(u64 pa)
{
	asm goto("1: vmptrld %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [pa] "m"(pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

/* INVEPT and INVVPID take a 128-bit descriptor in memory. */
static __always_inline int vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, zero; } desc = { eptp, 0 };

	asm goto("1: invept %[desc], %[type]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [desc] "m"(desc), [type] "r"(type)
		 : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int vmx_invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };

	asm goto("1: invvpid %[desc], %[type]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [desc] "m"(desc), [type] "r"(type)
		 : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int __vmx_vmread(unsigned long field, u64 *val)
{
	u64 v;

	asm_goto_output("1: vmread %[field], %[val]\n\t"
			"jbe %l[fail]\n\t"
			_ASM_EXTABLE(1b,
				     %l[fault])
			: [val] "=rm"(v) : [field] "r"(field)
			: "cc" : fail, fault);
	*val = v;
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static __always_inline int __vmx_vmwrite(unsigned long field, u64 val)
{
	asm goto("1: vmwrite %[val], %[field]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b,
			      %l[fault])
		 : : [val] "rm"(val), [field] "r"(field)
		 : "cc" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

void vmx_field_failed(struct vmx_vcpu *vmx, const char *insn, u32 field,
		      int err);

/*
 * VMCS field accessors for the current VMCS.  A failure (a bug, never the
 * guest's doing) is reported once and kills the vCPU at the end of the
 * operation; a read then returns 0.
 */
static __always_inline u64 vmcs_read(struct vmx_vcpu *vmx, u32 field)
{
	u64 val;
	int r = __vmx_vmread(field, &val);

	if (unlikely(r)) {
		vmx_field_failed(vmx, "vmread", field, r);
		return 0;
	}
	return val;
}

static __always_inline void vmcs_write(struct vmx_vcpu *vmx, u32 field,
				       u64 val)
{
	int r = __vmx_vmwrite(field, val);

	if (unlikely(r))
		vmx_field_failed(vmx, "vmwrite", field, r);
}

static inline void vmcs_set_bits(struct vmx_vcpu *vmx, u32 field, u32 bits)
{
	vmcs_write(vmx, field, vmcs_read(vmx, field) | bits);
}

static inline void vmcs_clear_bits(struct vmx_vcpu *vmx, u32 field, u32 bits)
{
	vmcs_write(vmx, field, vmcs_read(vmx, field) & ~bits);
}

/* vmx.c */
int vmx_vcpu_get(struct vmx_vcpu *vmx, unsigned long *flags);
void vmx_vcpu_put(struct vmx_vcpu *vmx, unsigned long flags);

/* vmx_vmcs.c */
extern unsigned long *vmx_msr_bitmap;
int vmx_msr_bitmap_alloc(void);
void vmx_msr_bitmap_free(void);
void vmx_vmcs_setup(struct vmx_vcpu *vmx);
void vmx_guest_reset(struct vmx_vcpu *vmx);
void vmx_set_host_cpu_state(struct vmx_vcpu *vmx, int cpu);
u64 vmx_guest_cr0(struct vmx_vcpu *vmx);
u64 vmx_guest_cr4(struct vmx_vcpu *vmx);
int vmx_set_cr0(struct vmx_vcpu *vmx, u64 cr0, bool host);
int vmx_set_cr4(struct vmx_vcpu *vmx, u64 cr4, bool host);
int vmx_load_pdptrs(struct vmx_vcpu *vmx);
void vmx_set_efer(struct vmx_vcpu *vmx, u64 efer);
void vmx_get_segment(struct kvml_vcpu *vcpu, struct kvm_segment *s, int seg);
void vmx_get_sregs(struct kvml_vcpu *vcpu, struct kvm_sregs *sregs);
int vmx_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs);

/* vmx_exit.c */
void vmx_inject_events(struct vmx_vcpu *vmx);
void vmx_requeue_interrupted_event(struct vmx_vcpu *vmx);
int vmx_handle_exit(struct vmx_vcpu *vmx);

/* vmx_entry.S: 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed. */
int vmx_vmenter(u64 *regs, u32 launched);
extern char vmx_vmexit[];

#endif /* KVMLITE_VMX_H */
