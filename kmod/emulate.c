// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite MMIO emulator, shared by the backends, and MOV to or from debug
 * registers.
 *
 * A guest access outside every memslot, or a write to a read-only one,
 * comes here from the backend's nested page fault handler with RIP at the
 * instruction.  There are no decode assists: the instruction is fetched
 * from CS:RIP, decoded (decode.c) and executed here, one KVM_EXIT_MMIO per
 * access.  As in KVM, a write exit shows the vCPU state after the
 * instruction (or after one iteration of a REP string instruction); a read
 * exit shows the state before it, and the completion, run by the core at
 * the next KVM_RUN, finishes the instruction and may start another exit:
 * the write half of a read-modify-write, or the next string iteration.
 *
 * Guest garbage ends as KVM_EXIT_INTERNAL_ERROR (KVM_INTERNAL_ERROR_EMULATION
 * with the instruction bytes) or as an exception for the guest.
 */
#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <asm/page.h>
#include <asm/processor-flags.h>

#include "emulate.h"

#define EFLAGS_ARITH	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* DR6 and DR7 bits (SDM vol. 3 17.2), without RTM and bus-lock detection. */
#define DR6_VOLATILE	0x0000e00fULL	/* B0-B3, BD, BS, BT */
#define DR6_FIXED_1	0xffff0ff0ULL
#define DR6_BD		BIT_ULL(13)
#define DR7_VOLATILE	0xffff2bffULL
#define DR7_FIXED_1	0x00000400ULL
#define DR7_GD		BIT_ULL(13)

static int emul_complete(struct kvml_vcpu *vcpu);
static int emul_finish(struct kvml_vcpu *vcpu, u64 mem);

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT_ULL(size * 8) - 1;
}

/* Byte registers 4 to 7 are AH, CH, DH and BH when there is no REX. */
static bool reg_is_high_byte(u8 reg, unsigned int size, u8 rex)
{
	return size == 1 && !rex && reg >= 4 && reg < 8;
}

static u64 reg_read(struct kvml_vcpu *vcpu, u8 reg, unsigned int size,
		    u8 rex)
{
	if (reg_is_high_byte(reg, size, rex))
		return (vcpu->regs[reg - 4] >> 8) & 0xff;
	return vcpu->regs[reg] & size_mask(size);
}

/* Bytes and words merge; dwords zero-extend, as in 64-bit mode. */
static void reg_write(struct kvml_vcpu *vcpu, u8 reg, unsigned int size,
		      u8 rex, u64 val)
{
	u64 *r = &vcpu->regs[reg];

	switch (size) {
	case 1:
		if (reg_is_high_byte(reg, size, rex)) {
			r = &vcpu->regs[reg - 4];
			*r = (*r & ~0xff00ULL) | ((val & 0xff) << 8);
		} else {
			*r = (*r & ~0xffULL) | (val & 0xff);
		}
		break;
	case 2:
		*r = (*r & ~0xffffULL) | (val & 0xffff);
		break;
	case 4:
		*r = (u32)val;
		break;
	default:
		*r = val;
	}
}

/* Add @delta to an address or count register of the address size. */
static void reg_add(struct kvml_vcpu *vcpu, u8 reg, s64 delta)
{
	reg_write(vcpu, reg, vcpu->emul.insn.addrsize, 1,
		  vcpu->regs[reg] + delta);
}

/* RIP past the instruction, which ends any interrupt shadow. */
static void emul_skip(struct kvml_vcpu *vcpu)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	u64 rip = vcpu->rip + insn->len;

	if (insn->mode == 2)
		rip &= 0xffff;
	else if (insn->mode == 4)
		rip = (u32)rip;
	vcpu->rip = rip;
	vcpu->emul.done = true;
	if (kvml_ops->get_interrupt_shadow(vcpu))
		kvml_ops->set_interrupt_shadow(vcpu, 0);
}

/*
 * KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_EMULATION, laid out as
 * <linux/kvm.h> says: flags, then insn_size and the bytes fetched, then
 * (not ABI) the faulting guest physical address.
 */
