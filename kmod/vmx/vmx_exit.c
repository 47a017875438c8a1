// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite VMX exits: event injection before the entry, re-queueing what
 * an exit interrupted, and the exit handlers, dispatched by a table
 * indexed by basic exit reason.  Handlers return > 0 to re-enter the
 * guest, 0 to go to userspace with run->exit_reason set, < 0 to fail
 * KVM_RUN.
 */
#include <asm/msr-index.h>
#include <asm/traps.h>

#include "vmx.h"

/* The STI and MOV-SS shadow as the entry will see it. */
static bool vmx_shadow(struct vmx_vcpu *vmx)
{
	u32 intr = vmx->intr_state;

	if (!(vmx->vcpu.rflags & X86_EFLAGS_IF))
		intr &= ~GUEST_INTR_STATE_STI;
	return intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
}

/*
 * IRQs off, VMCS current, just before the entry: put the most urgent
 * pending event in, and ask for an exit when one that has to wait (or a
 * window userspace asked for) can be taken.
 */
void vmx_inject_events(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	bool shadow = vmx_shadow(vmx);
	u32 ctl, info = 0;

	if (vcpu->exception_pending) {
		info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
		       vcpu->exception_vector;
		/* Real mode pushes no error code; VM entry insists. */
		if (vcpu->exception_has_error &&
		    (vmx_guest_cr0(vmx) & X86_CR0_PE)) {
			info |= INTR_INFO_DELIVER_CODE_MASK;
			vmcs_write(vmx, VM_ENTRY_EXCEPTION_ERROR_CODE,
				   vcpu->exception_error);
		}
		vcpu->exception_pending = false;
	} else if (vcpu->nmi_injected ||
		   (vcpu->nmi_pending && !vcpu->nmi_masked && !shadow)) {
		/*
		 * A delivery an exit interrupted goes in again regardless.
		 * The CPU blocks NMIs until the guest's handler IRETs; VM
		 * entry wants no NMI or MOV-SS blocking for the injection.
		 */
		info = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | X86_TRAP_NMI;
		if (!vcpu->nmi_injected)
			vcpu->nmi_pending = false;
		vcpu->nmi_injected = false;
		vcpu->nmi_masked = false;
		vmx->intr_state &= ~GUEST_INTR_STATE_MOV_SS;
	} else if (vcpu->irq_pending && (vcpu->rflags & X86_EFLAGS_IF) &&
		   !shadow) {
		info = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR |
		       vcpu->irq_vector;
		vcpu->irq_pending = false;
	}
	vmcs_write(vmx, VM_ENTRY_INTR_INFO_FIELD, info);

	ctl = vmx_cfg.cpu;
	if (vcpu->nmi_pending)
		ctl |= CPU_BASED_NMI_WINDOW_EXITING;
	if (vcpu->irq_pending || vcpu->run->request_interrupt_window)
		ctl |= CPU_BASED_INTR_WINDOW_EXITING;
	if (ctl != vmx->cpu_ctl) {
		vmcs_write(vmx, CPU_BASED_VM_EXEC_CONTROL, ctl);
		vmx->cpu_ctl = ctl;
	}
}

/* An exit during event delivery: deliver it again on the next entry. */
void vmx_requeue_interrupted_event(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u32 info = vmx->idt_info;
	u8 vector = info & VECTORING_INFO_VECTOR_MASK;

	if (!(info & VECTORING_INFO_VALID_MASK)) {
		/*
		 * An IRET that unblocked NMIs faulted (EPT violation): it
		 * runs again, and NMIs stay blocked until it completes.
		 */
		if (vmx->exit_reason == EXIT_REASON_EPT_VIOLATION &&
		    (vmx->exit_qual & INTR_INFO_UNBLOCK_NMI)) {
			vmx->intr_state |= GUEST_INTR_STATE_NMI;
			vcpu->nmi_masked = true;
		}
		return;
	}
	switch (info & VECTORING_INFO_TYPE_MASK) {
	case INTR_TYPE_NMI_INTR:
		vcpu->nmi_injected = true;
		vcpu->nmi_masked = false;
		break;
	case INTR_TYPE_HARD_EXCEPTION:
		kvml_queue_exception(vcpu, vector,
				     info & VECTORING_INFO_DELIVER_CODE_MASK,
				     vmx->idt_error);
		break;
	case INTR_TYPE_EXT_INTR:
		vcpu->irq_vector = vector;
		vcpu->irq_pending = true;
		break;
	default:
		/* INTn, INT3, INTO, INT1: the instruction runs again. */
		break;
	}
}

