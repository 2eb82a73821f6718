// SPDX-License-Identifier: GPL-2.0-only
/* shmvm: boot a Linux kernel on KVM with a serial console; `shmvm run` runs one command in it. */
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/options.h"
#include "vmm/run/run.h"
#include "vmm/session.h"
#include "vmm/vm.h"

int main(int argc, char **argv)
{
	struct vm_options opts;
	struct sandbox_cfg sb;
	struct vm vm;
	int sigfd, rc, status;

	log_set_prefix("shmvm");
	if (argc > 1 && !strcmp(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	rc = options_parse(&opts, argc, argv, stdout, stderr);
	if (rc == OPTIONS_EXIT)
		return 0;
	if (rc < 0) {
		options_free(&opts);
		return VM_EXIT_ERROR;
	}
	log_set_level(opts.verbose >= 2 ? LOG_DEBUG : opts.verbose ? LOG_INFO : LOG_WARN);

	sigfd = session_block_signals();
	if (sigfd < 0) {
		options_free(&opts);
		return VM_EXIT_ERROR;
	}

	rc = vm_create(&vm, &opts);
	sb = (struct sandbox_cfg){ .seccomp = !opts.no_seccomp, .violation_status = VM_EXIT_ERROR };
	if (!rc)
		rc = session_run(&vm, &opts, sigfd, 0, &sb, NULL);
	status = rc ? VM_EXIT_ERROR : vm.exit_status;
	vm_destroy(&vm);
	options_free(&opts);
	close(sigfd);
	return status;
}
