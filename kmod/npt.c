// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite second-level page tables (AMD NPT, Intel EPT), filled lazily on
 * guest faults from the memslots, with 4 KiB leaves, and 2 MiB ones for
 * the client's huge pages, a fault mapping the neighbours that are resident
 * too (fault-around).  Both use the 4-level
 * x86-64 layout; the backend sets the bits its format puts in tables and
 * leaves (vm->npt.table_bits, leaf_rw_bits, leaf_ro_bits, and huge_bit if
 * it has 2 MiB leaves).
 *
 * Entries are added under vm->npt_lock with vm->mmu_lock held for read;
 * tables are only freed with mmu_lock held for write, when no vCPU is in
 * the guest.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
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

/* Pages pinned per pin_user_pages_fast_only() call of the fault-around. */
#define NPT_PIN_BATCH		32

/* xarray mark of a pin block where fault-around found nothing resident. */
#define NPT_NO_AROUND		XA_MARK_1

/* The pins of the block of @slot holding offset @idx, made on first use. */
static struct kvml_pins *npt_pins(struct kvml_memslot *slot, unsigned long idx)
{
	unsigned long b = idx >> KVML_PIN_SHIFT;
	struct kvml_pins *pins, *old;

	pins = xa_load(&slot->pins, b);
	if (pins)
		return pins;
	pins = kzalloc(sizeof(*pins), GFP_KERNEL_ACCOUNT);
	if (!pins)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&slot->pins, b, NULL, pins, GFP_KERNEL_ACCOUNT);
	if (old) {
		kfree(pins);
		if (xa_is_err(old))
			return ERR_PTR(xa_err(old));
		pins = old;
	}
	return pins;
}

/* Record @page at @i of @pins unless another vCPU was first. */
static void npt_pin_set(struct kvml_pins *pins, unsigned int i,
			struct page *page)
{
	if (cmpxchg(&pins->page[i], NULL, page))
		unpin_user_page(page);
}

static unsigned long npt_hva(struct kvml_memslot *slot, unsigned long idx)
{
	return slot->userspace_addr + idx * PAGE_SIZE;
}

/*
 * Pin the pages of block offsets [@a, @b) (block at slot offset @base)
 * that the client has resident and mapped as the slot needs, without
 * faulting anything in: from @a up to the first page that is not, then
 * again from each 2 MiB boundary of the client's mapping (a huge page)
 * after it.  Returns how many pages were pinned.
 */
static unsigned int npt_pin_around(struct kvml_memslot *slot,
				   struct kvml_pins *pins, unsigned long base,
				   unsigned int a, unsigned int b,
				   unsigned int flags)
{
	struct page *batch[NPT_PIN_BATCH];
	unsigned int done = 0, n, got, k;
	unsigned long hva;

	while (a < b) {
		n = min_t(unsigned int, b - a, NPT_PIN_BATCH);
		got = pin_user_pages_fast_only(npt_hva(slot, base + a), n,
					       flags, batch);
		for (k = 0; k < got; k++)
			npt_pin_set(pins, a + k, batch[k]);
		done += got;
		a += got;
		if (got == n)
			continue;
		/* Offset a is not resident: try the next huge page. */
		hva = ALIGN(npt_hva(slot, base + a + 1), PMD_SIZE);
		a = (hva - slot->userspace_addr) / PAGE_SIZE - base;
	}
	return done;
}

/*
 * A whole block that the client maps with one huge page (its 512 pages
 * resident, physically contiguous, the first 2 MiB-aligned) is pinned
 * with one call and kept as one entry: page[0] holds the 512 pins and the
 * block is marked KVML_PINS_HUGE.  Returns how many pages of the block,
 * from its start, are pinned: KVML_PIN_BLOCK when it became a huge block,
 * else those pinned one by one as fault-around would.
 */
static unsigned int npt_pin_huge(struct kvml_memslot *slot,
				 struct kvml_pins *pins, unsigned long base,
				 unsigned int flags, bool *huge)
{
	unsigned long pfn = 0;
	struct page **tmp;
	int got, k;

	*huge = false;
	tmp = kmalloc_array(KVML_PIN_BLOCK, sizeof(*tmp), GFP_KERNEL);
	if (!tmp)
		return 0;
	got = pin_user_pages_fast_only(npt_hva(slot, base), KVML_PIN_BLOCK,
				       flags, tmp);
	if (got > 0)
		pfn = page_to_pfn(tmp[0]);
	for (k = 0; k < got; k++)
		if (page_to_pfn(tmp[k]) != pfn + k)
			break;
	if (got == KVML_PIN_BLOCK && k == got &&
	    IS_ALIGNED(pfn, KVML_PIN_BLOCK) &&
	    !cmpxchg(&pins->page[0], NULL, tmp[0])) {
		xa_set_mark(&slot->pins, base >> KVML_PIN_SHIFT,
			    KVML_PINS_HUGE);
		*huge = true;
	} else {
		for (k = 0; k < got; k++)
			npt_pin_set(pins, k, tmp[k]);
	}
	kfree(tmp);
	return max(got, 0);
}

