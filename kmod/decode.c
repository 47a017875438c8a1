// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite x86 instruction decoder, for the MMIO emulator and MOV DR.
 *
 * Table driven: one descriptor per opcode of the one-byte and 0F maps, and
 * group tables indexed by ModRM.reg.  Listed are the instructions with a
 * memory operand that guests aim at MMIO (MOV and its extending forms,
 * the ALU family, TEST, XCHG, NOT/NEG/INC/DEC, BT*, STOS/LODS/MOVS) and
 * MOV to or from a debug register.  Anything else fails to decode.
 *
 * The decoder only reads insn->bytes[0..nbytes) and insn->mode; it knows
 * no vCPU, so that the unit test drives it directly.
 */
#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "emulate.h"

struct kvml_opdesc {
	u8 op;				/* KVML_OP_* */
	u8 dst, src;			/* KVML_OPND_* */
	u8 flags;			/* D_* */
	u8 grp;				/* KVML_OP_GROUP: which group */
};

#define D_MODRM		BIT(0)		/* a ModRM byte follows */
#define D_BYTE		BIT(1)		/* byte operands */
#define D_NO64		BIT(2)		/* invalid in 64-bit mode */
#define D_ONLY64	BIT(3)		/* valid in 64-bit mode only */
#define D_SRC8		BIT(4)		/* the memory source is a byte */
#define D_SRC16		BIT(5)		/* ... a word */
#define D_SRC32		BIT(6)		/* ... a dword at most (MOVSXD) */
#define D_STRING	BIT(7)		/* string form: REP applies */

enum { GRP_NONE, GRP1, GRP3, GRP4, GRP5, GRP8, GRP11, GRP_NR };

