// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite memslots: guest physical ranges backed by the client's memory,
 * KVM_SET_USER_MEMORY_REGION with KVM's rules, and guest-physical access
 * for the emulator.
 *
 * vm->slots[] is kept sorted by base gfn.  Writers hold vm->lock and, to
 * change the array, vm->mmu_lock for write; lookups hold either.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "kvmlite.h"

/* KVM's limit on the pages of one slot. */
#define KVML_SLOT_MAX_PAGES	((1UL << 31) - 1)

struct kvml_memslot *kvml_gfn_to_slot(struct kvml_vm *vm, u64 gfn)
{
	int lo = 0, hi = vm->nr_slots - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		struct kvml_memslot *s = vm->slots[mid];

		if (gfn < s->base_gfn)
			hi = mid - 1;
		else if (gfn >= s->base_gfn + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

static int kvml_slot_index_by_id(struct kvml_vm *vm, u32 id)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i]->id == id)
			return i;
	return -1;
}

static bool kvml_slots_overlap(struct kvml_vm *vm, u32 id, u64 gfn, u64 n)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct kvml_memslot *s = vm->slots[i];

		if (s->id != id && gfn < s->base_gfn + s->npages &&
		    s->base_gfn < gfn + n)
			return true;
	}
	return false;
}

/* Insert @slot in gfn order.  Caller holds mmu_lock for write. */
static void kvml_slot_insert(struct kvml_vm *vm, struct kvml_memslot *slot)
{
	int i = vm->nr_slots;

	while (i > 0 && vm->slots[i - 1]->base_gfn > slot->base_gfn) {
		vm->slots[i] = vm->slots[i - 1];
		i--;
	}
	vm->slots[i] = slot;
	vm->nr_slots++;
}

static void kvml_slot_remove(struct kvml_vm *vm, int index)
{
	memmove(&vm->slots[index], &vm->slots[index + 1],
		(vm->nr_slots - index - 1) * sizeof(vm->slots[0]));
	vm->nr_slots--;
}

/* Unpin the slot's pages and free it.  Its NPT entries must be gone. */
static void kvml_slot_free(struct kvml_memslot *slot)
{
	bool dirty = !(slot->flags & KVM_MEM_READONLY);
	struct kvml_pins *pins;
	unsigned long b;
	unsigned int i, n;

	xa_for_each(&slot->pins, b, pins) {
		i = 0;
		if (xa_get_mark(&slot->pins, b, KVML_PINS_HUGE)) {
			unpin_user_page_range_dirty_lock(pins->page[0],
							 KVML_PIN_BLOCK, dirty);
			i = 1;
		}
		/* Runs of pinned pages in one call: a huge page at once. */
		for (; i < KVML_PIN_BLOCK; i += n) {
			for (n = 0; i + n < KVML_PIN_BLOCK && pins->page[i + n]; n++)
				;
			if (n)
				unpin_user_pages_dirty_lock(&pins->page[i], n, dirty);
			else
				n = 1;
		}
		kfree(pins);
	}
	xa_destroy(&slot->pins);
	kfree(slot);
}

void kvml_free_memslots(struct kvml_vm *vm)
{
	while (vm->nr_slots)
		kvml_slot_free(vm->slots[--vm->nr_slots]);
}

static int kvml_check_region(const struct kvm_userspace_memory_region *mr)
{
	if (mr->flags & ~KVM_MEM_READONLY)
		return -EINVAL;
	if ((mr->memory_size | mr->guest_phys_addr) & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mr->userspace_addr & (PAGE_SIZE - 1)) ||
	    !access_ok((void __user *)(unsigned long)mr->userspace_addr,
		       mr->memory_size))
		return -EINVAL;
	if ((mr->slot >> 16) != 0 || (mr->slot & 0xffff) >= KVML_MAX_MEMSLOTS)
		return -EINVAL;
	if (mr->guest_phys_addr + mr->memory_size < mr->guest_phys_addr)
		return -EINVAL;
	if ((mr->memory_size >> PAGE_SHIFT) > KVML_SLOT_MAX_PAGES)
		return -EINVAL;
	return 0;
}

int kvml_set_memory_region(struct kvml_vm *vm,
			   const struct kvm_userspace_memory_region *mr)
{
	u64 gfn = mr->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mr->memory_size >> PAGE_SHIFT;
	u32 id = mr->slot & 0xffff;
	struct kvml_memslot *old, *slot;
	int index, r;

	r = kvml_check_region(mr);
	if (r)
		return r;

	mutex_lock(&vm->lock);
	index = kvml_slot_index_by_id(vm, id);
	old = index >= 0 ? vm->slots[index] : NULL;
	r = -EINVAL;

	if (!npages) {				/* delete */
		if (!old)
			goto out;
		down_write(&vm->mmu_lock);
		kvml_slot_remove(vm, index);
		kvml_npt_zap(vm, &vm->npt);
		up_write(&vm->mmu_lock);
		kvml_slot_free(old);
		r = 0;
		goto out;
	}

	if (old) {
		/* Only the base (move) may change, as on KVM. */
		if (mr->userspace_addr != old->userspace_addr ||
		    npages != old->npages ||
		    ((mr->flags ^ old->flags) & KVM_MEM_READONLY))
			goto out;
		r = 0;
		if (gfn == old->base_gfn)
			goto out;
		r = -EEXIST;
		if (kvml_slots_overlap(vm, id, gfn, npages))
			goto out;
		/* The pinned pages follow the slot: they are indexed by offset. */
		down_write(&vm->mmu_lock);
		kvml_slot_remove(vm, index);
		old->base_gfn = gfn;
		kvml_slot_insert(vm, old);
		kvml_npt_zap(vm, &vm->npt);
		up_write(&vm->mmu_lock);
		r = 0;
		goto out;
	}

	r = -EEXIST;
	if (kvml_slots_overlap(vm, id, gfn, npages))
		goto out;
	r = -ENOMEM;
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		goto out;
	slot->id = id;
	slot->flags = mr->flags;
	slot->base_gfn = gfn;
	slot->npages = npages;
	slot->userspace_addr = mr->userspace_addr;
	xa_init(&slot->pins);

	down_write(&vm->mmu_lock);
	kvml_slot_insert(vm, slot);
	up_write(&vm->mmu_lock);
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* The client address backing @gpa, or 0.  Caller holds mmu_lock. */
static unsigned long kvml_gpa_to_hva(struct kvml_vm *vm, u64 gpa, bool write)
{
	struct kvml_memslot *slot = kvml_gfn_to_slot(vm, gpa >> PAGE_SHIFT);

	if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
		return 0;
	return slot->userspace_addr +
	       ((gpa >> PAGE_SHIFT) - slot->base_gfn) * PAGE_SIZE +
	       offset_in_page(gpa);
}

/*
 * Copy guest physical memory, page by page, through the client's mapping.
 * Runs in the VM's process with mmu_lock held for read.
 */
int kvml_read_gpa(struct kvml_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));
		unsigned long hva = kvml_gpa_to_hva(vm, gpa, false);

		if (!hva || copy_from_user(buf, (void __user *)hva, n))
			return -EFAULT;
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int kvml_write_gpa(struct kvml_vm *vm, u64 gpa, const void *buf,
		   unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));
		unsigned long hva = kvml_gpa_to_hva(vm, gpa, true);

		if (!hva || copy_to_user((void __user *)hva, buf, n))
			return -EFAULT;
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}