/*
 * The table of level @to (1: 4 KiB leaves, 2: 2 MiB ones) on the way to
 * @gpa, with npt_lock held.  A missing table is made from *@spare, which is
 * then NULL.  Returns NULL if one is missing and there is no spare, and
 * ERR_PTR(-EEXIST) if a 2 MiB leaf maps @gpa already.
 */
static u64 *npt_walk(struct kvml_npt *npt, u64 gpa, int to, u64 **spare)
{
	u64 *table = npt->root;
	int level;

	for (level = NPT_LEVELS; level > to; level--) {
		u64 *entry = &table[npt_index(gpa, level)];
		u64 e = READ_ONCE(*entry);

		if (!(e & npt->present_bits)) {
			if (!*spare)
				return NULL;
			e = __pa(*spare) | npt->table_bits;
			WRITE_ONCE(*entry, e);
			*spare = NULL;
		} else if (e & npt->huge_bit) {
			return ERR_PTR(-EEXIST);
		}
		table = npt_table_va(e);
	}
	return table;
}

static u64 npt_leaf_bits(struct kvml_npt *npt, struct kvml_memslot *slot)
{
	return (slot->flags & KVM_MEM_READONLY) ? npt->leaf_ro_bits :
						  npt->leaf_rw_bits;
}

/*
 * Map the pinned pages of block offsets [@a, @b) of the block at slot
 * offset @base with 4 KiB leaves (of a huge block: page[0] and the pages
 * after it).  Table pages are allocated outside the spinlock, one at a
 * time as the walk finds them missing.
 */
static int npt_map_pinned(struct kvml_vm *vm, struct kvml_memslot *slot,
			  struct kvml_pins *pins, unsigned long base,
			  unsigned int a, unsigned int b, bool huge)
{
	struct kvml_npt *npt = &vm->npt;
	u64 bits = npt_leaf_bits(npt, slot);
	u64 *table = NULL, *spare = NULL, table_gpa = 0;

	spin_lock(&vm->npt_lock);
	while (a < b) {
		struct page *page = huge ? nth_page(pins->page[0], a) :
					   READ_ONCE(pins->page[a]);
		u64 gpa = (slot->base_gfn + base + a) << PAGE_SHIFT;

		if (!page) {
			a++;
			continue;
		}
		/* One leaf table maps 2 MiB: walk again for another one. */
		if (!table || (gpa & PMD_MASK) != table_gpa) {
			table = npt_walk(npt, gpa, 1, &spare);
			table_gpa = gpa & PMD_MASK;
		}
		if (!table) {
			spin_unlock(&vm->npt_lock);
			spare = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
			if (!spare)
				return -ENOMEM;
			spin_lock(&vm->npt_lock);
			continue;
		}
		/* Under a 2 MiB leaf (of this same block) it is mapped. */
		if (!IS_ERR(table))
			WRITE_ONCE(table[npt_index(gpa, 1)],
				   page_to_phys(page) | bits);
		a++;
	}
	spin_unlock(&vm->npt_lock);
	if (spare)
		free_page((unsigned long)spare);
	return 0;
}

/*
 * Map a huge block: with one 2 MiB leaf when the backend has them and the
 * block's guest address is 2 MiB-aligned (a move may have changed that),
 * else, or when 4 KiB leaves of it are there already, with 4 KiB leaves.
 */
static int npt_map_huge(struct kvml_vm *vm, struct kvml_memslot *slot,
			struct kvml_pins *pins, unsigned long base)
{
	u64 gpa = (slot->base_gfn + base) << PAGE_SHIFT;
	struct kvml_npt *npt = &vm->npt;
	u64 *pd, *spare = NULL, e;
	bool small = false;

