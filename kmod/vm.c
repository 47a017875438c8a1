// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite VM objects: creation, the VM file descriptor and its ioctls,
 * and teardown when the last file referring to the VM is closed.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmlite.h"

static void kvml_vm_release_kref(struct kref *ref)
{
	struct kvml_vm *vm = container_of(ref, struct kvml_vm, ref);
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		kvml_vcpu_destroy(vm->vcpus[i]);
	kvml_npt_destroy(vm, &vm->npt);
	kvml_free_memslots(vm);
	mmdrop(vm->mm);
	kvml_ops->vm_free(vm);
	kvml_hw_put();
	module_put(THIS_MODULE);
}

void kvml_vm_put(struct kvml_vm *vm)
{
	kref_put(&vm->ref, kvml_vm_release_kref);
}

void kvml_vm_mark_dead(struct kvml_vm *vm, const char *why)
{
	if (!READ_ONCE(vm->dead))
		pr_warn_ratelimited("kvmlite: VM of pid %d is dead: %s\n",
				    task_tgid_nr(current), why);
	WRITE_ONCE(vm->dead, true);
}

static int kvml_vm_release(struct inode *inode, struct file *filp)
{
	kvml_vm_put(filp->private_data);
	return 0;
}

static int kvml_set_tss_addr(struct kvml_vm *vm, unsigned long addr)
{
	/* The TSS takes three pages below 4 GiB, as on KVM. */
	if (addr > (u64)U32_MAX - 3 * PAGE_SIZE)
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->tss_addr = addr;
	mutex_unlock(&vm->lock);
	return 0;
}

static int kvml_set_identity_map_addr(struct kvml_vm *vm, u64 __user *uaddr)
{
	u64 addr;
	int r = 0;

	/* As KVM: refused once vCPUs exist, before the pointer is read. */
	mutex_lock(&vm->lock);
	if (vm->nr_vcpus)
		r = -EINVAL;
	else if (copy_from_user(&addr, uaddr, sizeof(addr)))
		r = -EFAULT;
	else
		vm->identity_map_addr = addr;
	mutex_unlock(&vm->lock);
	return r;
}

static long kvml_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct kvml_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;
	struct kvm_userspace_memory_region mr;

	if (vm->mm != current->mm || READ_ONCE(vm->dead))
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return kvml_vcpu_create(vm, arg);
	case KVM_SET_USER_MEMORY_REGION:
		if (copy_from_user(&mr, argp, sizeof(mr)))
			return -EFAULT;
		return kvml_set_memory_region(vm, &mr);
	case KVM_SET_TSS_ADDR:
		return kvml_set_tss_addr(vm, arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return kvml_set_identity_map_addr(vm, argp);
	case KVM_CHECK_EXTENSION:
		return kvml_vm_check_extension((long)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kvml_vm_fops = {
	.owner = THIS_MODULE,
	.release = kvml_vm_release,
	.unlocked_ioctl = kvml_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

int kvml_dev_create_vm(unsigned long type)
{
	struct kvml_vm *vm;
	int r;

	if (type)
		return -EINVAL;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	r = kvml_hw_get();
	if (r)
		goto out_module;

	vm = kvml_ops->vm_alloc();
	if (!vm) {
		r = -ENOMEM;
		goto out_hw;
	}
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	init_rwsem(&vm->mmu_lock);
	spin_lock_init(&vm->npt_lock);
	vm->identity_map_addr = 0xfffbc000;
	vm->mm = current->mm;
	mmgrab(vm->mm);

	r = kvml_ops->vm_init(vm);
	if (r)
		goto out_free;

	r = anon_inode_getfd("kvmlite-vm", &kvml_vm_fops, vm,
			     O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto out_free;
	return r;

out_free:
	/* Nothing is mapped yet: the release path frees all there is. */
	kvml_npt_destroy(vm, &vm->npt);
	mmdrop(vm->mm);
	kvml_ops->vm_free(vm);
out_hw:
	kvml_hw_put();
out_module:
	module_put(THIS_MODULE);
	return r;
}
