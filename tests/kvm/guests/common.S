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
