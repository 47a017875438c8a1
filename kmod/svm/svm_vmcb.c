// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite SVM: the VMCB.  Reset state, intercepts, the I/O and MSR
 * permission maps, and segment/sregs conversion between struct kvm_sregs
 * and the VMCB save area.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/msr-index.h>
#include <asm/trapnr.h>

#include "svm.h"

#define SVM_IOPM_ORDER	2	/* 12 KiB used */
#define SVM_MSRPM_ORDER	1	/* 8 KiB */

/* Shared by every VMCB: all ports trap; all MSRs trap but these. */
void *svm_iopm, *svm_msrpm;

/* MSRs that live in the VMCB and are switched by VMRUN/VMLOAD/VMSAVE. */
static const u32 svm_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* Clear the read and write intercept bits of @msr in the MSR map. */
static void svm_msrpm_allow(u32 msr)
{
	u32 base, bit;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800 * 8;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000 * 8;
	else
		return;
	bit = base + (msr & 0x1fff) * 2;
	__clear_bit(bit, svm_msrpm);
	__clear_bit(bit + 1, svm_msrpm);
}

int svm_permission_maps_alloc(void)
{
	int i;

	svm_iopm = (void *)__get_free_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = (void *)__get_free_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm) {
		svm_permission_maps_free();
		return -ENOMEM;
	}
	memset(svm_iopm, 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(svm_msrpm, 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++)
		svm_msrpm_allow(svm_passthrough_msrs[i]);
	return 0;
}

void svm_permission_maps_free(void)
{
	free_pages((unsigned long)svm_iopm, SVM_IOPM_ORDER);
	free_pages((unsigned long)svm_msrpm, SVM_MSRPM_ORDER);
	svm_iopm = NULL;
	svm_msrpm = NULL;
}

static void svm_seg_reset(struct vmcb_seg *seg, u16 attrib)
{
	seg->selector = 0;
	seg->attrib = attrib;
	seg->limit = 0xffff;
	seg->base = 0;
}

static const int svm_intercepts[] = {
	INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_INIT,
	INTERCEPT_RDPMC, INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
	INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
	INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN, INTERCEPT_VMMCALL,
	INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
	INTERCEPT_SKINIT, INTERCEPT_RDTSCP, INTERCEPT_WBINVD,
	INTERCEPT_MONITOR, INTERCEPT_MWAIT, INTERCEPT_XSETBV,
	INTERCEPT_RDPRU,
};

/* Power-on state, as after RESET: real mode at F000:FFF0. */
void svm_vmcb_reset(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	struct vmcb_save_area *s = &vmcb->save;
	int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(svm_intercepts); i++)
		svm_set_intercept(vmcb, svm_intercepts[i]);
	/* Debug registers are emulated: every access traps. */
	c->intercepts[INTERCEPT_DR] = ~0U;
	/*
	 * #AC, so that a guest cannot loop for ever delivering it (an #AC
	 * raised while delivering #AC, CVE-2015-5307) without the host CPU
	 * taking an interrupt; the exit reinjects it.  #DB cannot loop that
	 * way: the guest's DR7 never reaches the hardware.
	 */
	c->intercepts[INTERCEPT_EXCEPTION] = BIT(AC_VECTOR);
	c->iopm_base_pa = __pa(svm_iopm);
	c->msrpm_base_pa = __pa(svm_msrpm);
	c->tsc_offset = vcpu->tsc_offset;
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = vcpu->vm->npt.root_pa;

	svm_seg_reset(&s->es, 0x93);
	svm_seg_reset(&s->ss, 0x93);
	svm_seg_reset(&s->ds, 0x93);
	svm_seg_reset(&s->fs, 0x93);
	svm_seg_reset(&s->gs, 0x93);
	svm_seg_reset(&s->cs, 0x9b);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	svm_seg_reset(&s->ldtr, 0x82);
	svm_seg_reset(&s->tr, 0x8b);
	svm_seg_reset(&s->gdtr, 0);
	svm_seg_reset(&s->idtr, 0);
	s->efer = EFER_SVME;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->dr6 = KVML_DR6_INIT;
	s->dr7 = KVML_DR7_INIT;
	s->rflags = X86_EFLAGS_FIXED;
	s->rip = 0xfff0;
	s->g_pat = 0x0007040600070406ULL;	/* the PAT power-on value */

	vcpu->rip = s->rip;
	vcpu->rflags = s->rflags;
	vcpu->dr6 = KVML_DR6_INIT;
	vcpu->dr7 = KVML_DR7_INIT;
	svm->asid = 0;
	vcpu->last_cpu = -1;
}

static struct vmcb_seg *svm_seg(struct vmcb *vmcb, int seg)
{
	struct vmcb_save_area *s = &vmcb->save;

