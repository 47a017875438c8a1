// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite second-level page tables (AMD NPT, Intel EPT), filled lazily on
 * guest faults from the memslots, with 4 KiB leaves.  Both use the 4-level
 * x86-64 layout; the backend sets the bits its format puts in tables and
 * leaves (vm->npt.table_bits, leaf_rw_bits, leaf_ro_bits).
 *
 * Entries are added under vm->npt_lock with vm->mmu_lock held for read;
 * tables are only freed with mmu_lock held for write, when no vCPU is in
 * the guest.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/xarray.h>
#include <asm/io.h>

#include "kvmlite.h"

#define NPT_LEVELS		4
#define NPT_ENTRIES		512
#define NPT_ADDR_MASK		GENMASK_ULL(51, 12)

static unsigned int npt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (NPT_ENTRIES - 1);
}

static u64 *npt_table_va(u64 entry)
{
	return __va(entry & NPT_ADDR_MASK);
}

int kvml_npt_init(struct kvml_npt *npt)
{
	npt->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!npt->root)
		return -ENOMEM;
	npt->root_pa = __pa(npt->root);
	return 0;
}

/* Pin the page behind @gfn of @slot once; later faults reuse the pin. */
static struct page *npt_pin(struct kvml_memslot *slot, u64 gfn)
{
	unsigned long idx = gfn - slot->base_gfn;
	unsigned int flags = FOLL_LONGTERM;
	struct page *page, *old;

	page = xa_load(&slot->pages, idx);
	if (page)
		return page;
	if (!(slot->flags & KVM_MEM_READONLY))
		flags |= FOLL_WRITE;
	if (pin_user_pages_fast(slot->userspace_addr + idx * PAGE_SIZE, 1,
				flags, &page) != 1)
		return ERR_PTR(-EFAULT);
	old = xa_cmpxchg(&slot->pages, idx, NULL, page, GFP_KERNEL_ACCOUNT);
	if (old) {
		unpin_user_page(page);
		if (xa_is_err(old))
			return ERR_PTR(xa_err(old));
		page = old;
	}
	return page;
}

/*
 * The leaf table for @gpa, with npt_lock held.  A missing table is made
 * from *@spare, which is then NULL; returns NULL if one is missing and
 * there is no spare.
 */
static u64 *npt_leaf_table(struct kvml_npt *npt, u64 gpa, u64 **spare)
{
	u64 *table = npt->root;
	int level;

	for (level = NPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[npt_index(gpa, level)];

		if (!(READ_ONCE(*entry) & npt->present_bits)) {
			if (!*spare)
				return NULL;
			WRITE_ONCE(*entry, __pa(*spare) | npt->table_bits);
			*spare = NULL;
		}
		table = npt_table_va(*entry);
	}
	return table;
}

/*
 * Map the page of @slot that backs @gpa.  Called on a nested page fault
 * with vm->mmu_lock held for read; may sleep.  Table pages are allocated
 * outside the spinlock, one at a time as the walk finds them missing.
 */
int kvml_npt_map(struct kvml_vm *vm, struct kvml_memslot *slot, u64 gpa)
{
	struct kvml_npt *npt = &vm->npt;
	u64 *table, *spare = NULL, leaf;
	struct page *page;

	page = npt_pin(slot, gpa >> PAGE_SHIFT);
	if (IS_ERR(page))
		return PTR_ERR(page);
	leaf = page_to_phys(page) | ((slot->flags & KVM_MEM_READONLY) ?
				     npt->leaf_ro_bits : npt->leaf_rw_bits);

	spin_lock(&vm->npt_lock);
	while (!(table = npt_leaf_table(npt, gpa, &spare))) {
		spin_unlock(&vm->npt_lock);
		spare = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!spare)
			return -ENOMEM;
		spin_lock(&vm->npt_lock);
	}
	WRITE_ONCE(table[npt_index(gpa, 1)], leaf);
	spin_unlock(&vm->npt_lock);
	if (spare)
		free_page((unsigned long)spare);
	return 0;
}

static void npt_free_level(struct kvml_npt *npt, u64 *table, int level)
{
	int i;

	for (i = 0; i < NPT_ENTRIES; i++) {
		u64 e = table[i];

		if (!(e & npt->present_bits))
			continue;
		table[i] = 0;
		if (level > 2)
			npt_free_level(npt, npt_table_va(e), level - 1);
		if (level > 1)
			free_page((unsigned long)npt_table_va(e));
	}
}

/*
 * Drop every mapping, keeping the root so the vCPUs' pointers stay valid.
 * Caller holds mmu_lock for write; vCPUs flush their TLB on the next entry
 * because npt_gen moved.
 */
void kvml_npt_zap(struct kvml_vm *vm, struct kvml_npt *npt)
{
	if (!npt->root)
		return;
	npt_free_level(npt, npt->root, NPT_LEVELS);
	WRITE_ONCE(vm->npt_gen, vm->npt_gen + 1);
}

void kvml_npt_destroy(struct kvml_vm *vm, struct kvml_npt *npt)
{
	if (!npt->root)
		return;
	npt_free_level(npt, npt->root, NPT_LEVELS);
	free_page((unsigned long)npt->root);
	npt->root = NULL;
}
