# shellcheck shell=bash
# Guest images from Debian packages only: the stock amd64 kernel and
# busybox-static, fetched with `apt-get download` and cached by version.
# Sourced by tools/mkguest and tools/with-kvm.

SHMVM_CACHE=${SHMVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shmvm}

guest_log() { echo ">> $*" >&2; }
guest_die() {
	echo "error: $*" >&2
	exit 1
}

# apt-cache needs package lists; a fresh machine may have none.
_guest_apt_ready() {
	if [ -z "$(apt-cache policy linux-image-amd64 2>/dev/null | sed -n 's/.*Candidate: //p' | grep -v none)" ]; then
		guest_log "apt-get update (no package lists yet)"
		apt-get update -q >&2 || guest_die "apt-get update failed"
	fi
}

# Print "NAME VERSION" of the package linux-image-amd64 depends on.
_guest_kernel_pkg() {
	local name ver
	name=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	[ -n "$name" ] || guest_die "cannot find the kernel package behind linux-image-amd64"
	ver=$(apt-cache policy "$name" | sed -n 's/.*Candidate: //p')
	echo "$name $ver"
}

# _guest_fetch PKG DESTDIR: download and extract a package (no install).
_guest_fetch() {
	local pkg=$1 dest=$2 tmp
	tmp=$(mktemp -d)
	guest_log "downloading $pkg (apt-get download)"
	(cd "$tmp" && apt-get download "$pkg" >&2) || {
		rm -rf "$tmp"
		guest_die "apt-get download $pkg failed"
	}
	mkdir -p "$dest.part"
	dpkg-deb -x "$tmp"/*.deb "$dest.part" || guest_die "cannot extract $pkg"
	rm -rf "$tmp"
	mv "$dest.part" "$dest"
}

# Cut the uncompressed ELF vmlinux out of a bzImage: the setup header says
# where the compressed payload is (setup_sects at 0x1f1, payload_offset and
# payload_length at 0x248/0x24c).
_guest_extract_vmlinux() {
	python3 - "$1" "$2" <<'PY'
import lzma, struct, sys
d = open(sys.argv[1], "rb").read()
if d[0x202:0x206] != b"HdrS":
    sys.exit("not a bzImage")
setup_sects = d[0x1f1] or 4
off, length = struct.unpack_from("<II", d, 0x248)
start = (setup_sects + 1) * 512 + off
payload = d[start:start + length]
if not payload.startswith(b"\xfd7zXZ\x00"):
    sys.exit("payload is not xz (unsupported kernel compression)")
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
if out[:4] != b"\x7fELF":
    sys.exit("payload is not an ELF vmlinux")
open(sys.argv[2] + ".part", "wb").write(out)
PY
	mv "$2.part" "$2"
}

# Sets GUEST_KDIR (extracted kernel package), GUEST_KVER (uname -r),
# GUEST_VMLINUZ, GUEST_VMLINUX and GUEST_BUSYBOX; fetches what is missing.
guest_prepare() {
	local pkg ver bbver
	_guest_apt_ready
	read -r pkg ver < <(_guest_kernel_pkg)
	GUEST_KDIR=$SHMVM_CACHE/$pkg-$ver
	[ -d "$GUEST_KDIR" ] || _guest_fetch "$pkg" "$GUEST_KDIR"
	GUEST_KVER=$(basename "$(ls -d "$GUEST_KDIR"/lib/modules/*/ | head -n 1)")
	GUEST_VMLINUZ=$GUEST_KDIR/boot/vmlinuz-$GUEST_KVER
	GUEST_VMLINUX=$GUEST_KDIR/vmlinux
	if ! [ -f "$GUEST_VMLINUX" ]; then
		guest_log "extracting the uncompressed vmlinux (PVH boot)"
		_guest_extract_vmlinux "$GUEST_VMLINUZ" "$GUEST_VMLINUX" || guest_die "cannot extract vmlinux"
	fi
	bbver=$(apt-cache policy busybox-static | sed -n 's/.*Candidate: //p')
	[ -n "$bbver" ] || guest_die "no busybox-static package"
	local bbdir=$SHMVM_CACHE/busybox-static-$bbver
	[ -d "$bbdir" ] || _guest_fetch busybox-static "$bbdir"
	GUEST_BUSYBOX=$bbdir/bin/busybox
}

# guest_modules MOD... : print the .ko paths of the modules and all their
# dependencies, dependencies first (modinfo on the extracted tree).
guest_modules() {
	local moddir=$GUEST_KDIR/lib/modules/$GUEST_KVER
	declare -A seen=()
	local order=()
	_mod_path() { find "$moddir/kernel" -name "$(echo "$1" | sed 's/[-_]/[-_]/g').ko" | head -n 1; }
	_visit() {
		local m=${1//-/_} path dep
		[ -n "${seen[$m]:-}" ] && return
		seen[$m]=1
		path=$(_mod_path "$m")
		[ -n "$path" ] || return 0 # built in
		for dep in $(/sbin/modinfo -F depends "$path" | tr ',' ' '); do
			_visit "$dep"
		done
		order+=("$path")
	}
	local m
	for m in "$@"; do _visit "$m"; done
	printf '%s\n' "${order[@]}"
}

# guest_initramfs OUT INIT [EXTRA_DIR] -- MODULES...: a cpio (newc, not
# compressed: under emulation the kernel unpacks it faster than it would
# inflate it) with busybox, the modules in load order (/lib/modules.order)
# and INIT as /init. EXTRA_DIR's contents are copied to the root.
guest_initramfs() {
	local out=$1 init=$2 extra=$3
	shift 4
	local root
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,lib/modules}
	cp "$GUEST_BUSYBOX" "$root/bin/busybox"
	local ko
	for ko in $(guest_modules "$@"); do
		cp "$ko" "$root/lib/modules/"
		basename "$ko" >>"$root/lib/modules.order"
	done
	touch "$root/lib/modules.order"
	cp "$init" "$root/init"
	chmod 755 "$root/init"
	[ -n "$extra" ] && [ -d "$extra" ] && cp -r "$extra"/. "$root/"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.part.$$"
	rm -rf "$root"
	mv "$out.part.$$" "$out" # several with-kvm may build it at once
}
