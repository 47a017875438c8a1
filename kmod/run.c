// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite KVM_RUN: the arch-neutral run loop.  The backend enters the
 * guest once and handles the exit; the core finishes userspace exits,
 * swaps the FPU, and leaves for signals, rescheduling and the interrupt
 * window exactly where KVM does.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <asm/fpu/api.h>

#include "kvmlite.h"

/*
 * userspace irqchip: an interrupt can be queued and would be taken now.
 * Not while an exception or NMI waits to be (re)injected: it goes in first
 * and its handler starts with IF=0, so an interrupt queued now would land
 * there with interrupts off (KVM says not ready then too).
 */
bool kvml_ready_for_interrupt(struct kvml_vcpu *vcpu)
{
	return !vcpu->irq_pending && !vcpu->exception_pending &&
	       !vcpu->nmi_injected && (vcpu->rflags & X86_EFLAGS_IF) &&
	       !kvml_ops->get_interrupt_shadow(vcpu);
}

/*
 * Called by the backend with IRQs off just before entering the guest.
 * Returns 0 to enter, 1 to go round the run loop first (a signal or a
 * reschedule is due), -EIO when the hardware is going away for a reboot.
 * A signal, reschedule or reboot IPI arriving after this check is held
 * until the guest has exited, then handled.
 */
int kvml_entry_check(void)
{
	if (unlikely(READ_ONCE(kvml_rebooting)))
		return -EIO;
	return signal_pending(current) || need_resched();
}

static void kvml_post_run(struct kvml_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(vcpu->rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = kvml_ready_for_interrupt(vcpu);
	run->cr8 = kvml_ops->get_cr(vcpu, 8);
	run->apic_base = vcpu->apic_base;
	run->flags = 0;
}

static int kvml_run_loop(struct kvml_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvml_vm *vm = vcpu->vm;
	int r;

	for (;;) {
		down_read(&vm->mmu_lock);
		r = kvml_ops->run(vcpu);
		up_read(&vm->mmu_lock);
		if (r <= 0)
			return r;

		if (run->request_interrupt_window &&
		    kvml_ready_for_interrupt(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return 0;
		}
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
		cond_resched();
	}
}

int kvml_vcpu_ioctl_run(struct kvml_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	if (READ_ONCE(run->immediate_exit)) {
		run->exit_reason = KVM_EXIT_INTR;
		r = -EINTR;
		goto out;
	}

	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);
	if (vcpu->complete_userspace) {
		int (*complete)(struct kvml_vcpu *vcpu) =
			vcpu->complete_userspace;

		vcpu->complete_userspace = NULL;
		down_read(&vcpu->vm->mmu_lock);
		r = complete(vcpu);
		up_read(&vcpu->vm->mmu_lock);
		if (r <= 0)
			goto out_fpu;
	}
	r = kvml_run_loop(vcpu);
out_fpu:
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
out:
	kvml_post_run(vcpu);
	return r;
}