static int emul_fail(struct kvml_vcpu *vcpu)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvm_run *run = vcpu->run;

	memset(&run->emulation_failure, 0, sizeof(run->emulation_failure));
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags =
		KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size = em->insn.nbytes;
	memcpy(run->emulation_failure.insn_bytes, em->insn.bytes,
	       em->insn.nbytes);
	run->internal.data[3] = em->gpa;
	run->emulation_failure.ndata = 4;
	em->active = false;
	vcpu->complete_userspace = NULL;
	return 0;
}

/* Hand one access to userspace; the completion goes on at @stage. */
static int emul_exit(struct kvml_vcpu *vcpu, u64 gpa, unsigned int size,
		     bool write, u64 data, u8 stage)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = size;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, &data, size);
	em->active = true;
	em->stage = stage;
	em->gpa = gpa;
	em->size = size;
	vcpu->complete_userspace = emul_complete;
	return 0;
}

/* Does an access at @gpa go to userspace: no memslot, or read-only? */
static bool emul_is_mmio(struct kvml_vcpu *vcpu, u64 gpa, bool write)
{
	struct kvml_memslot *slot = kvml_gfn_to_slot(vcpu->vm,
						     gpa >> PAGE_SHIFT);

	return !slot || (write && (slot->flags & KVM_MEM_READONLY));
}

/* Fetch up to 15 bytes at CS:RIP, stopping at an unmapped page. */
static int emul_fetch(struct kvml_vcpu *vcpu)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	unsigned int n = 0, chunk;
	u64 la;

	insn->mode = kvml_code_size(vcpu);
	la = kvml_seg_base(vcpu, SEG_CS) + vcpu->rip;
	if (insn->mode != 8)
		la = (u32)la;
	while (n < sizeof(insn->bytes)) {
		chunk = min_t(u64, sizeof(insn->bytes) - n,
			      PAGE_SIZE - ((la + n) & ~PAGE_MASK));
		if (kvml_read_guest_virt(vcpu, la + n, insn->bytes + n, chunk))
			break;
		n += chunk;
	}
	insn->nbytes = n;
	return n ? 0 : -EFAULT;
}

static u64 emul_linear(struct kvml_vcpu *vcpu, int seg, u64 ea)
{
	u64 la = kvml_seg_base(vcpu, seg) + ea;

	return vcpu->emul.insn.mode == 8 ? la : (u32)la;
}

/* The effective address of the ModRM or moffs operand. */
static u64 emul_ea(struct kvml_vcpu *vcpu)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	u64 ea = insn->disp;

	if (insn->rip_rel)
		ea += vcpu->rip + insn->len;
	if (insn->base != KVML_NO_REG)
		ea += vcpu->regs[insn->base];
	if (insn->index != KVML_NO_REG)
		ea += vcpu->regs[insn->index] * insn->scale;
	return ea & size_mask(insn->addrsize);
}

/*
 * The guest physical address of @size bytes at linear @la; -EFAULT when
 * unmapped, or split over two pages that are not physically contiguous.
 */
static int emul_translate(struct kvml_vcpu *vcpu, u64 la, unsigned int size,
			  bool write, u64 *gpa)
{
	u64 last = la + size - 1, g;

	if (vcpu->emul.insn.mode != 8)
		last = (u32)last;
	if (kvml_gva_to_gpa(vcpu, la, write, gpa))
		return -EFAULT;
	if (!((la ^ last) & PAGE_MASK))
		return 0;
	if (kvml_gva_to_gpa(vcpu, last, write, &g) || g != *gpa + size - 1)
		return -EFAULT;
	return 0;
}

static bool gpa_in(u64 gpa, u64 start, unsigned int size)
{
	return gpa >= start && gpa - start < size;
}

/*
 * The guest physical address of the piece of the operand at @la (within
 * one page).  When the guest's page tables do not say, the faulting
 * address stands in if its page offset agrees.
 */
static int emul_piece_gpa(struct kvml_vcpu *vcpu, u64 la, bool write,
			  u64 fault_gpa, u64 *gpa)
{
	if (!kvml_gva_to_gpa(vcpu, la, write, gpa))
		return 0;
	if ((la & ~PAGE_MASK) != (fault_gpa & ~PAGE_MASK))
		return -EFAULT;
	*gpa = fault_gpa;
	return 0;
}

