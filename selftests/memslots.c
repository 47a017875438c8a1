// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION: add, delete, move, what may not change, the
 * read-only flag, overlaps, alignment, overflow, slot ids, unmapped
 * memory, every slot in use by one guest, slots whose pages are all
 * resident before the guest touches them, and guest memory given back at
 * exit.  Guest accesses check what
 * the guest really sees after each change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm.h"

#define SLOT1_GPA	0x400000ULL
#define SLOT1_SIZE	0x10000ULL

/* Read the dword at RSI and report it, then store RBX at RDI. */
GUEST_CODE(probe_guest, ".code64",
	"mov (%rsi), %eax\n"
	G_REPORT
	"mov %rbx, (%rdi)\n"
	G_DONE);

static struct vcpu *probe_vm(void)
{
	return GUEST_VM(probe_guest, MODE_LONG);
}

static void probe_start(struct vcpu *v, uint64_t rd, uint64_t wr, uint64_t val)
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rip = CODE_GPA;
	r.rsi = rd;
	r.rdi = wr;
	r.rbx = val;
	vcpu_set_regs(v, &r);
}

/* The guest reads RAM at @gpa: no exit. */
static uint32_t guest_read(struct vcpu *v, uint64_t gpa)
{
	uint32_t val;

	probe_start(v, gpa, DATA_GPA, 0);
	val = run_ucall(v, UC_REPORT);
	run_to_done(v);
	return val;
}

/* The guest reads @gpa, which must be in no memslot: an MMIO exit. */
static void guest_read_mmio(struct vcpu *v, uint64_t gpa)
{
	probe_start(v, gpa, DATA_GPA, 0);
	run_expect_exit(v, KVM_EXIT_MMIO);
	CHECK_EQ(v->run->mmio.phys_addr, gpa);
	CHECK_EQ(v->run->mmio.is_write, 0);
	CHECK_EQ(v->run->mmio.len, 4);
	memset(v->run->mmio.data, 0, 8);
	run_ucall(v, UC_REPORT);
	run_to_done(v);
}

/* The guest writes @val to RAM at @gpa: no exit. */
static void guest_write(struct vcpu *v, uint64_t gpa, uint64_t val)
{
	probe_start(v, DATA_GPA, gpa, val);
	run_ucall(v, UC_REPORT);
	run_to_done(v);
}

/* The guest writes @val at @gpa, which must exit as an MMIO write. */
static void guest_write_mmio(struct vcpu *v, uint64_t gpa, uint64_t val)
{
	probe_start(v, DATA_GPA, gpa, val);
	run_ucall(v, UC_REPORT);
	run_expect_exit(v, KVM_EXIT_MMIO);
	CHECK_EQ(v->run->mmio.phys_addr, gpa);
	CHECK_EQ(v->run->mmio.is_write, 1);
	CHECK_EQ(v->run->mmio.len, 8);
	CHECK_EQ(*(uint64_t *)v->run->mmio.data, val);
	run_to_done(v);
}

static void add_slot(void)
{
	struct vcpu *v = probe_vm();
	uint32_t *mem = alloc_mem(SLOT1_SIZE);

	guest_read_mmio(v, SLOT1_GPA + 0x100);
	mem[0x100 / 4] = 0x12345678;
	mem[0xfffc / 4] = 0x9abcdef0;
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA + 0x100), 0x12345678);
	CHECK_EQ(guest_read(v, SLOT1_GPA + 0xfffc), 0x9abcdef0, "last dword");
	guest_write(v, SLOT1_GPA + 0x2000, 0x1122334455667788ULL);
	CHECK_EQ(*(uint64_t *)&mem[0x2000 / 4], 0x1122334455667788ULL,
		 "the guest's write is in the host's memory");
	/* Just past the end is outside the slot. */
	guest_read_mmio(v, SLOT1_GPA + SLOT1_SIZE);
}

