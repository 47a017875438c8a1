// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite VMX backend: the capabilities it needs, VMXON and VMXOFF, VM and
 * vCPU objects, keeping each VMCS current on the CPU that uses it, the
 * world switch around VMLAUNCH/VMRESUME, and the backend ops table.
 *
 * A VMCS is active on at most one CPU, the one in vmx->vmcs_cpu, and sits
 * on that CPU's list of loaded VMCSs.  Using it on another CPU first
 * VMCLEARs it over there (an IPI), then VMPTRLDs it here; VMXOFF first
 * VMCLEARs everything on the CPU's list.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/msr-index.h>
#include <asm/mtrr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>

#include "vmx.h"

/* Per physical CPU; changed only on that CPU with IRQs off. */
struct vmx_cpu {
	bool on;			/* in VMX operation */
	void *vmxon_region;
	u64 vmxon_pa;
	struct list_head loaded;	/* vmx_vcpu.loaded_link */
	struct vmx_vcpu *current_vmcs;	/* the VMCS VMPTRLD made current */
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpus);
struct vmx_config vmx_cfg __ro_after_init;
static u64 vmx_host_xcr0 __ro_after_init;

/* VPIDs 1..VMX_NR_VPIDS-1; 0 is the host's. */
static DEFINE_SPINLOCK(vmx_vpid_lock);
static unsigned long *vmx_vpid_bitmap;

