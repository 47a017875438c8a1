/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite SVM world switch.
 *
 * void svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_save_pa)
 *
 * Called with GIF clear and IRQs off.  Saves the host's VMSAVE state
 * (FS/GS/TR/LDTR hidden state, KERNEL_GS_BASE, STAR family, SYSENTER) to
 * host_save_pa, loads the guest's GPRs except RAX and RSP (those live in
 * the VMCB), runs the guest with IRQs on so that a host interrupt causes a
 * #VMEXIT, and restores everything in reverse.  regs[] is indexed in the
 * x86 encoding order (enum kvml_reg).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	(n * 8)

.section .noinstr.text, "ax"

SYM_FUNC_START(svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx		/* host save area */
	push	%rsi		/* guest GPRs */
	push	%rdi		/* VMCB */

	mov	%rdx, %rax
	vmsave	%rax

	/*
	 * IRQs on: with GIF clear they wait for VMRUN, and then exit the
	 * guest.  Not right before VMRUN: QEMU's emulated SVM carries the
	 * STI interrupt shadow into the guest, where it holds off a virtual
	 * interrupt for one guest instruction.
	 */
	sti

	mov	%rsi, %rax
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

	/* RAX = VMCB physical address, kept on the stack too. */
	mov	(%rsp), %rax
	vmload	%rax
	vmrun	%rax
	cli
	vmsave	%rax

	/* The GPRs pointer is the second slot on the stack. */
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

	/* Host VMSAVE state back: GS base first of all. */
	mov	16(%rsp), %rax
	vmload	%rax

	/* Leave no guest value in a register. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(svm_vmrun)
