#!/bin/sh
# Check that #includes only point downward in the layer graph of
# docs/design.md. A wrong-way include is a build-time design error.
set -eu
top=${1:-.}
cd "$top"
fail=0

allowed() {
	case $1 in
	util) echo "util" ;;
	mm) echo "util mm" ;;
	pci) echo "util mm pci" ;;
	vhost) echo "util mm vhost" ;;
	devices) echo "util mm pci vhost devices" ;;
	vmm) echo "util mm pci vhost devices vmm" ;;
	vmm/run) echo "util mm pci vhost devices vmm vmm/run" ;;
	tools/fsd) echo "util mm vhost tools" ;;
	tools/bench) echo "util mm vhost tools" ;;
	*) echo "" ;;
	esac
}

for layer in util mm pci vhost devices vmm vmm/run tools/fsd tools/bench; do
	[ -d "$layer" ] || continue
	ok=$(allowed "$layer")
	for f in $(find "$layer" -name '*.[ch]'); do
		# The runner is a room of vmm/: a file is in it, or in the core, by its path.
		case $layer:$f in vmm:vmm/run/*) continue ;; esac
		# main.c is the program itself: it alone may pick the runner.
		[ "$f" = vmm/main.c ] && ok="$ok vmm/run"
		for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\(vmm\/run\)\/.*".*/\1/p; t; s/^#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/.*".*/\1/p' "$f"); do
			case " $ok " in
			*" $inc "*) ;;
			*)
				echo "layering: $f includes $inc/ (allowed: $ok)"
				fail=1
				;;
			esac
		done
		ok=$(allowed "$layer")
	done
done
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