static const u32 vmx_switched_msrs[VMX_NR_SWITCHED_MSRS] = {
	[VMX_MSR_STAR] = MSR_STAR,
	[VMX_MSR_LSTAR] = MSR_LSTAR,
	[VMX_MSR_CSTAR] = MSR_CSTAR,
	[VMX_MSR_SFMASK] = MSR_SYSCALL_MASK,
	[VMX_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
};

void vmx_field_failed(struct vmx_vcpu *vmx, const char *insn, u32 field,
		      int err)
{
	u64 error = 0;

	if (err == -EIO)
		__vmx_vmread(VM_INSTRUCTION_ERROR, &error);
	if (!vmx->failed)
		pr_err_ratelimited("kvmlite: %s of VMCS field 0x%x failed (%s, VM-instruction error %llu)\n",
				   insn, field,
				   err == -EIO ? "VMfail" : "fault", error);
	vmx->failed = true;
}

/* ------------------------------------------------------ capabilities */

/*
 * A control field: @min bits are required, @opt bits wanted.  The
 * capability MSR says which bits may be 0 (low half: the 1s must be 1)
 * and which may be 1 (high half).
 */
static int vmx_adjust_controls(u32 min, u32 opt, u32 msr, u32 *result)
{
	u64 caps;
	u32 ctl = min | opt;

	if (rdmsrl_safe(msr, &caps))
		return -EIO;
	ctl &= caps >> 32;		/* allowed 1-settings */
	ctl |= (u32)caps;		/* required 1-settings */
	if (min & ~ctl)
		return -EIO;
	*result = ctl;
	return 0;
}

/*
 * The VMX-preemption timer bounds each stay in the guest to about a
 * millisecond of TSC time.  A host interrupt makes the guest exit anyway;
 * the timer is a backstop for hosts that do not deliver it (Bochs 2.7
 * never makes a pending external interrupt exit a guest that runs with
 * RFLAGS.IF clear, see Documentation/vmx.rst).  Used when present.
 */
static void vmx_setup_preemption_timer(struct vmx_config *c)
{
	u64 misc, ticks;

	if (!(c->pin & PIN_BASED_VMX_PREEMPTION_TIMER) ||
	    rdmsrl_safe(MSR_IA32_VMX_MISC, &misc)) {
		c->pin &= ~PIN_BASED_VMX_PREEMPTION_TIMER;
		return;
	}
	/* The timer counts down once every 2^rate TSC cycles. */
	ticks = (tsc_khz ? tsc_khz : 1000000) >>
		(misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK);
	c->preempt_ticks = clamp_t(u64, ticks, 1, U32_MAX);
}

static int vmx_setup_config(void)
{
	struct vmx_config *c = &vmx_cfg;
	u64 basic, ept_vpid = 0, misc;
	bool true_ctls;
	u32 min;

	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic)) {
		pr_err("kvmlite: VMX capability MSRs are not readable\n");
		return -EIO;
	}
	c->revision_id = basic & GENMASK(30, 0);
	if (((basic >> 32) & 0x1fff) > PAGE_SIZE) {
		pr_err("kvmlite: VMX: VMCS larger than a page\n");
		return -EIO;
	}
	if (((basic >> 50) & 0xf) != 6) {
		pr_err("kvmlite: VMX: VMCS memory type is not write-back\n");
		return -EIO;
	}
	true_ctls = basic & BIT_ULL(55);
	c->ins_outs_info = basic & BIT_ULL(54);

	min = PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
	      PIN_BASED_VIRTUAL_NMIS;
	if (vmx_adjust_controls(min, PIN_BASED_VMX_PREEMPTION_TIMER,
				true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				MSR_IA32_VMX_PINBASED_CTLS, &c->pin)) {
		pr_err("kvmlite: VMX without virtual NMIs is not supported\n");
		return -EIO;
	}
	vmx_setup_preemption_timer(c);

	/* Interrupt and NMI windows are switched on only when needed. */
	min = CPU_BASED_HLT_EXITING | CPU_BASED_USE_TSC_OFFSETTING |
	      CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
	      CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
	      CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MWAIT_EXITING |
	      CPU_BASED_MONITOR_EXITING | CPU_BASED_RDPMC_EXITING |
	      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	if (vmx_adjust_controls(min, 0, true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				MSR_IA32_VMX_PROCBASED_CTLS, &c->cpu)) {
		pr_err("kvmlite: VMX lacks required processor-based controls\n");
		return -EIO;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS, &misc))
		misc = 0;
	if (!(misc & ((u64)CPU_BASED_INTR_WINDOW_EXITING << 32)) ||
	    !(misc & ((u64)CPU_BASED_NMI_WINDOW_EXITING << 32))) {
		pr_err("kvmlite: VMX without interrupt/NMI-window exiting is not supported\n");
		return -EIO;
	}

	if (vmx_adjust_controls(0, SECONDARY_EXEC_ENABLE_EPT,
				MSR_IA32_VMX_PROCBASED_CTLS2, &c->cpu2) ||
	    !(c->cpu2 & SECONDARY_EXEC_ENABLE_EPT)) {
		pr_err("kvmlite: VMX without EPT is not supported\n");
		return -ENODEV;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &ept_vpid))
		ept_vpid = 0;
	if (!(ept_vpid & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(ept_vpid & VMX_EPTP_WB_BIT) || !(ept_vpid & VMX_EPT_INVEPT_BIT) ||
	    !(ept_vpid & (VMX_EPT_EXTENT_CONTEXT_BIT |
			  VMX_EPT_EXTENT_GLOBAL_BIT))) {
		pr_err("kvmlite: VMX without 4-level write-back EPT and INVEPT is not supported\n");
		return -ENODEV;
	}
	c->invept_single = ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT;
	c->invept_global = ept_vpid & VMX_EPT_EXTENT_GLOBAL_BIT;
	if (vmx_adjust_controls(SECONDARY_EXEC_ENABLE_EPT |
				SECONDARY_EXEC_UNRESTRICTED_GUEST,
				SECONDARY_EXEC_ENABLE_VPID |
				SECONDARY_EXEC_WBINVD_EXITING |
				SECONDARY_EXEC_ENABLE_INVPCID,
				MSR_IA32_VMX_PROCBASED_CTLS2, &c->cpu2)) {
		pr_err("kvmlite: VMX without unrestricted guest is not supported\n");
		return -ENODEV;
	}
	/* VPID only with the INVVPID this backend uses. */
	c->vpid = (c->cpu2 & SECONDARY_EXEC_ENABLE_VPID) &&
		  (ept_vpid & ((u64)VMX_VPID_INVVPID_BIT << 32)) &&
		  (ept_vpid & ((u64)VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32));
	if (!c->vpid)
		c->cpu2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	c->vpid_global = c->vpid &&
		(ept_vpid & ((u64)VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT << 32));

	min = VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
	      VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
	      VM_EXIT_LOAD_IA32_PAT;
	if (vmx_adjust_controls(min, 0, true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				MSR_IA32_VMX_EXIT_CTLS, &c->exit)) {
		pr_err("kvmlite: VMX cannot switch EFER and PAT on VM exit\n");
		return -EIO;
	}
	min = VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT;
	if (vmx_adjust_controls(min, 0, true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				MSR_IA32_VMX_ENTRY_CTLS, &c->entry)) {
		pr_err("kvmlite: VMX cannot load EFER and PAT on VM entry\n");
		return -EIO;
	}
	/* Set per entry from the guest's EFER.LMA. */
	c->entry &= ~VM_ENTRY_IA32E_MODE;

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	/* Unrestricted guest: PE and PG are the guest's choice. */
	c->cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	return 0;
}

