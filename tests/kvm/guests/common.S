#include "report.inc"
	.globl puts
puts:
	mov dx, COM1
1:	lodsb
	test al, al
	jz 2f
	out dx, al
	jmp 1b
2:	ret

/* Print rax as 16 hex digits and a newline on COM1. */
	.globl puthex
puthex:
	mov rcx, 16
	mov dx, COM1
1:	rol rax, 4
	mov rbx, rax
	and bl, 0xf
	add bl, '0'
	cmp bl, '9'
	jbe 2f
	add bl, 'a' - '9' - 1
2:	xchg al, bl
	out dx, al
	xchg al, bl
	dec rcx
	jnz 1b
	mov al, '\n'
	out dx, al
	ret
