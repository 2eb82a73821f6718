#!/bin/sh
# run-ktree.sh SHMVM GUEST_DIR: `shmvm run --kernel DIR` before any boot, so
# without KVM: --print-kconfig and --help; the initramfs it builds from a
# build tree (ktree-fixture.sh: Debian's kernel laid out as one, with ".ko"
# and with ".o" names in modules.order) holds the tree's modules, in load
# order; and each bad tree is refused with status 125 and one line naming
# what is wrong, before anything starts. (The boot itself: run.sh, 6.)
# Skips (77) without the guest tools/mkguest builds.
set -u
shmvm=$(readlink -f "$1")
guest=$(readlink -f "$2")
here=$(cd "$(dirname "$0")" && pwd)
if ! [ -e "$guest/vmlinuz" ] || ! [ -e "$guest/modules/modules.dep" ]; then
	echo "SKIP: no guest in $guest (tools/mkguest $guest)" >&2
	exit 77
fi
tmp=$(mktemp -d)
tmp=$(cd "$tmp" && pwd -P)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() { echo "ok: $*"; }
cd "$tmp" || exit 1

# expect WHAT PATTERN ARGS...: shmvm run ARGS exits 125 with one line on stderr matching PATTERN.
expect() {
	what=$1 pat=$2
	shift 2
	"$shmvm" run "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 125 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$pat" "$tmp/err"; then
		ok "$what: $(cat "$tmp/err")"
	else
		fail "$what: status $rc (want 125), stderr: $(cat "$tmp/err")"
	fi
}

# ---- --print-kconfig, --help ----
"$shmvm" run --print-kconfig >"$tmp/frag" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -s "$tmp/frag" ] && ! grep -qv '^CONFIG_[A-Z0-9_]*=y$' "$tmp/frag" &&
	grep -qx CONFIG_VIRTIO_FS=y "$tmp/frag" && grep -qx CONFIG_SERIAL_8250_CONSOLE=y "$tmp/frag"; then
	ok "--print-kconfig: $(wc -l <"$tmp/frag") CONFIG_X=y lines"
else
	fail "--print-kconfig: status $rc, output: $(head -c 300 "$tmp/frag") $(cat "$tmp/err")"
fi
"$shmvm" run --help >"$tmp/help" 2>&1
grep -q -- "--kernel DIR" "$tmp/help" && grep -q -- "--print-kconfig" "$tmp/help" &&
	ok "--help names --kernel DIR and --print-kconfig" || fail "--help: $(cat "$tmp/help")"

# ---- a good tree: the initramfs holds its modules, dependencies first ----
for names in ko o; do
	sh "$here/ktree-fixture.sh" "$guest" "$tmp/linux" $names || { fail "ktree-fixture.sh $names"; continue; }
	if "$shmvm" run --kernel "$tmp/linux" --save-initramfs "$tmp/i.cpio" -- true >"$tmp/out" 2>"$tmp/err"; then
		list=$(cpio -it <"$tmp/i.cpio" 2>/dev/null | sed -n 's|^lib/modules/||p' | tr '\n' ' ')
		# each module after what it needs (modules.dep, Debian's)
		order_ok=1
		for m in fuse virtio_ring virtio; do
			case " $list" in *" $m.ko "*virtiofs.ko*) ;; *) order_ok=0 ;; esac
		done
		case " $list" in *" virtio_pci_modern_dev.ko "*" virtio_pci.ko "*) ;; *) order_ok=0 ;; esac
		case " $list" in *" overlay.ko "*) ;; *) order_ok=0 ;; esac
		[ $order_ok -eq 1 ] && ok "modules.order with .$names names: initramfs has $list" ||
			fail "modules.order with .$names names: initramfs modules: $list"
		# the very files of the tree
		mkdir -p "$tmp/x" && (cd "$tmp/x" && cpio -id lib/modules/virtiofs.ko <"$tmp/i.cpio" 2>/dev/null)
		cmp -s "$tmp/x/lib/modules/virtiofs.ko" "$tmp/linux/fs/fuse/virtiofs.ko" &&
			ok "virtiofs.ko is the tree's" || fail "virtiofs.ko in the initramfs differs from the tree's"
		rm -rf "$tmp/x"
	else
		fail "--kernel the fixture tree (.$names): $(cat "$tmp/err")"
	fi
done

