/*
 * asm_arm64.S: the context switch for arm64 (AArch64, AAPCS64); the same
 * design as asm_amd64.S, which explains it. Go's counterpart: asm_arm64.s.
 *
 * AAPCS64 makes x19-x28, the frame pointer x29, the link register x30, sp
 * and the low halves of v8-v15 (d8-d15) callee-saved, and FPCR (rounding
 * mode, flush-to-zero) is the thread state MXCSR is on x86-64. A switch
 * stores them in a 176-byte frame on the stack being left:
 *
 *     0    x19 x20 x21 x22 x23 x24 x25 x26 x27 x28
 *     80   x29 x30 (x30: where the switched-out code resumes)
 *     96   d8 ... d15
 *     160  FPCR (goroutine frames only), padding
 *
 * As on x86-64: g0 always runs with FPCR == 0 (the default), a goroutine's
 * FPCR is saved when it leaves and loaded only when it is not 0, and the
 * switch ends with `br x30` rather than `ret`, so the return-address
 * predictor, which still holds the old stack's return addresses, is not
 * consulted.
 */
#if defined(__aarch64__)
	.text

.macro	SAVE_REGS
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
.endm

.macro	LOAD_REGS_AND_GO
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	br	x30
.endm

	.globl	gort_gogo_g0
	.type	gort_gogo_g0, %function
/* void gort_gogo_g0(gobuf *save, gobuf *load): leave a goroutine for g0 */
gort_gogo_g0:
	SAVE_REGS
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x10, sp
	str	x10, [x0]		/* save->sp = sp */
	ldr	x10, [x1]
	mov	sp, x10			/* now on g0's stack */
	cbz	x9, 1f
	msr	fpcr, xzr		/* rare: the goroutine changed FPCR */
1:	LOAD_REGS_AND_GO
	.size	gort_gogo_g0, .-gort_gogo_g0

	.globl	gort_gogo_g
	.type	gort_gogo_g, %function
/* void gort_gogo_g(gobuf *save, gobuf *load): leave g0 for a goroutine */
gort_gogo_g:
	SAVE_REGS
	mov	x10, sp
	str	x10, [x0]
	ldr	x10, [x1]
	mov	sp, x10			/* now on the goroutine's stack */
	ldr	x9, [sp, #160]
	cbz	x9, 1f
	msr	fpcr, x9		/* rare: restore its own FPCR */
1:	LOAD_REGS_AND_GO
	.size	gort_gogo_g, .-gort_gogo_g

	.globl	gort_gostart
	.type	gort_gostart, %function
/* First code a new goroutine runs: x19 holds its G. */
gort_gostart:
	.cfi_startproc
	.cfi_undefined x30		/* the outermost frame: unwinders stop here */
	mov	x29, #0
	mov	x0, x19
	bl	gort_goroutine_entry	/* proc.c; never returns */
	brk	#0
	.cfi_endproc
	.size	gort_gostart, .-gort_gostart
#endif
	.section .note.GNU-stack,"",%progbits
