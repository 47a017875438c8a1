// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite vCPU objects: creation, the vCPU file descriptor, its mmapped
 * kvm_run and PIO pages, and the state ioctls.  KVM_RUN is in run.c.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>

#include "kvmlite.h"

/* Exported by the x86 FPU code, declared only in its private header. */
extern u32 mxcsr_feature_mask;

static vm_fault_t kvml_vcpu_fault(struct vm_fault *vmf)
{
	struct kvml_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVML_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kvml_vcpu_vm_ops = {
	.fault = kvml_vcpu_fault,
};

static int kvml_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &kvml_vcpu_vm_ops;
	return 0;
}

static int kvml_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvml_vcpu *vcpu = filp->private_data;

	kvml_vm_put(vcpu->vm);
	return 0;
}

void kvml_vcpu_mark_dead(struct kvml_vcpu *vcpu, const char *why)
{
	if (!vcpu->dead)
		pr_warn_ratelimited("kvmlite: vCPU %u of pid %d is dead: %s\n",
				    vcpu->id, task_tgid_nr(current), why);
	vcpu->dead = true;
}

static void kvml_get_regs(struct kvml_vcpu *vcpu, struct kvm_regs *r)
{
	const u64 *g = vcpu->regs;

	r->rax = g[VCPU_RAX];
	r->rbx = g[VCPU_RBX];
	r->rcx = g[VCPU_RCX];
	r->rdx = g[VCPU_RDX];
	r->rsi = g[VCPU_RSI];
	r->rdi = g[VCPU_RDI];
	r->rsp = g[VCPU_RSP];
	r->rbp = g[VCPU_RBP];
	r->r8 = g[VCPU_R8];
	r->r9 = g[VCPU_R9];
	r->r10 = g[VCPU_R10];
	r->r11 = g[VCPU_R11];
	r->r12 = g[VCPU_R12];
	r->r13 = g[VCPU_R13];
	r->r14 = g[VCPU_R14];
	r->r15 = g[VCPU_R15];
	r->rip = vcpu->rip;
	r->rflags = vcpu->rflags;
}

static void kvml_set_regs(struct kvml_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[VCPU_RAX] = r->rax;
	g[VCPU_RBX] = r->rbx;
	g[VCPU_RCX] = r->rcx;
	g[VCPU_RDX] = r->rdx;
	g[VCPU_RSI] = r->rsi;
	g[VCPU_RDI] = r->rdi;
	g[VCPU_RSP] = r->rsp;
	g[VCPU_RBP] = r->rbp;
	g[VCPU_R8] = r->r8;
	g[VCPU_R9] = r->r9;
	g[VCPU_R10] = r->r10;
	g[VCPU_R11] = r->r11;
	g[VCPU_R12] = r->r12;
	g[VCPU_R13] = r->r13;
	g[VCPU_R14] = r->r14;
	g[VCPU_R15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 always reads as 1; a pending exception is dropped, as KVM. */
	vcpu->rflags = r->rflags | X86_EFLAGS_FIXED;
	vcpu->exception_pending = false;
}

#define KVML_CR4_RESERVED	(~(u64)(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
				X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
				X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
				X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
				X86_CR4_UMIP | X86_CR4_FSGSBASE | \
				X86_CR4_PCIDE | X86_CR4_OSXSAVE | \
				X86_CR4_SMEP | X86_CR4_SMAP))

/* The consistency rules KVM_SET_SREGS applies before touching anything. */
static bool kvml_sregs_valid(const struct kvm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> boot_cpu_data.x86_phys_bits)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	if (s->cr4 & KVML_CR4_RESERVED)
		return false;
	if (s->cr0 >> 32)
		return false;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	return true;
}

int kvml_set_sregs(struct kvml_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	unsigned int vec;
	int r;

	if (!kvml_sregs_valid(sregs))
		return -EINVAL;
	r = kvml_ops->set_sregs(vcpu, sregs);
	if (r)
		return r;
	vcpu->apic_base = sregs->apic_base;
	vec = find_first_bit((const unsigned long *)sregs->interrupt_bitmap,
			     256);
	if (vec < 256) {
		vcpu->irq_vector = vec;
		vcpu->irq_pending = true;
	}
	return 0;
}

