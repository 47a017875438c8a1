// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite MSRs: the guest's RDMSR/WRMSR, KVM_GET_MSRS/KVM_SET_MSRS and
 * KVM_GET_MSR_INDEX_LIST.
 *
 * The backend owns the MSRs that live in its VMCB/VMCS and is asked
 * first; the core keeps the rest in struct kvml_vcpu.  An MSR that a
 * Linux 6.1 guest reads or writes during boot without the _safe accessors
 * is answered here, with a value that sends the guest down the path for
 * "feature absent" where there is one: no machine-check banks, no PMU
 * (counters read 0 and drop writes, so the guest's PMU probe fails
 * cleanly), IA32_FEATURE_CONTROL locked without VMX, memory encryption
 * off, microcode loading left alone.
 *
 * Return convention of kvml_get_msr()/kvml_set_msr(): 0 done, 1 the MSR
 * does not exist or the value is refused (the guest gets #GP, the ioctl
 * stops there).  @host is true for KVM_GET_MSRS/KVM_SET_MSRS.
 */
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/mtrr.h>
#include <asm/processor.h>

#include "kvmlite.h"

/* A PAT value both backends accept: every entry a defined memory type. */
bool kvml_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

/* KVM's MAX_IO_MSRS: KVM_GET/SET_MSRS refuse nmsrs at or above it. */
#define KVML_MAX_IO_MSRS	256

/* The bit of an X86_FEATURE_* flag within its 32-bit CPUID register. */
#define KVML_FBIT(name)		BIT((X86_FEATURE_##name) & 31)

/* MTRRs: 8 variable pairs, the fixed ranges, write-combining. */
#define KVML_NR_VAR_MTRR	8
#define KVML_MTRRCAP_FIX	BIT_ULL(8)
#define KVML_MTRRCAP_WC		BIT_ULL(10)
#define KVML_MTRRCAP		(KVML_MTRRCAP_WC | KVML_MTRRCAP_FIX | \
				 KVML_NR_VAR_MTRR)
#define KVML_MTRR_DEFTYPE_BITS	0xcffULL	/* E, FE, type */
#define KVML_MTRR_BASE_RSVD	0xf00ULL
#define KVML_MTRR_MASK_RSVD	0x7ffULL

/* IA32_APIC_BASE: bits 0-7 and 9 are reserved; 10 is x2APIC enable. */
#define KVML_APICBASE_RSVD	0x2ffULL
#define KVML_APICBASE_EXTD	BIT_ULL(10)

/* IA32_MISC_ENABLE: read-only "unavailable" bits, as KVM has them. */
#define KVML_MISC_ENABLE_RO	(MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL)
#define KVML_MISC_ENABLE_RESET	(MSR_IA32_MISC_ENABLE_FAST_STRING | \
				 KVML_MISC_ENABLE_RO)

/* AMD HWCR: TscFreqSel (the TSC counts at the P0 frequency). */
#define KVML_HWCR		BIT_ULL(24)
/* HWCR bits a guest may write and that are ignored (as KVM does). */
#define KVML_HWCR_IGNORED	(BIT_ULL(3) | BIT_ULL(6) | BIT_ULL(8))

/* Microcode revision as KVM reports it for each vendor. */
#define KVML_UCODE_REV_INTEL	0x100000000ULL
#define KVML_UCODE_REV_AMD	0x01000065ULL

static bool kvml_host_is_amd(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
}

/* Register of a CPUID entry, for kvml_guest_has(). */
enum { KVML_EAX, KVML_EBX, KVML_ECX, KVML_EDX };

/* Does the vCPU's CPUID (@function, @index) set @mask in register @reg? */
static bool kvml_guest_has(struct kvml_vcpu *vcpu, u32 function, u32 index,
			   int reg, u32 mask)
{
	struct kvm_cpuid_entry2 *e;
	u32 v;

	e = kvml_find_cpuid_entry(vcpu, function, index);
	if (!e)
		return false;
	switch (reg) {
	case KVML_EAX:
		v = e->eax;
		break;
	case KVML_EBX:
		v = e->ebx;
		break;
	case KVML_ECX:
		v = e->ecx;
		break;
	default:
		v = e->edx;
		break;
	}
	return v & mask;
}