/*
 * Split the operand of @size bytes at linear @la at its page boundary, as
 * the hardware would access it: each piece is RAM or MMIO on its own.
 * The faulting @fault_gpa must be in one of them, or the instruction is
 * not the one that faulted.
 */
static int emul_split(struct kvml_vcpu *vcpu, u64 la, unsigned int size,
		      bool write, u64 fault_gpa)
{
	struct kvml_emul *em = &vcpu->emul;
	unsigned int first = min_t(unsigned int, size,
				   PAGE_SIZE - (la & ~PAGE_MASK));
	bool hit = false;
	int i;

	em->nfrags = first < size ? 2 : 1;
	em->frag = 0;
	em->frag_len[0] = first;
	em->frag_len[1] = size - first;
	for (i = 0; i < em->nfrags; i++) {
		u64 piece = i ? la + first : la;

		if (em->insn.mode != 8)
			piece = (u32)piece;
		if (emul_piece_gpa(vcpu, piece, write, fault_gpa,
				   &em->frag_gpa[i]))
			return -EFAULT;
		hit |= gpa_in(fault_gpa, em->frag_gpa[i], em->frag_len[i]);
	}
	return hit ? 0 : -EFAULT;
}

/*
 * Go on with the access of em->value from piece em->frag: RAM pieces
 * directly, the next MMIO piece to userspace.  Returns 1 when every piece
 * is done, 0 when an exit is set up, -EFAULT when RAM cannot be reached.
 */
static int emul_access(struct kvml_vcpu *vcpu, bool write)
{
	struct kvml_emul *em = &vcpu->emul;

	for (; em->frag < em->nfrags; em->frag++) {
		unsigned int len = em->frag_len[em->frag];
		u64 gpa = em->frag_gpa[em->frag];
		u8 *bytes = (u8 *)&em->value + (em->frag ? em->frag_len[0] : 0);
		u64 data = 0;
		int r;

		if (emul_is_mmio(vcpu, gpa, write)) {
			if (write)
				memcpy(&data, bytes, len);
			return emul_exit(vcpu, gpa, len, write, data,
					 write ? KVML_EMUL_WRITE :
						 KVML_EMUL_READ);
		}
		r = write ? kvml_write_gpa(vcpu->vm, gpa, bytes, len) :
			    kvml_read_gpa(vcpu->vm, gpa, bytes, len);
		if (r)
			return -EFAULT;
	}
	return 1;
}

/* Write em->value out; 1 when it all went to RAM, 0 for an exit. */
static int emul_write_out(struct kvml_vcpu *vcpu)
{
	int r = emul_access(vcpu, true);

	if (r < 0)
		return emul_fail(vcpu);
	if (r)
		vcpu->emul.active = false;
	return r;
}

/* Read em->value in, then finish the instruction. */
static int emul_read_in(struct kvml_vcpu *vcpu)
{
	int r = emul_access(vcpu, false);

	if (r < 0)
		return emul_fail(vcpu);
	return r ? emul_finish(vcpu, vcpu->emul.value) : 0;
}

static bool insn_is_bt(const struct kvml_insn *insn)
{
	return insn->op >= KVML_OP_BT && insn->op <= KVML_OP_BTC;
}

static bool insn_writes_mem(const struct kvml_insn *insn)
{
	return kvml_opnd_is_mem(insn->dst) && insn->op != KVML_OP_CMP &&
	       insn->op != KVML_OP_TEST && insn->op != KVML_OP_BT;
}

static bool insn_reads_mem(const struct kvml_insn *insn)
{
	return insn->op != KVML_OP_MOV || !kvml_opnd_is_mem(insn->dst);
}

/* The value of a register or immediate source, at the operand size. */
static u64 emul_src(struct kvml_vcpu *vcpu)
{
	struct kvml_insn *insn = &vcpu->emul.insn;

	switch (insn->src) {
	case KVML_OPND_REG:
		return reg_read(vcpu, insn->reg, insn->opsize, insn->rex);
	case KVML_OPND_ACC:
		return reg_read(vcpu, VCPU_RAX, insn->opsize, insn->rex);
	default:
		return (u64)insn->imm & size_mask(insn->opsize);
	}
}