static struct fxregs_state *kvml_fxsave(struct kvml_vcpu *vcpu)
{
	return &vcpu->guest_fpu.fpstate->regs.fxsave;
}

static void kvml_get_fpu(struct kvml_vcpu *vcpu, struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = kvml_fxsave(vcpu);

	memset(fpu, 0, sizeof(*fpu));
	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
}

static int kvml_set_fpu(struct kvml_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = kvml_fxsave(vcpu);

	/* A reserved MXCSR bit would fault when the state is loaded. */
	if (fpu->mxcsr & ~mxcsr_feature_mask)
		return -EINVAL;
	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	fx->mxcsr = fpu->mxcsr;
	/* Make XRSTOR take the legacy area rather than the init state. */
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		vcpu->guest_fpu.fpstate->regs.xsave.header.xfeatures |=
			XFEATURE_MASK_FPSSE;
	return 0;
}

static int kvml_vcpu_interrupt(struct kvml_vcpu *vcpu,
			       struct kvm_interrupt __user *uirq)
{
	struct kvm_interrupt irq;

	if (copy_from_user(&irq, uirq, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= 256)
		return -EINVAL;
	/* With the irqchip in userspace a second call replaces the first. */
	vcpu->irq_vector = irq.irq;
	vcpu->irq_pending = true;
	return 0;
}

static int kvml_get_mp_state(struct kvml_vcpu *vcpu, void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = vcpu->mp_state };

	return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
}

static int kvml_set_mp_state(struct kvml_vcpu *vcpu, void __user *argp)
{
	struct kvm_mp_state mp;

	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	/* Without an in-kernel local APIC, KVM only takes RUNNABLE. */
	if (mp.mp_state != KVM_MP_STATE_RUNNABLE)
		return -EINVAL;
	vcpu->mp_state = mp.mp_state;
	return 0;
}

/* The state ioctls: all take a struct, copied in or out whole. */
static long kvml_vcpu_state_ioctl(struct kvml_vcpu *vcpu, unsigned int ioctl,
				  void __user *argp)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
	} *u;
	long r;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	switch (ioctl) {
	case KVM_GET_REGS:
		kvml_get_regs(vcpu, &u->regs);
		r = copy_to_user(argp, &u->regs, sizeof(u->regs)) ? -EFAULT : 0;
		break;
	case KVM_SET_REGS:
		r = -EFAULT;
		if (!copy_from_user(&u->regs, argp, sizeof(u->regs))) {
			kvml_set_regs(vcpu, &u->regs);
			r = 0;
		}
		break;
	case KVM_GET_SREGS:
		kvml_ops->get_sregs(vcpu, &u->sregs);
		if (vcpu->irq_pending)
			__set_bit(vcpu->irq_vector,
				  (unsigned long *)u->sregs.interrupt_bitmap);
		r = copy_to_user(argp, &u->sregs, sizeof(u->sregs)) ?
			-EFAULT : 0;
		break;
	case KVM_SET_SREGS:
		r = -EFAULT;
		if (!copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			r = kvml_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		kvml_get_fpu(vcpu, &u->fpu);
		r = copy_to_user(argp, &u->fpu, sizeof(u->fpu)) ? -EFAULT : 0;
		break;
	case KVM_SET_FPU:
		r = -EFAULT;
		if (!copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			r = kvml_set_fpu(vcpu, &u->fpu);
		break;
	default:
		r = -EINVAL;
	}
	kfree(u);
	return r;
}

static long kvml_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct kvml_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	if (vcpu->vm->mm != current->mm || READ_ONCE(vcpu->vm->dead))
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	if (vcpu->dead) {
		r = -EIO;
		goto out;
	}

	switch (ioctl) {
	case KVM_RUN:
		r = arg ? -EINVAL : kvml_vcpu_ioctl_run(vcpu);
		break;
	case KVM_GET_REGS:
	case KVM_SET_REGS:
	case KVM_GET_SREGS:
	case KVM_SET_SREGS:
	case KVM_GET_FPU:
	case KVM_SET_FPU:
		r = kvml_vcpu_state_ioctl(vcpu, ioctl, argp);
		break;
	case KVM_GET_MSRS:
		r = kvml_vcpu_ioctl_msrs(vcpu, argp, false);
		break;
	case KVM_SET_MSRS:
		r = kvml_vcpu_ioctl_msrs(vcpu, argp, true);
		break;
	case KVM_SET_CPUID2:
		r = kvml_set_cpuid2(vcpu, argp);
		break;
	case KVM_GET_CPUID2:
		r = kvml_get_cpuid2(vcpu, argp);
		break;
	case KVM_INTERRUPT:
		r = kvml_vcpu_interrupt(vcpu, argp);
		break;
	case KVM_NMI:
		vcpu->nmi_pending = true;
		r = 0;
		break;
	case KVM_GET_MP_STATE:
		r = kvml_get_mp_state(vcpu, argp);
		break;
	case KVM_SET_MP_STATE:
		r = kvml_set_mp_state(vcpu, argp);
		break;
	case KVM_GET_VCPU_EVENTS:
		r = kvml_get_vcpu_events(vcpu, argp);
		break;
	case KVM_SET_VCPU_EVENTS:
		r = kvml_set_vcpu_events(vcpu, argp);
		break;
	default:
		r = -EINVAL;
	}
out:
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations kvml_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = kvml_vcpu_release,
	.unlocked_ioctl = kvml_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kvml_vcpu_mmap,
	.llseek = noop_llseek,
};