static int vmx_skip(struct vmx_vcpu *vmx)
{
	vmx->vcpu.rip += vmx->insn_len;
	return 1;
}

static int vmx_exit_continue(struct vmx_vcpu *vmx)
{
	return 1;
}

static int vmx_exit_ud(struct vmx_vcpu *vmx)
{
	kvml_inject_ud(&vmx->vcpu);
	return 1;
}

static int vmx_exit_gp(struct vmx_vcpu *vmx)
{
	kvml_inject_gp(&vmx->vcpu);
	return 1;
}

/*
 * A host NMI (handled at the exit) or an intercepted exception (#AC),
 * which goes back to the guest with its error code.
 */
static int vmx_exit_exception(struct vmx_vcpu *vmx)
{
	u32 info = vmx->exit_intr_info;
	u32 error = 0;

	if ((info & INTR_INFO_INTR_TYPE_MASK) != INTR_TYPE_HARD_EXCEPTION)
		return 1;
	if (info & INTR_INFO_DELIVER_CODE_MASK)
		error = vmcs_read(vmx, VM_EXIT_INTR_ERROR_CODE);
	kvml_queue_exception(&vmx->vcpu, info & INTR_INFO_VECTOR_MASK,
			     info & INTR_INFO_DELIVER_CODE_MASK, error);
	return 1;
}

