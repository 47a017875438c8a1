// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of the hypervisor: a vCPU thread that moves between
 * physical CPUs keeps its guest state, a CPU taken offline and brought
 * back while a VM exists runs guests again (the extensions are enabled
 * on CPUs that come online), a second hypervisor that owns the
 * extensions makes KVM_CREATE_VM fail with EBUSY, and the kernel memory
 * of VMs and vCPUs is charged to the creator's memory cgroup.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

#define CGROOT	"/sys/fs/cgroup"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return r;
}

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : -1;
}

/* In a child moved to a new memory cgroup: VMs and vCPUs, then none. */
static void memcg_child(const char *cg)
{
	char path[128];
	long before, during, after;
	int vms[4], vcpus[4][64], i, j;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if (write_str(path, "0"))
		_exit(2);
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	before = read_long(path);
	for (i = 0; i < 4; i++) {
		vms[i] = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
		if (vms[i] < 0)
			_exit(3);
		for (j = 0; j < 64; j++) {
			vcpus[i][j] = ioctl(vms[i], KVM_CREATE_VCPU, j);
			if (vcpus[i][j] < 0)
				_exit(4);
		}
	}
	during = read_long(path);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 64; j++)
			close(vcpus[i][j]);
		close(vms[i]);
	}
	after = read_long(path);
	printf("# memory.current: %ld before, %ld with 4 VMs of 64 vCPUs, "
	       "%ld after\n", before, during, after);
	fflush(stdout);
	/*
	 * Each vCPU holds at least a kvm_run page and a VMCB/VMCS page.  The
	 * counter moves in per-CPU batches of up to 256 KiB, hence many
	 * vCPUs and a floor well below what they really take.
	 */
	if (during - before < 256 * 2 * 4096L)
		_exit(5);
	if (during - after < 256 * 2 * 4096L)
		_exit(6);
	_exit(0);
}

static void memcg(void)
{
	char cg[64], path[96];
	int status;
	pid_t pid;

	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
		skip("no cgroup2 at " CGROOT " and cannot mount it: %s",
		     strerror(errno));
	write_str(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(cg, sizeof(cg), CGROOT "/kvmltest%d", getpid());
	if (mkdir(cg, 0755))
		skip("cannot make a cgroup: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	if (access(path, R_OK)) {
		rmdir(cg);
		skip("the memory controller is not enabled");
	}
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid)
		memcg_child(cg);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	rmdir(cg);
	CHECK(WIFEXITED(status), "child died");
	CHECK_EQ(WEXITSTATUS(status), 0,
		 "2 setup, 3/4 create, 5 not charged, 6 not uncharged");
}

static const struct tcase cases[] = {
	CASE(migrate, "a vCPU moving between CPUs keeps its state"),
	CASE(hotplug, "CPUs going offline and online while VMs exist"),
	CASE(other_hypervisor, "EBUSY while another hypervisor owns SVM/VMX"),
	CASE(memcg, "VM and vCPU kernel memory is charged to the memory cgroup"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
