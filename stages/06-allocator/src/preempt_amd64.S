/*
 * preempt_amd64.S: the asynchronous preemption trampoline (mirrors Go's
 * preempt_amd64.s, which mkpreempt.go generates, and asyncPreempt's call
 * to asyncPreempt2 in preempt.go).
 *
 * The SIGURG handler (preempt.c, sigurg) makes the interrupted goroutine
 * resume here as if its code had called us at the interrupted instruction,
 * with the return address written below the 128-byte red zone:
 *
 *     original RSP  ->  [ whatever the interrupted code had there ]
 *     RSP - 128     ->  [ red zone: a leaf function's scratch, untouched ]
 *     RSP - 136     ->  [ interrupted RIP ]  <- our RSP on entry
 *
 * Nothing may change before it is saved: not the flags (pushfq first; push
 * and mov leave them alone), not a single register. Go's compiled code
 * keeps no live values in the upper halves of vector registers across
 * instructions the compiler could not see, so Go saves X0-X15 only; C code
 * built with -mavx2 or -mavx512f does, so gort saves the whole extended
 * state with XSAVE: x87, MXCSR, XMM/YMM/ZMM, opmask, PKRU; the component
 * mask and the area size come from CPUID at start-up (preempt.c:
 * xsaveinit; AMX tiles excluded). Without XSAVE, FXSAVE saves x87, MXCSR
 * and XMM0-15.
 *
 * Saving is not enough: XSAVE and FXSAVE leave the registers as they were,
 * and the interrupted code may have values on the x87 register stack,
 * which the C ABI requires to be empty at every call. The C code called
 * next, and every goroutine this thread runs before we are back, would
 * push onto a stack that is already partly full, and an x87 overflow gives
 * NaN. So the trampoline empties it (FNINIT; the control word it resets is
 * restored with the rest), and clears the upper halves of the vector
 * registers (VZEROUPPER) so that SSE code called next pays no AVX
 * transition. tests/test_preempt.c's x87 sums caught the first omission.
 *
 * Frame, from RBP down (RBP is 8 bytes below the saved flags):
 *
 *     RBP + 16   interrupted RIP            RBP + 8   RFLAGS
 *     RBP + 0    RBP                        RBP - 8   RAX ... RBP - 112  R15
 *     below:     padding to 64 bytes, then the XSAVE area, 64-byte aligned
 *
 * gort_asyncPreempt2 gets the interrupted RIP (RBP + 16) as its argument,
 * to check that the handler stopped user code and nothing else.
 *
 * The call to gort_asyncPreempt2 may return on another thread: everything
 * here lives on the goroutine's stack, so that is fine. `ret $128` pops the
 * interrupted RIP and then adds 128 to RSP: the interrupted RSP, exactly.
 */
#if defined(__x86_64__)
	.section gort_text,"ax",@progbits

	.globl	gort_asyncPreempt
	.type	gort_asyncPreempt, @function
gort_asyncPreempt:
	.cfi_startproc
	.cfi_def_cfa rsp, 136			/* the caller's RSP is 128 above the slot */
	.cfi_offset rip, -136
	pushfq
	.cfi_adjust_cfa_offset 8
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_offset rbp, -152
	movq	%rsp, %rbp
	.cfi_def_cfa rbp, 152
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld				/* the C ABI wants DF clear at a call */
	andq	$-64, %rsp
	subq	gort_xsave_size(%rip), %rsp
	movq	gort_xsave_mask(%rip), %rax
	testq	%rax, %rax
	jz	1f
	xorl	%ecx, %ecx		/* the XSAVE header must start zeroed */
	movq	%rcx, 512(%rsp)
	movq	%rcx, 520(%rsp)
	movq	%rcx, 528(%rsp)
	movq	%rcx, 536(%rsp)
	movq	%rcx, 544(%rsp)
	movq	%rcx, 552(%rsp)
	movq	%rcx, 560(%rsp)
	movq	%rcx, 568(%rsp)
	movq	%rax, %rdx
	shrq	$32, %rdx
	xsave64	(%rsp)
	testb	$4, %al			/* AVX state: leave the upper halves clean */
	jz	2f
	vzeroupper
	jmp	2f
1:	fxsave64 (%rsp)
2:	fninit				/* the C ABI wants an empty x87 stack at a call */
	movq	16(%rbp), %rdi		/* the interrupted RIP, which it checks */
	call	gort_asyncPreempt2	/* preempt.c: yields; returns when resumed */

	movq	gort_xsave_mask(%rip), %rax
	testq	%rax, %rax
	jz	3f
	movq	%rax, %rdx
	shrq	$32, %rdx
	xrstor64 (%rsp)
	jmp	4f
3:	fxrstor64 (%rsp)
4:	leaq	-112(%rbp), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	popq	%rbp
	popfq
	ret	$128
	.cfi_endproc
	.size	gort_asyncPreempt, .-gort_asyncPreempt
#endif
	.section .note.GNU-stack,"",@progbits
