// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of the hypervisor: a vCPU thread that moves between
 * physical CPUs keeps its guest state, a CPU taken offline and brought
 * back while a VM exists runs guests again (the extensions are enabled
 * on CPUs that come online), and a second hypervisor that owns the
 * extensions makes KVM_CREATE_VM fail with EBUSY.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm.h"

/* Counts in RBX and reports the count at every step, forever. */
GUEST_CODE(count_guest, ".code64",
	"xor %ebx, %ebx\n"
	"1: inc %ebx\n"
	"mov %ebx, %eax\n"
	G_REPORT
	"jmp 1b\n");

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK_OK(sched_setaffinity(0, sizeof(set), &set), "pin to CPU %d", cpu);
	CHECK_EQ(sched_getcpu(), cpu, "running on CPU %d", cpu);
}

static int online_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static void migrate(void)
{
	struct vcpu *v;
	uint32_t i;

	if (online_cpus() < 2)
		skip("one CPU online: nowhere to migrate to");
	v = GUEST_VM(count_guest, MODE_LONG);
	/* The count must go on with no gap whichever CPU runs the vCPU. */
	for (i = 1; i <= 40; i++) {
		pin_to(i % 2);
		CHECK_EQ(run_ucall(v, UC_REPORT), i, "step %u", i);
	}
}

static int set_online(int cpu, int on)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	r = write(fd, on ? "1" : "0", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

static void hotplug(void)
{
	struct vcpu *v, *w;

	if (online_cpus() < 2)
		skip("one CPU online: none to take offline");
	if (access("/sys/devices/system/cpu/cpu1/online", W_OK))
		skip("CPU 1 cannot be taken offline here (needs root)");

	v = GUEST_VM(count_guest, MODE_LONG);
	pin_to(1);
	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	pin_to(0);
	CHECK_OK(set_online(1, 0), "take CPU 1 offline");
	CHECK_EQ(run_ucall(v, UC_REPORT), 2, "runs with CPU 1 offline");
	/* A new VM while a CPU is offline. */
	w = GUEST_VM(count_guest, MODE_LONG);
	CHECK_EQ(run_ucall(w, UC_REPORT), 1);
	CHECK_OK(set_online(1, 1), "bring CPU 1 back");
	pin_to(1);
	CHECK_EQ(run_ucall(v, UC_REPORT), 3, "runs on the CPU that came back");
	CHECK_EQ(run_ucall(w, UC_REPORT), 2);
}

/* kvmlite's dmesg lines since @fd was opened at the end of the log. */
static int kmsg_count(int fd, const char *needle)
{
	char rec[1024];
	int n = 0;
	ssize_t r;

	while ((r = read(fd, rec, sizeof(rec) - 1)) > 0) {
		rec[r] = 0;
		if (strstr(rec, needle))
			n++;
	}
	return n;
}

/*
 * With both devices present (the rig loads kvmlite next to KVM for the
 * /dev/kvm run), a VM of one keeps the other from creating any.
 */
static void other_hypervisor(void)
{
	const char *other = is_kvmlite() ? "/dev/kvm" : KVMLITE_DEVICE_PATH;
	int ofd, ovm, vm, kmsg;

	ofd = open(other, O_RDWR);
	if (ofd < 0)
		skip("%s is not here: no second hypervisor to compete with",
		     other);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	vm = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
	CHECK(vm >= 0, "KVM_CREATE_VM on %s: %s", dev_path, strerror(errno));
	CHECK_ERR(ioctl(ofd, KVM_CREATE_VM, 0), EBUSY,
		  "%s while %s has a VM", other, dev_path);
	/* kvmlite says why, in one line. */
	if (kmsg >= 0 && !is_kvmlite())
		CHECK_EQ(kmsg_count(kmsg, "kvmlite: cannot enable"), 1,
			 "one dmesg line from kvmlite");
	close(vm);
	ovm = ioctl(ofd, KVM_CREATE_VM, 0);
	CHECK(ovm >= 0, "%s once the VM is gone: %s", other, strerror(errno));
	CHECK_ERR(ioctl(kvm_fd(), KVM_CREATE_VM, 0), EBUSY,
		  "%s while %s has a VM", dev_path, other);
	close(ovm);
	close(ofd);
	if (kmsg >= 0)
		close(kmsg);
	vm = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
	CHECK(vm >= 0, "%s again: %s", dev_path, strerror(errno));
	close(vm);
}

static const struct tcase cases[] = {
	CASE(migrate, "a vCPU moving between CPUs keeps its state"),
	CASE(hotplug, "CPUs going offline and online while VMs exist"),
	CASE(other_hypervisor, "EBUSY while another hypervisor owns SVM/VMX"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