/* Host values of the MSRs that do not change while the kernel runs. */
static void vmx_read_host_msrs(void)
{
	struct vmx_config *c = &vmx_cfg;
	int i;

	rdmsrl(MSR_EFER, c->host_efer);
	rdmsrl(MSR_IA32_CR_PAT, c->host_pat);
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (i != VMX_MSR_KERNEL_GS_BASE)
			rdmsrl(vmx_switched_msrs[i], c->host_msrs[i]);
}

static void vmx_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpus, cpu);

		free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
}

static int vmx_hardware_supported(void)
{
	int cpu, r;

	/* The CPUID bit itself: the kernel clears its flag when locked off. */
	if (!(cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31))) {
		pr_err("kvmlite: the CPU has no Intel VMX\n");
		return -ENODEV;
	}
	r = vmx_setup_config();
	if (r)
		return r;
	vmx_read_host_msrs();
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		vmx_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpus, cpu);
		struct page *page;

		INIT_LIST_HEAD(&vc->loaded);
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			goto nomem;
		vc->vmxon_region = page_address(page);
		vc->vmxon_pa = page_to_phys(page);
		*(u32 *)vc->vmxon_region = vmx_cfg.revision_id;
	}
	vmx_vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!vmx_vpid_bitmap)
		goto nomem;
	__set_bit(0, vmx_vpid_bitmap);
	if (vmx_msr_bitmap_alloc())
		goto nomem;
	pr_info("kvmlite: VMX with EPT, unrestricted guest%s%s\n",
		vmx_cfg.vpid ? ", VPID" : "",
		vmx_cfg.preempt_ticks ? ", preemption timer" : "");
	return 0;
nomem:
	bitmap_free(vmx_vpid_bitmap);
	vmx_vpid_bitmap = NULL;
	vmx_free_cpu_pages();
	return -ENOMEM;
}

static void vmx_hardware_unsetup(void)
{
	vmx_msr_bitmap_free();
	bitmap_free(vmx_vpid_bitmap);
	vmx_vpid_bitmap = NULL;
	vmx_free_cpu_pages();
}

/* ------------------------------------------------------ VMXON / VMXOFF */

static void vmx_flush_all(void)
{
	if (vmx_cfg.invept_global)
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmx_cfg.vpid_global)
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* On this CPU, IRQs off. */
static int vmx_cpu_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);
	u64 feat;

	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;		/* another hypervisor */
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat) ||
	    !(feat & FEAT_CTL_LOCKED) ||
	    !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -EACCES;		/* off, and locked by the firmware */

	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	if (vmx_vmxon(vc->vmxon_pa)) {
		cr4_clear_bits_irqsoff(X86_CR4_VMXE);
		return -EBUSY;
	}
	vc->on = true;
	vc->current_vmcs = NULL;
	/* Nothing from whoever used VMX before us is trusted. */
	vmx_flush_all();
	return 0;
}

static void vmx_vmcs_clear_here(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);

	if (vmx_vmclear(vmx->vmcs_pa))
		pr_err_ratelimited("kvmlite: VMCLEAR failed\n");
	if (vc->current_vmcs == vmx)
		vc->current_vmcs = NULL;
	list_del_init(&vmx->loaded_link);
	vmx->launched = false;
	WRITE_ONCE(vmx->vmcs_cpu, -1);
}

/* On this CPU, IRQs off: VMCLEAR everything loaded here, then VMXOFF. */
static void vmx_cpu_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);
	struct vmx_vcpu *vmx, *tmp;

	if (vc->on) {
		list_for_each_entry_safe(vmx, tmp, &vc->loaded, loaded_link)
			vmx_vmcs_clear_here(vmx);
		vmx_vmxoff();
		vc->on = false;
	}
	vc->current_vmcs = NULL;
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
}

/* ------------------------------------------------- loading the VMCS */

/* IPI: VMCLEAR @info's VMCS if it is still active on this CPU. */
static void vmx_vmcs_clear_remote(void *info)
{
	struct vmx_vcpu *vmx = info;

	if (READ_ONCE(vmx->vmcs_cpu) == smp_processor_id())
		vmx_vmcs_clear_here(vmx);
}

