// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite SVM exits: event injection before VMRUN, re-queueing what an
 * exit interrupted, and the exit handlers, dispatched by a table indexed
 * by exit code.  Handlers return > 0 to re-enter the guest, 0 to go to
 * userspace with run->exit_reason set, < 0 to fail KVM_RUN.
 */
#include <asm/msr-index.h>
#include <asm/irq_vectors.h>
#include <asm/traps.h>

#include "svm.h"

/* IRQs off, just before VMRUN: put the most urgent pending event in. */
void svm_inject_events(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	bool shadow = c->int_state & SVM_INTERRUPT_SHADOW_MASK;	/* current */

	c->int_ctl &= ~SVM_VIRQ_BITS;
	svm_clr_intercept(vmcb, INTERCEPT_VINTR);
	if (vcpu->exception_pending) {
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
			       vcpu->exception_vector;
		if (vcpu->exception_has_error) {
			c->event_inj |= SVM_EVTINJ_VALID_ERR;
			c->event_inj_err = vcpu->exception_error;
		}
		vcpu->exception_pending = false;
	} else if (vcpu->nmi_injected ||
		   (vcpu->nmi_pending && !vcpu->nmi_masked && !shadow)) {
		/* A delivery an exit interrupted goes in again regardless. */
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI |
			       X86_TRAP_NMI;
		if (!vcpu->nmi_injected)
			vcpu->nmi_pending = false;
		vcpu->nmi_injected = false;
		vcpu->nmi_masked = true;
		/* NMIs stay blocked until the guest's handler IRETs. */
		svm_set_intercept(vmcb, INTERCEPT_IRET);
	} else if (vcpu->irq_pending &&
		   (vcpu->rflags & X86_EFLAGS_IF) && !shadow) {
		/*
		 * The guest can take the interrupt: it goes in as a virtual
		 * interrupt (V_IRQ with the vector, TPR ignored), which the
		 * CPU takes before the first guest instruction, as it would
		 * an injected event.  It stays pending until the exit shows
		 * it taken (svm_complete_events()).  Not through EVENTINJ:
		 * QEMU's emulated SVM can deliver an injected interrupt a
		 * second time, inside its own handler (design.rst).
		 */
		c->int_vector = vcpu->irq_vector;
		c->int_ctl |= SVM_VIRQ_BITS;
		svm->virq_injected = true;
	} else if (vcpu->irq_pending) {
		/* As KVM does: in it goes, IF or not; IF is the client's. */
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR |
			       vcpu->irq_vector;
		vcpu->irq_pending = false;
	}

	/*
	 * Ask for a VINTR exit once the guest can take an interrupt: for the
	 * client, or for a queued one an exception or NMI went in ahead of.
	 */
	if ((vcpu->run->request_interrupt_window || vcpu->irq_pending) &&
	    !svm->virq_injected) {
		c->int_ctl |= SVM_VIRQ_BITS;
		svm_set_intercept(vmcb, INTERCEPT_VINTR);
	}
}

/*
 * After an exit: the interrupt put in as V_IRQ was taken unless V_IRQ is
 * still set; an event whose delivery the exit cut short goes in again on
 * the next entry.
 */
void svm_complete_events(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;
	u32 type;

	if (svm->virq_injected) {
		svm->virq_injected = false;
		if (!(c->int_ctl & V_IRQ_MASK))
			vcpu->irq_pending = false;
		c->int_ctl &= ~SVM_VIRQ_BITS;
	}
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	type = info & SVM_EXITINTINFO_TYPE_MASK;
	/*
	 * QEMU reports an interrupt it was delivering from V_IRQ as an
	 * exception; no exception has a vector past 31.
	 */
	if (type == SVM_EXITINTINFO_TYPE_EXEPT && vector >= FIRST_EXTERNAL_VECTOR)
		type = SVM_EXITINTINFO_TYPE_INTR;
	switch (type) {
	case SVM_EXITINTINFO_TYPE_NMI:
		vcpu->nmi_injected = true;
		break;
	case SVM_EXITINTINFO_TYPE_EXEPT:
		/* INT3 and INTO are re-executed, not re-injected. */
		if (vector == X86_TRAP_BP || vector == X86_TRAP_OF)
			break;
		kvml_queue_exception(vcpu, vector,
				     info & SVM_EXITINTINFO_VALID_ERR,
				     c->exit_int_info_err);
		break;
	case SVM_EXITINTINFO_TYPE_INTR:
		vcpu->irq_vector = vector;
		vcpu->irq_pending = true;
		break;
	default:
		/* INTn: the instruction runs again. */
		break;
	}
}