/* CPUID.0 says "GenuineIntel". */
static bool kvml_guest_is_intel(struct kvml_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvml_find_cpuid_entry(vcpu, 0, 0);

	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 &&
	       e->ecx == 0x6c65746e;
}

static bool kvml_guest_has_tsc_aux(struct kvml_vcpu *vcpu)
{
	return kvml_guest_has(vcpu, 0x80000001, 0, KVML_EDX,
			      KVML_FBIT(RDTSCP)) ||
	       kvml_guest_has(vcpu, 7, 0, KVML_ECX, KVML_FBIT(RDPID));
}

static bool kvml_guest_has_spec_ctrl(struct kvml_vcpu *vcpu)
{
	return kvml_guest_has(vcpu, 7, 0, KVML_EDX,
			      KVML_FBIT(SPEC_CTRL) |
			      KVML_FBIT(SPEC_CTRL_SSBD)) ||
	       kvml_guest_has(vcpu, 0x80000008, 0, KVML_EBX,
			      KVML_FBIT(AMD_IBRS) | KVML_FBIT(AMD_SSBD));
}

static bool kvml_guest_has_pred_cmd(struct kvml_vcpu *vcpu)
{
	return kvml_guest_has(vcpu, 7, 0, KVML_EDX, KVML_FBIT(SPEC_CTRL)) ||
	       kvml_guest_has(vcpu, 0x80000008, 0, KVML_EBX,
			      KVML_FBIT(AMD_IBPB));
}

/* Guest physical address bits above the vCPU's MAXPHYADDR. */
static u64 kvml_rsvd_gpa_bits(struct kvml_vcpu *vcpu)
{
	int bits = kvml_cpuid_maxphyaddr(vcpu);

	if (bits >= 64)
		return 0;
	return ~0ULL << bits;
}

/* MTRRs */

/* UC, WC, WT, WP, WB; 2, 3 and 7 and above are reserved. */
static bool kvml_mtrr_type_valid(u64 type)
{
	return type == MTRR_TYPE_UNCACHABLE || type == MTRR_TYPE_WRCOMB ||
	       type == MTRR_TYPE_WRTHROUGH || type == MTRR_TYPE_WRPROT ||
	       type == MTRR_TYPE_WRBACK;
}