static u64 flags_szp(u64 res, unsigned int size)
{
	u64 f = 0;
	u8 p = res;

	res &= size_mask(size);
	if (!res)
		f |= X86_EFLAGS_ZF;
	if (res >> (size * 8 - 1))
		f |= X86_EFLAGS_SF;
	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	if (!(p & 1))
		f |= X86_EFLAGS_PF;
	return f;
}

/*
 * ADD, OR, ADC, SBB, AND, SUB, XOR, CMP and TEST of @size bytes: returns
 * the result and sets CF, PF, AF, ZF, SF and OF in *@rflags.  The logical
 * ones clear CF, OF and AF (AF is undefined for them).
 */
static u64 alu(u8 op, u64 a, u64 b, unsigned int size, u64 *rflags)
{
	u64 m = size_mask(size), sign = BIT_ULL(size * 8 - 1);
	u64 c = 0, res, f = 0;

	a &= m;
	b &= m;
	switch (op) {
	case KVML_OP_ADC:
		c = !!(*rflags & X86_EFLAGS_CF);
		fallthrough;
	case KVML_OP_ADD:
		res = (a + b + c) & m;
		if (res < a || (c && res == a))
			f |= X86_EFLAGS_CF;
		if ((a ^ res) & (b ^ res) & sign)
			f |= X86_EFLAGS_OF;
		f |= (a ^ b ^ res) & X86_EFLAGS_AF;
		break;
	case KVML_OP_SBB:
		c = !!(*rflags & X86_EFLAGS_CF);
		fallthrough;
	case KVML_OP_SUB:
	case KVML_OP_CMP:
		res = (a - b - c) & m;
		if (a < b || (c && a == b))
			f |= X86_EFLAGS_CF;
		if ((a ^ b) & (a ^ res) & sign)
			f |= X86_EFLAGS_OF;
		f |= (a ^ b ^ res) & X86_EFLAGS_AF;
		break;
	case KVML_OP_OR:
		res = a | b;
		break;
	case KVML_OP_XOR:
		res = a ^ b;
		break;
	default:			/* AND, TEST */
		res = a & b;
	}
	*rflags = (*rflags & ~EFLAGS_ARITH) | f | flags_szp(res, size);
	return res;
}

/* Write the destination register of a load (REG or ACC). */
static void emul_set_dst(struct kvml_vcpu *vcpu, u64 val)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	u8 reg = insn->dst == KVML_OPND_ACC ? VCPU_RAX : insn->reg;

	reg_write(vcpu, reg, insn->opsize, insn->rex, val);
}

/*
 * The memory operand's value @mem is in: compute, commit registers, RFLAGS
 * and RIP, and write the result out if the instruction writes memory.
 */
