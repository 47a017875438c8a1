// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite port I/O: every guest IN/OUT goes to userspace as KVM_EXIT_IO,
 * the data in the PIO page after kvm_run.  String forms move up to a page
 * of data per exit.  As on KVM, RIP moves past the instruction only when
 * the next KVM_RUN completes the access, and only if userspace left RIP
 * where it was.
 */
#include <linux/kernel.h>
#include <linux/mm.h>

#include "kvmlite.h"

static u64 pio_addr_mask(u8 addr_size)
{
	return addr_size == 8 ? ~0ULL : GENMASK_ULL(addr_size * 8 - 1, 0);
}

/* Write @val to a string-instruction register with the address size. */
static void pio_set_areg(struct kvml_vcpu *vcpu, int reg, u8 addr_size,
			 u64 val)
{
	if (addr_size == 2)
		vcpu->regs[reg] = (vcpu->regs[reg] & ~0xffffULL) |
				  (val & 0xffff);
	else
		vcpu->regs[reg] = val & pio_addr_mask(addr_size);
}

static void pio_advance(struct kvml_vcpu *vcpu)
{
	if (vcpu->rip == vcpu->pio_rip)
		vcpu->rip = vcpu->pio.next_rip;
}

static int pio_complete_out(struct kvml_vcpu *vcpu)
{
	pio_advance(vcpu);
	return 1;
}

static int pio_complete_in(struct kvml_vcpu *vcpu)
{
	u64 val = vcpu->pio.size < 4 ? vcpu->regs[VCPU_RAX] : 0;

	memcpy(&val, vcpu->pio_data, vcpu->pio.size);
	vcpu->regs[VCPU_RAX] = val;
	pio_advance(vcpu);
	return 1;
}

/* Step RSI/RDI over @n elements, backwards when RFLAGS.DF is set. */
static u64 pio_step(struct kvml_vcpu *vcpu, u64 addr, u32 bytes)
{
	return vcpu->rflags & X86_EFLAGS_DF ? addr - bytes : addr + bytes;
}

/* After the batch: one more batch if REP and RCX left, else done. */
static void pio_string_done(struct kvml_vcpu *vcpu, u32 n)
{
	const struct kvml_pio *pio = &vcpu->pio;

	if (pio->rep) {
		u64 rcx = (vcpu->regs[VCPU_RCX] & pio_addr_mask(pio->addr_size))
			  - n;

		pio_set_areg(vcpu, VCPU_RCX, pio->addr_size, rcx);
		if (rcx)
			return;	/* re-executes for the rest */
	}
	pio_advance(vcpu);
}

static int pio_complete_ins(struct kvml_vcpu *vcpu)
{
	const struct kvml_pio *pio = &vcpu->pio;
	u32 bytes = vcpu->pio_count * pio->size;
	u64 rdi = vcpu->regs[VCPU_RDI] & pio_addr_mask(pio->addr_size);

	/* INS always writes ES:rDI; with DF one element per exit. */
	if (kvml_write_guest_virt(vcpu, kvml_seg_base(vcpu, SEG_ES) + rdi,
				  vcpu->pio_data, bytes))
		return kvml_exit_internal_error(vcpu,
						KVM_INTERNAL_ERROR_EMULATION);
	pio_set_areg(vcpu, VCPU_RDI, pio->addr_size, pio_step(vcpu, rdi, bytes));
	pio_string_done(vcpu, vcpu->pio_count);
	return 1;
}

static int pio_complete_outs(struct kvml_vcpu *vcpu)
{
	pio_string_done(vcpu, vcpu->pio_count);
	return 1;
}

/*
 * The segment OUTS reads from: DS unless a prefix overrides it.  The exit
 * information does not say reliably without decode assists, so the
 * prefixes are read from the instruction itself.
 */
static int pio_outs_segment(struct kvml_vcpu *vcpu)
{
	static const s8 seg_of_prefix[8] = {
		[0] = SEG_ES, [1] = SEG_CS, [2] = SEG_SS, [3] = SEG_DS,
	};
	u8 insn[15];
	int i;

	if (kvml_read_guest_virt(vcpu, kvml_seg_base(vcpu, SEG_CS) + vcpu->rip,
				 insn, sizeof(insn)))
		return SEG_DS;
	for (i = 0; i < sizeof(insn); i++) {
		u8 b = insn[i];

		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
			return seg_of_prefix[(b >> 3) & 3];
		if (b == 0x64 || b == 0x65)
			return b == 0x64 ? SEG_FS : SEG_GS;
		/* Other legacy prefixes and REX come before the opcode. */
		if (b != 0x66 && b != 0x67 && b != 0xf2 && b != 0xf3 &&
		    b != 0xf0 && (b & 0xf0) != 0x40)
			break;
	}
	return SEG_DS;
}

static int pio_start_string(struct kvml_vcpu *vcpu)
{
	const struct kvml_pio *pio = &vcpu->pio;
	u64 mask = pio_addr_mask(pio->addr_size);
	u64 count = pio->rep ? vcpu->regs[VCPU_RCX] & mask : 1;
	u64 rsi;
	u32 n;

	if (!count) {
		vcpu->rip = pio->next_rip;
		return 1;
	}
	if (vcpu->rflags & X86_EFLAGS_DF)
		n = 1;
	else
		n = min_t(u64, count, PAGE_SIZE / pio->size);
	vcpu->pio_count = n;
	vcpu->run->io.count = n;
	if (pio->in) {
		vcpu->complete_userspace = pio_complete_ins;
		return 0;
	}

	rsi = vcpu->regs[VCPU_RSI] & mask;
	if (kvml_read_guest_virt(vcpu,
				 kvml_seg_base(vcpu, pio_outs_segment(vcpu)) +
				 rsi,
				 vcpu->pio_data, n * pio->size))
		return kvml_exit_internal_error(vcpu,
						KVM_INTERNAL_ERROR_EMULATION);
	pio_set_areg(vcpu, VCPU_RSI, pio->addr_size,
		     pio_step(vcpu, rsi, n * pio->size));
	vcpu->complete_userspace = pio_complete_outs;
	return 0;
}

int kvml_handle_pio(struct kvml_vcpu *vcpu, const struct kvml_pio *pio)
{
	struct kvm_run *run = vcpu->run;

	vcpu->pio = *pio;
	vcpu->pio_rip = vcpu->rip;
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = pio->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = pio->size;
	run->io.port = pio->port;
	run->io.count = 1;
	run->io.data_offset = KVML_PIO_PAGE_OFFSET * PAGE_SIZE;

	if (pio->string)
		return pio_start_string(vcpu);
	if (pio->in) {
		vcpu->complete_userspace = pio_complete_in;
	} else {
		memcpy(vcpu->pio_data, &vcpu->regs[VCPU_RAX], pio->size);
		vcpu->complete_userspace = pio_complete_out;
	}
	return 0;
}