static int vmx_exit_triple_fault(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	unsigned long flags;

	/* As the SVM backend: back to the power-on state. */
	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	vmx_guest_reset(vmx);
	vmx_vcpu_put(vmx, flags);
	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[VCPU_RDX] = 0x600;
	vcpu->exception_pending = false;
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int vmx_exit_task_switch(struct vmx_vcpu *vmx)
{
	/* Hardware task switches are not emulated. */
	return kvml_exit_internal_error(&vmx->vcpu,
					KVM_INTERNAL_ERROR_EMULATION);
}

static int vmx_exit_cpuid(struct vmx_vcpu *vmx)
{
	return kvml_handle_cpuid(&vmx->vcpu);
}

static int vmx_exit_hlt(struct vmx_vcpu *vmx)
{
	vmx_skip(vmx);
	vmx->vcpu.run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/* MOV to and from CR0, CR3, CR4 and CR8, CLTS, LMSW. */
static int vmx_exit_cr(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u64 qual = vmx->exit_qual;
	int cr = qual & CONTROL_REG_ACCESS_NUM;
	int type = (qual & CONTROL_REG_ACCESS_TYPE) >> 4;
	int reg = (qual & CONTROL_REG_ACCESS_REG) >> 8;
	u64 val = vcpu->regs[reg], cr0;
	bool long_mode;
	unsigned long flags;
	int r = 0;

	if (cr == 8) {
		if (type == 1) {
			vcpu->regs[reg] = vmx->cr8;
		} else if (type == 0) {
			if (val & ~0xfULL) {
				kvml_inject_gp(vcpu);
				return 1;
			}
			vmx->cr8 = val;
		}
		return vmx_skip(vmx);
	}

	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	long_mode = (vmcs_read(vmx, GUEST_IA32_EFER) & EFER_LMA) &&
		    (vmcs_read(vmx, GUEST_CS_AR_BYTES) & VMX_AR_L_MASK);
	if (!long_mode)
		val = (u32)val;
	cr0 = vmx_guest_cr0(vmx);
	switch (type) {
	case 0:		/* MOV to CR */
		if (cr == 0) {
			r = vmx_set_cr0(vmx, val, false);
		} else if (cr == 4) {
			r = vmx_set_cr4(vmx, val, false);
		} else if (cr == 3) {
			vmcs_write(vmx, GUEST_CR3, val);
			vmx->flush = true;
		}
		break;
	case 1:		/* MOV from CR: only CR3 can exit */
		vcpu->regs[reg] = vmcs_read(vmx, GUEST_CR3);
		break;
	case 2:		/* CLTS */
		r = vmx_set_cr0(vmx, cr0 & ~X86_CR0_TS, false);
		break;
	default:	/* LMSW: sets PE but cannot clear it */
		val = (qual >> LMSW_SOURCE_DATA_SHIFT) & 0xf;
		r = vmx_set_cr0(vmx, (cr0 & ~0xeULL) | val, false);
		break;
	}
	vmx_vcpu_put(vmx, flags);
	if (vmx->failed)
		return -EIO;
	if (r) {
		kvml_inject_gp(vcpu);
		return 1;
	}
	if (type != 1)
		vmx_load_pdptrs(vmx);
	return vmx_skip(vmx);
}

static int vmx_exit_dr(struct vmx_vcpu *vmx)
{
	return kvml_emulate_mov_dr(&vmx->vcpu);
}

static int vmx_exit_io(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	u64 qual = vmx->exit_qual;
	struct kvml_pio pio = {
		.port = qual >> 16,
		.size = (qual & 7) + 1,
		.in = qual & BIT(3),
		.string = qual & BIT(4),
		.rep = qual & BIT(5),
		.next_rip = vcpu->rip + vmx->insn_len,
	};
	unsigned long flags;

	if (pio.string) {
		if (vmx_cfg.ins_outs_info) {
			if (vmx_vcpu_get(vmx, &flags))
				return -EIO;
			/* Bits 9:7: 0, 1, 2 for 16, 32, 64-bit addresses. */
			pio.addr_size = 2 << ((vmcs_read(vmx, VMX_INSTRUCTION_INFO)
					       >> 7) & 3);
			vmx_vcpu_put(vmx, flags);
		} else {
			pio.addr_size = kvml_code_size(vcpu);
		}
	}
	return kvml_handle_pio(vcpu, &pio);
}

static int vmx_exit_rdmsr(struct vmx_vcpu *vmx)
{
	return kvml_handle_rdmsr(&vmx->vcpu);
}

static int vmx_exit_wrmsr(struct vmx_vcpu *vmx)
{
	return kvml_handle_wrmsr(&vmx->vcpu);
}

static int vmx_exit_xsetbv(struct vmx_vcpu *vmx)
{
	return kvml_handle_xsetbv(&vmx->vcpu);
}

static int vmx_exit_ept_violation(struct vmx_vcpu *vmx)
{
	struct kvml_vcpu *vcpu = &vmx->vcpu;
	bool write = vmx->exit_qual & EPT_VIOLATION_ACC_WRITE;
	struct kvml_memslot *slot;
	unsigned long flags;
	u64 gpa;
	int r;

	if (vmx_vcpu_get(vmx, &flags))
		return -EIO;
	gpa = vmcs_read(vmx, GUEST_PHYSICAL_ADDRESS);
	vmx_vcpu_put(vmx, flags);

	slot = kvml_gfn_to_slot(vcpu->vm, gpa >> PAGE_SHIFT);
	if (slot && !(write && (slot->flags & KVM_MEM_READONLY))) {
		r = kvml_npt_map(vcpu->vm, slot, gpa);
		return r ? r : 1;
	}
	return kvml_emulate_mmio(vcpu, gpa);
}

/* Our EPT entries are never misconfigured: a bug, not the guest's. */
static int vmx_exit_ept_misconfig(struct vmx_vcpu *vmx)
{
	struct kvm_run *run = vmx->vcpu.run;
	unsigned long flags;
	u64 gpa = 0;

	if (!vmx_vcpu_get(vmx, &flags)) {
		gpa = vmcs_read(vmx, GUEST_PHYSICAL_ADDRESS);
		vmx_vcpu_put(vmx, flags);
	}
	pr_err_ratelimited("kvmlite: EPT misconfiguration at 0x%llx\n", gpa);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = EXIT_REASON_EPT_MISCONFIG;
	run->internal.data[1] = gpa;
	return 0;
}

typedef int (*vmx_exit_handler)(struct vmx_vcpu *vmx);

static const vmx_exit_handler vmx_exit_handlers[] = {
	[EXIT_REASON_EXCEPTION_NMI] = vmx_exit_exception,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = vmx_exit_continue,
	[EXIT_REASON_TRIPLE_FAULT] = vmx_exit_triple_fault,
	[EXIT_REASON_INIT_SIGNAL] = vmx_exit_continue,
	[EXIT_REASON_SIPI_SIGNAL] = vmx_exit_continue,
	[EXIT_REASON_INTERRUPT_WINDOW] = vmx_exit_continue,
	[EXIT_REASON_NMI_WINDOW] = vmx_exit_continue,
	[EXIT_REASON_TASK_SWITCH] = vmx_exit_task_switch,
	[EXIT_REASON_CPUID] = vmx_exit_cpuid,
	[EXIT_REASON_HLT] = vmx_exit_hlt,
	[EXIT_REASON_INVD] = vmx_skip,
	[EXIT_REASON_RDPMC] = vmx_exit_gp,
	[EXIT_REASON_VMCALL] = vmx_exit_ud,
	[EXIT_REASON_VMCLEAR] = vmx_exit_ud,
	[EXIT_REASON_VMLAUNCH] = vmx_exit_ud,
	[EXIT_REASON_VMPTRLD] = vmx_exit_ud,
	[EXIT_REASON_VMPTRST] = vmx_exit_ud,
	[EXIT_REASON_VMREAD] = vmx_exit_ud,
	[EXIT_REASON_VMRESUME] = vmx_exit_ud,
	[EXIT_REASON_VMWRITE] = vmx_exit_ud,
	[EXIT_REASON_VMOFF] = vmx_exit_ud,
	[EXIT_REASON_VMON] = vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS] = vmx_exit_cr,
	[EXIT_REASON_DR_ACCESS] = vmx_exit_dr,
	[EXIT_REASON_IO_INSTRUCTION] = vmx_exit_io,
	[EXIT_REASON_MSR_READ] = vmx_exit_rdmsr,
	[EXIT_REASON_MSR_WRITE] = vmx_exit_wrmsr,
	[EXIT_REASON_MWAIT_INSTRUCTION] = vmx_exit_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION] = vmx_exit_ud,
	[EXIT_REASON_PAUSE_INSTRUCTION] = vmx_skip,
	[EXIT_REASON_EPT_VIOLATION] = vmx_exit_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = vmx_exit_ept_misconfig,
	[EXIT_REASON_INVEPT] = vmx_exit_ud,
	[EXIT_REASON_INVVPID] = vmx_exit_ud,
	[EXIT_REASON_WBINVD] = vmx_skip,
	[EXIT_REASON_XSETBV] = vmx_exit_xsetbv,
	[EXIT_REASON_PREEMPTION_TIMER] = vmx_exit_continue,
	[EXIT_REASON_VMFUNC] = vmx_exit_ud,
};

int vmx_handle_exit(struct vmx_vcpu *vmx)
{
	struct kvm_run *run = vmx->vcpu.run;
	u32 reason = vmx->exit_reason;
	vmx_exit_handler handler = NULL;

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		/* Bit 31 and the basic reason: 33 guest state, 34 MSR load. */
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = reason;
		run->fail_entry.cpu = vmx->vcpu.last_cpu;
		return 0;
	}
	reason &= 0xffff;
	if (reason < ARRAY_SIZE(vmx_exit_handlers))
		handler = vmx_exit_handlers[reason];
	if (handler)
		return handler(vmx);

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = vmx->exit_reason;
	run->internal.data[1] = vmx->vcpu.last_cpu;
	return 0;
}
