// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite VMX: the VMCS.  Controls and host state, the power-on guest
 * state, the MSR bitmap, control registers the guest sees through read
 * shadows, and conversion between struct kvm_sregs and the VMCS guest
 * state.  Everything here runs with the VMCS current (vmx_vcpu_get()),
 * except what says otherwise.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include <asm/special_insns.h>

#include "vmx.h"

/* Shared by every vCPU: all MSRs exit but these. */
unsigned long *vmx_msr_bitmap;

/* In the VMCS or switched by the MSR lists; the guest owns them. */
static const u32 vmx_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* CR0 bits the guest sees through the read shadow (see vmx_set_cr0()). */
#define VMX_CR0_SHADOWED	(X86_CR0_PE | X86_CR0_PG | X86_CR0_NE | \
				 X86_CR0_CD | X86_CR0_NW)
/* CR4 bits the guest may own: those KVM_SET_SREGS accepts. */
#define VMX_CR4_GUEST_BITS	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
				 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
				 X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
				 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
				 X86_CR4_UMIP | X86_CR4_FSGSBASE | \
				 X86_CR4_PCIDE | X86_CR4_OSXSAVE | \
				 X86_CR4_SMEP | X86_CR4_SMAP)
/* Changing one of these changes the guest's translations. */
#define VMX_CR4_PAGING_BITS	(X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | \
				 X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP)

static u64 vmx_cr0_mask(void)
{
	return VMX_CR0_SHADOWED | vmx_cfg.cr0_fixed0 | ~vmx_cfg.cr0_fixed1;
}

static u64 vmx_cr4_mask(void)
{
	return ~(VMX_CR4_GUEST_BITS & vmx_cfg.cr4_fixed1) |
	       vmx_cfg.cr4_fixed0;
}

/* MSR bitmap: read-low, read-high, write-low, write-high, 1 KiB each. */
static void vmx_msr_allow(u32 msr)
{
	u32 base;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x400 * 8;
	else
		return;
	__clear_bit(base + (msr & 0x1fff), vmx_msr_bitmap);
	__clear_bit(base + 0x800 * 8 + (msr & 0x1fff), vmx_msr_bitmap);
}

int vmx_msr_bitmap_alloc(void)
{
	int i;

	vmx_msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	if (!vmx_msr_bitmap)
		return -ENOMEM;
	memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(vmx_passthrough_msrs); i++)
		vmx_msr_allow(vmx_passthrough_msrs[i]);
	return 0;
}

void vmx_msr_bitmap_free(void)
{
	free_page((unsigned long)vmx_msr_bitmap);
	vmx_msr_bitmap = NULL;
}

