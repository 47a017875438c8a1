// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite: the /dev/kvmlite device, the system ioctls, backend selection
 * and turning the virtualization extensions on and off.
 *
 * The hardware is enabled on every online CPU while at least one VM exists
 * (kvml_hw_users > 0), on CPUs that come online meanwhile, and disabled
 * again when the last VM goes or a CPU goes offline.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/uaccess.h>
#include <asm/reboot.h>

#include "kvmlite.h"

const struct kvml_backend_ops *kvml_ops __ro_after_init;

/* Protected by kvml_hw_lock, taken inside cpus_read_lock(). */
static DEFINE_MUTEX(kvml_hw_lock);
static unsigned int kvml_hw_users;
static DEFINE_PER_CPU(bool, kvml_hw_on);
static atomic_t kvml_hw_failed;
static enum cpuhp_state kvml_cpuhp_state;
/* Set once, before the extensions go off for a reboot: no more entries. */
bool kvml_rebooting;

static void kvml_cpu_enable(void *unused)
{
	int r;

	if (this_cpu_read(kvml_hw_on))
		return;
	r = kvml_ops->cpu_enable();
	if (r) {
		atomic_set(&kvml_hw_failed, r);
		return;
	}
	this_cpu_write(kvml_hw_on, true);
}

static void kvml_cpu_disable(void *unused)
{
	if (!this_cpu_read(kvml_hw_on))
		return;
	kvml_ops->cpu_disable();
	this_cpu_write(kvml_hw_on, false);
}

/* Emergency reboot or crash: the CPU must leave VMX/SVM operation. */
static void kvml_emergency_disable(void)
{
	kvml_cpu_disable(NULL);
}

/*
 * The kernel keeps one emergency callback, and a second registration is a
 * WARN.  kvm-intel holds it from its load to its unload, and its callback
 * turns VMX off on every CPU that has CR4.VMXE, ours included.  So kvmlite
 * holds it only while it has the extensions on (first VM to last VM), and
 * not at all while kvm-intel is loaded.  Under kvml_hw_lock.
 */
static bool kvml_emergency_registered;

static void kvml_emergency_register(void)
{
	struct path path;

	if (!kern_path("/sys/module/kvm_intel", 0, &path)) {
		path_put(&path);
		return;
	}
	cpu_emergency_register_virt_callback(kvml_emergency_disable);
	kvml_emergency_registered = true;
}

static void kvml_emergency_unregister(void)
{
	if (!kvml_emergency_registered)
		return;
	cpu_emergency_unregister_virt_callback(kvml_emergency_disable);
	kvml_emergency_registered = false;
}

/* Take a reference on the hardware; the first turns it on everywhere. */
int kvml_hw_get(void)
{
	int r = 0;

	cpus_read_lock();
	mutex_lock(&kvml_hw_lock);
	if (kvml_hw_users++ == 0) {
		atomic_set(&kvml_hw_failed, 0);
		on_each_cpu(kvml_cpu_enable, NULL, 1);
		r = atomic_read(&kvml_hw_failed);
		if (r) {
			on_each_cpu(kvml_cpu_disable, NULL, 1);
			kvml_hw_users = 0;
			pr_warn("kvmlite: cannot enable %s: %s\n", kvml_ops->name,
				r == -EACCES ? "disabled by the firmware" :
				"already in use by another hypervisor");
			r = -EBUSY;
		} else {
			kvml_emergency_register();
		}
	}
	mutex_unlock(&kvml_hw_lock);
	cpus_read_unlock();
	return r;
}

void kvml_hw_put(void)
{
	cpus_read_lock();
	mutex_lock(&kvml_hw_lock);
	if (--kvml_hw_users == 0) {
		kvml_emergency_unregister();
		on_each_cpu(kvml_cpu_disable, NULL, 1);
	}
	mutex_unlock(&kvml_hw_lock);
	cpus_read_unlock();
}

/*
 * CPU hotplug: runs on the CPU itself with the hotplug lock held for
 * write, so kvml_hw_users cannot change under us.
 */
static int kvml_cpu_online(unsigned int cpu)
{
	int r = 0;

	if (kvml_hw_users) {
		local_irq_disable();
		atomic_set(&kvml_hw_failed, 0);
		kvml_cpu_enable(NULL);
		r = atomic_read(&kvml_hw_failed);
		local_irq_enable();
	}
	return r;
}

static int kvml_cpu_offline(unsigned int cpu)
{
	local_irq_disable();
	kvml_cpu_disable(NULL);
	local_irq_enable();
	return 0;
}

static int kvml_reboot(struct notifier_block *nb, unsigned long code,
		       void *unused)
{
	WRITE_ONCE(kvml_rebooting, true);
	on_each_cpu(kvml_cpu_disable, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block kvml_reboot_nb = {
	.notifier_call = kvml_reboot,
	.priority = 0,
};

static long kvml_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_IMMEDIATE_EXIT:
		return 1;
	case KVM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), KVML_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return KVML_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVML_MAX_VCPU_ID;
	case KVM_CAP_NR_MEMSLOTS:
		return KVML_MAX_MEMSLOTS;
	case KVM_CAP_KVMLITE:
		return KVMLITE_ABI_VERSION;
	default:
		return 0;
	}
}

long kvml_vm_check_extension(long ext)
{
	return kvml_check_extension(ext);
}

static long kvml_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvml_dev_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return kvml_check_extension((long)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return KVML_RUN_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return kvml_dev_get_supported_cpuid(argp);
	case KVM_GET_MSR_INDEX_LIST:
		return kvml_dev_get_msr_index_list(argp);
	default:
		return -EINVAL;
	}
}

static const struct file_operations kvml_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kvml_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kvml_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KVMLITE_DEVICE_NAME,
	.fops = &kvml_dev_fops,
	.mode = 0666,
};

static int __init kvml_init(void)
{
	int r;

	/*
	 * VMX where the CPU has VMX and not SVM, SVM everywhere else.  The
	 * CPUID bit itself: the kernel hides VMX when the firmware locked it
	 * off, and that is worth saying when a VM is created.
	 */
	if (!boot_cpu_has(X86_FEATURE_SVM) &&
	    (cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31)))
		kvml_ops = &kvml_vmx_ops;
	else
		kvml_ops = &kvml_svm_ops;
	r = kvml_ops->hardware_supported();
	if (r)
		return r;

	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "kvmlite:online",
				      kvml_cpu_online, kvml_cpu_offline);
	if (r < 0)
		goto out_backend;
	kvml_cpuhp_state = r;
	register_reboot_notifier(&kvml_reboot_nb);

	r = misc_register(&kvml_dev);
	if (r)
		goto out_cpuhp;
	pr_info("kvmlite: %s backend ready on /dev/%s\n", kvml_ops->name,
		KVMLITE_DEVICE_NAME);
	return 0;

out_cpuhp:
	unregister_reboot_notifier(&kvml_reboot_nb);
	cpuhp_remove_state_nocalls(kvml_cpuhp_state);
out_backend:
	if (kvml_ops->hardware_unsetup)
		kvml_ops->hardware_unsetup();
	return r;
}

static void __exit kvml_exit(void)
{
	misc_deregister(&kvml_dev);
	unregister_reboot_notifier(&kvml_reboot_nb);
	cpuhp_remove_state_nocalls(kvml_cpuhp_state);
	if (kvml_ops->hardware_unsetup)
		kvml_ops->hardware_unsetup();
}

module_init(kvml_init);
module_exit(kvml_exit);
MODULE_DESCRIPTION("kvmlite: KVM-ABI hardware virtualization");
MODULE_LICENSE("GPL");