/* Make sure the VMCS is active nowhere but, maybe, on this CPU. */
static void vmx_vmcs_unload_elsewhere(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->vmcs_cpu);

	if (cpu >= 0 && cpu != smp_processor_id())
		smp_call_function_single(cpu, vmx_vmcs_clear_remote, vmx, 1);
}

/* With IRQs off: VMPTRLD the VMCS here, VMCLEARed elsewhere before. */
static int vmx_vmcs_load(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);
	int cpu = smp_processor_id();

	if (unlikely(!vc->on))
		return -EIO;
	if (vmx->vmcs_cpu != cpu) {
		/* Still active on another CPU: the IPI did not get there. */
		if (vmx->vmcs_cpu >= 0)
			return -EBUSY;
		if (vmx_vmclear(vmx->vmcs_pa))
			return -EIO;
		vmx->launched = false;
		vc->current_vmcs = NULL;
		list_add(&vmx->loaded_link, &vc->loaded);
		WRITE_ONCE(vmx->vmcs_cpu, cpu);
		if (vmx_vmptrld(vmx->vmcs_pa))
			return -EIO;
		vc->current_vmcs = vmx;
		/* This CPU's TLB may hold stale translations of ours. */
		vmx->flush = true;
		vmx_set_host_cpu_state(vmx, cpu);
		return 0;
	}
	if (vc->current_vmcs != vmx) {
		if (vmx_vmptrld(vmx->vmcs_pa))
			return -EIO;
		vc->current_vmcs = vmx;
	}
	return 0;
}

/*
 * Make the vCPU's VMCS current on this CPU and return with preemption
 * and IRQs off; vmx_vcpu_put() undoes it.  Fails (with everything back
 * on) when VMX is off here, for a reboot.
 */
int vmx_vcpu_get(struct vmx_vcpu *vmx, unsigned long *flags)
{
	int r;

	preempt_disable();
	vmx_vmcs_unload_elsewhere(vmx);
	local_irq_save(*flags);
	r = vmx_vmcs_load(vmx);
	if (r) {
		local_irq_restore(*flags);
		preempt_enable();
		kvml_vcpu_mark_dead(&vmx->vcpu, "cannot load its VMCS");
	}
	return r;
}

void vmx_vcpu_put(struct vmx_vcpu *vmx, unsigned long flags)
{
	local_irq_restore(flags);
	preempt_enable();
	if (unlikely(vmx->failed))
		kvml_vcpu_mark_dead(&vmx->vcpu, "a VMCS access failed");
}

/* --------------------------------------------------- VM and vCPU */

static struct kvml_vm *vmx_vm_alloc(void)
{
	struct vmx_vm *vmx_vm = kvzalloc(sizeof(*vmx_vm), GFP_KERNEL_ACCOUNT);

	return vmx_vm ? &vmx_vm->vm : NULL;
}

#define VMX_EPT_RWX	(VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK | \
			 VMX_EPT_EXECUTABLE_MASK)
/* Guest RAM is write-back whatever the guest's PAT says. */
#define VMX_EPT_RAM	((MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT) | \
			 VMX_EPT_IPAT_BIT)

static int vmx_vm_init(struct kvml_vm *vm)
{
	struct kvml_npt *npt = &vm->npt;

	npt->present_bits = VMX_EPT_RWX;
	npt->table_bits = VMX_EPT_RWX;
	npt->leaf_rw_bits = VMX_EPT_RWX | VMX_EPT_RAM;
	npt->leaf_ro_bits = VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK |
			    VMX_EPT_RAM;
	return kvml_npt_init(npt);
}

static void vmx_vm_free(struct kvml_vm *vm)
{
	kvfree(container_of(vm, struct vmx_vm, vm));
}

static u16 vmx_vpid_alloc(void)
{
	unsigned long vpid;

	if (!vmx_cfg.vpid)
		return 0;
	spin_lock(&vmx_vpid_lock);
	vpid = find_first_zero_bit(vmx_vpid_bitmap, VMX_NR_VPIDS);
	if (vpid < VMX_NR_VPIDS)
		__set_bit(vpid, vmx_vpid_bitmap);
	else
		vpid = 0;
	spin_unlock(&vmx_vpid_lock);
	return vpid;
}

static void vmx_vpid_free(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpid_bitmap);
	spin_unlock(&vmx_vpid_lock);
}

