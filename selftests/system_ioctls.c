// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of the device's system fd: API version, capabilities, vCPU
 * mmap size, supported CPUID, MSR index list, bad numbers, KVM_CREATE_VM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm.h"

static void api_version(void)
{
	CHECK_EQ(ioctl(kvm_fd(), KVM_GET_API_VERSION, 0), KVM_API_VERSION,
		 "KVM_GET_API_VERSION");
}

static void api_version_arg(void)
{
	/* KVM takes no argument here and says EINVAL to one. */
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_API_VERSION, 1), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_VCPU_MMAP_SIZE, 1), EINVAL);
}

static const struct {
	long cap;
	const char *name;
} caps[] = {
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "MP_STATE" },
	{ KVM_CAP_VCPU_EVENTS, "VCPU_EVENTS" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	{ KVM_CAP_READONLY_MEM, "READONLY_MEM" },
	{ KVM_CAP_NR_VCPUS, "NR_VCPUS" },
	{ KVM_CAP_MAX_VCPUS, "MAX_VCPUS" },
	{ KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
};

static void basic_caps(void)
{
	unsigned int i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		long r = ioctl(kvm_fd(), KVM_CHECK_EXTENSION, caps[i].cap);

		diag("KVM_CAP_%s = %ld", caps[i].name, r);
		if (r <= 0)
			bad++;
	}
	CHECK(!bad, "%d capabilities missing", bad);
}

static void limit_caps(void)
{
	long slots = kvm_cap(KVM_CAP_NR_MEMSLOTS);
	long nr = kvm_cap(KVM_CAP_NR_VCPUS);
	long max = kvm_cap(KVM_CAP_MAX_VCPUS);
	long max_id = kvm_cap(KVM_CAP_MAX_VCPU_ID);

	diag("NR_MEMSLOTS %ld NR_VCPUS %ld MAX_VCPUS %ld MAX_VCPU_ID %ld",
	     slots, nr, max, max_id);
	CHECK(slots >= 509, "fewer than 509 memslots");
	CHECK(nr >= 1 && nr <= max, "NR_VCPUS out of [1, MAX_VCPUS]");
	/* KVM: MAX_VCPU_ID may be 0 ("same as MAX_VCPUS") on old kernels. */
	CHECK(max_id == 0 || max_id >= max, "MAX_VCPU_ID below MAX_VCPUS");
	if (is_kvmlite()) {
		CHECK_EQ(slots, 509, "kvmlite memslots");
		CHECK_EQ(max, 256, "kvmlite MAX_VCPUS");
	}
}

static void unknown_caps(void)
{
	long r;

	CHECK_EQ(ioctl(kvm_fd(), KVM_CHECK_EXTENSION, 0x7fffffffL), 0,
		 "unknown capability");
	CHECK_EQ(ioctl(kvm_fd(), KVM_CHECK_EXTENSION, -1L), 0,
		 "negative capability");
	r = ioctl(kvm_fd(), KVM_CHECK_EXTENSION, KVM_CAP_KVMLITE);
	diag("KVM_CAP_KVMLITE = %ld", r);
	CHECK(r == 0 || r == KVMLITE_ABI_VERSION, "KVM_CAP_KVMLITE");
}

static void vm_check_extension(void)
{
	struct vm *vm;

	if (!kvm_cap(KVM_CAP_CHECK_EXTENSION_VM))
		skip("no KVM_CAP_CHECK_EXTENSION_VM");
	vm = vm_create(0);
	CHECK_EQ(!!ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY),
		 1, "USER_MEMORY on the VM fd");
	CHECK_EQ(ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS),
		 kvm_cap(KVM_CAP_NR_MEMSLOTS), "NR_MEMSLOTS on the VM fd");
	CHECK_EQ(ioctl(vm->fd, KVM_CHECK_EXTENSION, 0x7fffffffL), 0,
		 "unknown capability on the VM fd");
}

static void mmap_size(void)
{
	long r = ioctl(kvm_fd(), KVM_GET_VCPU_MMAP_SIZE, 0);

	diag("KVM_GET_VCPU_MMAP_SIZE = %ld", r);
	CHECK(r >= 2 * PAGE_SIZE, "smaller than kvm_run + PIO page");
	CHECK(r % PAGE_SIZE == 0, "not a whole number of pages");
	if (is_kvmlite())
		CHECK_EQ(r, 2 * PAGE_SIZE, "kvmlite maps 2 pages");
}

static void cpuid_e2big(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(256);
	int need = supported_cpuid()->nent;

	c->nent = 0;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, c), E2BIG, "nent 0");
	c->nent = 1;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, c), E2BIG, "nent 1");
	c->nent = need - 1;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, c), E2BIG,
		  "nent one too few");
	/* KVM copies nothing back on E2BIG: nent stays as it was. */
	CHECK_EQ(c->nent, need - 1, "nent changed on E2BIG");
	/* Exactly enough works, and says how many it filled. */
	c->nent = need;
	CHECK_OK(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, c), "nent exact");
	CHECK_EQ(c->nent, need, "nent");
	CHECK(!memcmp(c->entries, supported_cpuid()->entries,
		      need * sizeof(c->entries[0])), "entries differ");
}