static int emul_finish(struct kvml_vcpu *vcpu, u64 mem)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvml_insn *insn = &em->insn;
	unsigned int size = insn->opsize;
	u64 fl = vcpu->rflags, res = 0, bit;
	u8 op = insn->op;

	mem &= size_mask(insn->memsize);
	switch (op) {
	case KVML_OP_MOV:
	case KVML_OP_MOVZX:
		emul_set_dst(vcpu, mem);
		break;
	case KVML_OP_MOVSX:
		emul_set_dst(vcpu, sign_extend64(mem, insn->memsize * 8 - 1));
		break;
	case KVML_OP_ADD ... KVML_OP_TEST:
		if (kvml_opnd_is_mem(insn->dst)) {
			res = alu(op, mem, emul_src(vcpu), size, &fl);
			break;
		}
		res = alu(op, reg_read(vcpu, insn->reg, size, insn->rex), mem,
			  size, &fl);
		if (op != KVML_OP_CMP)
			reg_write(vcpu, insn->reg, size, insn->rex, res);
		break;
	case KVML_OP_NOT:
		res = ~mem;
		break;
	case KVML_OP_NEG:
		res = alu(KVML_OP_SUB, 0, mem, size, &fl);
		break;
	case KVML_OP_INC:
	case KVML_OP_DEC:
		res = alu(op == KVML_OP_INC ? KVML_OP_ADD : KVML_OP_SUB, mem, 1,
			  size, &fl);
		fl = (fl & ~X86_EFLAGS_CF) | (vcpu->rflags & X86_EFLAGS_CF);
		break;
	case KVML_OP_XCHG:
		res = reg_read(vcpu, insn->reg, size, insn->rex);
		reg_write(vcpu, insn->reg, size, insn->rex, mem);
		break;
	case KVML_OP_BT ... KVML_OP_BTC:
		bit = emul_src(vcpu) & (size * 8 - 1);
		fl &= ~X86_EFLAGS_CF;
		if (mem & BIT_ULL(bit))
			fl |= X86_EFLAGS_CF;
		if (op == KVML_OP_BTS)
			res = mem | BIT_ULL(bit);
		else if (op == KVML_OP_BTR)
			res = mem & ~BIT_ULL(bit);
		else
			res = mem ^ BIT_ULL(bit);
		break;
	default:
		return emul_fail(vcpu);
	}
	vcpu->rflags = fl;
	emul_skip(vcpu);
	if (insn_writes_mem(insn)) {
		em->value = res;
		em->frag = 0;
		return emul_write_out(vcpu);
	}
	em->active = false;
	return 1;
}

/* The first (and only) access of a one-memory-operand instruction. */
static int emul_begin(struct kvml_vcpu *vcpu, u64 fault_gpa)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvml_insn *insn = &em->insn;
	unsigned int size = insn->memsize;
	u64 ea = emul_ea(vcpu);
	s64 off;

	if (insn_is_bt(insn) && insn->src == KVML_OPND_REG) {
		/* A register bit offset reaches beyond the operand. */
		off = sign_extend64(emul_src(vcpu), size * 8 - 1);
		ea += (off >> (ilog2(size) + 3)) * size;
		ea &= size_mask(insn->addrsize);
	}
	if (emul_split(vcpu, emul_linear(vcpu, insn->seg, ea), size,
		       insn_writes_mem(insn), fault_gpa))
		return emul_fail(vcpu);
	em->gpa = fault_gpa;
	em->size = size;
	em->value = 0;

	if (!insn_reads_mem(insn)) {
		em->value = emul_src(vcpu);
		emul_skip(vcpu);
		return emul_write_out(vcpu);
	}
	/* Pieces in RAM (or a read-only slot) are read directly. */
	return emul_read_in(vcpu);
}

static u64 emul_str_la(struct kvml_vcpu *vcpu, int seg, u8 reg)
{
	return emul_linear(vcpu, seg, vcpu->regs[reg] &
			   size_mask(vcpu->emul.insn.addrsize));
}

/* The first iteration must be emulated; a later one can go back. */
static int emul_stop(struct kvml_vcpu *vcpu, bool first)
{
	if (first)
		return emul_fail(vcpu);
	vcpu->emul.active = false;
	return 1;
}

/* RSI/RDI by the element size per DF, RCX down; true when finished. */
static bool emul_string_advance(struct kvml_vcpu *vcpu)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	s64 delta = insn->opsize;

	if (vcpu->rflags & X86_EFLAGS_DF)
		delta = -delta;
	if (insn->src == KVML_OPND_SRC_STR)
		reg_add(vcpu, VCPU_RSI, delta);
	if (insn->dst == KVML_OPND_DST_STR)
		reg_add(vcpu, VCPU_RDI, delta);
	if (insn->rep) {
		reg_add(vcpu, VCPU_RCX, -1);
		if (vcpu->regs[VCPU_RCX] & size_mask(insn->addrsize))
			return false;
	}
	emul_skip(vcpu);
	return true;
}

static int emul_string(struct kvml_vcpu *vcpu, u64 fault_gpa, bool first);

/*
 * Store the element @val of a string iteration: to RAX (LODS), to RAM, or
 * to userspace when the destination is MMIO (*@mmio_gpa, when the caller
 * knows it already).  Then the registers move on.
 */
