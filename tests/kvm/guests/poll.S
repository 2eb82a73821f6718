/* For shmvm-bench --first-access: program BAR 2 as spin.S does, then spin,
 * and while the bench asks, poll a word of the window and report what it
 * finds. The window's first page, once the bench has mapped it, is the
 * report page: +0 mode (1: poll), +8 the offset to poll, +16 the last
 * non-zero value seen there, written as soon as it changes. Before the report
 * page is mapped, its reads find nothing (slot strategy: an exit each), so
 * the mode is looked at once in 1000 pauses while it says not to poll. */
#include "report.inc"
#include "virtio-bar2.inc"

	.globl _start
_start:
	WINDOW_IN_PLACE nodev, bar
	xor r15, r15		/* the last value reported */
1:	pause
	cmp qword ptr [r14], 1
	je 4f
	/* Not asked: look again after 1000 pauses, not at once (unmapped, each look is an exit). */
	mov ecx, 1000
2:	pause
	dec ecx
	jnz 2b
	jmp 1b
4:
	mov rbx, [r14 + 8]
	mov rax, [r14 + rbx]
	test rax, rax
	jz 1b
	cmp rax, r15
	je 1b
	mov r15, rax
	mov [r14 + 16], rax
	jmp 1b

	BAR2_ROUTINES

nodev:	.asciz "SHMVM-TINY poll FAIL: no virtio device\n"
bar:	.asciz "SHMVM-TINY poll: polling, window at "