static void vmx_vcpu_free(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu;

	/* Not running: VMCLEAR it where it is still active. */
	cpu = READ_ONCE(vmx->vmcs_cpu);
	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_remote, vmx, 1);
	if (WARN_ON_ONCE(READ_ONCE(vmx->vmcs_cpu) >= 0))
		return;		/* leak it rather than free a live VMCS */
	vmx_vpid_free(vmx->vpid);
	free_page((unsigned long)vmx->guest_msrs);
	free_page((unsigned long)vmx->host_msrs);
	free_page((unsigned long)vmx->vmcs);
	kfree(vmx);
}

static struct kvml_vcpu *vmx_vcpu_alloc(void)
{
	struct vmx_vcpu *vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);

	if (!vmx)
		return NULL;
	vmx->vmcs_cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded_link);
	vmx->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vmx->guest_msrs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vmx->host_msrs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vmx->vmcs || !vmx->guest_msrs || !vmx->host_msrs) {
		vmx_vcpu_free(&vmx->vcpu);
		return NULL;
	}
	vmx->vmcs_pa = __pa(vmx->vmcs);
	*(u32 *)vmx->vmcs = vmx_cfg.revision_id;
	return &vmx->vcpu;
}

static int vmx_vcpu_init(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;
	int i;

	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++) {
		vmx->guest_msrs[i].index = vmx_switched_msrs[i];
		vmx->host_msrs[i].index = vmx_switched_msrs[i];
		vmx->host_msrs[i].value = vmx_cfg.host_msrs[i];
	}
	vmx->vpid = vmx_vpid_alloc();
	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	vmx_vmcs_setup(vmx);
	vmx_guest_reset(vmx);
	vmx_vcpu_put(vmx, flags);
	return vmx->failed ? -EIO : 0;
}

/* ---------------------------------------------------- world switch */

/* Host selectors that VM exit does not restore, and the user bases. */
struct vmx_host_segs {
	u16 ds, es, fs, gs, ldt;
	unsigned long fs_base, kernel_gs_base;
};

/* IRQs off: the host state of this entry that may differ from the last. */
static void vmx_prepare_host(struct vmx_vcpu *vmx, struct vmx_host_segs *h)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	if (cr3 != vmx->host_cr3) {
		vmcs_write(vmx, HOST_CR3, cr3);
		vmx->host_cr3 = cr3;
	}
	if (cr4 != vmx->host_cr4) {
		vmcs_write(vmx, HOST_CR4, cr4);
		vmx->host_cr4 = cr4;
	}

	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	asm volatile("sldt %0" : "=g"(h->ldt));
	rdmsrl(MSR_FS_BASE, h->fs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	/* A selector with RPL or TI set cannot be host state. */
	vmcs_write(vmx, HOST_FS_SELECTOR, (h->fs & 7) ? 0 : h->fs);
	vmcs_write(vmx, HOST_GS_SELECTOR, (h->gs & 7) ? 0 : h->gs);
	vmcs_write(vmx, HOST_FS_BASE, h->fs_base);
	vmx->host_msrs[VMX_MSR_KERNEL_GS_BASE].value = h->kernel_gs_base;
}

/* IRQs off, right after the exit: what VM exit left in host state. */
static void vmx_restore_host(struct vmx_host_segs *h)
{
	if (h->ldt || (h->gs & 7)) {
		asm volatile("lldt %0" : : "rm"(h->ldt));
		load_gs_index(h->gs);
		wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	}
	if (h->fs & 7) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (unlikely(h->ds | h->es)) {
		loadsegment(ds, h->ds);
		loadsegment(es, h->es);
	}
	/* VM exit leaves GDTR.limit 0xffff and TR.limit 0x67. */
	load_fixmap_gdt(smp_processor_id());
	invalidate_tss_limit();
}

/* IRQs off: TLB flushes this entry needs, on this CPU. */
static void vmx_flush_guest_tlb(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u64 gen = READ_ONCE(vcpu->vm->npt_gen);
	u64 eptp = vcpu->vm->npt.root_pa | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
	int r = 0;

	if (vcpu->npt_gen != gen) {
		vcpu->npt_gen = gen;
		vmx->flush = true;
	}
	if (!vmx->flush)
		return;
	vmx->flush = false;
	if (vmx_cfg.invept_single)
		r = vmx_invept(VMX_EPT_EXTENT_CONTEXT, eptp);
	else
		r = vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (!r && vmx->vpid)
		r = vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vmx->vpid);
	if (r)
		vmx->failed = true;
}

