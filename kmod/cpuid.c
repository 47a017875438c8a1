// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite CPUID: the table that KVM_GET_SUPPORTED_CPUID offers, the
 * per-vCPU table of KVM_SET_CPUID2/KVM_GET_CPUID2, the guest's CPUID
 * exits, and XSETBV.
 *
 * The supported table is the host's CPUID filtered through allow-lists:
 * a feature bit reaches the guest only when kvmlite knows that the guest
 * can use it without help that kvmlite does not give (no in-kernel APIC,
 * no PMU, no nested virtualization, no per-entry switch of TSC_AUX or of
 * the speculation-control MSRs, only the x87/SSE/AVX/AVX-512 XSAVE states).
 */
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "kvmlite.h"

/* The bit of an X86_FEATURE_* flag within its 32-bit CPUID register. */
#define KVML_FBIT(name)		BIT((X86_FEATURE_##name) & 31)

/* Highest leaves kvmlite describes; anything above is not offered. */
#define KVML_MAX_BASIC_LEAF	0xdU
#define KVML_MAX_EXT_LEAF	0x80000008U

/* The second-level page tables are 4-level: guest physical below 2^48. */
#define KVML_MAX_PHYS_BITS	48U

/* XSAVE state components a guest may enable (x87, SSE, AVX, AVX-512). */
#define KVML_XCR0_MASK		(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | \
				 XFEATURE_MASK_YMM | XFEATURE_MASK_AVX512)

/* CPUID.1:ECX.  OSXSAVE is per vCPU, HYPERVISOR is set separately. */
#define KVML_1_ECX	(KVML_FBIT(XMM3) | KVML_FBIT(PCLMULQDQ) |	\
			 KVML_FBIT(SSSE3) | KVML_FBIT(FMA) |		\
			 KVML_FBIT(CX16) | KVML_FBIT(PCID) |		\
			 KVML_FBIT(XMM4_1) | KVML_FBIT(XMM4_2) |	\
			 KVML_FBIT(MOVBE) | KVML_FBIT(POPCNT) |		\
			 KVML_FBIT(AES) | KVML_FBIT(XSAVE) |		\
			 KVML_FBIT(AVX) | KVML_FBIT(F16C) |		\
			 KVML_FBIT(RDRAND))

/* CPUID.1:EDX.  No DS, ACPI/TM thermal control, HTT or PBE. */
#define KVML_1_EDX	(KVML_FBIT(FPU) | KVML_FBIT(VME) |		\
			 KVML_FBIT(DE) | KVML_FBIT(PSE) |		\
			 KVML_FBIT(TSC) | KVML_FBIT(MSR) |		\
			 KVML_FBIT(PAE) | KVML_FBIT(MCE) |		\
			 KVML_FBIT(CX8) | KVML_FBIT(APIC) |		\
			 KVML_FBIT(SEP) | KVML_FBIT(MTRR) |		\
			 KVML_FBIT(PGE) | KVML_FBIT(MCA) |		\
			 KVML_FBIT(CMOV) | KVML_FBIT(PAT) |		\
			 KVML_FBIT(PSE36) | KVML_FBIT(CLFLUSH) |	\
			 KVML_FBIT(MMX) | KVML_FBIT(FXSR) |		\
			 KVML_FBIT(XMM) | KVML_FBIT(XMM2) |		\
			 KVML_FBIT(SELFSNOOP))

/*
 * CPUID.7.0:EBX.  No TSC_ADJUST, SGX, MPX, RDT monitoring/allocation or
 * processor trace.
 */
#define KVML_7_EBX	(KVML_FBIT(FSGSBASE) | KVML_FBIT(BMI1) |	\
			 KVML_FBIT(HLE) | KVML_FBIT(AVX2) |		\
			 KVML_FBIT(FDP_EXCPTN_ONLY) | KVML_FBIT(SMEP) |	\
			 KVML_FBIT(BMI2) | KVML_FBIT(ERMS) |		\
			 KVML_FBIT(INVPCID) | KVML_FBIT(RTM) |		\
			 KVML_FBIT(ZERO_FCS_FDS) | KVML_FBIT(AVX512F) |	\
			 KVML_FBIT(AVX512DQ) | KVML_FBIT(RDSEED) |	\
			 KVML_FBIT(ADX) | KVML_FBIT(SMAP) |		\
			 KVML_FBIT(AVX512IFMA) | KVML_FBIT(CLFLUSHOPT) | \
			 KVML_FBIT(CLWB) | KVML_FBIT(AVX512PF) |	\
			 KVML_FBIT(AVX512ER) | KVML_FBIT(AVX512CD) |	\
			 KVML_FBIT(SHA_NI) | KVML_FBIT(AVX512BW) |	\
			 KVML_FBIT(AVX512VL))

