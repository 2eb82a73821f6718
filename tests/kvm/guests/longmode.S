/* Long mode is really on: EFER.LMA, CR0.PG, CR4.PAE, and a 64-bit-only instruction. */
#include "report.inc"
	.globl _start
_start:
	mov ecx, 0xc0000080	/* IA32_EFER */
	rdmsr
	test eax, 0x400		/* LMA */
	jz fail
	mov rax, cr0
	bt rax, 31		/* PG */
	jnc fail
	mov rax, cr4
	test eax, 0x20		/* PAE */
	jz fail
	mov r15, 0x123456789abcdef0	/* needs REX.W: a 64-bit register */
	mov rax, r15
	shr rax, 32
	cmp eax, 0x12345678
	jne fail
	PUTS ok
	RESET
fail:	PUTS bad
	RESET
ok:	.asciz "SHMVM-TINY longmode OK\n"
bad:	.asciz "SHMVM-TINY longmode FAIL\n"
