// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite SVM backend: turning SVM on and off, VM and vCPU objects, the
 * world switch around VMRUN, and the backend ops table.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "svm.h"

static DEFINE_PER_CPU(struct svm_cpu, svm_cpus);
static u64 svm_host_xcr0;
static u32 svm_flush_asid_ctl;

static void svm_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpus, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
	}
}

static int svm_hardware_supported(void)
{
	u32 max_asid;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("kvmlite: the CPU has no AMD SVM\n");
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_err("kvmlite: SVM without nested paging (NPT) is not supported\n");
		return -ENODEV;
	}
	max_asid = cpuid_ebx(SVM_CPUID_FUNC);
	if (max_asid < 2) {
		pr_err("kvmlite: SVM reports no usable ASID\n");
		return -ENODEV;
	}
	svm_flush_asid_ctl = boot_cpu_has(X86_FEATURE_FLUSHBYASID) ?
			     TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL_ASID;
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		svm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpus, cpu);
		int node = cpu_to_node(cpu);

		sd->hsave = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO,
						 0);
		if (!sd->hsave || !sd->host_save)
			goto nomem;
		sd->host_save_pa = page_to_phys(sd->host_save);
		sd->max_asid = max_asid - 1;
	}
	if (svm_permission_maps_alloc())
		goto nomem;
	return 0;
nomem:
	svm_free_cpu_pages();
	return -ENOMEM;
}

static void svm_hardware_unsetup(void)
{
	svm_permission_maps_free();
	svm_free_cpu_pages();
}

/* On this CPU, IRQs off.  Refuses when someone else already owns SVM. */
static int svm_cpu_enable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);
	u64 efer, vm_cr;

	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & (1 << SVM_VM_CR_SVM_DISABLE))
		return -EACCES;
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	/* Start a new ASID generation: nothing from before is trusted. */
	sd->asid_gen++;
	sd->next_asid = sd->max_asid + 1;
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		/* GIF may be clear if we got here from an emergency. */
		asm volatile("stgi" ::: "memory");
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	}
}

static struct kvml_vm *svm_vm_alloc(void)
{
	struct svm_vm *svm_vm = kvzalloc(sizeof(*svm_vm), GFP_KERNEL_ACCOUNT);

	return svm_vm ? &svm_vm->vm : NULL;
}

static int svm_vm_init(struct kvml_vm *vm)
{
	struct kvml_npt *npt = &vm->npt;

	/* NPT walks are user accesses: every level needs U/S. */
	npt->present_bits = _PAGE_PRESENT;
	npt->table_bits = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER |
			  _PAGE_ACCESSED;
	npt->leaf_ro_bits = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
	npt->leaf_rw_bits = npt->leaf_ro_bits | _PAGE_RW | _PAGE_DIRTY;
	npt->huge_bit = _PAGE_PSE;
	return kvml_npt_init(npt);
}

static void svm_vm_free(struct kvml_vm *vm)
{
	kvfree(container_of(vm, struct svm_vm, vm));
}

static struct kvml_vcpu *svm_vcpu_alloc(void)
{
	struct svm_vcpu *svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	struct page *page;

	if (!svm)
		return NULL;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return NULL;
	}
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	return &svm->vcpu;
}

static int svm_vcpu_init(struct kvml_vcpu *vcpu)
{
	svm_vmcb_reset(to_svm(vcpu));
	return 0;
}

static void svm_vcpu_free(struct kvml_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	kfree(svm);
}

/* A fresh ASID when the vCPU changed CPU or the CPU's ASIDs wrapped. */
static void svm_pick_asid(struct svm_vcpu *svm, struct svm_cpu *sd, int cpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->vcpu.last_cpu != cpu || svm->asid_gen != sd->asid_gen) {
		if (sd->next_asid > sd->max_asid) {
			sd->asid_gen++;
			sd->next_asid = 1;
		}
		svm->asid = sd->next_asid++;
		svm->asid_gen = sd->asid_gen;
		c->tlb_ctl = svm_flush_asid_ctl;
	}
	if (svm->vcpu.npt_gen != READ_ONCE(svm->vcpu.vm->npt_gen)) {
		svm->vcpu.npt_gen = READ_ONCE(svm->vcpu.vm->npt_gen);
		c->tlb_ctl = svm_flush_asid_ctl;
	}
	c->asid = svm->asid;
}

/*
 * The shadow the last exit reported covers the instruction at the exit's
 * RIP (still in save.rip until the next entry): once the core moved RIP
 * past an instruction it emulated, there is none.
 */
static u32 svm_get_interrupt_shadow(struct kvml_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if ((vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) &&
	    vmcb->save.rip == vcpu->rip)
		return KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS;
	return 0;
}