static int emul_string_store(struct kvml_vcpu *vcpu, u64 val,
			     const u64 *mmio_gpa)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	unsigned int size = insn->opsize;
	bool mmio = !!mmio_gpa, done;
	u64 gd = 0;

	if (insn->dst == KVML_OPND_ACC) {
		reg_write(vcpu, VCPU_RAX, size, insn->rex, val);
	} else if (mmio) {
		gd = *mmio_gpa;
	} else {
		if (emul_translate(vcpu, emul_str_la(vcpu, SEG_ES, VCPU_RDI),
				   size, true, &gd))
			return emul_fail(vcpu);
		mmio = emul_is_mmio(vcpu, gd, true);
		if (!mmio && kvml_write_gpa(vcpu->vm, gd, &val, size))
			return emul_fail(vcpu);
	}
	done = emul_string_advance(vcpu);
	if (mmio)
		return emul_exit(vcpu, gd, size, true, val,
				 KVML_EMUL_STR_WRITE);
	if (done) {
		vcpu->emul.active = false;
		return 1;
	}
	/* Either goes back to the guest or exits: no deeper recursion. */
	return emul_string(vcpu, 0, false);
}

/*
 * One iteration of STOS, LODS or MOVS.  The @first one is the iteration
 * the guest faulted on at @fault_gpa and is emulated whatever it touches.
 * A later one goes back to the guest when it touches no MMIO, or when it
 * would fault (the guest then takes the #PF from the hardware).
 */
static int emul_string(struct kvml_vcpu *vcpu, u64 fault_gpa, bool first)
{
	struct kvml_insn *insn = &vcpu->emul.insn;
	unsigned int size = insn->opsize;
	bool src_mmio = false, dst_mmio = false;
	u64 val = 0, gs = 0, gd = 0;

	if (insn->rep &&
	    !(vcpu->regs[VCPU_RCX] & size_mask(insn->addrsize))) {
		emul_skip(vcpu);
		vcpu->emul.active = false;
		return 1;
	}
	if (insn->src == KVML_OPND_SRC_STR) {
		if (emul_translate(vcpu, emul_str_la(vcpu, insn->seg, VCPU_RSI),
				   size, false, &gs))
			return emul_stop(vcpu, first);
		src_mmio = emul_is_mmio(vcpu, gs, false);
	}
	if (insn->dst == KVML_OPND_DST_STR) {
		if (emul_translate(vcpu, emul_str_la(vcpu, SEG_ES, VCPU_RDI),
				   size, true, &gd))
			return emul_stop(vcpu, first);
		dst_mmio = emul_is_mmio(vcpu, gd, true) ||
			   (first && gpa_in(fault_gpa, gd, size));
	}
	if (!src_mmio && !dst_mmio) {
		/* The memslots changed since the fault: the guest retries. */
		if (first && insn->src == KVML_OPND_SRC_STR &&
		    gpa_in(fault_gpa, gs, size))
			return emul_stop(vcpu, false);
		return emul_stop(vcpu, first);
	}

	if (src_mmio)
		return emul_exit(vcpu, gs, size, false, 0, KVML_EMUL_STR_READ);
	if (insn->src == KVML_OPND_ACC)
		val = reg_read(vcpu, VCPU_RAX, size, insn->rex);
	else if (kvml_read_gpa(vcpu->vm, gs, &val, size))
		return emul_stop(vcpu, first);
	return emul_string_store(vcpu, val, dst_mmio ? &gd : NULL);
}

/* The core calls this at the next KVM_RUN, with mmu_lock held for read. */
static int emul_complete(struct kvml_vcpu *vcpu)
{
	struct kvml_emul *em = &vcpu->emul;
	u64 data = 0;

	if (!em->active)
		return 1;
	em->active = false;
	switch (em->stage) {
	case KVML_EMUL_READ:
		memcpy((u8 *)&em->value + (em->frag ? em->frag_len[0] : 0),
		       vcpu->run->mmio.data, em->frag_len[em->frag]);
		em->frag++;
		return emul_read_in(vcpu);
	case KVML_EMUL_WRITE:
		em->frag++;
		return emul_write_out(vcpu);
	case KVML_EMUL_STR_READ:
		memcpy(&data, vcpu->run->mmio.data, em->size);
		return emul_string_store(vcpu, data, NULL);
	case KVML_EMUL_STR_WRITE:
		if (em->done)
			return 1;
		return emul_string(vcpu, 0, false);
	default:
		return 1;
	}
}