static void delete_slot(void)
{
	struct vcpu *v = probe_vm();
	uint32_t *mem = alloc_mem(SLOT1_SIZE), *mem2 = alloc_mem(SLOT1_SIZE);

	mem[0] = 0xaaaa5555;
	mem2[0] = 0x5555aaaa;
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0xaaaa5555);
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, 0, NULL);
	guest_read_mmio(v, SLOT1_GPA);
	/* Deleting what does not exist is EINVAL. */
	CHECK_ERR(vm_set_mem_raw(v->vm, 1, 0, SLOT1_GPA, 0, mem), EINVAL,
		  "delete a deleted slot");
	CHECK_ERR(vm_set_mem_raw(v->vm, 7, 0, 0, 0, NULL), EINVAL,
		  "delete a slot never used");
	/* The id is free again, for other memory. */
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem2);
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0x5555aaaa, "new memory seen");
	/* Slot 0 too: delete it and map other memory at GPA 0. */
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, 0, NULL);
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0xaaaa5555, "old memory seen again");
}

static void move_slot(void)
{
	struct vcpu *v = probe_vm();
	uint32_t *mem = alloc_mem(SLOT1_SIZE);

	mem[1] = 0x600dc0de;
	vm_set_mem(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA + 4), 0x600dc0de);
	vm_set_mem(v->vm, 1, 0, 0x600000, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, 0x600004), 0x600dc0de, "at the new address");
	guest_read_mmio(v, SLOT1_GPA + 4);
	guest_write(v, 0x600008, 0x77);
	CHECK_EQ(mem[2], 0x77);
	/* Moving onto slot 0 is an overlap. */
	CHECK_ERR(vm_set_mem_raw(v->vm, 1, 0, 0x100000, SLOT1_SIZE, mem),
		  EEXIST, "move onto slot 0");
	CHECK_EQ(guest_read(v, 0x600004), 0x600dc0de, "still where it was");
}

static void immutable(void)
{
	struct vm *vm = vm_create(RAM_SIZE);
	uint8_t *mem = alloc_mem(2 * SLOT1_SIZE);

	vm_set_mem(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, 2 * SLOT1_SIZE, mem),
		  EINVAL, "grow");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE / 2, mem),
		  EINVAL, "shrink");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE,
				 mem + SLOT1_SIZE), EINVAL, "other memory");
	CHECK_ERR(vm_set_mem_raw(vm, 1, KVM_MEM_READONLY, SLOT1_GPA,
				 SLOT1_SIZE, mem), EINVAL, "make read-only");
	/* The same again changes nothing and succeeds. */
	CHECK_OK(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		 "same region again");
	vm_set_mem(vm, 2, KVM_MEM_READONLY, 0x800000, SLOT1_SIZE,
		   mem + SLOT1_SIZE);
	CHECK_ERR(vm_set_mem_raw(vm, 2, 0, 0x800000, SLOT1_SIZE,
				 mem + SLOT1_SIZE), EINVAL, "make writable");
}

static void bad_flags(void)
{
	struct vm *vm = vm_create(0);
	void *mem = alloc_mem(SLOT1_SIZE);

	CHECK_ERR(vm_set_mem_raw(vm, 1, 1u << 5, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "flag bit 5");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 1u << 31, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "flag bit 31");
	CHECK_OK(vm_set_mem_raw(vm, 1, KVM_MEM_READONLY, SLOT1_GPA,
				SLOT1_SIZE, mem), "read-only");
}

static void readonly(void)
{
	struct vcpu *v = probe_vm();
	uint64_t *mem = alloc_mem(SLOT1_SIZE);

	mem[0] = 0x0123456776543210ULL;
	vm_set_mem(v->vm, 1, KVM_MEM_READONLY, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0x76543210, "reads are plain reads");
	guest_write_mmio(v, SLOT1_GPA, 0xfeedfacecafebeefULL);
	CHECK_EQ(mem[0], 0x0123456776543210ULL, "memory unchanged");
	guest_write_mmio(v, SLOT1_GPA + 0x1008, 42);
	CHECK_EQ(mem[0x201], 0);
	/* Host writes show through. */
	mem[0] = 0x1111111122222222ULL;
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0x22222222);
}