/* A host NMI caused the exit: run the host's handler now, IRQs off. */
static void vmx_host_nmi(void)
{
	asm volatile("int $2" ::: "memory");
}

static bool vmx_exit_is_nmi(struct vmx_vcpu *vmx)
{
	return vmx->exit_reason == EXIT_REASON_EXCEPTION_NMI &&
	       (vmx->exit_intr_info & (INTR_INFO_VALID_MASK |
				       INTR_INFO_INTR_TYPE_MASK)) ==
	       (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR);
}

/* IRQs off, after the exit: what the exit handlers need to know. */
static void vmx_read_exit(struct vmx_vcpu *vmx, int failed)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;

	if (failed) {
		/* VMLAUNCH/VMRESUME itself failed: nothing else is valid. */
		vmx->exit_reason = 0;
		vmx->exit_qual = vmcs_read(vmx, VM_INSTRUCTION_ERROR);
		return;
	}
	vmx->exit_reason = vmcs_read(vmx, VM_EXIT_REASON);
	vmx->exit_qual = vmcs_read(vmx, EXIT_QUALIFICATION);
	if (vmx->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		/*
		 * The entry failed on the guest state: start over from a
		 * clear VMCS, which the next entry VMLAUNCHes.
		 */
		if (vmx_vmclear(vmx->vmcs_pa) || vmx_vmptrld(vmx->vmcs_pa))
			vmx->failed = true;
		vmx->launched = false;
		return;
	}
	vmx->launched = true;
	vmx->exit_intr_info = vmcs_read(vmx, VM_EXIT_INTR_INFO);
	vmx->idt_info = vmcs_read(vmx, IDT_VECTORING_INFO_FIELD);
	vmx->idt_error = vmcs_read(vmx, IDT_VECTORING_ERROR_CODE);
	vmx->insn_len = vmcs_read(vmx, VM_EXIT_INSTRUCTION_LEN);
	vcpu->regs[VCPU_RSP] = vmcs_read(vmx, GUEST_RSP);
	vcpu->rip = vmcs_read(vmx, GUEST_RIP);
	vmx->shadow_rip = vcpu->rip;
	vcpu->rflags = vmcs_read(vmx, GUEST_RFLAGS);
	vmx->intr_state = vmcs_read(vmx, GUEST_INTERRUPTIBILITY_INFO);
	vcpu->nmi_masked = vmx->intr_state & GUEST_INTR_STATE_NMI;
}

/*
 * The STI or MOV-SS shadow covers one instruction: once RIP moved past
 * the one an exit stopped at (emulated, skipped, or a port access
 * completed), it is over.
 */
static void vmx_end_shadow(struct vmx_vcpu *vmx)
{
	if (vmx->vcpu.rip != vmx->shadow_rip)
		vmx->intr_state &= ~(GUEST_INTR_STATE_STI |
				     GUEST_INTR_STATE_MOV_SS);
}

/* IRQs off, just before the entry: the guest state the core owns. */
static void vmx_write_guest_regs(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u32 intr = vmx->intr_state;

	vmcs_write(vmx, GUEST_RSP, vcpu->regs[VCPU_RSP]);
	vmcs_write(vmx, GUEST_RIP, vcpu->rip);
	vmcs_write(vmx, GUEST_RFLAGS, vcpu->rflags);
	/* An STI shadow needs IF set; the client may have cleared it. */
	if (!(vcpu->rflags & X86_EFLAGS_IF))
		intr &= ~GUEST_INTR_STATE_STI;
	if (vcpu->nmi_masked)
		intr |= GUEST_INTR_STATE_NMI;
	else
		intr &= ~GUEST_INTR_STATE_NMI;
	vmx->intr_state = intr;
	vmcs_write(vmx, GUEST_INTERRUPTIBILITY_INFO, intr);
}

