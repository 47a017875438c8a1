/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite SVM backend: private state.  The backend embeds the core VM and
 * vCPU and reaches its own state with container_of().
 */
#ifndef KVMLITE_SVM_H
#define KVMLITE_SVM_H

#include <asm/svm.h>

#include "../kvmlite.h"

struct svm_vm {
	struct kvml_vm vm;
};

/* All fields are protected by the vCPU mutex (vcpu.mutex). */
struct svm_vcpu {
	struct kvml_vcpu vcpu;
	struct vmcb *vmcb;		/* immutable pointer */
	u64 vmcb_pa;			/* immutable */
	u32 asid;			/* on vcpu.last_cpu */
	u64 asid_gen;			/* that CPU's generation when assigned */
	bool virq_injected;		/* irq_vector is in V_IRQ this entry */
};

/* A virtual interrupt in int_ctl, taken whatever the guest's TPR. */
#define SVM_VIRQ_BITS	(V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK)

/* Per physical CPU, touched only by that CPU with preemption off. */
struct svm_cpu {
	struct page *hsave;		/* VM_HSAVE_PA: state VMRUN saves */
	struct page *host_save;		/* VMSAVE/VMLOAD area for host state */
	u64 host_save_pa;
	u32 next_asid;
	u32 max_asid;
	u64 asid_gen;
};

static inline struct svm_vcpu *to_svm(struct kvml_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

static inline void svm_set_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
}

static inline void svm_clr_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
}

/* svm_vmcb.c */
extern void *svm_iopm, *svm_msrpm;
int svm_permission_maps_alloc(void);
void svm_permission_maps_free(void);
void svm_vmcb_reset(struct svm_vcpu *svm);
void svm_get_segment(struct kvml_vcpu *vcpu, struct kvm_segment *s, int seg);
void svm_get_sregs(struct kvml_vcpu *vcpu, struct kvm_sregs *sregs);
int svm_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs);

/* svm_exit.c */
int svm_handle_exit(struct svm_vcpu *svm);
void svm_inject_events(struct svm_vcpu *svm);
void svm_complete_events(struct svm_vcpu *svm);

/* svm_entry.S */
void svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_save_pa);

#endif /* KVMLITE_SVM_H */
