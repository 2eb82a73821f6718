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
	tools/fsd) echo "util mm vhost tools" ;;
	tools/bench) echo "util mm vhost tools" ;;
	*) echo "" ;;
	esac
}

for layer in util mm pci vhost devices vmm tools/fsd tools/bench; do
	[ -d "$layer" ] || continue
	ok=$(allowed "$layer")
	for f in $(find "$layer" -name '*.[ch]'); do
		for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/.*".*/\1/p' "$f"); do
			case " $ok " in
			*" $inc "*) ;;
			*)
				echo "layering: $f includes $inc/ (allowed: $ok)"
				fail=1
				;;
			esac
		done
	done
done
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