/* Enter the guest once; IRQs and preemption are off around the entry. */
static int vmx_run(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_host_segs host;
	unsigned long debugctl;
	int r, failed;

	preempt_disable();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	vmx_vmcs_unload_elsewhere(vmx);
	local_irq_disable();
	r = kvml_entry_check();
	if (r)
		goto out;
	r = vmx_vmcs_load(vmx);
	if (r) {
		local_irq_enable();
		preempt_enable();
		kvml_vcpu_mark_dead(vcpu, "cannot load its VMCS");
		return -EIO;
	}

	vmx_end_shadow(vmx);
	vmx_inject_events(vmx);
	vmx_write_guest_regs(vmx);
	vmx_flush_guest_tlb(vmx);
	vmx_prepare_host(vmx, &host);
	if (vmx_cfg.preempt_ticks)
		vmcs_write(vmx, VMX_PREEMPTION_TIMER_VALUE,
			   vmx_cfg.preempt_ticks);
	if (vmx->failed)
		goto out;
	rdmsrl(MSR_IA32_DEBUGCTLMSR, debugctl);
	if (vmx_host_xcr0 && vcpu->xcr0 != vmx_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);

	/*
	 * Guest mode is a quiescent state for RCU, as user mode is: a vCPU
	 * that keeps a CPU busy must not stall grace periods.
	 */
	rcu_note_context_switch(false);
	/* CR2 is not part of the VMCS: the guest's lives in the register. */
	if (read_cr2() != vmx->cr2)
		write_cr2(vmx->cr2);
	failed = vmx_vmenter(vcpu->regs, vmx->launched);
	vmx->cr2 = read_cr2();

	if (vmx_host_xcr0 && vcpu->xcr0 != vmx_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx_host_xcr0);
	vmx_restore_host(&host);
	/* VM exit clears DEBUGCTL and sets DR7 to 0x400. */
	if (debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	vcpu->last_cpu = smp_processor_id();
	vmx_read_exit(vmx, failed);
	if (!failed && vmx_exit_is_nmi(vmx))
		vmx_host_nmi();
	local_irq_enable();
	preempt_enable();

	if (vmx->failed) {
		kvml_vcpu_mark_dead(vcpu, "a VMCS access failed");
		return -EIO;
	}
	if (failed) {
		/* VMfail: the VM-instruction error says why. */
		vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason =
			vmx->exit_qual;
		vcpu->run->fail_entry.cpu = vcpu->last_cpu;
		return 0;
	}
	vmx_requeue_interrupted_event(vmx);
	r = vmx_handle_exit(vmx);
	vmx_end_shadow(vmx);
	return r;

out:
	local_irq_enable();
	preempt_enable();
	if (vmx->failed) {
		kvml_vcpu_mark_dead(vcpu, "a VMCS access failed");
		return -EIO;
	}
	return r;
}

/* ---------------------------------------------------- state ops */

static u64 vmx_get_cr(struct kvml_vcpu *vcpu, int cr)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;
	u64 val = 0;

	if (cr == 8)
		return vmx->cr8;
	if (cr == 2)
		return vmx->cr2;
	if (vmx_vcpu_get(vmx, &flags))
		return 0;
	switch (cr) {
	case 0:
		val = vmx_guest_cr0(vmx);
		break;
	case 3:
		val = vmcs_read(vmx, GUEST_CR3);
		break;
	case 4:
		val = vmx_guest_cr4(vmx);
		break;
	}
	vmx_vcpu_put(vmx, flags);
	return val;
}

static u64 vmx_get_efer(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;
	u64 efer;

	if (vmx_vcpu_get(vmx, &flags))
		return 0;
	efer = vmcs_read(vmx, GUEST_IA32_EFER);
	vmx_vcpu_put(vmx, flags);
	return efer;
}

static int vmx_get_cpl(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;
	u32 ar;

	if (vmx_vcpu_get(vmx, &flags))
		return 0;
	ar = vmx_guest_cr0(vmx) & X86_CR0_PE ?
	     vmcs_read(vmx, GUEST_SS_AR_BYTES) : 0;
	vmx_vcpu_put(vmx, flags);
	if (vcpu->rflags & X86_EFLAGS_VM)
		return 3;
	return VMX_AR_DPL(ar);
}

/* Guest MSRs that are VMCS fields. */
static u32 vmx_msr_field(u32 index)
{
	switch (index) {
	case MSR_FS_BASE: return GUEST_FS_BASE;
	case MSR_GS_BASE: return GUEST_GS_BASE;
	case MSR_IA32_SYSENTER_CS: return GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
	case MSR_IA32_CR_PAT: return GUEST_IA32_PAT;
	case MSR_EFER: return GUEST_IA32_EFER;
	default: return 0;
	}
}

