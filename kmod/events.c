// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite guest events: exceptions the core raises, the internal-error
 * exit, and KVM_GET/SET_VCPU_EVENTS.  The backend injects what is pending
 * here on the next entry.
 */
#include <linux/uaccess.h>
#include <asm/traps.h>

#include "kvmlite.h"

#define KVML_EVENTS_VALID_FLAGS	(KVM_VCPUEVENT_VALID_NMI_PENDING | \
				 KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
				 KVM_VCPUEVENT_VALID_SHADOW | \
				 KVM_VCPUEVENT_VALID_SMM)

void kvml_queue_exception(struct kvml_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error)
{
	vcpu->exception_pending = true;
	vcpu->exception_vector = vector;
	vcpu->exception_has_error = has_error;
	vcpu->exception_error = error;
}

void kvml_inject_gp(struct kvml_vcpu *vcpu)
{
	kvml_queue_exception(vcpu, GP_VECTOR, true, 0);
}

void kvml_inject_ud(struct kvml_vcpu *vcpu)
{
	kvml_queue_exception(vcpu, UD_VECTOR, false, 0);
}

/* End KVM_RUN with KVM_EXIT_INTERNAL_ERROR; returns 0 (to userspace). */
int kvml_exit_internal_error(struct kvml_vcpu *vcpu, u32 suberror)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 1;
	run->internal.data[0] = vcpu->rip;
	return 0;
}

int kvml_get_vcpu_events(struct kvml_vcpu *vcpu, void __user *argp)
{
	struct kvm_vcpu_events ev = {};

	ev.exception.injected = vcpu->exception_pending;
	ev.exception.nr = vcpu->exception_vector;
	ev.exception.has_error_code = vcpu->exception_has_error;
	ev.exception.error_code = vcpu->exception_error;
	ev.interrupt.injected = vcpu->irq_pending;
	ev.interrupt.nr = vcpu->irq_vector;
	ev.interrupt.shadow = kvml_ops->get_interrupt_shadow(vcpu);
	ev.nmi.injected = vcpu->nmi_injected;
	ev.nmi.pending = vcpu->nmi_pending;
	ev.nmi.masked = vcpu->nmi_masked;
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		   KVM_VCPUEVENT_VALID_SMM;
	return copy_to_user(argp, &ev, sizeof(ev)) ? -EFAULT : 0;
}

int kvml_set_vcpu_events(struct kvml_vcpu *vcpu, void __user *argp)
{
	struct kvm_vcpu_events ev;
	bool exception;

	if (copy_from_user(&ev, argp, sizeof(ev)))
		return -EFAULT;
	if (ev.flags & ~KVML_EVENTS_VALID_FLAGS)
		return -EINVAL;
	exception = ev.exception.injected || ev.exception.pending;
	if (exception && (ev.exception.nr > 31 || ev.exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	/* No SMM: nothing may claim to be in it or to have an SMI pending. */
	if ((ev.flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (ev.smi.smm || ev.smi.pending))
		return -EINVAL;

	vcpu->exception_pending = exception;
	vcpu->exception_vector = ev.exception.nr;
	vcpu->exception_has_error = ev.exception.has_error_code;
	vcpu->exception_error = ev.exception.error_code;
	vcpu->irq_pending = ev.interrupt.injected;
	vcpu->irq_vector = ev.interrupt.nr;
	if (ev.flags & KVM_VCPUEVENT_VALID_SHADOW)
		kvml_ops->set_interrupt_shadow(vcpu, ev.interrupt.shadow);
	if (ev.flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->nmi_pending = ev.nmi.pending;
	vcpu->nmi_injected = ev.nmi.injected;
	vcpu->nmi_masked = ev.nmi.masked;
	return 0;
}