	switch (seg) {
	case SEG_ES: return &s->es;
	case SEG_CS: return &s->cs;
	case SEG_SS: return &s->ss;
	case SEG_DS: return &s->ds;
	case SEG_FS: return &s->fs;
	case SEG_GS: return &s->gs;
	case SEG_TR: return &s->tr;
	default: return &s->ldtr;
	}
}

void svm_get_segment(struct kvml_vcpu *vcpu, struct kvm_segment *var,
		     int seg)
{
	struct vmcb_seg *s = svm_seg(to_svm(vcpu)->vmcb, seg);
	u16 a = s->attrib;

	memset(var, 0, sizeof(*var));
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a & SVM_SELECTOR_TYPE_MASK;
	var->s = !!(a & SVM_SELECTOR_S_MASK);
	var->dpl = (a >> SVM_SELECTOR_DPL_SHIFT) & 3;
	var->present = !!(a & SVM_SELECTOR_P_MASK);
	var->avl = !!(a & SVM_SELECTOR_AVL_MASK);
	var->l = !!(a & SVM_SELECTOR_L_MASK);
	var->db = !!(a & SVM_SELECTOR_DB_MASK);
	var->g = !!(a & SVM_SELECTOR_G_MASK);
	var->unusable = !var->present;
	/* The busy bit of TR is always reported, as KVM does. */
	if (seg == SEG_TR)
		var->unusable = 0;
}

static void svm_set_segment(struct vmcb *vmcb, const struct kvm_segment *var,
			    int seg)
{
	struct vmcb_seg *s = svm_seg(vmcb, seg);
	u16 a = 0;

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	if (!var->unusable) {
		a = (var->type & SVM_SELECTOR_TYPE_MASK) |
		    (var->s << SVM_SELECTOR_S_SHIFT) |
		    ((var->dpl & 3) << SVM_SELECTOR_DPL_SHIFT) |
		    (var->present << SVM_SELECTOR_P_SHIFT) |
		    (var->avl << SVM_SELECTOR_AVL_SHIFT) |
		    (var->l << SVM_SELECTOR_L_SHIFT) |
		    (var->db << SVM_SELECTOR_DB_SHIFT) |
		    (var->g << SVM_SELECTOR_G_SHIFT);
	}
	s->attrib = a;
	/* The CPL is SS.DPL; in real mode it is 0. */
	if (seg == SEG_SS)
		vmcb->save.cpl = var->dpl & 3;
}

/* Where each segment of struct kvm_sregs is, and which one it is. */
static const struct {
	size_t offset;
	int seg;
} svm_sregs_segs[] = {
	{ offsetof(struct kvm_sregs, cs), SEG_CS },
	{ offsetof(struct kvm_sregs, ds), SEG_DS },
	{ offsetof(struct kvm_sregs, es), SEG_ES },
	{ offsetof(struct kvm_sregs, fs), SEG_FS },
	{ offsetof(struct kvm_sregs, gs), SEG_GS },
	{ offsetof(struct kvm_sregs, ss), SEG_SS },
	{ offsetof(struct kvm_sregs, tr), SEG_TR },
	{ offsetof(struct kvm_sregs, ldt), SEG_LDTR },
};

void svm_get_sregs(struct kvml_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;
	int i;

	for (i = 0; i < ARRAY_SIZE(svm_sregs_segs); i++)
		svm_get_segment(vcpu, (void *)sregs + svm_sregs_segs[i].offset,
				svm_sregs_segs[i].seg);
	sregs->gdt.base = s->gdtr.base;
	sregs->gdt.limit = s->gdtr.limit;
	sregs->idt.base = s->idtr.base;
	sregs->idt.limit = s->idtr.limit;
	sregs->cr0 = s->cr0;
	sregs->cr2 = s->cr2;
	sregs->cr3 = s->cr3;
	sregs->cr4 = s->cr4;
	sregs->cr8 = to_svm(vcpu)->vmcb->control.int_ctl & V_TPR_MASK;
	sregs->efer = s->efer & ~EFER_SVME;
	sregs->apic_base = vcpu->apic_base;
	memset(sregs->interrupt_bitmap, 0, sizeof(sregs->interrupt_bitmap));
}

int svm_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *s = &vmcb->save;
	int i;

	for (i = 0; i < ARRAY_SIZE(svm_sregs_segs); i++)
		svm_set_segment(vmcb, (const void *)sregs +
				svm_sregs_segs[i].offset, svm_sregs_segs[i].seg);
	s->gdtr.base = sregs->gdt.base;
	s->gdtr.limit = sregs->gdt.limit;
	s->idtr.base = sregs->idt.base;
	s->idtr.limit = sregs->idt.limit;
	s->cr0 = sregs->cr0;
	s->cr2 = sregs->cr2;
	s->cr3 = sregs->cr3;
	s->cr4 = sregs->cr4;
	s->efer = sregs->efer | EFER_SVME;
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
				(sregs->cr8 & V_TPR_MASK);
	if (!(sregs->cr0 & X86_CR0_PE))
		s->cpl = 0;
	return 0;
}
