/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `shmvm run`: what the host and the guest's init say to each other.
 *
 * Host → init: the run spec, a file in the generated initramfs
 * (RUN_SPEC_PATH). It is a sequence of records, each one key byte, then the
 * value, then a NUL:
 *
 *   'a' VALUE   one element of the command's argv, in order (at least one)
 *   'e' N=V     one environment variable of the command
 *   'd' DIR     the directory the command starts in (absolute, in the guest)
 *   'm' FILE    a module to load, a file name under RUN_MODULE_DIR, in load order
 *   'o' OPTS    mount options of the root share (e.g. "dax=always"; may be empty)
 *   'w' TAG=DIR a read-write share: mount virtio-fs TAG at DIR (absolute, in the guest)
 *   't' ROWSxCOLS  run the command on a pseudo-terminal of that size (interactive)
 *
 * The root share's tag is RUN_ROOT_TAG. Unknown keys are an error.
 *
 * The ports of shmvm's virtio-console (RUN_PORT_*), when the guest has
 * it: the kernel's console (hvc0), this channel, and the command's stdin,
 * stdout and stderr as plain bytes. Without that device (another VMM
 * booting the saved initramfs) the channel is the second serial port
 * (ttyS1, raw mode) and carries the output as 'O'/'E' frames. The hello
 * always comes on ttyS1, before any module is loaded.
 *
 * Init → host: frames, each a type byte, a 16-bit little-endian payload
 * length (at most RUN_FRAME_MAX), then the payload:
 *
 *   'H' (empty)    init is running; sent first
 *   'S' (empty)    the root is up and the command's process exists; sent once
 *   'O' bytes      the command's stdout
 *   'E' bytes      the command's stderr
 *   'X' u8         the command's exit status (128+N when killed by signal N),
 *                  sent once, after all of its output; init then reboots
 *   'F' text       init could not run the command (a one-line reason, no
 *                  newline); init then reboots
 *
 * Host → init, on the channel port only:
 *
 *   'W' u16 rows, u16 cols (little-endian)   the terminal's new size
 *
 * Everything the guest sends is checked by the host: an unknown type or an
 * oversized frame ends the run as a guest failure. The init ignores frames
 * it does not know.
 */
#ifndef SHMVM_VMM_RUN_PROTO_H
#define SHMVM_VMM_RUN_PROTO_H

#define RUN_SPEC_PATH "/shmvm-run.spec"
#define RUN_MODULE_DIR "/lib/modules"
#define RUN_ROOT_TAG "shmvm-root"
#define RUN_CHANNEL_TTY "/dev/ttyS1"

/* The virtio-console's ports, by number (/dev/vportNpM in the guest). */
enum run_port {
	RUN_PORT_CONSOLE = 0,
	RUN_PORT_CHANNEL = 1,
	RUN_PORT_STDIN = 2,
	RUN_PORT_STDOUT = 3,
	RUN_PORT_STDERR = 4,
	RUN_NR_PORTS = 5,
};

enum run_spec_key {
	RUN_SPEC_ARG = 'a',
	RUN_SPEC_ENV = 'e',
	RUN_SPEC_CWD = 'd',
	RUN_SPEC_MODULE = 'm',
	RUN_SPEC_ROOT_OPTS = 'o',
	RUN_SPEC_RW = 'w',
	RUN_SPEC_TTY = 't',
};

enum run_frame_type {
	RUN_FRAME_HELLO = 'H',
	RUN_FRAME_STARTED = 'S',
	RUN_FRAME_STDOUT = 'O',
	RUN_FRAME_STDERR = 'E',
	RUN_FRAME_EXIT = 'X',
	RUN_FRAME_FAIL = 'F',
	RUN_FRAME_WINSIZE = 'W', /* host → init */
};

#define RUN_FRAME_HDR 3
#define RUN_FRAME_MAX 4096

#endif
