/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite instruction emulator: what the decoder (decode.c) hands to the
 * executor (emulate.c).  Private to those two and their unit test.
 */
#ifndef KVMLITE_EMULATE_H
#define KVMLITE_EMULATE_H

#include "kvmlite.h"

/* What an instruction does; the first eight are in the ALU encoding order. */
enum kvml_op {
	KVML_OP_NONE,			/* not emulated */
	KVML_OP_ADD,
	KVML_OP_OR,
	KVML_OP_ADC,
	KVML_OP_SBB,
	KVML_OP_AND,
	KVML_OP_SUB,
	KVML_OP_XOR,
	KVML_OP_CMP,
	KVML_OP_TEST,
	KVML_OP_MOV,
	KVML_OP_MOVZX,
	KVML_OP_MOVSX,
	KVML_OP_XCHG,
	KVML_OP_NOT,
	KVML_OP_NEG,
	KVML_OP_INC,
	KVML_OP_DEC,
	KVML_OP_BT,
	KVML_OP_BTS,
	KVML_OP_BTR,
	KVML_OP_BTC,
	KVML_OP_STOS,
	KVML_OP_LODS,
	KVML_OP_MOVS,
	KVML_OP_MOV_FROM_DR,		/* 0F 21: MOV r, DRn */
	KVML_OP_MOV_TO_DR,		/* 0F 23: MOV DRn, r */
	KVML_OP_GROUP,			/* decode.c only: ModRM.reg picks */
};

/* Where an operand is. */
enum kvml_opnd {
	KVML_OPND_NONE,
	KVML_OPND_MEM,			/* ModRM r/m, a memory operand */
	KVML_OPND_REG,			/* ModRM reg */
	KVML_OPND_RM_REG,		/* ModRM r/m as a GPR, mod ignored */
	KVML_OPND_ACC,			/* AL, AX, EAX or RAX */
	KVML_OPND_IMM,			/* imm8/16/32 by operand size */
	KVML_OPND_IMM8,			/* imm8, sign-extended */
	KVML_OPND_MOFFS,		/* absolute offset of address size */
	KVML_OPND_SRC_STR,		/* seg:rSI */
	KVML_OPND_DST_STR,		/* ES:rDI */
};

#define KVML_NO_REG		0xff

/* What the completion of a userspace exit finishes (emul.stage). */
enum kvml_emul_stage {
	KVML_EMUL_IDLE,
	KVML_EMUL_READ,			/* data for a one-operand read */
	KVML_EMUL_WRITE,		/* a write went out; nothing left */
	KVML_EMUL_STR_READ,		/* string source element read */
	KVML_EMUL_STR_WRITE,		/* string destination element written */
};

/* decode.c */
int kvml_decode_insn(struct kvml_insn *insn);

static inline bool kvml_opnd_is_mem(u8 opnd)
{
	return opnd == KVML_OPND_MEM || opnd == KVML_OPND_MOFFS ||
	       opnd == KVML_OPND_SRC_STR || opnd == KVML_OPND_DST_STR;
}

#endif /* KVMLITE_EMULATE_H */