static void cpuid_big_nent(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(1000);

	/* Too large a buffer is fine: nent comes back as the count. */
	CHECK_OK(ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, c), "nent 1000");
	CHECK(c->nent >= 2 && c->nent <= 256, "nent %u", c->nent);
	CHECK_EQ(c->nent, supported_cpuid()->nent, "count differs");
}

static void cpuid_sane(void)
{
	struct kvm_cpuid2 *c = supported_cpuid();
	struct kvm_cpuid_entry2 *l0 = cpuid_find(c, 0, 0);
	struct kvm_cpuid_entry2 *e0 = cpuid_find(c, 0x80000000, 0);
	char vendor[13];
	uint32_t i;

	CHECK(l0, "no leaf 0");
	CHECK(e0, "no leaf 0x80000000");
	memcpy(vendor, &l0->ebx, 4);
	memcpy(vendor + 4, &l0->edx, 4);
	memcpy(vendor + 8, &l0->ecx, 4);
	vendor[12] = 0;
	diag("%u entries, max leaf 0x%x, max extended leaf 0x%x, vendor \"%s\"",
	     c->nent, l0->eax, e0->eax, vendor);
	CHECK(l0->eax >= 1 && l0->eax < 0x100, "max basic leaf");
	CHECK(e0->eax >= 0x80000001 && e0->eax < 0x80000100,
	      "max extended leaf");
	for (i = 0; i < 12; i++)
		CHECK(vendor[i] >= 0x20 && vendor[i] < 0x7f, "vendor string");
	CHECK(cpuid_find(c, 1, 0), "no leaf 1");
	CHECK(cpuid_find(c, 0x80000001, 0), "no leaf 0x80000001");
	/* Long mode is what the other tests need. */
	CHECK(cpuid_find(c, 0x80000001, 0)->edx & (1u << 29), "no LM bit");
	for (i = 0; i < c->nent; i++) {
		uint32_t fn = c->entries[i].function;

		if (fn < 0x40000000)
			CHECK(fn <= l0->eax, "leaf 0x%x above the max", fn);
		else if (fn >= 0x80000000 && fn < 0xc0000000)
			CHECK(fn <= e0->eax, "leaf 0x%x above the max", fn);
	}
}

/* KVM advertises SVM/VMX when nested virtualization is on. */
static bool kvm_nested(void)
{
	const char *paths[] = {
		"/sys/module/kvm_amd/parameters/nested",
		"/sys/module/kvm_intel/parameters/nested",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		FILE *f = fopen(paths[i], "r");
		int ch;

		if (!f)
			continue;
		ch = fgetc(f);
		fclose(f);
		if (ch == 'Y' || ch == '1')
			return true;
	}
	return false;
}

static void cpuid_no_virt(void)
{
	struct kvm_cpuid2 *c = supported_cpuid();
	struct kvm_cpuid_entry2 *l1 = cpuid_find(c, 1, 0);
	struct kvm_cpuid_entry2 *e1 = cpuid_find(c, 0x80000001, 0);

	if (!is_kvmlite() && kvm_nested())
		skip("KVM with nested=1 offers SVM/VMX to its guests");
	CHECK(l1 && e1, "leaf 1 or 0x80000001 missing");
	CHECK(!(l1->ecx & (1u << 5)), "VMX offered: leaf 1 ecx 0x%x", l1->ecx);
	CHECK(!(e1->ecx & (1u << 2)), "SVM offered: leaf 0x80000001 ecx 0x%x",
	      e1->ecx);
}

static struct kvm_msr_list *msr_list(void)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_MSR_INDEX_LIST, &probe), E2BIG,
		  "nmsrs 0");
	CHECK(probe.nmsrs > 0, "nmsrs not updated on E2BIG");
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	l->nmsrs = probe.nmsrs;
	CHECK_OK(ioctl(kvm_fd(), KVM_GET_MSR_INDEX_LIST, l), "exact nmsrs");
	CHECK_EQ(l->nmsrs, probe.nmsrs, "count changed");
	return l;
}

static void msr_list_e2big(void)
{
	struct kvm_msr_list *l = msr_list();
	uint32_t n = l->nmsrs;

	diag("%u MSRs", n);
	l->nmsrs = n - 1;
	CHECK_ERR(ioctl(kvm_fd(), KVM_GET_MSR_INDEX_LIST, l), E2BIG,
		  "one too few");
	CHECK_EQ(l->nmsrs, n, "nmsrs after E2BIG is the count needed");
}

static void msr_list_contents(void)
{
	static const uint32_t want[] = {
		MSR_IA32_TSC, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	};
	struct kvm_msr_list *l = msr_list();
	uint32_t i, j;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (j = 0; j < l->nmsrs; j++)
			if (l->indices[j] == want[i])
				break;
		CHECK(j < l->nmsrs, "MSR 0x%x not listed", want[i]);
	}
	for (i = 0; i < l->nmsrs; i++)
		for (j = i + 1; j < l->nmsrs; j++)
			CHECK(l->indices[i] != l->indices[j],
			      "MSR 0x%x listed twice", l->indices[i]);
}