static void overlap(void)
{
	struct vm *vm = vm_create(RAM_SIZE);
	uint8_t *mem = alloc_mem(4 * SLOT1_SIZE);
	static const struct { uint64_t gpa, size; } t[] = {
		{ SLOT1_GPA, SLOT1_SIZE },			/* same */
		{ SLOT1_GPA - 0x1000, 0x2000 },			/* head */
		{ SLOT1_GPA + SLOT1_SIZE - 0x1000, 0x2000 },	/* tail */
		{ SLOT1_GPA + 0x1000, 0x1000 },			/* inside */
		{ SLOT1_GPA - 0x1000, SLOT1_SIZE + 0x2000 },	/* around */
		{ RAM_SIZE - 0x1000, 0x1000 },			/* slot 0 */
		{ 0, 0x1000 },					/* slot 0 */
	};
	unsigned int i;

	vm_set_mem(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	for (i = 0; i < ARRAY_SIZE(t); i++)
		CHECK_ERR(vm_set_mem_raw(vm, 2, 0, t[i].gpa, t[i].size,
					 mem + SLOT1_SIZE), EEXIST, "case %u", i);
	/* Adjacent is fine, before and after. */
	CHECK_OK(vm_set_mem_raw(vm, 2, 0, SLOT1_GPA - 0x1000, 0x1000,
				mem + SLOT1_SIZE), "adjacent below");
	CHECK_OK(vm_set_mem_raw(vm, 3, 0, SLOT1_GPA + SLOT1_SIZE, 0x1000,
				mem + 2 * SLOT1_SIZE), "adjacent above");
	/* The same host memory in two slots is allowed. */
	CHECK_OK(vm_set_mem_raw(vm, 4, 0, 0x1000000, SLOT1_SIZE, mem),
		 "aliased host memory");
}

static void alignment(void)
{
	struct vm *vm = vm_create(0);
	uint8_t *mem = alloc_mem(2 * SLOT1_SIZE);

	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA + 0x100, SLOT1_SIZE, mem),
		  EINVAL, "gpa");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE + 0x100, mem),
		  EINVAL, "size");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, 0x800, mem),
		  EINVAL, "size below a page");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem + 0x10),
		  EINVAL, "userspace_addr");
	CHECK_OK(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem + 0x1000),
		 "page aligned");
}

static void overflow(void)
{
	struct vm *vm = vm_create(0);
	uint8_t *mem = alloc_mem(SLOT1_SIZE);

	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, 0xfffffffffffff000ULL, 0x2000, mem),
		  EINVAL, "gpa + size wraps");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, 0x1000, 0xfffffffffffff000ULL, mem),
		  EINVAL, "huge size");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, 0, 1ULL << 63, mem),
		  EINVAL, "size 2^63");
}