# ---- bad trees: 125 and one line, before any boot ----
lx=$tmp/linux
sh "$here/ktree-fixture.sh" "$guest" "$lx" || fail "ktree-fixture.sh"
sed -i '/^CONFIG_VIRTIO_FS=/d' "$lx/.config"
expect ".config without an option" "^shmvm run: CONFIG_VIRTIO_FS is not set in $lx/.config\$" \
	--kernel "$lx" -- true
sh "$here/ktree-fixture.sh" "$guest" "$lx"
sed -i 's/^CONFIG_PCI_MSI=y/CONFIG_PCI_MSI=m/' "$lx/.config"
expect "a built-in option as a module" "CONFIG_PCI_MSI=m in $lx/.config: shmvm run needs it =y" \
	--kernel "$lx" -- true
sh "$here/ktree-fixture.sh" "$guest" "$lx"
sed -i 's/^# CONFIG_SMP is not set/CONFIG_SMP=y/; /^CONFIG_SMP=/d' "$lx/.config"
"$shmvm" run --kernel "$lx" --save-initramfs "$tmp/i.cpio" -- true >/dev/null 2>"$tmp/err" &&
	ok "CONFIG_SMP unset: fine with one vCPU" || fail "CONFIG_SMP unset, one vCPU: $(cat "$tmp/err")"
expect "CONFIG_SMP unset with --cpus 2" "CONFIG_SMP is not set in $lx/.config" --kernel "$lx" --cpus 2 -- true

sh "$here/ktree-fixture.sh" "$guest" "$lx"
rm "$lx/fs/fuse/fuse.ko"
expect "a needed module missing" "module fuse: .*fs/fuse/fuse.ko is missing" --kernel "$lx" -- true
sed -i '/fuse\.ko$/d' "$lx/modules.order"
expect "a =m option's module not in modules.order" \
	"CONFIG_FUSE_FS=m in $lx/.config, but $lx/modules.order does not list module fuse" \
	--kernel "$lx" -- true
rm "$lx/.config"
expect "a dependency not in modules.order (no .config)" \
	"module $lx/fs/fuse/virtiofs.ko depends on fuse, which $lx/modules.order does not list" \
	--kernel "$lx" -- true

sh "$here/ktree-fixture.sh" "$guest" "$lx"
rm "$lx/fs/overlayfs/overlay.ko"
head -c 3000 "$guest/vmlinuz" >"$lx/fs/overlayfs/overlay.ko"
expect "a malformed .ko" "module $lx/fs/overlayfs/overlay.ko: not an ELF file" --kernel "$lx" -- true
rm "$lx/fs/overlayfs/overlay.ko"
printf '\177ELF\002\001\001' >"$lx/fs/overlayfs/overlay.ko"
expect "a truncated .ko" "module $lx/fs/overlayfs/overlay.ko: not an ELF file" --kernel "$lx" -- true

sh "$here/ktree-fixture.sh" "$guest" "$lx"
rm "$lx/modules.order"
mkdir "$lx/modules.order"
expect "modules.order unreadable" "cannot read $lx/modules.order: Is a directory" --kernel "$lx" -- true
rmdir "$lx/modules.order"
expect "no modules.order" "cannot read $lx/modules.order: No such file" --kernel "$lx" -- true

sh "$here/ktree-fixture.sh" "$guest" "$lx"
expect "--modules with a tree" "--modules: not with --kernel" --kernel "$lx" --modules "$guest/modules" -- true
rm "$lx/arch/x86/boot/bzImage"
ln -s "$guest/vmlinux" "$lx/vmlinux"
"$shmvm" run --kernel "$lx" --save-initramfs "$tmp/i.cpio" -- true >/dev/null 2>"$tmp/err" &&
	ok "a tree with a PVH vmlinux and no bzImage" || fail "a tree with only a PVH vmlinux: $(cat "$tmp/err")"
rm "$lx/vmlinux"
expect "no image" "not a kernel build tree" --kernel "$lx" -- true
: >"$lx/Makefile"
: >"$lx/Kconfig"
expect "a source tree, not built" "a kernel source tree, but not built" --kernel "$lx" -- true
head -c 4096 "$guest/vmlinuz" >"$lx/vmlinux"
expect "a vmlinux that is no ELF, no bzImage" "vmlinux has no PVH entry note" --kernel "$lx" -- true
mkdir "$tmp/empty"
expect "not a tree" "--kernel $tmp/empty: not a kernel build tree" --kernel "$tmp/empty" -- true

[ $fails -eq 0 ] && echo "PASS: shmvm run --kernel DIR before boot" || echo "FAIL: $fails checks"
exit $((fails != 0))