/*
 * CPUID.7.0:ECX.  No PKU/OSPKE, WAITPKG, CET, TME, LA57, RDPID, KeyLocker,
 * bus-lock detection, ENQCMD, SGX launch control or PKS.
 */
#define KVML_7_ECX	(KVML_FBIT(AVX512VBMI) | KVML_FBIT(UMIP) |	\
			 KVML_FBIT(AVX512_VBMI2) | KVML_FBIT(GFNI) |	\
			 KVML_FBIT(VAES) | KVML_FBIT(VPCLMULQDQ) |	\
			 KVML_FBIT(AVX512_VNNI) |			\
			 KVML_FBIT(AVX512_BITALG) |			\
			 KVML_FBIT(AVX512_VPOPCNTDQ) |			\
			 KVML_FBIT(CLDEMOTE) | KVML_FBIT(MOVDIRI) |	\
			 KVML_FBIT(MOVDIR64B))

/*
 * CPUID.7.0:EDX.  No SRBDS/TSX controls, hybrid, PCONFIG, arch LBR, IBT,
 * AMX, nor the SPEC_CTRL/STIBP/L1D_FLUSH/ARCH_CAPABILITIES/CORE_CAPS/SSBD
 * MSR interfaces (kvmlite does not switch those MSRs for the guest).
 */
#define KVML_7_EDX	(KVML_FBIT(AVX512_4VNNIW) |			\
			 KVML_FBIT(AVX512_4FMAPS) | KVML_FBIT(FSRM) |	\
			 KVML_FBIT(AVX512_VP2INTERSECT) |		\
			 KVML_FBIT(MD_CLEAR) | KVML_FBIT(SERIALIZE) |	\
			 KVML_FBIT(TSXLDTRK) | KVML_FBIT(AVX512_FP16))

/* CPUID.0xD.1:EAX.  No XSAVES (IA32_XSS is 0 only) and no XFD. */
#define KVML_D1_EAX	(KVML_FBIT(XSAVEOPT) | KVML_FBIT(XSAVEC) |	\
			 KVML_FBIT(XGETBV1))

/*
 * CPUID.0x80000001:ECX.  No SVM, extended APIC space, OSVW, IBS, SKINIT,
 * WDT, LWP, node-id MSR, TOPOEXT, core/NB/LLC perf counters, breakpoint
 * extensions or MWAITX.
 */
#define KVML_81_ECX	(KVML_FBIT(LAHF_LM) | KVML_FBIT(CMP_LEGACY) |	\
			 KVML_FBIT(CR8_LEGACY) | KVML_FBIT(ABM) |	\
			 KVML_FBIT(SSE4A) | KVML_FBIT(MISALIGNSSE) |	\
			 KVML_FBIT(3DNOWPREFETCH) | KVML_FBIT(XOP) |	\
			 KVML_FBIT(FMA4) | KVML_FBIT(TBM))

/*
 * CPUID.0x80000001:EDX.  On AMD, bits 0-9, 12-17, 23 and 24 repeat
 * CPUID.1:EDX.  RDTSCP only with a backend that emulates it (see below).
 */
#define KVML_81_EDX_MIRROR	(GENMASK(9, 0) | GENMASK(17, 12) |	\
				 BIT(23) | BIT(24))
#define KVML_81_EDX	((KVML_1_EDX & KVML_81_EDX_MIRROR) |		\
			 KVML_FBIT(SYSCALL) | KVML_FBIT(NX) |		\
			 KVML_FBIT(MMXEXT) | KVML_FBIT(FXSR_OPT) |	\
			 KVML_FBIT(GBPAGES) | KVML_FBIT(LM) |		\
			 KVML_FBIT(3DNOWEXT) | KVML_FBIT(3DNOW))