static void slot_ids(void)
{
	struct vm *vm = vm_create(0);
	uint8_t *mem = alloc_mem(SLOT1_SIZE);
	long n = kvm_cap(KVM_CAP_NR_MEMSLOTS);

	CHECK_ERR(vm_set_mem_raw(vm, n, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "slot %ld", n);
	CHECK_ERR(vm_set_mem_raw(vm, 0xffff, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "slot 0xffff");
	CHECK_ERR(vm_set_mem_raw(vm, 2 << 16, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "address space 2");
	CHECK_ERR(vm_set_mem_raw(vm, 0xffffffff, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		  EINVAL, "slot 0xffffffff");
	CHECK_OK(vm_set_mem_raw(vm, n - 1, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		 "slot %ld", n - 1);
}

static void bad_userspace_addr(void)
{
	struct vm *vm = vm_create(0);

	/* Kernel and non-canonical addresses: EINVAL. */
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE,
				 (void *)0xffff888000000000ULL), EINVAL, "kernel");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE,
				 (void *)0x0000800000000000ULL), EINVAL,
		  "above user space");
	CHECK_ERR(vm_set_mem_raw(vm, 1, 0, SLOT1_GPA, SLOT1_SIZE,
				 (void *)0x00007ffffffff000ULL), EINVAL,
		  "crosses the end of user space");
}

/* KVM only checks the range is user space; the guest access then fails. */
static void unmapped_memory(void)
{
	struct vcpu *v = probe_vm();
	void *mem = alloc_mem(SLOT1_SIZE);
	int r;

	munmap(mem, SLOT1_SIZE);
	CHECK_OK(vm_set_mem_raw(v->vm, 1, 0, SLOT1_GPA, SLOT1_SIZE, mem),
		 "unmapped user memory is accepted");
	probe_start(v, SLOT1_GPA, DATA_GPA, 0);
	r = ioctl(v->fd, KVM_RUN, 0);
	if (r == 0)
		vcpu_dump(v);
	CHECK(r == -1 && errno == EFAULT, "KVM_RUN: %d %s, want EFAULT", r,
	      strerrorname(errno));
	/* Mapping memory there later makes it work. */
	CHECK(mmap(mem, SLOT1_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == mem,
	      "mmap");
	((uint32_t *)mem)[0] = 0x5151;
	CHECK_EQ(guest_read(v, SLOT1_GPA), 0x5151);
}

/* Slot 0 is RAM; slots 1..N-1 one page each, read and written by the guest. */
GUEST_CODE(all_slots_guest, ".code64",
	"mov $0x1000000, %esi\n"
	"mov (" STR(DATA_GPA) "), %ecx\n"
	"xor %eax, %eax\n"
	"1: add (%rsi), %eax\n"
	"mov %ecx, 8(%rsi)\n"
	"add $0x2000, %rsi\n"
	"loop 1b\n"
	G_REPORT
	G_DONE);

static void all_slots(void)
{
	long n = kvm_cap(KVM_CAP_NR_MEMSLOTS);
	struct vcpu *v;
	uint8_t *mem;
	uint32_t sum = 0;
	long i;

	if (n > 509)
		n = 509;
	v = GUEST_VM(all_slots_guest, MODE_LONG);
	mem = alloc_mem((n - 1) * PAGE_SIZE);
	for (i = 1; i < n; i++) {
		uint32_t *page = (uint32_t *)(mem + (i - 1) * PAGE_SIZE);

		page[0] = i * 7 + 1;
		sum += page[0];
		vm_set_mem(v->vm, i, 0, 0x1000000 + (i - 1) * 0x2000,
			   PAGE_SIZE, page);
	}
	*(uint32_t *)gpa2hva(v->vm, DATA_GPA) = n - 1;
	diag("%ld slots", n);
	CHECK_EQ(run_ucall(v, UC_REPORT), sum, "sum over all slots");
	run_to_done(v);
	for (i = 1; i < n; i++)
		CHECK_EQ(((uint32_t *)(mem + (i - 1) * PAGE_SIZE))[2], n - i,
			 "slot %ld", i);
	/* One more is refused when the limit is 509. */
	if (kvm_cap(KVM_CAP_NR_MEMSLOTS) == 509)
		CHECK_ERR(vm_set_mem_raw(v->vm, 509, 0, 0x2000000, PAGE_SIZE,
					 mem), EINVAL, "slot 509");
}

/* A 1 GiB slot, touched by the guest every 2 MiB. */
GUEST_CODE(big_guest, ".code64",
	"mov $0x40000000, %rsi\n"
	"mov $512, %ecx\n"
	"xor %eax, %eax\n"
	"1: add (%rsi), %eax\n"
	"mov %ecx, 4(%rsi)\n"
	"add $0x200000, %rsi\n"
	"loop 1b\n"
	G_REPORT
	G_DONE);

static void big_slot(void)
{
	struct vcpu *v = GUEST_VM(big_guest, MODE_LONG);
	uint8_t *mem = alloc_mem(1ULL << 30);
	uint32_t sum = 0;
	int i;

	for (i = 0; i < 512; i++) {
		*(uint32_t *)(mem + ((uint64_t)i << 21)) = i * 3;
		sum += i * 3;
	}
	vm_set_mem(v->vm, 1, 0, 1ULL << 30, 1ULL << 30, mem);
	CHECK_EQ(run_ucall(v, UC_REPORT), sum);
	run_to_done(v);
	for (i = 0; i < 512; i++)
		CHECK_EQ(*(uint32_t *)(mem + ((uint64_t)i << 21) + 4), 512 - i,
			 "write at %d MiB", 2 * i);
}

/*
 * A slot whose every page the host wrote before the guest runs (all of it
 * resident: kvmlite maps the neighbours of a faulting page with it).  The
 * guest adds up the first dword of each page and writes its countdown to
 * the second.  GPA and host address are not 2 MiB aligned, and differ.
 */
#define NBR_PAGES	700
#define NBR_GPA		0x1003000ULL
#define NBR_GPA2	0x2ff9000ULL

GUEST_CODE(neighbours_guest, ".code64",
	"mov (" STR(DATA_GPA) "), %rsi\n"
	"mov $" STR(NBR_PAGES) ", %ecx\n"
	"xor %eax, %eax\n"
	"1: add (%rsi), %eax\n"
	"mov %ecx, 4(%rsi)\n"
	"add $0x1000, %rsi\n"
	"loop 1b\n"
	G_REPORT
	G_DONE);

static void neighbours_run(struct vcpu *v, uint32_t *mem, uint64_t gpa,
			   uint32_t add, const char *what)
{
	struct kvm_regs r;
	uint32_t sum = 0;
	int i;

	for (i = 0; i < NBR_PAGES; i++) {
		mem[i * PAGE_SIZE / 4] = i * 5 + add;
		mem[i * PAGE_SIZE / 4 + 1] = 0;
		sum += i * 5 + add;
	}
	*(uint64_t *)gpa2hva(v->vm, DATA_GPA) = gpa;
	vcpu_get_regs(v, &r);
	r.rip = CODE_GPA;
	vcpu_set_regs(v, &r);
	CHECK_EQ(run_ucall(v, UC_REPORT), sum, "sum, %s", what);
	run_to_done(v);
	for (i = 0; i < NBR_PAGES; i++)
		if (mem[i * PAGE_SIZE / 4 + 1] != (uint32_t)(NBR_PAGES - i))
			break;
	CHECK_EQ(i, NBR_PAGES, "first page without the guest's write, %s",
		 what);
}

static void resident_neighbours(void)
{
	struct vcpu *v = GUEST_VM(neighbours_guest, MODE_LONG);
	uint64_t size = NBR_PAGES * PAGE_SIZE;
	uint8_t *p = alloc_mem(size + (4ULL << 20));
	uint32_t *mem = (uint32_t *)((((uintptr_t)p + (2ULL << 20)) &
				      ~((2ULL << 20) - 1)) + 0x5000);

	memset(mem, 0xa5, size);
	vm_set_mem(v->vm, 1, 0, NBR_GPA, size, mem);
	neighbours_run(v, mem, NBR_GPA, 1, "in place");
	vm_set_mem(v->vm, 1, 0, NBR_GPA2, size, mem);
	neighbours_run(v, mem, NBR_GPA2, 2, "moved");
	vm_set_mem(v->vm, 1, 0, NBR_GPA2, 0, NULL);
	vm_set_mem(v->vm, 1, 0, NBR_GPA, size, mem);
	neighbours_run(v, mem, NBR_GPA, 3, "deleted and added again");
}

/* @size bytes of anonymous memory at a 2 MiB boundary plus @offset. */
static void *alloc_at(uint64_t size, uint64_t offset)
{
	uint8_t *p = alloc_mem(size + offset + (2ULL << 20));

	return (void *)((((uintptr_t)p + (2ULL << 20) - 1) &
			 ~((2ULL << 20) - 1)) + offset);
}

/*
 * The same at 2 MiB-aligned host and guest addresses, where the host's
 * huge pages can be mapped whole (kvmlite: 2 MiB nested entries); moved
 * to an unaligned GPA (4 KiB entries of the same huge pages) and back.
 */
static void resident_huge(void)
{
	struct vcpu *v = GUEST_VM(neighbours_guest, MODE_LONG);
	uint64_t size = NBR_PAGES * PAGE_SIZE;
	uint32_t *mem = alloc_at(size, 0);

	memset(mem, 0x5a, size);
	vm_set_mem(v->vm, 1, 0, 0x1000000, size, mem);
	neighbours_run(v, mem, 0x1000000, 1, "aligned");
	vm_set_mem(v->vm, 1, 0, NBR_GPA2, size, mem);
	neighbours_run(v, mem, NBR_GPA2, 2, "moved to an unaligned GPA");
	vm_set_mem(v->vm, 1, 0, 0x3000000, size, mem);
	neighbours_run(v, mem, 0x3000000, 3, "moved to an aligned GPA");
	vm_set_mem(v->vm, 1, 0, 0x3000000, 0, NULL);
	vm_set_mem(v->vm, 1, 0, 0x1000000, size, mem);
	neighbours_run(v, mem, 0x1000000, 4, "deleted and added again");
}

/* A read-only 2 MiB slot, resident and aligned: writes still exit. */
static void readonly_huge(void)
{
	struct vcpu *v = probe_vm();
	uint64_t *mem = alloc_at(2ULL << 20, 0);
	uint64_t i;

	for (i = 0; i < (2ULL << 20) / 8; i++)
		mem[i] = i;
	vm_set_mem(v->vm, 1, KVM_MEM_READONLY, 0x1000000, 2ULL << 20, mem);
	CHECK_EQ(guest_read(v, 0x1000000 + 0x3000), 0x3000 / 8);
	CHECK_EQ(guest_read(v, 0x1000000 + 0x1ff000), 0x1ff000 / 8);
	guest_write_mmio(v, 0x1000000 + 0x4000, 0xfeedfacecafebeefULL);
	guest_write_mmio(v, 0x1000000, 0x1234);
	CHECK_EQ(mem[0x4000 / 8], 0x4000 / 8, "memory unchanged");
	CHECK_EQ(mem[0], 0, "memory unchanged");
	mem[0x100] = 77;
	CHECK_EQ(guest_read(v, 0x1000000 + 0x800), 77, "host writes seen");
}

/* A read-only slot, resident: after a read, a write next door still exits. */
static void readonly_neighbours(void)
{
	struct vcpu *v = probe_vm();
	uint64_t *mem = alloc_mem(SLOT1_SIZE);
	int i;

	for (i = 0; i < (int)(SLOT1_SIZE / 8); i++)
		mem[i] = i;
	vm_set_mem(v->vm, 1, KVM_MEM_READONLY, SLOT1_GPA, SLOT1_SIZE, mem);
	CHECK_EQ(guest_read(v, SLOT1_GPA + 0x3000), 0x3000 / 8);
	guest_write_mmio(v, SLOT1_GPA + 0x4000, 0xfeedfacecafebeefULL);
	guest_write_mmio(v, SLOT1_GPA + 0x2008, 0x1234);
	CHECK_EQ(mem[0x4000 / 8], 0x4000 / 8, "memory unchanged");
	CHECK_EQ(mem[0x2008 / 8], 0x2008 / 8, "memory unchanged");
	CHECK_EQ(guest_read(v, SLOT1_GPA + 0x5004), 0);
	CHECK_EQ(guest_read(v, SLOT1_GPA + 0x5000), 0x5000 / 8);
}

/* The guest writes every page of a 128 MiB slot at 0x40000000. */
#define RELEASE_SIZE	(128ULL << 20)

GUEST_CODE(release_guest, ".code64",
	"mov $0x40000000, %rsi\n"
	"mov $" STR(RELEASE_SIZE) " / 4096, %ecx\n"
	"1: movb $1, (%rsi)\n"
	"add $0x1000, %rsi\n"
	"loop 1b\n"
	G_DONE);

static long mem_free_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		fail("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Guest memory the guest touched is freed when the process exits. */
static void memory_released(void)
{
	long before = mem_free_kib(), after;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct vcpu *v = GUEST_VM(release_guest, MODE_LONG);

		vm_set_mem(v->vm, 1, 0, 0x40000000, RELEASE_SIZE,
			   alloc_mem(RELEASE_SIZE));
		run_to_done(v);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the child ran the guest");
	after = mem_free_kib();
	diag("MemFree %ld KiB before, %ld KiB after", before, after);
	CHECK(after > before - (long)(RELEASE_SIZE >> 10) / 4,
	      "at most a quarter of the guest's memory not back");
}

static const struct tcase cases[] = {
	CASE(add_slot, "add a slot: the guest sees the memory"),
	CASE(delete_slot, "delete a slot (size 0): MMIO again"),
	CASE(move_slot, "move a slot to another GPA"),
	CASE(immutable, "size, address and READONLY cannot change: EINVAL"),
	CASE(bad_flags, "unknown flags: EINVAL"),
	CASE(readonly, "KVM_MEM_READONLY: guest writes exit as MMIO"),
	CASE(overlap, "overlapping slots: EEXIST"),
	CASE(alignment, "misaligned gpa, size, userspace_addr: EINVAL"),
	CASE(overflow, "gpa + size overflow: EINVAL"),
	CASE(slot_ids, "slot id >= NR_MEMSLOTS: EINVAL"),
	CASE(bad_userspace_addr, "non-user userspace_addr: EINVAL"),
	CASE(unmapped_memory, "unmapped userspace_addr: guest access EFAULT"),
	CASE_TIMEOUT(all_slots, 60, "509 slots, all used by one guest"),
	CASE(big_slot, "a 1 GiB slot used sparsely"),
	CASE(resident_neighbours, "every page resident, unaligned, moved"),
	CASE(readonly_neighbours, "read-only, resident: writes still exit"),
	CASE(resident_huge, "resident huge pages, aligned, moved"),
	CASE(readonly_huge, "read-only huge page: writes still exit"),
	CASE(memory_released, "touched guest memory is freed at exit"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
