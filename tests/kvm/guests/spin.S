/* For tools/bench/shmvm-bench: program BAR 2 of the first virtio device as
 * shm.S does (find it, map the GiB holding the window, write the BAR's high
 * dword), say where the window is, then spin for good, so the slot strategy's
 * memory-slot changes happen while a vCPU runs. Ended by the backend
 * (shmvm-bench --shutdown) through shmvm's control socket. */
#include "report.inc"
#include "virtio-bar2.inc"

	.globl _start
_start:
	WINDOW_IN_PLACE nodev, bar
3:	pause
	jmp 3b

	BAR2_ROUTINES

nodev:	.asciz "SHMVM-TINY spin FAIL: no virtio device\n"
bar:	.asciz "SHMVM-TINY spin: spinning, window at "