/* CPUID.0x80000008:EBX.  No IRPERF, RDPRU, nor IBPB/IBRS/STIBP/SSBD. */
#define KVML_88_EBX	(KVML_FBIT(CLZERO) | KVML_FBIT(XSAVEERPTR) |	\
			 KVML_FBIT(WBNOINVD) | KVML_FBIT(AMD_SSB_NO))

/* Everything that needs the YMM state (VEX-encoded instructions). */
#define KVML_1_ECX_AVX	(KVML_FBIT(AVX) | KVML_FBIT(FMA) | KVML_FBIT(F16C))
#define KVML_7_EBX_AVX	KVML_FBIT(AVX2)
#define KVML_7_ECX_AVX	(KVML_FBIT(VAES) | KVML_FBIT(VPCLMULQDQ))
#define KVML_81_ECX_AVX	(KVML_FBIT(XOP) | KVML_FBIT(FMA4))

/* Everything that needs the AVX-512 states. */
#define KVML_7_EBX_AVX512 (KVML_FBIT(AVX512F) | KVML_FBIT(AVX512DQ) |	\
			   KVML_FBIT(AVX512IFMA) | KVML_FBIT(AVX512PF) | \
			   KVML_FBIT(AVX512ER) | KVML_FBIT(AVX512CD) |	\
			   KVML_FBIT(AVX512BW) | KVML_FBIT(AVX512VL))
#define KVML_7_ECX_AVX512 (KVML_FBIT(AVX512VBMI) |			\
			   KVML_FBIT(AVX512_VBMI2) |			\
			   KVML_FBIT(AVX512_VNNI) |			\
			   KVML_FBIT(AVX512_BITALG) |			\
			   KVML_FBIT(AVX512_VPOPCNTDQ))
#define KVML_7_EDX_AVX512 (KVML_FBIT(AVX512_4VNNIW) |			\
			   KVML_FBIT(AVX512_4FMAPS) |			\
			   KVML_FBIT(AVX512_VP2INTERSECT) |		\
			   KVML_FBIT(AVX512_FP16))

/* CPUID.6:EAX.ARAT, the only thermal/power bit offered. */
#define KVML_6_EAX_ARAT		BIT(2)
/* CPUID.0x80000007:EDX.InvariantTSC. */
#define KVML_87_EDX_INVTSC	BIT(8)

/* Vendor signatures in CPUID.0:EBX/EDX/ECX order ("Auth" "enti" "cAMD"). */
#define KVML_SIG_AMD_EBX	0x68747541U	/* "Auth" */
#define KVML_SIG_AMD_EDX	0x69746e65U	/* "enti" */
#define KVML_SIG_AMD_ECX	0x444d4163U	/* "cAMD" */
#define KVML_SIG_AMD_OLD_EBX	0x69444d41U	/* "AMDi" */
#define KVML_SIG_AMD_OLD_EDX	0x74656273U	/* "sbet" */
#define KVML_SIG_AMD_OLD_ECX	0x21726574U	/* "ter!" */
#define KVML_SIG_HYGON_EBX	0x6f677948U	/* "Hygo" */
#define KVML_SIG_HYGON_EDX	0x6e65476eU	/* "nGen" */
#define KVML_SIG_HYGON_ECX	0x656e6975U	/* "uine" */

/*
 * RDTSCP reads TSC_AUX, which kvmlite does not load for the guest: it is
 * offered only where the backend intercepts RDTSCP and answers with
 * vcpu->tsc_aux (SVM does).  RDPID, which cannot be intercepted alone, is
 * never offered.
 */
static bool kvml_backend_emulates_rdtscp(void)
{
	return kvml_ops == &kvml_svm_ops;
}

/*
 * The host's XCR0, read once: the first call comes from an ioctl (guest
 * CPUID exits and XSETBV need a table set by KVM_SET_CPUID2, which calls
 * this), when the host's XCR0 is the one loaded whatever the backend does
 * around guest entries.
 */
static u64 kvml_host_xcr0 = U64_MAX;