#define OP(o, d, s, f)	{ KVML_OP_##o, KVML_OPND_##d, KVML_OPND_##s, f, 0 }
#define GRP(g, d, s, f)	\
	{ KVML_OP_GROUP, KVML_OPND_##d, KVML_OPND_##s, (f) | D_MODRM, g }

static const struct kvml_opdesc kvml_onebyte[256] = {
	[0x00] = OP(ADD, MEM, REG, D_MODRM | D_BYTE),
	[0x01] = OP(ADD, MEM, REG, D_MODRM),
	[0x02] = OP(ADD, REG, MEM, D_MODRM | D_BYTE),
	[0x03] = OP(ADD, REG, MEM, D_MODRM),
	[0x08] = OP(OR, MEM, REG, D_MODRM | D_BYTE),
	[0x09] = OP(OR, MEM, REG, D_MODRM),
	[0x0a] = OP(OR, REG, MEM, D_MODRM | D_BYTE),
	[0x0b] = OP(OR, REG, MEM, D_MODRM),
	[0x10] = OP(ADC, MEM, REG, D_MODRM | D_BYTE),
	[0x11] = OP(ADC, MEM, REG, D_MODRM),
	[0x12] = OP(ADC, REG, MEM, D_MODRM | D_BYTE),
	[0x13] = OP(ADC, REG, MEM, D_MODRM),
	[0x18] = OP(SBB, MEM, REG, D_MODRM | D_BYTE),
	[0x19] = OP(SBB, MEM, REG, D_MODRM),
	[0x1a] = OP(SBB, REG, MEM, D_MODRM | D_BYTE),
	[0x1b] = OP(SBB, REG, MEM, D_MODRM),
	[0x20] = OP(AND, MEM, REG, D_MODRM | D_BYTE),
	[0x21] = OP(AND, MEM, REG, D_MODRM),
	[0x22] = OP(AND, REG, MEM, D_MODRM | D_BYTE),
	[0x23] = OP(AND, REG, MEM, D_MODRM),
	[0x28] = OP(SUB, MEM, REG, D_MODRM | D_BYTE),
	[0x29] = OP(SUB, MEM, REG, D_MODRM),
	[0x2a] = OP(SUB, REG, MEM, D_MODRM | D_BYTE),
	[0x2b] = OP(SUB, REG, MEM, D_MODRM),
	[0x30] = OP(XOR, MEM, REG, D_MODRM | D_BYTE),
	[0x31] = OP(XOR, MEM, REG, D_MODRM),
	[0x32] = OP(XOR, REG, MEM, D_MODRM | D_BYTE),
	[0x33] = OP(XOR, REG, MEM, D_MODRM),
	[0x38] = OP(CMP, MEM, REG, D_MODRM | D_BYTE),
	[0x39] = OP(CMP, MEM, REG, D_MODRM),
	[0x3a] = OP(CMP, REG, MEM, D_MODRM | D_BYTE),
	[0x3b] = OP(CMP, REG, MEM, D_MODRM),
	[0x63] = OP(MOVSX, REG, MEM, D_MODRM | D_ONLY64 | D_SRC32),
	[0x80] = GRP(GRP1, MEM, IMM, D_BYTE),
	[0x81] = GRP(GRP1, MEM, IMM, 0),
	[0x82] = GRP(GRP1, MEM, IMM, D_BYTE | D_NO64),
	[0x83] = GRP(GRP1, MEM, IMM8, 0),
	[0x84] = OP(TEST, MEM, REG, D_MODRM | D_BYTE),
	[0x85] = OP(TEST, MEM, REG, D_MODRM),
	[0x86] = OP(XCHG, MEM, REG, D_MODRM | D_BYTE),
	[0x87] = OP(XCHG, MEM, REG, D_MODRM),
	[0x88] = OP(MOV, MEM, REG, D_MODRM | D_BYTE),
	[0x89] = OP(MOV, MEM, REG, D_MODRM),
	[0x8a] = OP(MOV, REG, MEM, D_MODRM | D_BYTE),
	[0x8b] = OP(MOV, REG, MEM, D_MODRM),
	[0xa0] = OP(MOV, ACC, MOFFS, D_BYTE),
	[0xa1] = OP(MOV, ACC, MOFFS, 0),
	[0xa2] = OP(MOV, MOFFS, ACC, D_BYTE),
	[0xa3] = OP(MOV, MOFFS, ACC, 0),
	[0xa4] = OP(MOVS, DST_STR, SRC_STR, D_BYTE | D_STRING),
	[0xa5] = OP(MOVS, DST_STR, SRC_STR, D_STRING),
	[0xaa] = OP(STOS, DST_STR, ACC, D_BYTE | D_STRING),
	[0xab] = OP(STOS, DST_STR, ACC, D_STRING),
	[0xac] = OP(LODS, ACC, SRC_STR, D_BYTE | D_STRING),
	[0xad] = OP(LODS, ACC, SRC_STR, D_STRING),
	[0xc6] = GRP(GRP11, MEM, IMM, D_BYTE),
	[0xc7] = GRP(GRP11, MEM, IMM, 0),
	[0xf6] = GRP(GRP3, MEM, NONE, D_BYTE),
	[0xf7] = GRP(GRP3, MEM, NONE, 0),
	[0xfe] = GRP(GRP4, MEM, NONE, D_BYTE),
	[0xff] = GRP(GRP5, MEM, NONE, 0),
};

static const struct kvml_opdesc kvml_twobyte[256] = {
	[0x21] = OP(MOV_FROM_DR, RM_REG, NONE, D_MODRM),
	[0x23] = OP(MOV_TO_DR, NONE, RM_REG, D_MODRM),
	[0xa3] = OP(BT, MEM, REG, D_MODRM),
	[0xab] = OP(BTS, MEM, REG, D_MODRM),
	[0xb3] = OP(BTR, MEM, REG, D_MODRM),
	[0xb6] = OP(MOVZX, REG, MEM, D_MODRM | D_SRC8),
	[0xb7] = OP(MOVZX, REG, MEM, D_MODRM | D_SRC16),
	[0xba] = GRP(GRP8, MEM, IMM8, 0),
	[0xbb] = OP(BTC, MEM, REG, D_MODRM),
	[0xbe] = OP(MOVSX, REG, MEM, D_MODRM | D_SRC8),
	[0xbf] = OP(MOVSX, REG, MEM, D_MODRM | D_SRC16),
	[0xc3] = OP(MOV, MEM, REG, D_MODRM),		/* MOVNTI */
};

/*
 * Group members: the op, and a source that replaces the primary opcode's
 * when not NONE (TEST in group 3 takes an immediate, NOT and NEG none).
 */
static const struct kvml_opdesc kvml_groups[GRP_NR][8] = {
	[GRP1] = {
		OP(ADD, NONE, NONE, 0), OP(OR, NONE, NONE, 0),
		OP(ADC, NONE, NONE, 0), OP(SBB, NONE, NONE, 0),
		OP(AND, NONE, NONE, 0), OP(SUB, NONE, NONE, 0),
		OP(XOR, NONE, NONE, 0), OP(CMP, NONE, NONE, 0),
	},
	[GRP3] = {
		OP(TEST, NONE, IMM, 0), OP(TEST, NONE, IMM, 0),
		OP(NOT, NONE, NONE, 0), OP(NEG, NONE, NONE, 0),
	},
	[GRP4] = { OP(INC, NONE, NONE, 0), OP(DEC, NONE, NONE, 0) },
	[GRP5] = { OP(INC, NONE, NONE, 0), OP(DEC, NONE, NONE, 0) },
	[GRP8] = {
		[4] = OP(BT, NONE, NONE, 0), OP(BTS, NONE, NONE, 0),
		OP(BTR, NONE, NONE, 0), OP(BTC, NONE, NONE, 0),
	},
	[GRP11] = { OP(MOV, NONE, NONE, 0) },
};

/* 16-bit addressing: base and index register of each ModRM.rm. */
static const u8 kvml_modrm16_base[8] = {
	VCPU_RBX, VCPU_RBX, VCPU_RBP, VCPU_RBP,
	KVML_NO_REG, KVML_NO_REG, VCPU_RBP, VCPU_RBX,
};

static const u8 kvml_modrm16_index[8] = {
	VCPU_RSI, VCPU_RDI, VCPU_RSI, VCPU_RDI,
	VCPU_RSI, VCPU_RDI, KVML_NO_REG, KVML_NO_REG,
};

/* Take @n little-endian bytes at *@pos. */
static int dec_take(const struct kvml_insn *insn, unsigned int *pos,
		    unsigned int n, u64 *val)
{
	unsigned int i;

	if (*pos + n > insn->nbytes)
		return -EINVAL;
	*val = 0;
	for (i = 0; i < n; i++)
		*val |= (u64)insn->bytes[*pos + i] << (8 * i);
	*pos += n;
	return 0;
}

static int dec_disp(struct kvml_insn *insn, unsigned int *pos,
		    unsigned int n)
{
	u64 v;

	if (!n)
		return 0;
	if (dec_take(insn, pos, n, &v))
		return -EINVAL;
	insn->disp = sign_extend64(v, n * 8 - 1);
	return 0;
}

/* The memory operand of ModRM (mod != 3); returns its default segment. */
static int dec_modrm_mem(struct kvml_insn *insn, unsigned int *pos)
{
	u8 mod = insn->modrm >> 6, rm = insn->modrm & 7;
	unsigned int disp = mod == 1 ? 1 : mod == 2 ? insn->addrsize : 0;
	u64 sib;
	u8 base;

	if (insn->addrsize == 2) {
		if (mod == 0 && rm == 6) {
			disp = 2;
		} else {
			insn->base = kvml_modrm16_base[rm];
			insn->index = kvml_modrm16_index[rm];
		}
		if (dec_disp(insn, pos, disp))
			return -EINVAL;
		return insn->base == VCPU_RBP ? SEG_SS : SEG_DS;
	}

	if (mod == 2)
		disp = 4;
	if (rm == 4) {
		if (dec_take(insn, pos, 1, &sib))
			return -EINVAL;
		insn->scale = 1 << (sib >> 6);
		insn->index = ((sib >> 3) & 7) | (insn->rex & 2 ? 8 : 0);
		if (insn->index == VCPU_RSP)
			insn->index = KVML_NO_REG;
		base = sib & 7;
		if (base == 5 && mod == 0)
			disp = 4;
		else
			insn->base = base | (insn->rex & 1 ? 8 : 0);
	} else if (rm == 5 && mod == 0) {
		disp = 4;
		insn->rip_rel = insn->mode == 8;
	} else {
		insn->base = rm | (insn->rex & 1 ? 8 : 0);
	}
	if (dec_disp(insn, pos, disp))
		return -EINVAL;
	return insn->base == VCPU_RSP || insn->base == VCPU_RBP ?
	       SEG_SS : SEG_DS;
}

static int dec_prefix_seg(u8 b)
{
	switch (b) {
	case 0x26: return SEG_ES;
	case 0x2e: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x3e: return SEG_DS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	}
	return -1;
}

/* Operand and address size from the mode and the 66/67 prefixes. */
static void dec_sizes(struct kvml_insn *insn, u8 flags, bool p66, bool p67)
{
	if (flags & D_BYTE)
		insn->opsize = 1;
	else if (insn->mode == 8 && (insn->rex & 8))
		insn->opsize = 8;
	else if (insn->mode == 2)
		insn->opsize = p66 ? 4 : 2;
	else
		insn->opsize = p66 ? 2 : 4;

	if (insn->mode == 8)
		insn->addrsize = p67 ? 4 : 8;
	else if (insn->mode == 4)
		insn->addrsize = p67 ? 2 : 4;
	else
		insn->addrsize = p67 ? 4 : 2;
}

/*
 * Decode insn->bytes in insn->mode (2, 4 or 8: the code size).  Returns 0,
 * or -EINVAL for anything not in the tables, invalid in this mode, or cut
 * short by the end of the fetched bytes.
 */
int kvml_decode_insn(struct kvml_insn *insn)
{
	const struct kvml_opdesc *d, *g;
	bool p66 = false, p67 = false;
	unsigned int pos = 0;
	int ovr = -1, seg = SEG_DS, n;
	u8 b, rep = 0;
	u64 v;
	struct kvml_insn in = {
		.nbytes = insn->nbytes,
		.mode = insn->mode,
		.base = KVML_NO_REG,
		.index = KVML_NO_REG,
		.scale = 1,
	};

	/* Keep the input (bytes, nbytes, mode), clear the rest. */
	memcpy(in.bytes, insn->bytes, sizeof(in.bytes));
	*insn = in;
	if (insn->mode != 2 && insn->mode != 4 && insn->mode != 8)
		return -EINVAL;

	/* Legacy prefixes, then REX; a REX not just before the opcode is void. */
	for (;; pos++) {
		if (pos >= insn->nbytes)
			return -EINVAL;
		b = insn->bytes[pos];
		if (insn->mode == 8 && (b & 0xf0) == 0x40) {
			insn->rex = b;
			continue;
		}
		n = dec_prefix_seg(b);
		if (b == 0x66)
			p66 = true;
		else if (b == 0x67)
			p67 = true;
		else if (b == 0xf2 || b == 0xf3)
			rep = b;
		else if (n >= 0)
			ovr = n;
		else if (b != 0xf0)	/* LOCK is allowed and ignored */
			break;
		insn->rex = 0;
	}

	pos++;
	if (b == 0x0f) {
		if (dec_take(insn, &pos, 1, &v))
			return -EINVAL;
		d = &kvml_twobyte[v];
	} else {
		d = &kvml_onebyte[b];
	}
	insn->op = d->op;
	insn->dst = d->dst;
	insn->src = d->src;
	if (insn->op == KVML_OP_NONE)
		return -EINVAL;
	if (((d->flags & D_NO64) && insn->mode == 8) ||
	    ((d->flags & D_ONLY64) && insn->mode != 8))
		return -EINVAL;
	dec_sizes(insn, d->flags, p66, p67);

	if (d->flags & D_MODRM) {
		if (dec_take(insn, &pos, 1, &v))
			return -EINVAL;
		insn->modrm = v;
		insn->reg = ((v >> 3) & 7) | (insn->rex & 4 ? 8 : 0);
		insn->rm = (v & 7) | (insn->rex & 1 ? 8 : 0);
	}
	if (insn->op == KVML_OP_GROUP) {
		g = &kvml_groups[d->grp][(insn->modrm >> 3) & 7];
		insn->op = g->op;
		if (g->src != KVML_OPND_NONE)
			insn->src = g->src;
		if (insn->op == KVML_OP_NONE)
			return -EINVAL;
	}

	if (insn->dst == KVML_OPND_RM_REG || insn->src == KVML_OPND_RM_REG) {
		/* MOV DR: mod is ignored, r/m is a GPR of the mode's width. */
		insn->opsize = insn->mode == 8 ? 8 : 4;
	} else if (d->flags & D_MODRM) {
		if ((insn->modrm >> 6) == 3)
			return -EINVAL;
		seg = dec_modrm_mem(insn, &pos);
		if (seg < 0)
			return -EINVAL;
	}
	if (insn->dst == KVML_OPND_MOFFS || insn->src == KVML_OPND_MOFFS) {
		if (dec_take(insn, &pos, insn->addrsize, &v))
			return -EINVAL;
		insn->disp = v;
	}

	if (insn->src == KVML_OPND_IMM) {
		n = min_t(int, insn->opsize, 4);
		if (dec_take(insn, &pos, n, &v))
			return -EINVAL;
		insn->imm = sign_extend64(v, n * 8 - 1);
	} else if (insn->src == KVML_OPND_IMM8) {
		if (dec_take(insn, &pos, 1, &v))
			return -EINVAL;
		insn->imm = sign_extend64(v, 7);
	}

	insn->memsize = insn->opsize;
	if (d->flags & D_SRC8)
		insn->memsize = 1;
	else if (d->flags & D_SRC16)
		insn->memsize = 2;
	else if ((d->flags & D_SRC32) && insn->opsize == 8)
		insn->memsize = 4;

	if (d->flags & D_STRING) {
		insn->rep = rep;
		seg = SEG_DS;
	}
	insn->seg = ovr >= 0 ? ovr : seg;
	if (insn->op == KVML_OP_STOS)
		insn->seg = SEG_ES;
	insn->len = pos;
	return 0;
}