static int svm_skip(struct kvml_vcpu *vcpu, unsigned int len)
{
	vcpu->rip += len;
	return 1;
}

static int svm_exit_continue(struct svm_vcpu *svm)
{
	return 1;
}

static int svm_exit_ud(struct svm_vcpu *svm)
{
	kvml_inject_ud(&svm->vcpu);
	return 1;
}

static int svm_exit_gp(struct svm_vcpu *svm)
{
	kvml_inject_gp(&svm->vcpu);
	return 1;
}

/* An intercepted #AC goes back to the guest: its error code is 0. */
static int svm_exit_ac(struct svm_vcpu *svm)
{
	kvml_queue_exception(&svm->vcpu, AC_VECTOR, true, 0);
	return 1;
}

static int svm_exit_vintr(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;

	vmcb->control.int_ctl &= ~SVM_VIRQ_BITS;
	svm_clr_intercept(vmcb, INTERCEPT_VINTR);
	return 1;
}

static int svm_exit_iret(struct svm_vcpu *svm)
{
	svm->vcpu.nmi_masked = false;
	svm_clr_intercept(svm->vmcb, INTERCEPT_IRET);
	return 1;
}

static int svm_exit_cpuid(struct svm_vcpu *svm)
{
	return kvml_handle_cpuid(&svm->vcpu);
}

