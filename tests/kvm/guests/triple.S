/* A guest that triple-faults: an empty IDT and an exception. shmvm must exit 2
 * and print the registers. */
#include "report.inc"
	.globl _start
_start:
	PUTS msg
	lidt [rip + null_idt]
	ud2
msg:	.asciz "SHMVM-TINY triple about to fault\n"
	.balign 8
null_idt:
	.word 0
	.quad 0
