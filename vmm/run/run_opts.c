// SPDX-License-Identifier: GPL-2.0-only
/* `shmvm run`'s command line and the run spec it becomes. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "vmm/run/ktree.h"
#include "vmm/run/run.h"
#include "vmm/run/run_proto.h"

static void run_usage(FILE *f)
{
	fputs("Usage: shmvm run [options] [--] [COMMAND [ARG]...]\n"
	      "Boot a kernel whose root file system is this host's (shared read-only over\n"
	      "virtio-fs with DAX, under a tmpfs overlay), run COMMAND in the current\n"
	      "directory and exit with its status. Without COMMAND: $SHELL (else sh).\n"
	      "\n"
	      "  -k, --kernel IMAGE    bzImage or PVH vmlinux (default: $SHMVM_KERNEL, then the\n"
	      "                        guest tools/mkguest built into build/guest)\n"
	      "  -k, --kernel DIR      a built kernel tree (~/src/linux after make): boot its\n"
	      "                        arch/x86/boot/bzImage (else a PVH vmlinux), load its\n"
	      "                        modules where the build left them (modules.order, each\n"
	      "                        .ko's depends=); check its .config first\n"
	      "      --modules DIR     the kernel's module tree, with modules.dep (default:\n"
	      "                        $SHMVM_MODULES, then DIR \"modules\" beside the kernel;\n"
	      "                        none: virtio-pci, virtiofs and overlay must be built in)\n"
	      "      --print-kconfig   print the kernel options shmvm run needs, a fragment for\n"
	      "                        scripts/kconfig/merge_config.sh, and exit\n"
	      "      --root DIR        the directory the guest sees as / (default /)\n"
	      "      --rw DIR          share DIR read-write at its own path (repeatable, up to 6);\n"
	      "                        writes anywhere else stay in the guest\n"
	      "  -e, --env NAME[=VALUE] pass NAME (with VALUE, or this process's value)\n"
	      "  -p, --cpus N          vCPUs (default 1)\n"
	      "  -m, --memory SIZE     guest RAM (default 512M)\n"
	      "  -t, --timeout SECONDS stop after SECONDS and exit 124 (default: no limit)\n"
	      "      --log FILE        write the kernel's messages and shmvm-fsd's log to FILE\n"
	      "      --append ARGS     more kernel command line\n"
	      "      --no-dax          read the root through requests, without DAX\n"
	      "      --times           print where the time went (set-up, kernel, init, command,\n"
	      "                        teardown), VM exits per vCPU and the console's traffic on\n"
	      "                        stderr at the end\n"
	      "      --shm-strategy slot|window   as for shmvm (default slot)\n"
	      "      --no-seccomp      as for shmvm: no system-call filter once the VM runs\n"
	      "      --save-initramfs FILE  write the initramfs this run would boot to FILE,\n"
	      "                        print the kernel command line and exit (to boot the\n"
	      "                        same guest under another VMM)\n"
	      "  -v, --verbose         shmvm's own log on stderr (repeat for debug)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "When stdin and stdout are terminals, the command runs on a pseudo-terminal in\n"
	      "the guest that follows this one's size: job control, Ctrl-C and Ctrl-Z work\n"
	      "there; Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends a Ctrl-A. Otherwise its\n"
	      "stdin, stdout and stderr are this process's, through pipes.\n"
	      "Its environment: PATH HOME USER LOGNAME SHELL TERM LANG LANGUAGE TZ LC_* from\n"
	      "here, and --env. It runs as root in the guest.\n"
	      "Exit status: the command's (128+N if signal N killed it; 126 not executable,\n"
	      "127 not found), 124 on --timeout, 125 when shmvm, the kernel or the guest's\n"
	      "init failed (one line on stderr says why), 128+N when shmvm got signal N.\n",
	      f);
}

enum {
	RUN_OPT_MODULES = 0x100,
	RUN_OPT_ROOT,
	RUN_OPT_RW,
	RUN_OPT_LOG,
	RUN_OPT_APPEND,
	RUN_OPT_NO_DAX,
	RUN_OPT_SHM_STRATEGY,
	RUN_OPT_TIMES,
	RUN_OPT_SAVE_INITRAMFS,
	RUN_OPT_NO_SECCOMP,
	RUN_OPT_PRINT_KCONFIG,
};

static const struct option run_long_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "modules", required_argument, NULL, RUN_OPT_MODULES },
	{ "root", required_argument, NULL, RUN_OPT_ROOT },
	{ "rw", required_argument, NULL, RUN_OPT_RW },
	{ "env", required_argument, NULL, 'e' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "timeout", required_argument, NULL, 't' },
	{ "log", required_argument, NULL, RUN_OPT_LOG },
	{ "append", required_argument, NULL, RUN_OPT_APPEND },
	{ "no-dax", no_argument, NULL, RUN_OPT_NO_DAX },
	{ "shm-strategy", required_argument, NULL, RUN_OPT_SHM_STRATEGY },
	{ "times", no_argument, NULL, RUN_OPT_TIMES },
	{ "save-initramfs", required_argument, NULL, RUN_OPT_SAVE_INITRAMFS },
	{ "no-seccomp", no_argument, NULL, RUN_OPT_NO_SECCOMP },
	{ "print-kconfig", no_argument, NULL, RUN_OPT_PRINT_KCONFIG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool env_name_ok(const char *s, size_t len)
{
	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int run_opts_parse(struct run_opts *o, int argc, char **argv, FILE *out, FILE *err)
{
	uint64_t v;
	int c, word;

	*o = (struct run_opts){
		.root = "/",
		.cpus = 1,
		.memory = RUN_DEFAULT_MEMORY,
		.dax = true,
		.strategy = SHM_STRATEGY_SLOT,
	};
	/* 0, not 1: glibc then forgets a previous scan (a cluster like -xv left half read). */
	optind = 0;
	opterr = 0;
	/* '+': the first word that is not an option starts the command. */
	for (;;) {
		word = optind ? optind : 1; /* the word getopt is in, for the messages */
		c = getopt_long(argc, argv, "+:k:e:p:m:t:vh", run_long_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case RUN_OPT_MODULES:
			o->modules = optarg;
			break;
		case RUN_OPT_ROOT:
			o->root = optarg;
			break;
		case RUN_OPT_RW:
			if (o->nr_rw == RUN_MAX_RW) {
				fprintf(err, "shmvm run: --rw: at most %d directories\n", RUN_MAX_RW);
				return -EINVAL;
			}
			o->rw[o->nr_rw++] = optarg;
			break;
		case 'e': {
			const char *eq = strchr(optarg, '=');

			if (!env_name_ok(optarg, eq ? (size_t)(eq - optarg) : strlen(optarg))) {
				fprintf(err, "shmvm run: --env '%s': not NAME or NAME=VALUE\n", optarg);
				return -EINVAL;
			}
			if (o->nr_env == RUN_MAX_ENV) {
				fprintf(err, "shmvm run: --env: at most %d variables\n", RUN_MAX_ENV);
				return -EINVAL;
			}
			o->env[o->nr_env++] = optarg;
			break;
		}
		case 'p':
			if (parse_u64(optarg, 1, 254, &v)) {
				fprintf(err, "shmvm run: --cpus: '%s' is not a number from 1 to 254\n", optarg);
				return -EINVAL;
			}
			o->cpus = (unsigned int)v;
			break;
		case 'm':
			if (parse_size(optarg, &o->memory) || !o->memory) {
				fprintf(err, "shmvm run: --memory: '%s' is not a size (e.g. 512M, 2G)\n", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (parse_u64(optarg, 1, 7 * 24 * 3600, &v)) {
				fprintf(err, "shmvm run: --timeout: '%s' is not a number of seconds from 1 to 604800\n",
					optarg);
				return -EINVAL;
			}
			o->timeout_s = (unsigned int)v;
			break;
		case RUN_OPT_LOG:
			o->log = optarg;
			break;
		case RUN_OPT_APPEND:
			o->append = optarg;
			break;
		case RUN_OPT_NO_DAX:
			o->dax = false;
			break;
		case RUN_OPT_TIMES:
			o->times = true;
			break;
		case RUN_OPT_SAVE_INITRAMFS:
			o->save_initramfs = optarg;
			break;
		case RUN_OPT_NO_SECCOMP:
			o->no_seccomp = true;
			break;
		case RUN_OPT_SHM_STRATEGY:
			if (shm_strategy_parse(optarg, &o->strategy)) {
				fprintf(err, "shmvm run: --shm-strategy: '%s' is not slot or window\n", optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			run_usage(out);
			return RUN_PARSE_EXIT;
		case RUN_OPT_PRINT_KCONFIG:
			ktree_kconfig_print(out);
			return RUN_PARSE_EXIT;
		case ':':
			fprintf(err, "shmvm run: option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			/* A long option is its whole word; a short one may sit inside a cluster (-xv). */
			if (optind > word && !strncmp(argv[optind - 1], "--", 2))
				fprintf(err, "shmvm run: unknown option '%s' (see shmvm run --help)\n",
					argv[optind - 1]);
			else
				fprintf(err, "shmvm run: unknown option '-%c' (see shmvm run --help)\n",
					optopt);
			return -EINVAL;
		}
	}
	o->argv = argv + optind; /* may be empty: the caller's shell */
	return RUN_PARSE_OK;
}

const char *run_guest_path(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return path;
	if (strncmp(path, root, n) || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	return path[n] ? path + n : "/";
}

/* The caller's variables a command gets without --env. */
static bool env_passed(const char *var)
{
	static const char *const names[] = { "PATH", "HOME", "USER", "LOGNAME", "SHELL",
					     "TERM", "LANG", "LANGUAGE", "TZ" };
	size_t len = strcspn(var, "=");

	if (!var[len])
		return false;
	if (len > 3 && !strncmp(var, "LC_", 3))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(var, names[i], len))
			return true;
	return false;
}

struct spec {
	char *buf;
	size_t len, cap;
	int err;
};

static void spec_add(struct spec *s, char key, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, need = 1 + la + lb + 1;

	if (s->err)
		return;
	if (s->len + need > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *p;

		while (cap < s->len + need)
			cap *= 2;
		p = realloc(s->buf, cap);
		if (!p) {
			s->err = -ENOMEM;
			return;
		}
		s->buf = p;
		s->cap = cap;
	}
	s->buf[s->len++] = key;
	memcpy(s->buf + s->len, a, la);
	s->len += la;
	if (b)
		memcpy(s->buf + s->len, b, lb);
	s->len += lb;
	s->buf[s->len++] = '\0';
}

/* Is NAME (of "NAME=..." or "NAME") set by a --env? */
static bool env_overridden(const struct run_opts *o, const char *var)
{
	size_t len = strcspn(var, "=");

	for (unsigned int i = 0; i < o->nr_env; i++)
		if (strcspn(o->env[i], "=") == len && !strncmp(o->env[i], var, len))
			return true;
	return false;
}

int run_spec_build(const struct run_opts *o, char *const *environ, const char *cwd,
		   const struct mod_list *mods, const struct run_share *shares,
		   unsigned int nr_shares, char **buf, size_t *len)
{
	struct spec s = { 0 };
	const char *shell = NULL;

	for (char **a = o->argv; *a; a++)
		spec_add(&s, RUN_SPEC_ARG, *a, NULL);
	if (!o->argv[0]) {
		/* No command: the caller's shell, which the guest has (it has the host's root). */
		for (char *const *e = environ; e && *e && !shell; e++)
			if (!strncmp(*e, "SHELL=/", 7))
				shell = *e + 6;
		spec_add(&s, RUN_SPEC_ARG, shell ? shell : "sh", NULL);
	}
	if (o->tty_rows && o->tty_cols) {
		char size[32];

		snprintf(size, sizeof(size), "%ux%u", o->tty_rows, o->tty_cols);
		spec_add(&s, RUN_SPEC_TTY, size, NULL);
	}
	for (char *const *e = environ; e && *e; e++)
		if (env_passed(*e) && !env_overridden(o, *e))
			spec_add(&s, RUN_SPEC_ENV, *e, NULL);
	for (unsigned int i = 0; i < o->nr_env; i++) {
		const char *val;

		if (strchr(o->env[i], '=')) {
			spec_add(&s, RUN_SPEC_ENV, o->env[i], NULL);
			continue;
		}
		val = NULL;
		for (char *const *e = environ; e && *e && !val; e++)
			if (!strncmp(*e, o->env[i], strlen(o->env[i])) && (*e)[strlen(o->env[i])] == '=')
				val = *e;
		if (val) /* --env NAME of a variable this process does not have: nothing to pass */
			spec_add(&s, RUN_SPEC_ENV, val, NULL);
	}
	spec_add(&s, RUN_SPEC_CWD, cwd, NULL);
	for (unsigned int i = 0; mods && i < mods->n; i++) {
		const char *base = strrchr(mods->path[i], '/');

		spec_add(&s, RUN_SPEC_MODULE, base ? base + 1 : mods->path[i], NULL);
	}
	spec_add(&s, RUN_SPEC_ROOT_OPTS, o->dax ? "dax=always" : "", NULL);
	for (unsigned int i = 0; i < nr_shares; i++) {
		char tagged[sizeof(shares[i].tag) + 1];

		snprintf(tagged, sizeof(tagged), "%s=", shares[i].tag);
		spec_add(&s, RUN_SPEC_RW, tagged, shares[i].guest);
	}
	if (s.err) {
		free(s.buf);
		return s.err;
	}
	*buf = s.buf;
	*len = s.len;
	return 0;
}