/* Host state of this CPU: after the VMCS moved here (IRQs off). */
void vmx_set_host_cpu_state(struct vmx_vcpu *vmx, int cpu)
{
	struct desc_ptr dt;
	u64 v;

	vmcs_write(vmx, HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	native_store_gdt(&dt);
	vmcs_write(vmx, HOST_GDTR_BASE, dt.address);
	store_idt(&dt);
	vmcs_write(vmx, HOST_IDTR_BASE, dt.address);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(vmx, HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(vmx, HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(vmx, HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(vmx, HOST_IA32_SYSENTER_EIP, v);
}

/* The controls and host state that never change for this vCPU. */
void vmx_vmcs_setup(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u32 cpu2 = vmx_cfg.cpu2;
	u16 tr;

	vmcs_write(vmx, PIN_BASED_VM_EXEC_CONTROL, vmx_cfg.pin);
	vmcs_write(vmx, CPU_BASED_VM_EXEC_CONTROL, vmx_cfg.cpu);
	vmx->cpu_ctl = vmx_cfg.cpu;
	if (!vmx->vpid)
		cpu2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	vmcs_write(vmx, SECONDARY_VM_EXEC_CONTROL, cpu2);
	vmcs_write(vmx, VM_EXIT_CONTROLS, vmx_cfg.exit);
	vmcs_write(vmx, VM_ENTRY_CONTROLS, vmx_cfg.entry);
	if (vmx->vpid)
		vmcs_write(vmx, VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(vmx, EPT_POINTER, vcpu->vm->npt.root_pa | VMX_EPTP_MT_WB |
		   VMX_EPTP_PWL_4);
	/* #AC: a guest must not loop for ever delivering it (svm_vmcb.c). */
	vmcs_write(vmx, EXCEPTION_BITMAP, BIT(AC_VECTOR));
	vmcs_write(vmx, PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(vmx, PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(vmx, CR3_TARGET_COUNT, 0);
	vmcs_write(vmx, MSR_BITMAP, __pa(vmx_msr_bitmap));
	vmcs_write(vmx, VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(vmx, TSC_OFFSET, vcpu->tsc_offset);
	vmcs_write(vmx, CR0_GUEST_HOST_MASK, vmx_cr0_mask());
	vmcs_write(vmx, CR4_GUEST_HOST_MASK, vmx_cr4_mask());

	/* The syscall MSRs: loaded on entry, stored and restored on exit. */
	vmcs_write(vmx, VM_ENTRY_MSR_LOAD_ADDR, __pa(vmx->guest_msrs));
	vmcs_write(vmx, VM_ENTRY_MSR_LOAD_COUNT, VMX_NR_SWITCHED_MSRS);
	vmcs_write(vmx, VM_EXIT_MSR_STORE_ADDR, __pa(vmx->guest_msrs));
	vmcs_write(vmx, VM_EXIT_MSR_STORE_COUNT, VMX_NR_SWITCHED_MSRS);
	vmcs_write(vmx, VM_EXIT_MSR_LOAD_ADDR, __pa(vmx->host_msrs));
	vmcs_write(vmx, VM_EXIT_MSR_LOAD_COUNT, VMX_NR_SWITCHED_MSRS);

	/* Host state: per CPU in vmx_set_host_cpu_state(), per entry in run. */
	vmcs_write(vmx, HOST_CR0, read_cr0());
	vmcs_write(vmx, HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(vmx, HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(vmx, HOST_DS_SELECTOR, 0);
	vmcs_write(vmx, HOST_ES_SELECTOR, 0);
	asm volatile("str %0" : "=r"(tr));
	vmcs_write(vmx, HOST_TR_SELECTOR, tr);
	vmcs_write(vmx, HOST_IA32_EFER, vmx_cfg.host_efer);
	vmcs_write(vmx, HOST_IA32_PAT, vmx_cfg.host_pat);
	vmcs_write(vmx, HOST_RIP, (unsigned long)vmx_vmexit);
	vmx->host_cr3 = 0;
	vmx->host_cr4 = 0;
}

/* Segment fields, in enum kvml_seg order. */
static const struct vmx_seg_field {
	u16 sel, limit, ar;
	u16 base;
} vmx_seg_fields[SEG_NR] = {
	[SEG_ES] = { GUEST_ES_SELECTOR, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES,
		     GUEST_ES_BASE },
	[SEG_CS] = { GUEST_CS_SELECTOR, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES,
		     GUEST_CS_BASE },
	[SEG_SS] = { GUEST_SS_SELECTOR, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES,
		     GUEST_SS_BASE },
	[SEG_DS] = { GUEST_DS_SELECTOR, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES,
		     GUEST_DS_BASE },
	[SEG_FS] = { GUEST_FS_SELECTOR, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES,
		     GUEST_FS_BASE },
	[SEG_GS] = { GUEST_GS_SELECTOR, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES,
		     GUEST_GS_BASE },
	[SEG_TR] = { GUEST_TR_SELECTOR, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES,
		     GUEST_TR_BASE },
	[SEG_LDTR] = { GUEST_LDTR_SELECTOR, GUEST_LDTR_LIMIT,
		       GUEST_LDTR_AR_BYTES, GUEST_LDTR_BASE },
};

static void vmx_write_seg(struct vmx_vcpu *vmx, int seg, u16 sel, u64 base,
			  u32 limit, u32 ar)
{
	const struct vmx_seg_field *f = &vmx_seg_fields[seg];

	vmcs_write(vmx, f->sel, sel);
	vmcs_write(vmx, f->base, base);
	vmcs_write(vmx, f->limit, limit);
	vmcs_write(vmx, f->ar, ar);
}

/* Power-on state, as after RESET: real mode at F000:FFF0. */
void vmx_guest_reset(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	int seg, i;

	for (seg = 0; seg < SEG_NR; seg++)
		vmx_write_seg(vmx, seg, 0, 0, 0xffff, 0x93);
	vmx_write_seg(vmx, SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
	vmx_write_seg(vmx, SEG_TR, 0, 0, 0xffff, 0x8b);
	vmx_write_seg(vmx, SEG_LDTR, 0, 0, 0xffff, 0x82);
	vmcs_write(vmx, GUEST_GDTR_BASE, 0);
	vmcs_write(vmx, GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(vmx, GUEST_IDTR_BASE, 0);
	vmcs_write(vmx, GUEST_IDTR_LIMIT, 0xffff);

	vmx_set_efer(vmx, 0);
	vmx_set_cr0(vmx, X86_CR0_NW | X86_CR0_CD | X86_CR0_ET, true);
	vmx_set_cr4(vmx, 0, true);
	vmcs_write(vmx, GUEST_CR3, 0);
	for (i = 0; i < 4; i++)
		vmcs_write(vmx, GUEST_PDPTR0 + 2 * i, 0);
	vmcs_write(vmx, GUEST_DR7, KVML_DR7_INIT);
	vmcs_write(vmx, GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(vmx, GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(vmx, GUEST_SYSENTER_CS, 0);
	vmcs_write(vmx, GUEST_SYSENTER_ESP, 0);
	vmcs_write(vmx, GUEST_SYSENTER_EIP, 0);
	vmcs_write(vmx, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(vmx, GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(vmx, GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(vmx, VM_ENTRY_INTR_INFO_FIELD, 0);
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		vmx->guest_msrs[i].value = 0;

	vmx->intr_state = 0;
	vmx->cr2 = 0;
	vmx->cr8 = 0;
	vmx->flush = true;
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->dr6 = KVML_DR6_INIT;
	vcpu->dr7 = KVML_DR7_INIT;
}

/* Control registers */

u64 vmx_guest_cr0(struct vmx_vcpu *vmx)
{
	u64 mask = vmx_cr0_mask();

	return (vmcs_read(vmx, GUEST_CR0) & ~mask) |
	       (vmcs_read(vmx, CR0_READ_SHADOW) & mask);
}

u64 vmx_guest_cr4(struct vmx_vcpu *vmx)
{
	u64 mask = vmx_cr4_mask();

	return (vmcs_read(vmx, GUEST_CR4) & ~mask) |
	       (vmcs_read(vmx, CR4_READ_SHADOW) & mask);
}

void vmx_set_efer(struct vmx_vcpu *vmx, u64 efer)
{
	vmcs_write(vmx, GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		vmcs_set_bits(vmx, VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	else
		vmcs_clear_bits(vmx, VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
}

/*
 * Set the guest's CR0.  The hardware value always has NE (a VMX fixed
 * bit) and never CD or NW (guest RAM stays cacheable); the guest reads
 * what it wrote through the shadow.  PG and PE are shadowed too so that
 * each change exits here: turning paging on or off switches EFER.LMA and
 * the IA-32e mode entry control.  For a guest MOV (@host false) the
 * architectural checks apply; returns 1 when the write must #GP.  The
 * caller loads the PDPTEs when it enters PAE paging (vmx_pae_paging()).
 */
int vmx_set_cr0(struct vmx_vcpu *vmx, u64 cr0, bool host)
{
	u64 old = vmx_guest_cr0(vmx);
	u64 efer = vmcs_read(vmx, GUEST_IA32_EFER);
	u64 changed = old ^ cr0;

	if (!host) {
		if (cr0 >> 32)
			return 1;
		if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
			return 1;
		if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
			return 1;
		if ((changed & X86_CR0_PG) && (cr0 & X86_CR0_PG) &&
		    (efer & EFER_LME)) {
			if (!(vmx_guest_cr4(vmx) & X86_CR4_PAE))
				return 1;
			if (vmcs_read(vmx, GUEST_CS_AR_BYTES) & VMX_AR_L_MASK)
				return 1;
		}
		if ((changed & X86_CR0_PG) && !(cr0 & X86_CR0_PG) &&
		    (efer & EFER_LMA) &&
		    (vmcs_read(vmx, GUEST_CS_AR_BYTES) & VMX_AR_L_MASK))
			return 1;
		if (changed & X86_CR0_PG) {
			if ((cr0 & X86_CR0_PG) && (efer & EFER_LME))
				vmx_set_efer(vmx, efer | EFER_LMA);
			else if (!(cr0 & X86_CR0_PG) && (efer & EFER_LMA))
				vmx_set_efer(vmx, efer & ~EFER_LMA);
		}
	}
	vmcs_write(vmx, GUEST_CR0, ((cr0 | vmx_cfg.cr0_fixed0) &
				    vmx_cfg.cr0_fixed1) &
		   ~(u64)(X86_CR0_CD | X86_CR0_NW));
	vmcs_write(vmx, CR0_READ_SHADOW, cr0);
	if (changed & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP))
		vmx->flush = true;
	return 0;
}

/* Set the guest's CR4; VMXE is the host's.  As vmx_set_cr0() for @host. */
int vmx_set_cr4(struct vmx_vcpu *vmx, u64 cr4, bool host)
{
	u64 old = vmx_guest_cr4(vmx);

	if (!host) {
		if (cr4 & ~(VMX_CR4_GUEST_BITS & vmx_cfg.cr4_fixed1))
			return 1;
		if ((vmcs_read(vmx, GUEST_IA32_EFER) & EFER_LMA) &&
		    !(cr4 & X86_CR4_PAE))
			return 1;
	}
	vmcs_write(vmx, GUEST_CR4, (cr4 | vmx_cfg.cr4_fixed0) &
		   vmx_cfg.cr4_fixed1);
	vmcs_write(vmx, CR4_READ_SHADOW, cr4);
	if ((old ^ cr4) & VMX_CR4_PAGING_BITS)
		vmx->flush = true;
	return 0;
}

/* Segments and KVM_GET/SET_SREGS */

static u32 vmx_ar_from_kvm(const struct kvm_segment *var, int seg)
{
	u32 ar;

	if (var->unusable || !var->present)
		return VMX_AR_UNUSABLE_MASK;
	ar = var->type & VMX_AR_TYPE_MASK;
	/* The CPU sets "accessed" on load; VM entry insists on it. */
	if (seg != SEG_LDTR)
		ar |= VMX_AR_TYPE_ACCESSES_MASK;
	ar |= (var->s & 1) << 4;
	ar |= (var->dpl & 3) << VMX_AR_DPL_SHIFT;
	ar |= VMX_AR_P_MASK;
	ar |= (var->avl & 1) << 12;
	ar |= (var->l & 1) << 13;
	ar |= (var->db & 1) << 14;
	ar |= (var->g & 1) << 15;
	return ar;
}

static void vmx_read_segment(struct vmx_vcpu *vmx, struct kvm_segment *var,
			     int seg)
{
	const struct vmx_seg_field *f = &vmx_seg_fields[seg];
	u32 ar = vmcs_read(vmx, f->ar);

	memset(var, 0, sizeof(*var));
	var->base = vmcs_read(vmx, f->base);
	var->limit = vmcs_read(vmx, f->limit);
	var->selector = vmcs_read(vmx, f->sel);
	var->type = ar & VMX_AR_TYPE_MASK;
	var->s = !!(ar & VMX_AR_S_MASK);
	var->dpl = VMX_AR_DPL(ar);
	var->avl = !!(ar & BIT(12));
	var->l = !!(ar & VMX_AR_L_MASK);
	var->db = !!(ar & VMX_AR_DB_MASK);
	var->g = !!(ar & VMX_AR_G_MASK);
	var->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	/* A usable segment is present, as VM entry requires. */
	var->present = !var->unusable;
}

void vmx_get_segment(struct kvml_vcpu *vcpu, struct kvm_segment *var,
		     int seg)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;

	if (vmx_vcpu_get(vmx, &flags)) {
		memset(var, 0, sizeof(*var));
		return;
	}
	vmx_read_segment(vmx, var, seg);
	vmx_vcpu_put(vmx, flags);
}

void vmx_get_sregs(struct kvml_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;

	memset(sregs, 0, sizeof(*sregs));
	if (vmx_vcpu_get(vmx, &flags))
		return;
	vmx_read_segment(vmx, &sregs->cs, SEG_CS);
	vmx_read_segment(vmx, &sregs->ds, SEG_DS);
	vmx_read_segment(vmx, &sregs->es, SEG_ES);
	vmx_read_segment(vmx, &sregs->fs, SEG_FS);
	vmx_read_segment(vmx, &sregs->gs, SEG_GS);
	vmx_read_segment(vmx, &sregs->ss, SEG_SS);
	vmx_read_segment(vmx, &sregs->tr, SEG_TR);
	vmx_read_segment(vmx, &sregs->ldt, SEG_LDTR);
	sregs->gdt.base = vmcs_read(vmx, GUEST_GDTR_BASE);
	sregs->gdt.limit = vmcs_read(vmx, GUEST_GDTR_LIMIT);
	sregs->idt.base = vmcs_read(vmx, GUEST_IDTR_BASE);
	sregs->idt.limit = vmcs_read(vmx, GUEST_IDTR_LIMIT);
	sregs->cr0 = vmx_guest_cr0(vmx);
	sregs->cr3 = vmcs_read(vmx, GUEST_CR3);
	sregs->cr4 = vmx_guest_cr4(vmx);
	sregs->efer = vmcs_read(vmx, GUEST_IA32_EFER);
	vmx_vcpu_put(vmx, flags);
	sregs->cr2 = vmx->cr2;
	sregs->cr8 = vmx->cr8;
	sregs->apic_base = vcpu->apic_base;
}

/* PAE paging outside long mode: the CPU takes the PDPTEs from the VMCS. */
static bool vmx_pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/*
 * Load the four PDPTEs at the guest's CR3 into the VMCS, as MOV to CR0
 * does when it enables PAE paging.  Outside vmx_vcpu_get(): guest memory
 * reads may sleep.  Returns -EFAULT when CR3 is not in guest RAM.
 */
int vmx_load_pdptrs(struct vmx_vcpu *vmx)
{
	u64 pdpte[4], cr0, cr3, cr4, efer;
	unsigned long flags;
	int i, r;

	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	cr0 = vmx_guest_cr0(vmx);
	cr3 = vmcs_read(vmx, GUEST_CR3);
	cr4 = vmx_guest_cr4(vmx);
	efer = vmcs_read(vmx, GUEST_IA32_EFER);
	vmx_vcpu_put(vmx, flags);
	if (!vmx_pae_paging(cr0, cr4, efer))
		return 0;

	r = kvml_read_gpa(vmx->vcpu.vm, cr3 & GENMASK_ULL(31, 5), pdpte,
			  sizeof(pdpte));
	if (r)
		memset(pdpte, 0, sizeof(pdpte));
	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	for (i = 0; i < 4; i++)
		vmcs_write(vmx, GUEST_PDPTR0 + 2 * i, pdpte[i]);
	vmx_vcpu_put(vmx, flags);
	return r ? -EFAULT : 0;
}

int vmx_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct kvm_segment *segs[SEG_NR] = {
		[SEG_ES] = &sregs->es, [SEG_CS] = &sregs->cs,
		[SEG_SS] = &sregs->ss, [SEG_DS] = &sregs->ds,
		[SEG_FS] = &sregs->fs, [SEG_GS] = &sregs->gs,
		[SEG_TR] = &sregs->tr, [SEG_LDTR] = &sregs->ldt,
	};
	unsigned long flags;
	int seg;

	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	for (seg = 0; seg < SEG_NR; seg++)
		vmx_write_seg(vmx, seg, segs[seg]->selector, segs[seg]->base,
			      segs[seg]->limit,
			      vmx_ar_from_kvm(segs[seg], seg));
	vmcs_write(vmx, GUEST_GDTR_BASE, sregs->gdt.base);
	vmcs_write(vmx, GUEST_GDTR_LIMIT, sregs->gdt.limit);
	vmcs_write(vmx, GUEST_IDTR_BASE, sregs->idt.base);
	vmcs_write(vmx, GUEST_IDTR_LIMIT, sregs->idt.limit);
	vmx_set_efer(vmx, sregs->efer);
	vmx_set_cr0(vmx, sregs->cr0, true);
	vmx_set_cr4(vmx, sregs->cr4, true);
	vmcs_write(vmx, GUEST_CR3, sregs->cr3);
	vmx_vcpu_put(vmx, flags);
	vmx->cr2 = sregs->cr2;
	vmx->cr8 = sregs->cr8 & 0xf;
	vmx->flush = true;
	if (vmx->failed)
		return -EIO;
	/* CR3 outside guest RAM: the guest faults when it uses it. */
	vmx_load_pdptrs(vmx);
	return 0;
}
