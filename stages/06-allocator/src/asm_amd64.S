/*
 * asm_amd64.S: the context switch (mirrors Go's asm_amd64.s: gogo, gosave,
 * mcall), for x86-64 System V.
 *
 * A context is a stack pointer. To leave a context, the switch pushes what
 * the C ABI says a callee must preserve, rbp, rbx and r12-r15, and stores
 * rsp; to enter one it loads rsp, pops the same registers and returns into
 * whatever switched away from that stack last time. Caller-saved registers
 * need no saving: the compiler already assumes a call clobbers them. So a
 * switch is about fifteen instructions and no system call (ucontext's
 * swapcontext makes a sigprocmask system call every time).
 *
 * The ABI also makes two control words callee-saved: MXCSR (SSE rounding
 * mode and exception masks) and the x87 control word. A goroutine that
 * calls fesetround() must keep its rounding mode, and must not leak it to
 * the next goroutine on the thread. Every switch is between a goroutine
 * and its thread's g0 (proc.c: mcall, execute), and scheduler code on g0
 * never changes these words, so:
 *
 *   gort_gogo_g0 (goroutine -> g0): saves the goroutine's words in its
 *     frame; if they are not the defaults, loads the defaults for g0.
 *   gort_gogo_g (g0 -> goroutine): loads the goroutine's words only if
 *     they are not the defaults (g0 always runs with the defaults).
 *
 * Invariant: while on g0, MXCSR == 0x1F80 and the x87 control word ==
 * 0x037F. That halves the cost of the words: reading MXCSR (stmxcsr) alone
 * takes about 5 ns on AMD EPYC.
 *
 * The switch ends with `pop; jmp *reg`, not `ret`. The CPU predicts a
 * `ret` from its return-stack buffer, which holds the return addresses of
 * the context just left, so after a stack switch every `ret` mispredicts.
 * An indirect jump is predicted from its own history instead, and every
 * goroutine resumes at the same place (inside mcall), as g0 does (inside
 * execute), so the jump is almost always predicted right: a goroutine ->
 * g0 -> goroutine round trip drops from about 21 ns to about 12 ns. (Go's
 * gogo ends with a JMP for the same reason.)
 *
 * Frames. A goroutine switched out leaves, from rsp upwards:
 *
 *     0(rsp)  MXCSR (4 bytes), x87 control word (2), zero (2)
 *     8       r15, r14, r13, r12, rbx, rbp (8 bytes each)
 *     56      return address
 *
 * g0 switched out leaves the same without the first slot. A new
 * goroutine's stack is laid out by gostartcall (proc.c) as if it had
 * switched out already, with gort_gostart as the return address and the G
 * in r12, so its first switch-in "returns" into gort_gostart.
 */
#if defined(__x86_64__)
#define DEFAULT_WORDS 0x0000037F00001F80	/* x87 CW << 32 | MXCSR */

	.text

.macro	PUSH_REGS
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
.endm

/* Pops what PUSH_REGS pushed and jumps to the saved return address. */
.macro	POP_REGS_AND_GO
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	popq	%rdx
	jmp	*%rdx
.endm

	.globl	gort_gogo_g0
	.type	gort_gogo_g0, @function
/* void gort_gogo_g0(gobuf *save, gobuf *load): leave a goroutine for g0 */
gort_gogo_g0:
	.cfi_startproc
	PUSH_REGS
	subq	$8, %rsp
	movq	$0, (%rsp)
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	(%rsp), %rax		/* the goroutine's words */
	movq	%rsp, (%rdi)		/* save->sp = rsp */
	movq	(%rsi), %rsp		/* now on g0's stack */
	movabsq	$DEFAULT_WORDS, %rcx
	cmpq	%rcx, %rax
	jne	1f
0:	POP_REGS_AND_GO
1:	ldmxcsr	default_mxcsr(%rip)	/* rare: the goroutine changed them */
	fldcw	default_x87cw(%rip)
	jmp	0b
	.cfi_endproc
	.size	gort_gogo_g0, .-gort_gogo_g0

	.globl	gort_gogo_g
	.type	gort_gogo_g, @function
/* void gort_gogo_g(gobuf *save, gobuf *load): leave g0 for a goroutine */
gort_gogo_g:
	.cfi_startproc
	PUSH_REGS
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp		/* now on the goroutine's stack */
	movq	(%rsp), %rax
	movabsq	$DEFAULT_WORDS, %rcx
	cmpq	%rcx, %rax
	jne	1f
0:	addq	$8, %rsp
	POP_REGS_AND_GO
1:	ldmxcsr	(%rsp)			/* rare: restore its own words */
	fldcw	4(%rsp)
	jmp	0b
	.cfi_endproc
	.size	gort_gogo_g, .-gort_gogo_g

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

	.section .rodata
	.balign	4
default_mxcsr:
	.long	0x1F80
default_x87cw:
	.short	0x037F
#endif
	.section .note.GNU-stack,"",@progbits
