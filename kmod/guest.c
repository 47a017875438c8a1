// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite guest memory by virtual address: segment bases, the walk of the
 * guest's own page tables, and copies to and from guest-virtual memory.
 * Arch-neutral over the backends: guest state comes through kvml_ops, guest
 * physical memory through kvml_read_gpa()/kvml_write_gpa().
 *
 * The walk checks what the access needs (present, writable, user) but no
 * reserved bits, and sets no accessed or dirty bits: the emulator walks for
 * the access the guest already made (its walk set them) and, for the RAM
 * side of MOVS, for one the guest is making.  Callers hold mmu_lock for
 * read, as kvml_read_gpa() needs.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/page.h>
#include <asm/processor-flags.h>

#include "kvmlite.h"

#define PTE_P		BIT_ULL(0)
#define PTE_W		BIT_ULL(1)
#define PTE_U		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_ADDR	0x000ffffffffff000ULL	/* bits 51:12 */

/* The code size of the current mode in bytes: 2, 4 or 8 (64-bit mode). */
int kvml_code_size(struct kvml_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!(kvml_ops->get_cr(vcpu, 0) & X86_CR0_PE) ||
	    (vcpu->rflags & X86_EFLAGS_VM))
		return 2;
	kvml_ops->get_segment(vcpu, &cs, SEG_CS);
	if ((kvml_ops->get_efer(vcpu) & EFER_LMA) && cs.l)
		return 8;
	return cs.db ? 4 : 2;
}

/* The base of @seg (enum kvml_seg); in 64-bit mode 0 but for FS and GS. */
u64 kvml_seg_base(struct kvml_vcpu *vcpu, int seg)
{
	struct kvm_segment s;

	if (seg != SEG_FS && seg != SEG_GS && kvml_code_size(vcpu) == 8)
		return 0;
	kvml_ops->get_segment(vcpu, &s, seg);
	return s.base;
}

struct walk {
	bool write;			/* needs W at every level */
	bool user;			/* needs U at every level */
};

static bool walk_allows(const struct walk *w, u64 pte)
{
	return (!w->write || (pte & PTE_W)) && (!w->user || (pte & PTE_U));
}

/* Two levels of 32-bit entries, 4 MiB pages with CR4.PSE (PSE-36 too). */
static int walk32(struct kvml_vcpu *vcpu, const struct walk *w, u32 gva,
		  u64 cr3, bool pse, u64 *gpa)
{
	u32 pde, pte;

	if (kvml_read_gpa(vcpu->vm, (cr3 & 0xfffff000) + (gva >> 22) * 4,
			  &pde, 4))
		return -EFAULT;
	if (!(pde & PTE_P) || !walk_allows(w, pde))
		return -EFAULT;
	if (pse && (pde & PTE_PS)) {
		*gpa = (pde & 0xffc00000) | ((u64)(pde & 0x1fe000) << 19) |
		       (gva & 0x3fffff);
		return 0;
	}
	if (kvml_read_gpa(vcpu->vm,
			  (pde & 0xfffff000) + ((gva >> 12) & 0x3ff) * 4,
			  &pte, 4))
		return -EFAULT;
	if (!(pte & PTE_P) || !walk_allows(w, pte))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
	return 0;
}

/*
 * @levels levels of 64-bit entries from @table: 4 (PML4) in long mode,
 * 2 (page directory) under a PAE PDPTE.  PS makes a 1 GiB leaf at level 3
 * and a 2 MiB leaf at level 2.
 */
static int walk64(struct kvml_vcpu *vcpu, const struct walk *w, u64 gva,
		  u64 table, int levels, u64 *gpa)
{
	int level;
	u64 pte;

	for (level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		u64 size = 1ULL << shift;

		if (kvml_read_gpa(vcpu->vm, table + ((gva >> shift) & 511) * 8,
				  &pte, 8))
			return -EFAULT;
		if (!(pte & PTE_P) || !walk_allows(w, pte))
			return -EFAULT;
		if (level == 1 || ((level == 2 || level == 3) && (pte & PTE_PS))) {
			*gpa = (pte & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}

/*
 * Translate @gva through the guest's page tables as an access by the
 * current CPL, a write if @write.  Returns 0 with *@gpa set, or -EFAULT
 * when not mapped (or not canonical, or 5-level paging).
 */
int kvml_gva_to_gpa(struct kvml_vcpu *vcpu, u64 gva, bool write, u64 *gpa)
{
	u64 cr0 = kvml_ops->get_cr(vcpu, 0);
	u64 cr3, cr4, pdpte;
	struct walk w;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = (u32)gva;
		return 0;
	}
	cr3 = kvml_ops->get_cr(vcpu, 3);
	cr4 = kvml_ops->get_cr(vcpu, 4);
	w.user = kvml_ops->get_cpl(vcpu) == 3;
	w.write = write && (w.user || (cr0 & X86_CR0_WP));

	if (kvml_ops->get_efer(vcpu) & EFER_LMA) {
		if (cr4 & X86_CR4_LA57)
			return -EFAULT;
		if ((u64)((s64)(gva << 16) >> 16) != gva)
			return -EFAULT;
		return walk64(vcpu, &w, gva, cr3 & PTE_ADDR, 4, gpa);
	}
	gva = (u32)gva;
	if (!(cr4 & X86_CR4_PAE))
		return walk32(vcpu, &w, gva, cr3, cr4 & X86_CR4_PSE, gpa);

	/* PAE: the PDPTE has no W or U bit. */
	if (kvml_read_gpa(vcpu->vm, (cr3 & 0xffffffe0) + (gva >> 30) * 8,
			  &pdpte, 8))
		return -EFAULT;
	if (!(pdpte & PTE_P))
		return -EFAULT;
	return walk64(vcpu, &w, gva, pdpte & PTE_ADDR, 2, gpa);
}

/* Copy @len bytes at guest-virtual @gva, page by page, into @buf. */
int kvml_read_guest_virt(struct kvml_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len)
{
	u64 gpa;

	while (len) {
		unsigned int n = min_t(u64, len, PAGE_SIZE - (gva & ~PAGE_MASK));

		if (kvml_gva_to_gpa(vcpu, gva, false, &gpa) ||
		    kvml_read_gpa(vcpu->vm, gpa, buf, n))
			return -EFAULT;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Copy @len bytes from @buf to guest-virtual @gva, page by page. */
int kvml_write_guest_virt(struct kvml_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len)
{
	u64 gpa;

	while (len) {
		unsigned int n = min_t(u64, len, PAGE_SIZE - (gva & ~PAGE_MASK));

		if (kvml_gva_to_gpa(vcpu, gva, true, &gpa) ||
		    kvml_write_gpa(vcpu->vm, gpa, buf, n))
			return -EFAULT;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}
