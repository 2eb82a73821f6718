/* The smallest guest: a line on the serial port, then a reset. */
#include "report.inc"
	.globl _start
_start:
	PUTS msg
	RESET
msg:	.asciz "SHMVM-TINY hello OK\n"
