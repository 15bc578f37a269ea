/*
 * asm_amd64.S: the context switch (mirrors Go's asm_amd64.s: gogo, gosave,
 * mcall), for x86-64 System V.
 *
 * A context is a stack pointer. To leave a context, gort_swapcontext pushes
 * what the C ABI says a callee must preserve: rbp, rbx, r12-r15, and the
 * two control words of the floating-point units (MXCSR for SSE rounding and
 * exception masks, the x87 control word), then stores rsp in `save`. To
 * enter one it loads rsp from `load`, pops the same things in reverse and
 * returns, into whatever called gort_swapcontext on that stack last time.
 * Caller-saved registers need no saving: the C compiler already assumes a
 * call clobbers them. That is why a switch costs a handful of instructions,
 * against ucontext's signal-mask system call.
 *
 * Frame left on a stack by a switch, from rsp upwards:
 *
 *     0(rsp)  MXCSR (4 bytes), x87 control word (2 bytes), padding
 *     8       r15
 *     16      r14
 *     24      r13
 *     32      r12
 *     40      rbx
 *     48      rbp
 *     56      return address
 *
 * A new goroutine's stack is laid out by newproc (proc.c) as if it had
 * switched out already, with gort_gostart as the return address and the G
 * in r12, so its first switch-in "returns" into gort_gostart.
 */
#ifdef __x86_64__
	.text

	.globl	gort_swapcontext
	.type	gort_swapcontext, @function
/* void gort_swapcontext(gobuf *save, gobuf *load) */
gort_swapcontext:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)		/* save->sp = rsp */
	movq	(%rsi), %rsp		/* rsp = load->sp: now on the other stack */
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	gort_swapcontext, .-gort_swapcontext

	.globl	gort_gostart
	.type	gort_gostart, @function
/* First code a new goroutine runs: r12 holds its G. */
gort_gostart:
	.cfi_startproc
	.cfi_undefined rip		/* the outermost frame: unwinders stop here */
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	andq	$-16, %rsp
	call	gort_goroutine_entry	/* proc.c; never returns */
	ud2
	.cfi_endproc
	.size	gort_gostart, .-gort_gostart
#else
#error "gort stage 01 has a context switch for x86-64 only"
#endif
	.section .note.GNU-stack,"",@progbits