u64 kvml_supported_xcr0(void)
{
	u64 xcr0 = READ_ONCE(kvml_host_xcr0);

	if (xcr0 == U64_MAX) {
		xcr0 = 0;
		if (boot_cpu_has(X86_FEATURE_XSAVE) &&
		    boot_cpu_has(X86_FEATURE_OSXSAVE))
			xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		WRITE_ONCE(kvml_host_xcr0, xcr0);
	}
	return xcr0 & KVML_XCR0_MASK;
}

/* Leaves whose ECX input selects a subleaf. */
static bool kvml_cpuid_indexed(u32 function)
{
	switch (function) {
	case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10:
	case 0x12: case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e:
	case 0x1f: case 0x8000001d:
		return true;
	}
	return false;
}

/*
 * The entry of @ent that CPUID(@function, @index) selects: same function,
 * and same index unless the entry says its index does not matter.
 */
static struct kvm_cpuid_entry2 *
kvml_cpuid_lookup(struct kvm_cpuid_entry2 *ent, int nent, u32 function,
		  u32 index)
{
	int i;

	for (i = 0; i < nent; i++) {
		if (ent[i].function != function)
			continue;
		if (!(ent[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    ent[i].index == index)
			return &ent[i];
	}
	return NULL;
}

/* The first entry of @ent for @function, whatever its index. */
static struct kvm_cpuid_entry2 *
kvml_cpuid_lookup_any(struct kvm_cpuid_entry2 *ent, int nent, u32 function)
{
	int i;

	for (i = 0; i < nent; i++)
		if (ent[i].function == function)
			return &ent[i];
	return NULL;
}

struct kvm_cpuid_entry2 *kvml_find_cpuid_entry(struct kvml_vcpu *vcpu,
					       u32 function, u32 index)
{
	return kvml_cpuid_lookup(vcpu->cpuid, vcpu->cpuid_nent, function,
				 index);
}

int kvml_cpuid_maxphyaddr(struct kvml_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e;

	e = kvml_cpuid_lookup_any(vcpu->cpuid, vcpu->cpuid_nent, 0x80000000);
	if (!e || e->eax < 0x80000008)
		return 36;
	e = kvml_cpuid_lookup_any(vcpu->cpuid, vcpu->cpuid_nent, 0x80000008);
	if (!e)
		return 36;
	return e->eax & 0xff;
}

/*
 * Size in bytes of an XSAVE area holding @xfeatures: legacy region and
 * header, then each extended component, at its standard offset or packed
 * in the compacted format.  Sizes and offsets come from the host CPUID.
 */
static u32 kvml_xstate_size(u64 xfeatures, bool compacted)
{
	u32 size = 512 + 64;
	u32 eax, ebx, ecx, edx;
	int i;

	xfeatures &= kvml_supported_xcr0();
	for (i = 2; i < 64; i++) {
		if (!(xfeatures & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		if (compacted) {
			if (ecx & BIT(1))
				size = ALIGN(size, 64);
			size += eax;
		} else {
			size = max(size, ebx + eax);
		}
	}
	return size;
}

/*
 * Bits of a vCPU's CPUID that follow its state: CPUID.1:ECX.OSXSAVE is
 * CR4.OSXSAVE, CPUID.1:EDX.APIC is the APIC_BASE enable bit, and the XSAVE
 * area sizes of leaf 0xD follow XCR0.  Applied to a table about to be
 * installed, to the installed table on each read of it, and before each
 * guest CPUID.
 */
static void kvml_cpuid_update_runtime(struct kvml_vcpu *vcpu,
				      struct kvm_cpuid_entry2 *ent, int nent)
{
	struct kvm_cpuid_entry2 *e;

	e = kvml_cpuid_lookup(ent, nent, 1, 0);
	if (e) {
		if (kvml_supported_xcr0()) {
			if (kvml_ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE)
				e->ecx |= KVML_FBIT(OSXSAVE);
			else
				e->ecx &= ~KVML_FBIT(OSXSAVE);
		}
		if (vcpu->apic_base & MSR_IA32_APICBASE_ENABLE)
			e->edx |= KVML_FBIT(APIC);
		else
			e->edx &= ~KVML_FBIT(APIC);
	}

	e = kvml_cpuid_lookup(ent, nent, 0xd, 0);
	if (e)
		e->ebx = kvml_xstate_size(vcpu->xcr0, false);

	e = kvml_cpuid_lookup(ent, nent, 0xd, 1);
	if (e && (e->eax & (KVML_FBIT(XSAVES) | KVML_FBIT(XSAVEC))))
		e->ebx = kvml_xstate_size(vcpu->xcr0, true);
}

/* KVM_GET_SUPPORTED_CPUID */

struct kvml_cpuid_buf {
	struct kvm_cpuid_entry2 *ent;
	int nent;
	int max;
};

/* Append the host's CPUID(@function, @index); NULL when the buffer is full. */
static struct kvm_cpuid_entry2 *
kvml_host_leaf(struct kvml_cpuid_buf *b, u32 function, u32 index)
{
	struct kvm_cpuid_entry2 *e;

	if (b->nent >= b->max)
		return NULL;
	e = &b->ent[b->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	if (kvml_cpuid_indexed(function))
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

static int kvml_supported_basic(struct kvml_cpuid_buf *b, u64 xcr0)
{
	const u32 *caps = boot_cpu_data.x86_capability;
	struct kvm_cpuid_entry2 *e;
	u32 max, i;

	e = kvml_host_leaf(b, 0, 0);
	if (!e)
		return -E2BIG;
	max = min(e->eax, KVML_MAX_BASIC_LEAF);
	e->eax = max;

	for (i = 1; i <= max; i++) {
		switch (i) {
		case 1:
			e = kvml_host_leaf(b, 1, 0);
			if (!e)
				return -E2BIG;
			/* Keep brand index and CLFLUSH size; no APIC id/count. */
			e->ebx &= GENMASK(15, 0);
			e->ecx &= KVML_1_ECX & caps[CPUID_1_ECX];
			e->edx &= KVML_1_EDX & caps[CPUID_1_EDX];
			if (!(xcr0 & XFEATURE_MASK_SSE))
				e->ecx &= ~KVML_FBIT(XSAVE);
			if (!(xcr0 & XFEATURE_MASK_YMM))
				e->ecx &= ~KVML_1_ECX_AVX;
			e->ecx |= KVML_FBIT(HYPERVISOR);
			break;
		case 2:
			if (!kvml_host_leaf(b, 2, 0))
				return -E2BIG;
			break;
		case 4: {
			u32 sub = 0;

			/* Cache levels, until the type field says none. */
			do {
				e = kvml_host_leaf(b, 4, sub++);
				if (!e)
					return -E2BIG;
			} while ((e->eax & 0x1f) && sub < 64);
			break;
		}
		case 6:
			e = kvml_host_leaf(b, 6, 0);
			if (!e)
				return -E2BIG;
			e->eax = KVML_6_EAX_ARAT;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
			break;
		case 7:
			e = kvml_host_leaf(b, 7, 0);
			if (!e)
				return -E2BIG;
			e->eax = 0;	/* only subleaf 0 */
			e->ebx &= KVML_7_EBX & caps[CPUID_7_0_EBX];
			e->ecx &= KVML_7_ECX & caps[CPUID_7_ECX];
			e->edx &= KVML_7_EDX & caps[CPUID_7_EDX];
			if (!(xcr0 & XFEATURE_MASK_YMM)) {
				e->ebx &= ~KVML_7_EBX_AVX;
				e->ecx &= ~KVML_7_ECX_AVX;
			}
			if ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512) {
				e->ebx &= ~KVML_7_EBX_AVX512;
				e->ecx &= ~KVML_7_ECX_AVX512;
				e->edx &= ~KVML_7_EDX_AVX512;
			}
			break;
		case 0xa:
			/* No PMU: architectural performance monitoring v0. */
			e = kvml_host_leaf(b, 0xa, 0);
			if (!e)
				return -E2BIG;
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
			break;
		case 0xd: {
			int f;

			if (!(xcr0 & XFEATURE_MASK_SSE))
				break;
			e = kvml_host_leaf(b, 0xd, 0);
			if (!e)
				return -E2BIG;
			e->eax = lower_32_bits(xcr0);
			e->edx = upper_32_bits(xcr0);
			e->ebx = kvml_xstate_size(xcr0, false);
			e->ecx = e->ebx;

			e = kvml_host_leaf(b, 0xd, 1);
			if (!e)
				return -E2BIG;
			e->eax &= KVML_D1_EAX & caps[CPUID_D_1_EAX];
			e->ebx = (e->eax & KVML_FBIT(XSAVEC)) ?
				 kvml_xstate_size(xcr0, true) : 0;
			e->ecx = 0;	/* no IA32_XSS-managed state */
			e->edx = 0;

			for (f = 2; f < 64; f++) {
				if (!(xcr0 & BIT_ULL(f)))
					continue;
				e = kvml_host_leaf(b, 0xd, f);
				if (!e)
					return -E2BIG;
				e->ecx &= BIT(1);	/* 64-byte alignment */
				e->edx = 0;
			}
			break;
		}
		default:
			/* 3, 5, 8, 9, 0xb, 0xc: not described (read as 0). */
			break;
		}
	}
	return 0;
}

static int kvml_supported_extended(struct kvml_cpuid_buf *b, u64 xcr0)
{
	const u32 *caps = boot_cpu_data.x86_capability;
	struct kvm_cpuid_entry2 *e;
	u32 max, i;

	max = cpuid_eax(0x80000000);
	if (max < 0x80000000 || max > 0x8000ffff)
		return 0;
	e = kvml_host_leaf(b, 0x80000000, 0);
	if (!e)
		return -E2BIG;
	max = min(e->eax, KVML_MAX_EXT_LEAF);
	e->eax = max;

	for (i = 0x80000001; i <= max; i++) {
		e = kvml_host_leaf(b, i, 0);
		if (!e)
			return -E2BIG;
		switch (i) {
		case 0x80000001:
			e->ebx &= ~GENMASK(27, 16);
			e->ecx &= KVML_81_ECX & caps[CPUID_8000_0001_ECX];
			e->edx &= (KVML_81_EDX |
				   (kvml_backend_emulates_rdtscp() ?
				    KVML_FBIT(RDTSCP) : 0)) &
				  caps[CPUID_8000_0001_EDX];
			if (!(xcr0 & XFEATURE_MASK_YMM))
				e->ecx &= ~KVML_81_ECX_AVX;
			break;
		case 0x80000006:
			e->edx &= ~GENMASK(17, 16);
			break;
		case 0x80000007:
			e->eax = 0;
			e->ebx = 0;
			e->ecx = 0;
			e->edx &= KVML_87_EDX_INVTSC;
			break;
		case 0x80000008: {
			u32 phys = min(e->eax & 0xff, KVML_MAX_PHYS_BITS);
			u32 virt = max((e->eax >> 8) & 0xff, 48U);

			/* 57-bit linear addresses need LA57, not offered. */
			virt = min(virt, 48U);
			e->eax = phys | (virt << 8);
			e->ebx &= KVML_88_EBX & caps[CPUID_8000_0008_EBX];
			e->ecx &= ~(GENMASK(31, 16) | GENMASK(11, 8));
			e->edx = 0;
			break;
		}
		default:
			/* 0x80000002-5: brand string, L1 caches: as is. */
			break;
		}
	}
	return 0;
}

int kvml_dev_get_supported_cpuid(struct kvm_cpuid2 __user *ucpuid)
{
	struct kvml_cpuid_buf b = { };
	struct kvm_cpuid2 hdr;
	u64 xcr0;
	int r;

	if (copy_from_user(&hdr, ucpuid, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1)
		return -E2BIG;
	if (hdr.nent > KVML_MAX_CPUID_ENTRIES)
		hdr.nent = KVML_MAX_CPUID_ENTRIES;

	b.max = hdr.nent;
	b.ent = kvcalloc(b.max, sizeof(*b.ent), GFP_KERNEL);
	if (!b.ent)
		return -ENOMEM;

	/* All CPUID instructions on one CPU, so the leaves agree. */
	get_cpu();
	xcr0 = kvml_supported_xcr0();
	r = kvml_supported_basic(&b, xcr0);
	if (!r)
		r = kvml_supported_extended(&b, xcr0);
	put_cpu();
	if (r)
		goto out;

	hdr.nent = b.nent;
	r = -EFAULT;
	if (copy_to_user(ucpuid->entries, b.ent,
			 array_size(b.nent, sizeof(*b.ent))))
		goto out;
	if (copy_to_user(ucpuid, &hdr, sizeof(hdr)))
		goto out;
	r = 0;
out:
	kvfree(b.ent);
	return r;
}

/* KVM_SET_CPUID2 / KVM_GET_CPUID2 */

/* What KVM refuses in any table: a linear-address width it cannot use. */
static int kvml_cpuid_check(struct kvm_cpuid_entry2 *ent, int nent)
{
	struct kvm_cpuid_entry2 *e;
	u32 virt;

	e = kvml_cpuid_lookup_any(ent, nent, 0x80000008);
	if (e) {
		virt = (e->eax >> 8) & 0xff;
		if (virt != 0 && virt != 48 && virt != 57)
			return -EINVAL;
	}
	return 0;
}

static bool kvml_cpuid_equal(const struct kvm_cpuid_entry2 *a,
			     const struct kvm_cpuid_entry2 *b, int nent)
{
	int i;

	for (i = 0; i < nent; i++, a++, b++) {
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax ||
		    a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx)
			return false;
	}
	return true;
}

int kvml_set_cpuid2(struct kvml_vcpu *vcpu, struct kvm_cpuid2 __user *u)
{
	struct kvm_cpuid_entry2 *ent = NULL, *old;
	struct kvm_cpuid2 hdr;
	int nent, r;

	if (copy_from_user(&hdr, u, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVML_MAX_CPUID_ENTRIES)
		return -E2BIG;
	nent = hdr.nent;

	if (nent) {
		ent = kvmalloc_array(nent, sizeof(*ent), GFP_KERNEL_ACCOUNT);
		if (!ent)
			return -ENOMEM;
		if (copy_from_user(ent, u->entries,
				   array_size(nent, sizeof(*ent)))) {
			r = -EFAULT;
			goto fail;
		}
	}

	kvml_cpuid_update_runtime(vcpu, ent, nent);

	/*
	 * Once the vCPU has run, the guest may have acted on its CPUID: as
	 * KVM does, accept only the table already installed.
	 */
	if (vcpu->last_cpu != -1) {
		kvml_cpuid_update_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
		r = -EINVAL;
		if (nent != vcpu->cpuid_nent ||
		    !kvml_cpuid_equal(ent, vcpu->cpuid, nent))
			goto fail;
		kvfree(ent);
		return 0;
	}

	r = kvml_cpuid_check(ent, nent);
	if (r)
		goto fail;

	old = vcpu->cpuid;
	vcpu->cpuid = ent;
	vcpu->cpuid_nent = nent;
	kvfree(old);
	return 0;

fail:
	kvfree(ent);
	return r;
}

/*
 * Exactly as KVM 6.1 behaves: the caller's nent is never written back,
 * neither with E2BIG nor on success (where the entries beyond the
 * table's are left untouched).
 */
int kvml_get_cpuid2(struct kvml_vcpu *vcpu, struct kvm_cpuid2 __user *u)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, u, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < vcpu->cpuid_nent)
		return -E2BIG;

	kvml_cpuid_update_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
	if (vcpu->cpuid_nent &&
	    copy_to_user(u->entries, vcpu->cpuid,
			 array_size(vcpu->cpuid_nent, sizeof(*vcpu->cpuid))))
		return -EFAULT;
	return 0;
}

/* The guest's CPUID */

static bool kvml_guest_vendor_amd(const struct kvm_cpuid_entry2 *e)
{
	return (e->ebx == KVML_SIG_AMD_EBX && e->ecx == KVML_SIG_AMD_ECX &&
		e->edx == KVML_SIG_AMD_EDX) ||
	       (e->ebx == KVML_SIG_AMD_OLD_EBX &&
		e->ecx == KVML_SIG_AMD_OLD_ECX &&
		e->edx == KVML_SIG_AMD_OLD_EDX) ||
	       (e->ebx == KVML_SIG_HYGON_EBX && e->ecx == KVML_SIG_HYGON_ECX &&
		e->edx == KVML_SIG_HYGON_EDX);
}

/*
 * A function the table does not describe.  AMD (and Hygon) CPUs return
 * zeros for it.  Intel CPUs, and so any other vendor here, answer a
 * function above the maximum of its range (basic, each 0x100-wide
 * hypervisor range, extended, Centaur), or in a range that does not
 * exist, with the highest basic leaf, same subleaf.  @function becomes the
 * function whose entry is returned.
 */
static struct kvm_cpuid_entry2 *kvml_cpuid_out_of_range(struct kvml_vcpu *vcpu,
							u32 *function,
							u32 index)
{
	struct kvm_cpuid_entry2 *basic, *range;
	u32 f = *function, base;

	basic = kvml_cpuid_lookup_any(vcpu->cpuid, vcpu->cpuid_nent, 0);
	if (!basic || kvml_guest_vendor_amd(basic))
		return NULL;

	if (f >= 0x40000000 && f <= 0x4fffffff)
		base = f & 0xffffff00;
	else if (f >= 0xc0000000)
		base = 0xc0000000;
	else
		base = f & 0x80000000;
	range = kvml_cpuid_lookup_any(vcpu->cpuid, vcpu->cpuid_nent, base);
	if (range && f <= range->eax)
		return NULL;

	*function = basic->eax;
	return kvml_find_cpuid_entry(vcpu, basic->eax, index);
}

int kvml_handle_cpuid(struct kvml_vcpu *vcpu)
{
	u32 function = (u32)vcpu->regs[VCPU_RAX];
	u32 index = (u32)vcpu->regs[VCPU_RCX];
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;
	struct kvm_cpuid_entry2 *e;

	e = kvml_find_cpuid_entry(vcpu, function, index);
	if (!e)
		e = kvml_cpuid_out_of_range(vcpu, &function, index);

	if (e) {
		/* Only leaves 1 and 0xD carry bits that follow vCPU state. */
		if (e->function == 1 || e->function == 0xd)
			kvml_cpuid_update_runtime(vcpu, vcpu->cpuid,
						  vcpu->cpuid_nent);
		eax = e->eax;
		ebx = e->ebx;
		ecx = e->ecx;
		edx = e->edx;
	} else if (function == 0xb || function == 0x1f) {
		/*
		 * An undescribed subleaf of the extended topology leaves
		 * (present when subleaf 1 is) echoes its level number in ECX
		 * and still reports the x2APIC id in EDX.
		 */
		e = kvml_find_cpuid_entry(vcpu, function, 1);
		if (e) {
			ecx = index & 0xff;
			edx = e->edx;
		}
	}

	vcpu->regs[VCPU_RAX] = eax;
	vcpu->regs[VCPU_RBX] = ebx;
	vcpu->regs[VCPU_RCX] = ecx;
	vcpu->regs[VCPU_RDX] = edx;
	vcpu->rip += 2;
	return 1;
}

/* XSETBV */

/* XCR0 values this vCPU's CPUID allows: its leaf 0xD, within ours. */
static u64 kvml_guest_supported_xcr0(struct kvml_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e;

	e = kvml_find_cpuid_entry(vcpu, 0xd, 0);
	if (!e)
		return 0;
	return (e->eax | ((u64)e->edx << 32)) & kvml_supported_xcr0();
}

static bool kvml_xcr0_valid(struct kvml_vcpu *vcpu, u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if (xcr0 & ~(kvml_guest_supported_xcr0(vcpu) | XFEATURE_MASK_FP))
		return false;
	if (xcr0 & XFEATURE_MASK_AVX512) {
		if (!(xcr0 & XFEATURE_MASK_YMM))
			return false;
		if ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
			return false;
	}
	return true;
}

int kvml_handle_xsetbv(struct kvml_vcpu *vcpu)
{
	u32 xcr = (u32)vcpu->regs[VCPU_RCX];
	u64 value = ((vcpu->regs[VCPU_RDX] & 0xffffffffULL) << 32) |
		    (vcpu->regs[VCPU_RAX] & 0xffffffffULL);

	if (!(kvml_ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE)) {
		kvml_inject_ud(vcpu);
		return 1;
	}
	if (kvml_ops->get_cpl(vcpu) != 0 || xcr != XCR_XFEATURE_ENABLED_MASK ||
	    !kvml_xcr0_valid(vcpu, value)) {
		kvml_inject_gp(vcpu);
		return 1;
	}

	vcpu->xcr0 = value;
	vcpu->rip += 3;
	return 1;
}
