// SPDX-License-Identifier: GPL-2.0
/* kvmlite client: device, VM and guest RAM. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"
#include "../uapi/kvmlite.h"

/* Where KVM on VMX wants its three TSS pages; harmless elsewhere. */
#define TSS_ADDR 0xFFFBD000ULL

static struct kvm_cpuid2 *vm__get_supported_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *c;
	int nent = 64;

	for (;;) {
		c = xzalloc(sizeof(*c) + nent * sizeof(c->entries[0]));
		c->nent = nent;
		if (ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			die_errno("%s: KVM_GET_SUPPORTED_CPUID", vm->dev_path);
		nent *= 2;
	}
}

static struct kvm_msr_list *vm__get_msr_list(struct vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;

	if (ioctl(vm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		die_errno("%s: KVM_GET_MSR_INDEX_LIST", vm->dev_path);
	list = xzalloc(sizeof(*list) + (probe.nmsrs + 1) * sizeof(list->indices[0]));
	list->nmsrs = probe.nmsrs;
	if (ioctl(vm->sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0)
		die_errno("%s: KVM_GET_MSR_INDEX_LIST", vm->dev_path);
	return list;
}

static void vm__add_memslot(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die_errno("%s: KVM_SET_USER_MEMORY_REGION (%llu MiB at %#llx)",
			  vm->dev_path, (unsigned long long)(size / MiB),
			  (unsigned long long)gpa);
}

void vm__init(struct vm *vm, const char *dev_path, uint64_t ram_size, int nr_vcpus)
{
	struct stat st;
	int version, i;

	vm->dev_path = dev_path;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		die_errno("eventfd");

	vm->sys_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0)
		die_errno("cannot open %s", dev_path);
	if (fstat(vm->sys_fd, &st) == 0 && !S_ISCHR(st.st_mode))
		die("%s is not a KVM device (not a character device)", dev_path);
	version = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		die("%s is not a KVM device (KVM_GET_API_VERSION: %d%s%s)", dev_path, version,
		    version < 0 ? ", " : "", version < 0 ? strerror(errno) : "");
	if (ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		die("%s lacks KVM_CAP_IMMEDIATE_EXIT", dev_path);
	vm->is_kvmlite = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_KVMLITE) > 0;

	vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die_errno("%s: KVM_CREATE_VM", dev_path);
	if (ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		die_errno("%s: KVM_SET_TSS_ADDR", dev_path);

	vm->supported_cpuid = vm__get_supported_cpuid(vm);
	vm->msr_list = vm__get_msr_list(vm);

	/* RAM: one anonymous mapping, split around the PCI hole. */
	vm->ram_size = ram_size;
	vm->low_size = ram_size < PCI_HOLE_START ? ram_size : PCI_HOLE_START;
	vm->high_size = ram_size - vm->low_size;
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED)
		die_errno("cannot allocate %llu MiB of guest memory",
			  (unsigned long long)(ram_size / MiB));
	madvise(vm->ram, ram_size, MADV_MERGEABLE);
	vm__add_memslot(vm, 0, 0, vm->low_size, vm->ram);
	if (vm->high_size)
		vm__add_memslot(vm, 1, HIGH_RAM_START, vm->high_size, vm->ram + vm->low_size);

	vm->nr_vcpus = nr_vcpus;
	vm->vcpus = xzalloc(nr_vcpus * sizeof(*vm->vcpus));
	for (i = 0; i < nr_vcpus; i++)
		vcpu__init(vm, &vm->vcpus[i], i);
}

void *vm__gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= vm->low_size)
		return vm->ram + gpa;
	if (gpa >= HIGH_RAM_START && gpa + len <= HIGH_RAM_START + vm->high_size)
		return vm->ram + vm->low_size + (gpa - HIGH_RAM_START);
	return NULL;
}

void vm__stop(struct vm *vm, int status, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
		va_end(ap);
		atomic_store(&vm->stopping, true);
		if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow with one write per run */
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);
	vm__kick_vcpus(vm);
}
