/* Port I/O exits in both directions reach shmvm's devices: CMOS RAM keeps a byte,
 * the UART scratch register keeps a byte, and an empty port reads all-ones. */
#include "report.inc"
	.globl _start
_start:
	mov al, 0x40		/* CMOS RAM index 0x40 */
	out 0x70, al
	mov al, 0xa5
	out 0x71, al
	mov al, 0x41
	out 0x70, al		/* move away, then back */
	mov al, 0x40
	out 0x70, al
	in al, 0x71
	cmp al, 0xa5
	jne fail
	mov dx, COM1 + 7	/* UART scratch */
	mov al, 0x3c
	out dx, al
	in al, dx
	cmp al, 0x3c
	jne fail
	mov dx, 0x3e8		/* COM3: nothing there (COM2 is shmvm run's channel) */
	in al, dx
	cmp al, 0xff
	jne fail
	PUTS ok
	RESET
fail:	PUTS bad
	RESET
ok:	.asciz "SHMVM-TINY pio OK\n"
bad:	.asciz "SHMVM-TINY pio FAIL\n"