	if (!npt->huge_bit || !IS_ALIGNED(gpa, PMD_SIZE))
		return npt_map_pinned(vm, slot, pins, base, 0, KVML_PIN_BLOCK,
				      true);
	spin_lock(&vm->npt_lock);
	while (!(pd = npt_walk(npt, gpa, 2, &spare))) {
		spin_unlock(&vm->npt_lock);
		spare = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!spare)
			return -ENOMEM;
		spin_lock(&vm->npt_lock);
	}
	if (!IS_ERR(pd)) {
		e = READ_ONCE(pd[npt_index(gpa, 2)]);
		if (!(e & npt->present_bits))
			WRITE_ONCE(pd[npt_index(gpa, 2)],
				   page_to_phys(pins->page[0]) |
				   npt_leaf_bits(npt, slot) | npt->huge_bit);
		else if (!(e & npt->huge_bit))
			small = true;
	}
	spin_unlock(&vm->npt_lock);
	if (spare)
		free_page((unsigned long)spare);
	if (small)
		return npt_map_pinned(vm, slot, pins, base, 0, KVML_PIN_BLOCK,
				      true);
	return 0;
}

/*
 * Map the page of @slot that backs @gpa.  Called on a nested page fault
 * with vm->mmu_lock held for read; may sleep.
 *
 * The page is pinned (faulted in if need be) and mapped, and with it, by
 * fault-around, the neighbours in its pin block that the client already
 * has resident: after the first fault in a huge page of the client's
 * memory, all of it, with one 2 MiB entry when the huge page and the
 * block line up.  Fault-around never faults anything in, so it costs no
 * memory.  A fault on a page that is already pinned (the tables were
 * zapped) maps every pinned page of its block again.
 */
int kvml_npt_map(struct kvml_vm *vm, struct kvml_memslot *slot, u64 gpa)
{
	unsigned long idx = (gpa >> PAGE_SHIFT) - slot->base_gfn;
	unsigned long base = idx & ~(unsigned long)(KVML_PIN_BLOCK - 1);
	unsigned int n = min_t(u64, slot->npages - base, KVML_PIN_BLOCK);
	unsigned int i = idx - base, lo, hi, from, found = 0;
	unsigned int flags = FOLL_LONGTERM;
	struct kvml_pins *pins;
	struct page *page;
	bool huge;

	if (!(slot->flags & KVM_MEM_READONLY))
		flags |= FOLL_WRITE;
	pins = npt_pins(slot, idx);
	if (IS_ERR(pins))
		return PTR_ERR(pins);
	if (xa_get_mark(&slot->pins, idx >> KVML_PIN_SHIFT, KVML_PINS_HUGE))
		return npt_map_huge(vm, slot, pins, base);
	if (READ_ONCE(pins->page[i]))
		return npt_map_pinned(vm, slot, pins, base, 0, n, false);

	/* The run of unpinned pages around @i is what fault-around tries. */
	for (lo = i; lo > 0 && !READ_ONCE(pins->page[lo - 1]); lo--)
		;
	for (hi = i + 1; hi < n && !READ_ONCE(pins->page[hi]); hi++)
		;
	if (pin_user_pages_fast(npt_hva(slot, idx), 1, flags, &page) != 1)
		return -EFAULT;
	if (xa_get_mark(&slot->pins, idx >> KVML_PIN_SHIFT, NPT_NO_AROUND)) {
		npt_pin_set(pins, i, page);
		return npt_map_pinned(vm, slot, pins, base, i, i + 1, false);
	}
	/*
	 * A block untouched so far, at a huge page boundary of the client:
	 * try to take it whole, else keep the pages pinned from its start.
	 */
	from = lo;
	if (lo == 0 && hi == KVML_PIN_BLOCK &&
	    IS_ALIGNED(npt_hva(slot, base), PMD_SIZE)) {
		from = npt_pin_huge(slot, pins, base, flags, &huge);
		if (huge) {
			unpin_user_page(page);
			return npt_map_huge(vm, slot, pins, base);
		}
		found = from;
	}
	npt_pin_set(pins, i, page);
	found += npt_pin_around(slot, pins, base, max(i + 1, from), hi, flags);
	if (from < i)
		found += npt_pin_around(slot, pins, base, from, i, flags);
	if (!found)
		xa_set_mark(&slot->pins, idx >> KVML_PIN_SHIFT, NPT_NO_AROUND);
	return npt_map_pinned(vm, slot, pins, base, lo, hi, false);
}

static void npt_free_level(struct kvml_npt *npt, u64 *table, int level)
{
	int i;

	for (i = 0; i < NPT_ENTRIES; i++) {
		u64 e = table[i];

		if (!(e & npt->present_bits))
			continue;
		table[i] = 0;
		if (level == 2 && (e & npt->huge_bit))
			continue;	/* a 2 MiB leaf */
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