static void svm_set_interrupt_shadow(struct kvml_vcpu *vcpu, u32 mask)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	vmcb->save.rip = vcpu->rip;
	if (mask)
		vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
	else
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/* Enter the guest once; IRQs and preemption are off around VMRUN. */
static int svm_run(struct kvml_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct svm_cpu *sd;
	int cpu, r;

	preempt_disable();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	local_irq_disable();
	r = kvml_entry_check();
	if (r) {
		local_irq_enable();
		preempt_enable();
		return r;
	}
	cpu = smp_processor_id();
	sd = this_cpu_ptr(&svm_cpus);
	svm_pick_asid(svm, sd, cpu);
	if (!svm_get_interrupt_shadow(vcpu))
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	svm_inject_events(svm);

	vmcb->save.rax = vcpu->regs[VCPU_RAX];
	vmcb->save.rsp = vcpu->regs[VCPU_RSP];
	vmcb->save.rip = vcpu->rip;
	vmcb->save.rflags = vcpu->rflags;
	if (svm_host_xcr0 && vcpu->xcr0 != svm_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);

	asm volatile("clgi" ::: "memory");
	svm_vmrun(svm->vmcb_pa, vcpu->regs, sd->host_save_pa);

	if (svm_host_xcr0 && vcpu->xcr0 != svm_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, svm_host_xcr0);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	asm volatile("stgi" ::: "memory");
	vcpu->last_cpu = cpu;
	local_irq_enable();
	preempt_enable();

	vcpu->regs[VCPU_RAX] = vmcb->save.rax;
	vcpu->regs[VCPU_RSP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vmcb->control.event_inj = 0;
	svm_complete_events(svm);
	return svm_handle_exit(svm);
}

static u64 svm_get_cr(struct kvml_vcpu *vcpu, int cr)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	switch (cr) {
	case 0: return vmcb->save.cr0;
	case 2: return vmcb->save.cr2;
	case 3: return vmcb->save.cr3;
	case 4: return vmcb->save.cr4;
	case 8: return vmcb->control.int_ctl & V_TPR_MASK;
	default: return 0;
	}
}

static u64 svm_get_efer(struct kvml_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.efer & ~EFER_SVME;
}

static int svm_get_cpl(struct kvml_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl;
}

/* The VMCB-resident MSRs.  Returns 1 when @index is not one of them. */
static u64 *svm_msr_slot(struct vmcb_save_area *s, u32 index)
{
	switch (index) {
	case MSR_STAR: return &s->star;
	case MSR_LSTAR: return &s->lstar;
	case MSR_CSTAR: return &s->cstar;
	case MSR_SYSCALL_MASK: return &s->sfmask;
	case MSR_KERNEL_GS_BASE: return &s->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS: return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP: return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP: return &s->sysenter_eip;
	case MSR_FS_BASE: return &s->fs.base;
	case MSR_GS_BASE: return &s->gs.base;
	case MSR_IA32_CR_PAT: return &s->g_pat;
	default: return NULL;
	}
}

static int svm_get_msr(struct kvml_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;
	u64 *slot = svm_msr_slot(s, index);

	if (slot) {
		*data = *slot;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		*data = s->efer & ~EFER_SVME;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		*data = 0;
		return 0;
	default:
		return 1;
	}
}

#define SVM_EFER_GUEST_BITS	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | \
				 EFER_FFXSR)

static int svm_set_msr(struct kvml_vcpu *vcpu, u32 index, u64 data,
		       bool host)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;
	u64 *slot = svm_msr_slot(s, index);

	if (slot) {
		if (index == MSR_IA32_CR_PAT && !kvml_pat_valid(data))
			return 1;
		if (index != MSR_IA32_CR_PAT &&
		    index != MSR_IA32_SYSENTER_CS &&
		    index != MSR_STAR && index != MSR_SYSCALL_MASK &&
		    !__is_canonical_address(data, 48))
			return 1;
		*slot = data;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		if (data & ~SVM_EFER_GUEST_BITS)
			return 1;
		/* LMA follows CR0.PG for the guest; only the host sets it. */
		if (!host)
			data = (data & ~EFER_LMA) | (s->efer & EFER_LMA);
		s->efer = data | EFER_SVME;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		return data ? 1 : 0;
	default:
		return 1;
	}
}

static void svm_tsc_offset_changed(struct kvml_vcpu *vcpu)
{
	to_svm(vcpu)->vmcb->control.tsc_offset = vcpu->tsc_offset;
}

const struct kvml_backend_ops kvml_svm_ops = {
	.name = "svm",
	.hardware_supported = svm_hardware_supported,
	.hardware_unsetup = svm_hardware_unsetup,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.vm_alloc = svm_vm_alloc,
	.vm_init = svm_vm_init,
	.vm_free = svm_vm_free,
	.vcpu_alloc = svm_vcpu_alloc,
	.vcpu_init = svm_vcpu_init,
	.vcpu_free = svm_vcpu_free,
	.run = svm_run,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_segment = svm_get_segment,
	.get_cr = svm_get_cr,
	.get_efer = svm_get_efer,
	.get_cpl = svm_get_cpl,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.get_interrupt_shadow = svm_get_interrupt_shadow,
	.set_interrupt_shadow = svm_set_interrupt_shadow,
	.tsc_offset_changed = svm_tsc_offset_changed,
};