/**
 * kvml_emulate_mmio() - emulate the instruction at RIP that hit MMIO
 * @vcpu: the vCPU, with regs[], rip and rflags current
 * @gpa: the faulting guest physical address (the byte address)
 *
 * Called with mmu_lock held for read.  Returns 0: run->exit_reason is
 * KVM_EXIT_MMIO (vcpu->complete_userspace set) or KVM_EXIT_INTERNAL_ERROR;
 * or 1 to re-enter the guest.
 */
int kvml_emulate_mmio(struct kvml_vcpu *vcpu, u64 gpa)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvml_insn *insn = &em->insn;

	memset(em, 0, sizeof(*em));
	em->gpa = gpa;
	vcpu->complete_userspace = NULL;
	if (emul_fetch(vcpu) || kvml_decode_insn(insn))
		return emul_fail(vcpu);
	if (insn->op == KVML_OP_STOS || insn->op == KVML_OP_LODS ||
	    insn->op == KVML_OP_MOVS)
		return emul_string(vcpu, gpa, true);
	if (!kvml_opnd_is_mem(insn->dst) && !kvml_opnd_is_mem(insn->src))
		return emul_fail(vcpu);
	return emul_begin(vcpu, gpa);
}

/**
 * kvml_emulate_mov_dr() - emulate MOV to or from DR0-DR7 at RIP
 * @vcpu: the vCPU
 *
 * DR0-DR3, DR6 and DR7 live in vcpu->dr[], dr6 and dr7.  Faults go to the
 * guest: #GP at CPL > 0 or for bits 63:32 of DR6/DR7, #UD for DR4/DR5 with
 * CR4.DE (else they alias DR6/DR7) and for DR8-15, #DB with DR7.GD.
 * Returns 1, or 0 with an emulation failure exit.
 */
int kvml_emulate_mov_dr(struct kvml_vcpu *vcpu)
{
	struct kvml_emul *em = &vcpu->emul;
	struct kvml_insn *insn = &em->insn;
	unsigned int dr;
	u64 val;

	memset(em, 0, sizeof(*em));
	if (emul_fetch(vcpu) || kvml_decode_insn(insn) ||
	    (insn->op != KVML_OP_MOV_FROM_DR && insn->op != KVML_OP_MOV_TO_DR))
		return emul_fail(vcpu);

	dr = insn->reg;
	if (kvml_ops->get_cpl(vcpu)) {
		kvml_inject_gp(vcpu);
		return 1;
	}
	if (dr > 7 || ((dr == 4 || dr == 5) &&
		       (kvml_ops->get_cr(vcpu, 4) & X86_CR4_DE))) {
		kvml_inject_ud(vcpu);
		return 1;
	}
	if (dr == 4 || dr == 5)
		dr += 2;
	if (vcpu->dr7 & DR7_GD) {
		/* Delivery of the #DB clears GD. */
		vcpu->dr6 |= DR6_BD;
		vcpu->dr7 &= ~DR7_GD;
		kvml_queue_exception(vcpu, DB_VECTOR, false, 0);
		return 1;
	}

	if (insn->op == KVML_OP_MOV_FROM_DR) {
		val = dr < 4 ? vcpu->dr[dr] : dr == 6 ? vcpu->dr6 : vcpu->dr7;
		reg_write(vcpu, insn->rm, insn->opsize, 1, val);
	} else {
		val = vcpu->regs[insn->rm] & size_mask(insn->opsize);
		if (dr > 3 && (val >> 32)) {
			kvml_inject_gp(vcpu);
			return 1;
		}
		if (dr < 4)
			vcpu->dr[dr] = val;
		else if (dr == 6)
			vcpu->dr6 = (val & DR6_VOLATILE) | DR6_FIXED_1;
		else
			vcpu->dr7 = (val & DR7_VOLATILE) | DR7_FIXED_1;
	}
	emul_skip(vcpu);
	return 1;
}