static int svm_exit_hlt(struct svm_vcpu *svm)
{
	svm->vcpu.rip += 1;
	svm->vcpu.run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

static int svm_exit_pause(struct svm_vcpu *svm)
{
	return svm_skip(&svm->vcpu, 2);
}

static int svm_exit_invd_wbinvd(struct svm_vcpu *svm)
{
	/* Caches are coherent for the guest: INVD acts as WBINVD, a no-op. */
	return svm_skip(&svm->vcpu, 2);
}

static int svm_exit_ioio(struct svm_vcpu *svm)
{
	u32 info = svm->vmcb->control.exit_info_1;
	struct kvml_pio pio = {
		.port = info >> 16,
		.in = info & SVM_IOIO_TYPE_MASK,
		.string = info & SVM_IOIO_STR_MASK,
		.rep = info & SVM_IOIO_REP_MASK,
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.addr_size = ((info & SVM_IOIO_ASIZE_MASK) >>
			      SVM_IOIO_ASIZE_SHIFT) * 2,
		.next_rip = svm->vmcb->control.exit_info_2,
	};

	return kvml_handle_pio(&svm->vcpu, &pio);
}

static int svm_exit_msr(struct svm_vcpu *svm)
{
	if (svm->vmcb->control.exit_info_1)
		return kvml_handle_wrmsr(&svm->vcpu);
	return kvml_handle_rdmsr(&svm->vcpu);
}

static int svm_exit_rdtscp(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;
	u64 tsc = rdtsc() + vcpu->tsc_offset;

	vcpu->regs[VCPU_RAX] = (u32)tsc;
	vcpu->regs[VCPU_RDX] = tsc >> 32;
	vcpu->regs[VCPU_RCX] = (u32)vcpu->tsc_aux;
	return svm_skip(vcpu, 3);
}

static int svm_exit_xsetbv(struct svm_vcpu *svm)
{
	return kvml_handle_xsetbv(&svm->vcpu);
}

static int svm_exit_dr(struct svm_vcpu *svm)
{
	return kvml_emulate_mov_dr(&svm->vcpu);
}

static int svm_exit_shutdown(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;

	/* The VMCB is undefined after a shutdown: back to power-on state. */
	svm_vmcb_reset(svm);
	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[VCPU_RDX] = 0x600;
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int svm_exit_npf(struct svm_vcpu *svm)
{
	struct kvml_vcpu *vcpu = &svm->vcpu;
	u64 gpa = svm->vmcb->control.exit_info_2;
	u64 error = svm->vmcb->control.exit_info_1;
	bool write = error & BIT(1);	/* #PF error code W bit */
	struct kvml_memslot *slot;
	int r;

	slot = kvml_gfn_to_slot(vcpu->vm, gpa >> PAGE_SHIFT);
	if (slot && !(write && (slot->flags & KVM_MEM_READONLY))) {
		r = kvml_npt_map(vcpu->vm, slot, gpa);
		return r ? r : 1;
	}
	return kvml_emulate_mmio(vcpu, gpa);
}

typedef int (*svm_exit_handler)(struct svm_vcpu *svm);

static const svm_exit_handler svm_exit_handlers[] = {
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_WRITE_DR7] = svm_exit_dr,
	[SVM_EXIT_EXCP_BASE + AC_VECTOR] = svm_exit_ac,
	[SVM_EXIT_INTR] = svm_exit_continue,
	[SVM_EXIT_NMI] = svm_exit_continue,
	[SVM_EXIT_SMI] = svm_exit_continue,
	[SVM_EXIT_INIT] = svm_exit_continue,
	[SVM_EXIT_VINTR] = svm_exit_vintr,
	[SVM_EXIT_RDPMC] = svm_exit_gp,
	[SVM_EXIT_CPUID] = svm_exit_cpuid,
	[SVM_EXIT_IRET] = svm_exit_iret,
	[SVM_EXIT_INVD] = svm_exit_invd_wbinvd,
	[SVM_EXIT_PAUSE] = svm_exit_pause,
	[SVM_EXIT_HLT] = svm_exit_hlt,
	[SVM_EXIT_INVLPGA] = svm_exit_ud,
	[SVM_EXIT_IOIO] = svm_exit_ioio,
	[SVM_EXIT_MSR] = svm_exit_msr,
	[SVM_EXIT_SHUTDOWN] = svm_exit_shutdown,
	[SVM_EXIT_VMRUN] = svm_exit_ud,
	[SVM_EXIT_VMMCALL] = svm_exit_ud,
	[SVM_EXIT_VMLOAD] = svm_exit_ud,
	[SVM_EXIT_VMSAVE] = svm_exit_ud,
	[SVM_EXIT_STGI] = svm_exit_ud,
	[SVM_EXIT_CLGI] = svm_exit_ud,
	[SVM_EXIT_SKINIT] = svm_exit_ud,
	[SVM_EXIT_RDTSCP] = svm_exit_rdtscp,
	[SVM_EXIT_WBINVD] = svm_exit_invd_wbinvd,
	[SVM_EXIT_MONITOR] = svm_exit_ud,
	[SVM_EXIT_MWAIT] = svm_exit_ud,
	[SVM_EXIT_XSETBV] = svm_exit_xsetbv,
	[SVM_EXIT_RDPRU] = svm_exit_ud,
};

int svm_handle_exit(struct svm_vcpu *svm)
{
	struct kvm_run *run = svm->vcpu.run;
	u32 code = svm->vmcb->control.exit_code;
	svm_exit_handler handler = NULL;

	if (code == (u32)SVM_EXIT_ERR) {
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = code;
		run->fail_entry.cpu = svm->vcpu.last_cpu;
		return 0;
	}
	if (code == SVM_EXIT_NPF)
		return svm_exit_npf(svm);
	if (code < ARRAY_SIZE(svm_exit_handlers))
		handler = svm_exit_handlers[code];
	if (handler)
		return handler(svm);

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = code;
	run->internal.data[1] = svm->vcpu.last_cpu;
	return 0;
}