/* Slot of a fixed-range MTRR in vcpu->mtrr_fixed[], or -1. */
static int kvml_mtrr_fixed_slot(u32 index)
{
	switch (index) {
	case MSR_MTRRfix64K_00000:
		return 0;
	case MSR_MTRRfix16K_80000:
		return 1;
	case MSR_MTRRfix16K_A0000:
		return 2;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + index - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

static bool kvml_mtrr_var_msr(u32 index)
{
	return index >= MTRRphysBase_MSR(0) &&
	       index < MTRRphysBase_MSR(KVML_NR_VAR_MTRR);
}

static int kvml_set_mtrr(struct kvml_vcpu *vcpu, u32 index, u64 data)
{
	u64 rsvd;
	int i, slot;

	if (index == MSR_MTRRdefType) {
		if ((data & ~KVML_MTRR_DEFTYPE_BITS) ||
		    !kvml_mtrr_type_valid(data & 0xff))
			return 1;
		vcpu->mtrr_def_type = data;
		return 0;
	}

	slot = kvml_mtrr_fixed_slot(index);
	if (slot >= 0) {
		for (i = 0; i < 64; i += 8)
			if (!kvml_mtrr_type_valid((data >> i) & 0xff))
				return 1;
		vcpu->mtrr_fixed[slot] = data;
		return 0;
	}

	/* Variable pair: even MSR the base, odd MSR the mask. */
	rsvd = kvml_rsvd_gpa_bits(vcpu);
	if (!(index & 1)) {
		if (!kvml_mtrr_type_valid(data & 0xff))
			return 1;
		rsvd |= KVML_MTRR_BASE_RSVD;
	} else {
		rsvd |= KVML_MTRR_MASK_RSVD;
	}
	if (data & rsvd)
		return 1;
	vcpu->mtrr_var[index - MTRRphysBase_MSR(0)] = data;
	return 0;
}

/* APIC base */

static int kvml_set_apic_base(struct kvml_vcpu *vcpu, u64 data, bool host)
{
	u64 old = vcpu->apic_base;
	u64 rsvd = kvml_rsvd_gpa_bits(vcpu) | KVML_APICBASE_RSVD;
	bool old_en = old & MSR_IA32_APICBASE_ENABLE;
	bool new_en = data & MSR_IA32_APICBASE_ENABLE;

	if (!kvml_guest_has(vcpu, 1, 0, KVML_ECX, KVML_FBIT(X2APIC)))
		rsvd |= KVML_APICBASE_EXTD;
	if (data & rsvd)
		return 1;
	/* x2APIC mode needs the APIC enabled. */
	if ((data & KVML_APICBASE_EXTD) && !new_en)
		return 1;
	if (!host) {
		/* x2APIC -> xAPIC, and disabled -> x2APIC, must go around. */
		if (old_en && (old & KVML_APICBASE_EXTD) && new_en &&
		    !(data & KVML_APICBASE_EXTD))
			return 1;
		if (!old_en && (data & KVML_APICBASE_EXTD))
			return 1;
	}
	vcpu->apic_base = data;
	return 0;
}

/* The core's MSRs */

static int kvml_core_get_msr(struct kvml_vcpu *vcpu, u32 index, u64 *data,
			     bool host)
{
	int slot;

	switch (index) {
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*data = 0;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !kvml_guest_has_tsc_aux(vcpu))
			return 1;
		*data = vcpu->tsc_aux;
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		return 0;
	case MSR_MTRRcap:
		*data = KVML_MTRRCAP;
		return 0;
	case MSR_MTRRdefType:
		*data = vcpu->mtrr_def_type;
		return 0;
	case MSR_MTRRfix64K_00000:
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		slot = kvml_mtrr_fixed_slot(index);
		*data = vcpu->mtrr_fixed[slot];
		return 0;
	case MSR_IA32_FEAT_CTL:
		/* Locked by "firmware", VMX and SMX left disabled. */
		*data = FEAT_CTL_LOCKED;
		return 0;
	case MSR_IA32_UCODE_REV:	/* also AMD's PATCH_LEVEL */
		*data = kvml_host_is_amd() ? KVML_UCODE_REV_AMD :
					     KVML_UCODE_REV_INTEL;
		return 0;
	case MSR_IA32_PLATFORM_ID:
	case MSR_IA32_MCG_CAP:		/* no banks, no MCG_CTL, no CMCI */
	case MSR_IA32_MCG_STATUS:
	case MSR_SMI_COUNT:
	case MSR_AMD64_SYSCFG:		/* no memory encryption, no TOM2 */
	case MSR_VM_HSAVE_PA:
	case MSR_AMD64_NB_CFG:
	case MSR_AMD64_BU_CFG2:
	case MSR_AMD64_DC_CFG:
	case MSR_AMD64_TW_CFG:
	case MSR_F15H_EX_CFG:
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3:
	case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
	case MSR_P6_EVNTSEL0 ... MSR_P6_EVNTSEL1:
	case MSR_P6_PERFCTR0 ... MSR_P6_PERFCTR1:
		*data = 0;
		return 0;
	case MSR_IA32_MCG_CTL:
		/* Exists only with MCG_CAP.MCG_CTL_P; userspace reads 0. */
		if (!host)
			return 1;
		*data = 0;
		return 0;
	case MSR_IA32_XSS:
		if (!host && !kvml_guest_has(vcpu, 0xd, 1, KVML_EAX,
					     KVML_FBIT(XSAVES)))
			return 1;
		*data = 0;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		if (!host && !kvml_guest_has_spec_ctrl(vcpu))
			return 1;
		*data = 0;
		return 0;
	case MSR_AMD64_OSVW_ID_LENGTH:
	case MSR_AMD64_OSVW_STATUS:
		if (!kvml_guest_has(vcpu, 0x80000001, 0, KVML_ECX,
				    KVML_FBIT(OSVW)))
			return 1;
		*data = 0;
		return 0;
	case MSR_K7_HWCR:
		*data = KVML_HWCR;
		return 0;
	case MSR_AMD64_DE_CFG:
		if (!kvml_host_is_amd())
			return 1;
		*data = MSR_AMD64_DE_CFG_LFENCE_SERIALIZE;
		return 0;
	default:
		if (kvml_mtrr_var_msr(index)) {
			*data = vcpu->mtrr_var[index - MTRRphysBase_MSR(0)] &
				~kvml_rsvd_gpa_bits(vcpu);
			return 0;
		}
		return 1;
	}
}

static int kvml_core_set_msr(struct kvml_vcpu *vcpu, u32 index, u64 data,
			     bool host)
{
	switch (index) {
	case MSR_IA32_TSC:
		vcpu->tsc_offset = data - rdtsc();
		if (kvml_ops->tsc_offset_changed)
			kvml_ops->tsc_offset_changed(vcpu);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		/*
		 * Not offered in CPUID, where KVM drops the write; a table
		 * that offers it gets an adjust that stays 0.
		 */
		if (kvml_guest_has(vcpu, 7, 0, KVML_EBX, KVML_FBIT(TSC_ADJUST)))
			return data ? 1 : 0;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !kvml_guest_has_tsc_aux(vcpu))
			return 1;
		/*
		 * Bits 63:32 are reserved on Intel and ignored on AMD: #GP
		 * for a guest that says it is Intel, dropped otherwise.
		 */
		if ((data >> 32) && kvml_guest_is_intel(vcpu))
			return 1;
		vcpu->tsc_aux = (u32)data;
		return 0;
	case MSR_IA32_APICBASE:
		return kvml_set_apic_base(vcpu, data, host);
	case MSR_IA32_MISC_ENABLE:
		if (!host) {
			if ((data ^ vcpu->misc_enable) & KVML_MISC_ENABLE_RO)
				return 1;
			/* EMON is read-only: writes are dropped, no #GP. */
			data &= ~MSR_IA32_MISC_ENABLE_EMON;
			data |= vcpu->misc_enable & MSR_IA32_MISC_ENABLE_EMON;
		}
		vcpu->misc_enable = data;
		return 0;
	case MSR_MTRRdefType:
	case MSR_MTRRfix64K_00000:
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return kvml_set_mtrr(vcpu, index, data);
	case MSR_MTRRcap:
		return host && data == KVML_MTRRCAP ? 0 : 1;
	case MSR_IA32_FEAT_CTL:
		/* Locked: the guest cannot write it; userspace may not enable. */
		if (!host || (data & ~(u64)FEAT_CTL_LOCKED))
			return 1;
		return 0;
	case MSR_IA32_UCODE_REV:
		/* The guest writes 0 before reading; userspace's is dropped. */
		return 0;
	case MSR_IA32_UCODE_WRITE:
	case MSR_AMD64_NB_CFG:
	case MSR_AMD64_BU_CFG2:
	case MSR_AMD64_DC_CFG:
	case MSR_AMD64_TW_CFG:
	case MSR_F15H_EX_CFG:
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3:
	case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
	case MSR_P6_EVNTSEL0 ... MSR_P6_EVNTSEL1:
	case MSR_P6_PERFCTR0 ... MSR_P6_PERFCTR1:
		/* Dropped, as KVM does without a PMU. */
		return 0;
	case MSR_IA32_PLATFORM_ID:
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_CTL:
	case MSR_SMI_COUNT:
	case MSR_AMD64_SYSCFG:
		/* Read-only for the guest; userspace may restore the 0. */
		return host && !data ? 0 : 1;
	case MSR_IA32_MCG_STATUS:
	case MSR_VM_HSAVE_PA:
		return data ? 1 : 0;
	case MSR_IA32_XSS:
		if (!host && !kvml_guest_has(vcpu, 0xd, 1, KVML_EAX,
					     KVML_FBIT(XSAVES)))
			return 1;
		return data ? 1 : 0;
	case MSR_IA32_SPEC_CTRL:
		/* Not switched for the guest: only "no controls" is kept. */
		if (!host && !kvml_guest_has_spec_ctrl(vcpu))
			return 1;
		return data ? 1 : 0;
	case MSR_IA32_PRED_CMD:
		if (!host && !kvml_guest_has_pred_cmd(vcpu))
			return 1;
		if (!data)
			return 0;
		if (data != PRED_CMD_IBPB || !boot_cpu_has(X86_FEATURE_IBPB))
			return 1;
		wrmsrl(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
		return 0;
	case MSR_IA32_FLUSH_CMD:
		if (!host && !kvml_guest_has(vcpu, 7, 0, KVML_EDX,
					     KVML_FBIT(FLUSH_L1D)))
			return 1;
		if (!data)
			return 0;
		if (data != L1D_FLUSH || !boot_cpu_has(X86_FEATURE_FLUSH_L1D))
			return 1;
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		return 0;
	case MSR_AMD64_OSVW_ID_LENGTH:
	case MSR_AMD64_OSVW_STATUS:
		if (!kvml_guest_has(vcpu, 0x80000001, 0, KVML_ECX,
				    KVML_FBIT(OSVW)))
			return 1;
		return data ? 1 : 0;
	case MSR_K7_HWCR:
		data &= ~KVML_HWCR_IGNORED;
		return data & ~KVML_HWCR ? 1 : 0;
	case MSR_AMD64_DE_CFG:
		if (!kvml_host_is_amd())
			return 1;
		if (data & ~MSR_AMD64_DE_CFG_LFENCE_SERIALIZE)
			return 1;
		/* The guest may only rewrite the value it reads. */
		if (!host && data != MSR_AMD64_DE_CFG_LFENCE_SERIALIZE)
			return 1;
		return 0;
	default:
		if (kvml_mtrr_var_msr(index))
			return kvml_set_mtrr(vcpu, index, data);
		return 1;
	}
}

int kvml_get_msr(struct kvml_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	if (!kvml_ops->get_msr(vcpu, index, data))
		return 0;
	return kvml_core_get_msr(vcpu, index, data, host);
}

int kvml_set_msr(struct kvml_vcpu *vcpu, u32 index, u64 data, bool host)
{
	if (!kvml_ops->set_msr(vcpu, index, data, host))
		return 0;
	return kvml_core_set_msr(vcpu, index, data, host);
}

/* KVM_GET_MSR_INDEX_LIST */

/* The backend's MSRs, then the core's, on every host. */
static const u32 kvml_msrs_common[] = {
	MSR_EFER, MSR_IA32_CR_PAT, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
	MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP, MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_DEBUGCTLMSR,

	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_TSC_AUX, MSR_IA32_APICBASE,
	MSR_IA32_MISC_ENABLE, MSR_IA32_FEAT_CTL, MSR_IA32_UCODE_REV,
	MSR_IA32_PLATFORM_ID, MSR_IA32_MCG_CAP, MSR_IA32_MCG_STATUS,
	MSR_IA32_MCG_CTL, MSR_IA32_XSS, MSR_IA32_SPEC_CTRL, MSR_SMI_COUNT,

	MSR_MTRRcap, MSR_MTRRdefType,
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000,
	MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000,
	MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
	MTRRphysBase_MSR(0), MTRRphysMask_MSR(0),
	MTRRphysBase_MSR(1), MTRRphysMask_MSR(1),
	MTRRphysBase_MSR(2), MTRRphysMask_MSR(2),
	MTRRphysBase_MSR(3), MTRRphysMask_MSR(3),
	MTRRphysBase_MSR(4), MTRRphysMask_MSR(4),
	MTRRphysBase_MSR(5), MTRRphysMask_MSR(5),
	MTRRphysBase_MSR(6), MTRRphysMask_MSR(6),
	MTRRphysBase_MSR(7), MTRRphysMask_MSR(7),
};

/* Listed on AMD and Hygon hosts only. */
static const u32 kvml_msrs_amd[] = {
	MSR_K7_HWCR, MSR_AMD64_SYSCFG, MSR_VM_HSAVE_PA, MSR_AMD64_DE_CFG,
	MSR_AMD64_NB_CFG, MSR_AMD64_BU_CFG2, MSR_AMD64_DC_CFG,
	MSR_AMD64_TW_CFG, MSR_F15H_EX_CFG,
	MSR_K7_EVNTSEL0, MSR_K7_EVNTSEL1, MSR_K7_EVNTSEL2, MSR_K7_EVNTSEL3,
	MSR_K7_PERFCTR0, MSR_K7_PERFCTR1, MSR_K7_PERFCTR2, MSR_K7_PERFCTR3,
};

/* Listed on other hosts only. */
static const u32 kvml_msrs_intel[] = {
	MSR_P6_EVNTSEL0, MSR_P6_EVNTSEL1, MSR_P6_PERFCTR0, MSR_P6_PERFCTR1,
};

int kvml_dev_get_msr_index_list(struct kvm_msr_list __user *ulist)
{
	const u32 *vendor = kvml_host_is_amd() ? kvml_msrs_amd :
						 kvml_msrs_intel;
	u32 nvendor = kvml_host_is_amd() ? ARRAY_SIZE(kvml_msrs_amd) :
					   ARRAY_SIZE(kvml_msrs_intel);
	u32 ncommon = ARRAY_SIZE(kvml_msrs_common);
	struct kvm_msr_list hdr;
	u32 n;

	if (copy_from_user(&hdr, ulist, sizeof(hdr)))
		return -EFAULT;
	n = hdr.nmsrs;
	hdr.nmsrs = ncommon + nvendor;
	if (copy_to_user(ulist, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (n < hdr.nmsrs)
		return -E2BIG;
	if (copy_to_user(ulist->indices, kvml_msrs_common,
			 ncommon * sizeof(u32)) ||
	    copy_to_user(ulist->indices + ncommon, vendor,
			 nvendor * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/* KVM_GET_MSRS / KVM_SET_MSRS */

int kvml_vcpu_ioctl_msrs(struct kvml_vcpu *vcpu, struct kvm_msrs __user *u,
			 bool set)
{
	struct kvm_msr_entry *ent;
	struct kvm_msrs hdr;
	size_t size;
	u32 i;
	int r;

	if (copy_from_user(&hdr, u, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVML_MAX_IO_MSRS)
		return -E2BIG;
	if (!hdr.nmsrs)
		return 0;

	size = array_size(hdr.nmsrs, sizeof(*ent));
	ent = kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!ent)
		return -ENOMEM;
	r = -EFAULT;
	if (copy_from_user(ent, u->entries, size))
		goto out;

	/* In order; the first MSR refused ends the batch. */
	for (i = 0; i < hdr.nmsrs; i++) {
		if (set ? kvml_set_msr(vcpu, ent[i].index, ent[i].data, true) :
			  kvml_get_msr(vcpu, ent[i].index, &ent[i].data, true))
			break;
	}

	r = -EFAULT;
	if (!set && copy_to_user(u->entries, ent, size))
		goto out;
	r = i;
out:
	kfree(ent);
	return r;
}

/* The guest's RDMSR / WRMSR */

int kvml_handle_rdmsr(struct kvml_vcpu *vcpu)
{
	u32 index = (u32)vcpu->regs[VCPU_RCX];
	u64 data;

	if (kvml_get_msr(vcpu, index, &data, false)) {
		pr_debug("kvmlite: vcpu %u: rdmsr 0x%x: #GP\n", vcpu->id, index);
		kvml_inject_gp(vcpu);
		return 1;
	}
	vcpu->regs[VCPU_RAX] = lower_32_bits(data);
	vcpu->regs[VCPU_RDX] = upper_32_bits(data);
	vcpu->rip += 2;
	return 1;
}

int kvml_handle_wrmsr(struct kvml_vcpu *vcpu)
{
	u32 index = (u32)vcpu->regs[VCPU_RCX];
	u64 data = ((u64)(u32)vcpu->regs[VCPU_RDX] << 32) |
		   (u32)vcpu->regs[VCPU_RAX];

	if (kvml_set_msr(vcpu, index, data, false)) {
		pr_debug("kvmlite: vcpu %u: wrmsr 0x%x <- 0x%llx: #GP\n",
			 vcpu->id, index, data);
		kvml_inject_gp(vcpu);
		return 1;
	}
	vcpu->rip += 2;
	return 1;
}

/*
 * Power-on values of the core's MSRs.  Runs before the backend's
 * vcpu_init, which picks up vcpu->tsc_offset; the backend is not told.
 */
void kvml_msr_reset(struct kvml_vcpu *vcpu)
{
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->id == 0)
		vcpu->apic_base |= MSR_IA32_APICBASE_BSP;
	vcpu->misc_enable = KVML_MISC_ENABLE_RESET;
	vcpu->tsc_aux = 0;
	vcpu->mtrr_def_type = 0;
	memset(vcpu->mtrr_fixed, 0, sizeof(vcpu->mtrr_fixed));
	memset(vcpu->mtrr_var, 0, sizeof(vcpu->mtrr_var));
	/* The guest's TSC starts at 0. */
	vcpu->tsc_offset = -rdtsc();
}
