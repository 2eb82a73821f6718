/* RAM works: write an address-derived pattern over [16 MiB, 48 MiB), read it back.
 * Run with --memory 64M; touches pages the loader never did. */
#include "report.inc"
	.set START, 0x1000000
	.set END,   0x3000000
	.globl _start
_start:
	mov rdi, START
1:	mov rax, rdi
	not rax
	mov [rdi], rax
	add rdi, 4096 - 8	/* one quadword at the end of each page, one at the start */
	mov [rdi], rdi
	add rdi, 8
	cmp rdi, END
	jb 1b
	mov rdi, START
2:	mov rax, rdi
	not rax
	cmp [rdi], rax
	jne fail
	add rdi, 4096 - 8
	cmp [rdi], rdi
	jne fail
	add rdi, 8
	cmp rdi, END
	jb 2b
	PUTS ok
	RESET
fail:	PUTS bad
	RESET
ok:	.asciz "SHMVM-TINY memory OK\n"
bad:	.asciz "SHMVM-TINY memory FAIL\n"