/* Free a vCPU that is no longer reachable from userspace. */
void kvml_vcpu_destroy(struct kvml_vcpu *vcpu)
{
	kvfree(vcpu->cpuid);
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kvml_ops->vcpu_free(vcpu);
}

static struct kvml_vcpu *kvml_vcpu_alloc(struct kvml_vm *vm, u32 id)
{
	struct kvml_vcpu *vcpu;

	vcpu = kvml_ops->vcpu_alloc();
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->last_cpu = -1;
	mutex_init(&vcpu->mutex);
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->rip = 0xfff0;
	vcpu->regs[VCPU_RDX] = 0x600;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data)
		goto fail;
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto fail;
	kvml_msr_reset(vcpu);
	if (kvml_ops->vcpu_init(vcpu)) {
		fpu_free_guest_fpstate(&vcpu->guest_fpu);
		goto fail;
	}
	return vcpu;
fail:
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kvml_ops->vcpu_free(vcpu);
	return NULL;
}

int kvml_vcpu_create(struct kvml_vm *vm, unsigned long id)
{
	struct kvml_vcpu *vcpu;
	int i, r;

	if (id >= KVML_MAX_VCPU_ID)
		return -EINVAL;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= KVML_MAX_VCPUS)
		goto out;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto out;

	r = -ENOMEM;
	vcpu = kvml_vcpu_alloc(vm, id);
	if (!vcpu)
		goto out;

	/*
	 * Publish first: once the fd exists it may be closed at any time, and
	 * the VM's teardown must then find the vCPU.  The VM fd this ioctl
	 * came through keeps the VM alive until we return.
	 */
	vcpu->index = vm->nr_vcpus;
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	kref_get(&vm->ref);
	r = anon_inode_getfd("kvmlite-vcpu", &kvml_vcpu_fops, vcpu,
			     O_RDWR | O_CLOEXEC);
	if (r < 0) {
		vm->vcpus[--vm->nr_vcpus] = NULL;
		refcount_dec(&vm->ref.refcount);
		kvml_vcpu_destroy(vcpu);
	}
out:
	mutex_unlock(&vm->lock);
	return r;
}