static void msr_list_readable(void)
{
	struct kvm_msr_list *l = msr_list();
	struct vm *vm = vm_create(0);
	struct vcpu *v = vcpu_add(vm, 0);
	struct kvm_msrs *m;
	uint32_t i;
	int r;

	m = calloc(1, sizeof(*m) + l->nmsrs * sizeof(m->entries[0]));
	m->nmsrs = l->nmsrs;
	for (i = 0; i < l->nmsrs; i++)
		m->entries[i].index = l->indices[i];
	r = ioctl(v->fd, KVM_GET_MSRS, m);
	if (r >= 0 && r < (int)l->nmsrs)
		diag("stopped at MSR 0x%x", l->indices[r]);
	CHECK_EQ(r, l->nmsrs, "KVM_GET_MSRS of the listed MSRs");
}

static void bad_ioctls(void)
{
	/* KVM's system fd answers EINVAL to what it does not know. */
	CHECK_ERR(ioctl(kvm_fd(), _IO(KVMIO, 0xff), 0), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), _IOW('x', 1, int), 0), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_CREATE_VCPU, 0), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_RUN, 0), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_SET_USER_MEMORY_REGION, 0), EINVAL);
}

static void create_vm_type(void)
{
	CHECK_ERR(ioctl(kvm_fd(), KVM_CREATE_VM, 0x1000UL), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_CREATE_VM, 0xffffffffUL), EINVAL);
	CHECK_ERR(ioctl(kvm_fd(), KVM_CREATE_VM, ~0UL), EINVAL);
}

static void create_many_vms(void)
{
	int fds[16], i, j;

	for (i = 0; i < 16; i++) {
		fds[i] = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
		CHECK(fds[i] >= 0, "KVM_CREATE_VM %d: %s", i, strerror(errno));
		for (j = 0; j < i; j++)
			CHECK(fds[i] != fds[j], "same fd twice");
	}
	for (i = 0; i < 16; i++)
		CHECK_OK(close(fds[i]), "close");
	/* And it still works afterwards. */
	i = ioctl(kvm_fd(), KVM_CREATE_VM, 0);
	CHECK(i >= 0, "KVM_CREATE_VM after closing: %s", strerror(errno));
}

static void kvmlite_identity(void)
{
	if (!is_kvmlite())
		skip("not kvmlite: KVM_CAP_KVMLITE is 0");
	CHECK_EQ(kvm_cap(KVM_CAP_KVMLITE), KVMLITE_ABI_VERSION);
}

static void kvmlite_no_irqchip(void)
{
	struct vm *vm;

	if (!is_kvmlite())
		skip("not kvmlite: KVM has an in-kernel irqchip");
	CHECK_EQ(kvm_cap(KVM_CAP_IRQCHIP), 0, "KVM_CAP_IRQCHIP offered");
	vm = vm_create(0);
	/* Unknown to kvmlite's VM fd: ENOTTY, as KVM's VM fd says. */
	CHECK_ERR(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), ENOTTY);
}

static const struct tcase cases[] = {
	CASE(api_version, "KVM_GET_API_VERSION is 12"),
	CASE(api_version_arg, "KVM_GET_API_VERSION and GET_VCPU_MMAP_SIZE reject an argument"),
	CASE(basic_caps, "basic capabilities are offered"),
	CASE(limit_caps, "memslot and vCPU limits"),
	CASE(unknown_caps, "unknown capabilities are 0"),
	CASE(vm_check_extension, "KVM_CHECK_EXTENSION on the VM fd"),
	CASE(mmap_size, "KVM_GET_VCPU_MMAP_SIZE"),
	CASE(cpuid_e2big, "KVM_GET_SUPPORTED_CPUID with too small nent: E2BIG"),
	CASE(cpuid_big_nent, "KVM_GET_SUPPORTED_CPUID with a large nent"),
	CASE(cpuid_sane, "supported CPUID is sane"),
	CASE(cpuid_no_virt, "supported CPUID offers no SVM or VMX"),
	CASE(msr_list_e2big, "KVM_GET_MSR_INDEX_LIST E2BIG updates nmsrs"),
	CASE(msr_list_contents, "KVM_GET_MSR_INDEX_LIST lists the syscall MSRs and TSC"),
	CASE(msr_list_readable, "every listed MSR reads with KVM_GET_MSRS"),
	CASE(bad_ioctls, "unknown ioctls on the system fd: EINVAL"),
	CASE(create_vm_type, "KVM_CREATE_VM with a bad type: EINVAL"),
	CASE(create_many_vms, "16 VMs at once"),
	CASE(kvmlite_identity, "kvmlite: KVM_CAP_KVMLITE is the ABI version"),
	CASE(kvmlite_no_irqchip, "kvmlite: no in-kernel irqchip"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