/* Guest MSRs in the switched list: slot or -1. */
static int vmx_msr_slot(u32 index)
{
	int i;

	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (vmx_switched_msrs[i] == index)
			return i;
	return -1;
}

static int vmx_get_msr(struct kvml_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int slot = vmx_msr_slot(index);
	u32 field = vmx_msr_field(index);
	unsigned long flags;

	if (slot >= 0) {
		*data = vmx->guest_msrs[slot].value;
		return 0;
	}
	if (index == MSR_IA32_DEBUGCTLMSR) {
		*data = 0;
		return 0;
	}
	if (!field)
		return 1;
	if (vmx_vcpu_get(vmx, &flags))
		return 1;
	*data = vmcs_read(vmx, field);
	vmx_vcpu_put(vmx, flags);
	return 0;
}

#define VMX_EFER_GUEST_BITS	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

static int vmx_set_msr(struct kvml_vcpu *vcpu, u32 index, u64 data,
		       bool host)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int slot = vmx_msr_slot(index);
	u32 field = vmx_msr_field(index);
	unsigned long flags;

	if (index == MSR_IA32_DEBUGCTLMSR)
		return data ? 1 : 0;
	if (slot < 0 && !field)
		return 1;
	switch (index) {
	case MSR_IA32_CR_PAT:
		if (!kvml_pat_valid(data))
			return 1;
		break;
	case MSR_EFER:
		if (data & ~VMX_EFER_GUEST_BITS)
			return 1;
		break;
	case MSR_IA32_SYSENTER_CS:
	case MSR_STAR:
	case MSR_SYSCALL_MASK:
		break;
	default:
		if (!__is_canonical_address(data, 48))
			return 1;
	}
	if (slot >= 0) {
		vmx->guest_msrs[slot].value = data;
		return 0;
	}
	if (vmx_vcpu_get(vmx, &flags))
		return 1;
	if (index == MSR_EFER) {
		/* LMA follows CR0.PG for the guest; only the host sets it. */
		if (!host)
			data = (data & ~EFER_LMA) |
			       (vmcs_read(vmx, GUEST_IA32_EFER) & EFER_LMA);
		vmx_set_efer(vmx, data);
	} else {
		vmcs_write(vmx, field, data);
	}
	vmx_vcpu_put(vmx, flags);
	return vmx->failed;
}

static u32 vmx_get_interrupt_shadow(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 intr = vmx->intr_state;
	u32 mask = 0;

	/* None once the core moved RIP past the instruction (vmx_end_shadow). */
	if (vcpu->rip != vmx->shadow_rip)
		return 0;
	if (intr & GUEST_INTR_STATE_STI)
		mask |= KVM_X86_SHADOW_INT_STI;
	if (intr & GUEST_INTR_STATE_MOV_SS)
		mask |= KVM_X86_SHADOW_INT_MOV_SS;
	return mask;
}

static void vmx_set_interrupt_shadow(struct kvml_vcpu *vcpu, u32 mask)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->intr_state &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	vmx->shadow_rip = vcpu->rip;
	if (mask & KVM_X86_SHADOW_INT_MOV_SS)
		vmx->intr_state |= GUEST_INTR_STATE_MOV_SS;
	else if (mask & KVM_X86_SHADOW_INT_STI)
		vmx->intr_state |= GUEST_INTR_STATE_STI;
}

static void vmx_tsc_offset_changed(struct kvml_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;

	if (vmx_vcpu_get(vmx, &flags))
		return;
	vmcs_write(vmx, TSC_OFFSET, vcpu->tsc_offset);
	vmx_vcpu_put(vmx, flags);
}

const struct kvml_backend_ops kvml_vmx_ops = {
	.name = "vmx",
	.hardware_supported = vmx_hardware_supported,
	.hardware_unsetup = vmx_hardware_unsetup,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.vm_alloc = vmx_vm_alloc,
	.vm_init = vmx_vm_init,
	.vm_free = vmx_vm_free,
	.vcpu_alloc = vmx_vcpu_alloc,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_free = vmx_vcpu_free,
	.run = vmx_run,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_segment = vmx_get_segment,
	.get_cr = vmx_get_cr,
	.get_efer = vmx_get_efer,
	.get_cpl = vmx_get_cpl,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.get_interrupt_shadow = vmx_get_interrupt_shadow,
	.set_interrupt_shadow = vmx_set_interrupt_shadow,
	.tsc_offset_changed = vmx_tsc_offset_changed,
};
