#!/bin/sh
# ktree-fixture.sh GUEST_DIR OUT [o]: a kernel build tree in OUT as `make`
# would leave it, for `shmvm run --kernel OUT`, made from Debian's kernel
# package (the guest tools/mkguest prepared in GUEST_DIR), since CI cannot
# build a kernel:
#  - arch/x86/boot/bzImage: a link to GUEST_DIR/vmlinuz;
#  - the modules shmvm run loads (virtio_pci virtiofs overlay virtio_console)
#    and what modules.dep says they need, each at its source path (the
#    installed tree's kernel/X is the build tree's X): links;
#  - modules.order: the package's, without "kernel/" (the built modules
#    the fixture does not link are listed too, as in a real tree), with
#    ".o" names when the third argument is "o" (Linux 6.3 and later);
#  - modules.builtin as the package has it; the package's config as
#    .config (a copy: callers may edit it).
# Nothing of the package is changed. Exits non-zero on anything missing.
set -eu
guest=$1
out=$2
names=${3:-ko}
mods=$(readlink -f "$guest/modules")
vmlinuz=$(readlink -f "$guest/vmlinuz")
kver=$(basename "$mods")
config=$(dirname "$vmlinuz")/config-$kver
for f in "$vmlinuz" "$mods/modules.dep" "$mods/modules.order" "$mods/modules.builtin" "$config"; do
	[ -f "$f" ] || { echo "ktree-fixture: no $f (run tools/mkguest $guest)" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/arch/x86/boot"
ln -s "$vmlinuz" "$out/arch/x86/boot/bzImage"
cp "$config" "$out/.config"
cp "$mods/modules.builtin" "$out/modules.builtin"
if [ "$names" = o ]; then
	sed 's|^kernel/||; s|\.ko$|.o|' "$mods/modules.order" >"$out/modules.order"
else
	sed 's|^kernel/||' "$mods/modules.order" >"$out/modules.order"
fi
# modules.dep lists every module a module needs, however deep, on its line.
for m in virtio_pci virtiofs overlay virtio_console; do
	line=$(grep -E "(^|/)$m\.ko:" "$mods/modules.dep") ||
		{ echo "ktree-fixture: $m is not in $mods/modules.dep" >&2; exit 1; }
	for ko in $(echo "$line" | tr -d :); do
		src=${ko#kernel/}
		mkdir -p "$out/$(dirname "$src")"
		ln -sf "$mods/$ko" "$out/$src"
	done
done
