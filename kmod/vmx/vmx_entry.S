/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite VMX world switch.
 *
 * int vmx_vmenter(u64 *regs, u32 launched)
 *
 * Called with IRQs off and the vCPU's VMCS current.  Saves the host's
 * callee-saved registers, points HOST_RSP at the stack, loads the guest's
 * GPRs except RSP (that one lives in the VMCS) and enters the guest with
 * VMRESUME, or VMLAUNCH when @launched is 0.  The VM exit arrives at
 * vmx_vmexit (HOST_RIP) with the stack as it was at the entry: the guest's
 * GPRs go back to regs[] and 0 is returned.  When VMLAUNCH or VMRESUME
 * itself fails (VMfail), 1 is returned and the VM-instruction error field
 * says why.  regs[] is indexed in the x86 encoding order (enum kvml_reg).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/ibt.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#define REG(n)		((n) * 8)
/* The VMCS field encoding of HOST_RSP (Intel SDM, appendix B). */
#define VMCS_HOST_RSP	0x6c14

.section .noinstr.text, "ax"

SYM_FUNC_START(vmx_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* The guest GPRs pointer, on top of the stack the exit returns to. */
	push	%rdi

	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jbe	.Lvmfail

	/* ZF says launched or not; MOVs leave the flags alone. */
	test	%esi, %esi
	mov	%rdi, %rax
	mov	REG(1)(%rax), %rcx
	mov	REG(2)(%rax), %rdx
	mov	REG(3)(%rax), %rbx
	mov	REG(5)(%rax), %rbp
	mov	REG(6)(%rax), %rsi
	mov	REG(7)(%rax), %rdi
	mov	REG(8)(%rax), %r8
	mov	REG(9)(%rax), %r9
	mov	REG(10)(%rax), %r10
	mov	REG(11)(%rax), %r11
	mov	REG(12)(%rax), %r12
	mov	REG(13)(%rax), %r13
	mov	REG(14)(%rax), %r14
	mov	REG(15)(%rax), %r15
	mov	REG(0)(%rax), %rax

	UNWIND_HINT_SAVE
	jnz	.Lresume
	vmlaunch
	jmp	.Lvmfail
.Lresume:
	vmresume
	jmp	.Lvmfail

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	/* RSP is HOST_RSP: the GPRs pointer is on top. */
	push	%rax
	mov	8(%rsp), %rax
	mov	%rcx, REG(1)(%rax)
	mov	%rdx, REG(2)(%rax)
	mov	%rbx, REG(3)(%rax)
	mov	%rbp, REG(5)(%rax)
	mov	%rsi, REG(6)(%rax)
	mov	%rdi, REG(7)(%rax)
	mov	%r8, REG(8)(%rax)
	mov	%r9, REG(9)(%rax)
	mov	%r10, REG(10)(%rax)
	mov	%r11, REG(11)(%rax)
	mov	%r12, REG(12)(%rax)
	mov	%r13, REG(13)(%rax)
	mov	%r14, REG(14)(%rax)
	mov	%r15, REG(15)(%rax)
	popq	REG(0)(%rax)

	/* No return prediction the guest trained may steer the host. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	xor	%eax, %eax
	jmp	.Lout

.Lvmfail:
	mov	$1, %eax

.Lout:
	/* Leave no guest value in a register. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(vmx_vmenter)
