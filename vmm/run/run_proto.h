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
 *
 * The root share's tag is RUN_ROOT_TAG. Unknown keys are an error.
 *
 * Init → host: frames on the second serial port (ttyS1, raw mode), each
 * a type byte, a 16-bit little-endian payload length (at most
 * RUN_FRAME_MAX), then the payload:
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
 * Everything the guest sends is checked by the host: an unknown type or an
 * oversized frame ends the run as a guest failure.
 */
#ifndef SHMVM_VMM_RUN_PROTO_H
#define SHMVM_VMM_RUN_PROTO_H

#define RUN_SPEC_PATH "/shmvm-run.spec"
#define RUN_MODULE_DIR "/lib/modules"
#define RUN_ROOT_TAG "shmvm-root"
#define RUN_CHANNEL_TTY "/dev/ttyS1"

enum run_spec_key {
	RUN_SPEC_ARG = 'a',
	RUN_SPEC_ENV = 'e',
	RUN_SPEC_CWD = 'd',
	RUN_SPEC_MODULE = 'm',
	RUN_SPEC_ROOT_OPTS = 'o',
	RUN_SPEC_RW = 'w',
};

enum run_frame_type {
	RUN_FRAME_HELLO = 'H',
	RUN_FRAME_STARTED = 'S',
	RUN_FRAME_STDOUT = 'O',
	RUN_FRAME_STDERR = 'E',
	RUN_FRAME_EXIT = 'X',
	RUN_FRAME_FAIL = 'F',
};

#define RUN_FRAME_HDR 3
#define RUN_FRAME_MAX 4096

#endif
