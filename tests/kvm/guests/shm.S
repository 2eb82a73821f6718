/* The shared-memory BAR end to end, with tests/kvm/shm-backend.c on the other
 * side: the mappings are the channel between the two (offsets and values are
 * shm-backend's). Finds the first virtio device by scanning bus 0, maps the
 * GiB holding its BAR 2 with 2 MiB pages, and reports on COM1. */
#include "report.inc"
#include "virtio-bar2.inc"
	.set OFF_C, 0x100000
	.set OFF_B, 0x200000
	.set MAGIC1, 0x53484d31
	.set MAGIC2, 0x53484d32
	.set MAGIC6, 0x53484d36
	.set EOF_MODE, 32	/* A's word: 1 mapping past EOF, 2 file cut under it, else 0 */
	.set EOF_CUT, 40	/* A's word: 2 once the backend has cut the file */
	.set PAGE2, 0x5041474532

/* Spin until the qword at \addr equals \val (a sign-extended imm32). */
	.macro WAIT addr, val
1:	pause
	cmp qword ptr \addr, \val
	jne 1b
	.endm

	.globl _start
_start:
	FIND_VIRTIO_BAR2 nodev
	PUTS bar
	mov rax, r14
	call puthex

	/* Map the GiB holding the window. */
	mov rax, r14
	mov rdi, PD_NEW
	call map_gib

	/* Phase 1: the backend's data, and ours into its memfd. */
	WAIT [r14], MAGIC1
	mov rax, [r14 + 8]
	mov rbx, 0x1122334455667788
	cmp rax, rbx
	jne fail
	cmp qword ptr [r14 + EOF_MODE], 0
	jne eof
	PUTS p1
	mov qword ptr [r14 + 16], 0xC0FFEE
	mov qword ptr [r14 + 4096], 0xDEAD
	mov qword ptr [r14 + 24], 1

	/* Phase 2: A unmapped reads zeros; writes to read-only B and to a hole. */
	WAIT [r14 + OFF_B], MAGIC2
	WAIT [r14], 0
	PUTS p2
	mov qword ptr [r14 + OFF_B + 8], 0x99
	mov qword ptr [r14 + 16], 0x77
	PUTS ro
	mov rax, [r14 + OFF_B + 8]
	call puthex
	PUTS hole
	mov rax, [r14 + 16]
	call puthex
	mov qword ptr [r14 + OFF_C], 2

	/* Phase 3: the backend sent its bad requests; phase 4: its cycles. */
	WAIT [r14 + OFF_C + 8], 3
	PUTS p3
	WAIT [r14 + OFF_C + 8], 4
	PUTS p4

	/* Phase 4b: move BAR 2 up by 4 GiB; the live mappings move with it. */
	mov rbp, r14		/* where it was, for phase 5 */
	mov r15, 0x100000000
	add r15, r14
	mov rax, r15
	mov rdi, PD_NEW + 0x1000
	call map_gib
	mov rax, r15
	call move_bar2
	mov r14, r15
	cmp qword ptr [r14 + OFF_B], MAGIC2
	jne fail
	cmp qword ptr [r14 + OFF_C + 8], 4
	jne fail
	PUTS moved
	mov rax, r14
	call puthex
	mov qword ptr [r14 + OFF_C + 24], 0x4d4f5645
	WAIT [r14 + OFF_C + 8], 5

	/* Phase 5: reset the device (device_status = 0): the mappings go at once. */
	mov byte ptr [r13 + 20], 0
	cmp qword ptr [r14 + OFF_C], 0
	jne fail
	PUTS p5
	/* Tell the backend (it watches the window's address): BAR 2 back where it was. */
	mov rax, rbp
	call move_bar2
	mov r14, rbp

	/* Phase 6: mapped again, then the backend disconnects. */
	WAIT [r14 + OFF_C], MAGIC6
	mov qword ptr [r14 + OFF_C + 16], 6
	WAIT [r14 + OFF_C], 0
	PUTS ok
	/* Tell the backend, which ends the VM through the control socket: BAR 2 up again. */
	mov rax, r15
	call move_bar2
3:	hlt
	jmp 3b

fail:	PUTS bad
	RESET

/*
 * shm-backend's eof and truncate modes: A's second page is past its file's
 * end (mode 1: a one-page file; mode 2: a two-page file the backend cuts to
 * one once we have read its second page). Our write there fails KVM_RUN with
 * EFAULT; shmvm puts zeros over the page and runs us again, so the write
 * lands in that zero page: we read back 0xdead and, next to it, 0.
 */
eof:	mov qword ptr [r14 + 16], 0xC0FFEE
	cmp qword ptr [r14 + EOF_MODE], 2
	jne 5f			/* (not 1f: WAIT has a 1 of its own) */
	mov rax, [r14 + 4096]
	mov rbx, PAGE2
	cmp rax, rbx
	jne fail
	PUTS e1
	mov qword ptr [r14 + 24], 1
	WAIT [r14 + EOF_CUT], 2
5:	mov qword ptr [r14 + 4096], 0xDEAD
	PUTS e2
	mov rax, [r14 + 4096]
	call puthex
	PUTS e3
	mov rax, [r14 + 4096 + 8]
	call puthex
	cmp qword ptr [r14 + 4096], 0xDEAD
	jne fail
	cmp qword ptr [r14 + 4096 + 8], 0
	jne fail
	PUTS eofok
	/* Tell the backend, which checks its file and ends the VM through the control socket. */
	mov qword ptr [r14 + 24], 2
3:	hlt
	jmp 3b

	BAR2_ROUTINES

nodev:	.asciz "SHMVM-TINY shm FAIL: no virtio device\n"
bar:	.asciz "SHMVM-TINY shm window at "
p1:	.asciz "SHMVM-TINY shm phase 1: read the backend's data\n"
p2:	.asciz "SHMVM-TINY shm phase 2: the unmapped range reads zeros\n"
ro:	.asciz "SHMVM-TINY shm read-only readback "
hole:	.asciz "SHMVM-TINY shm hole readback "
p3:	.asciz "SHMVM-TINY shm phase 3: running after the bad requests\n"
p4:	.asciz "SHMVM-TINY shm phase 4: cycles done\n"
moved:	.asciz "SHMVM-TINY shm phase 4b: mappings followed BAR 2 to "
p5:	.asciz "SHMVM-TINY shm phase 5: the reset dropped the mappings\n"
ok:	.asciz "SHMVM-TINY shm OK\n"
e1:	.asciz "SHMVM-TINY shm eof: read the file's second page\n"
e2:	.asciz "SHMVM-TINY shm eof: past the file's end, readback "
e3:	.asciz "SHMVM-TINY shm eof: the word after it "
eofok:	.asciz "SHMVM-TINY shm eof OK\n"
bad:	.asciz "SHMVM-TINY shm FAIL\n"
