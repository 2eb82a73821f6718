#!/bin/sh
# vhost-fs.sh SHMVM GUESTDIR virtiofsd|FSD-PATH: virtio-fs through shmvm's
# vhost-user frontend, with QEMU's C virtiofsd from Debian (a backend nobody
# here wrote) or with shmvm-fsd. The guest mounts the host directory, reads a
# file the host made and writes files the host then checks. Needs /dev/kvm.
set -u
shmvm=$1 guest=$2 backend=$3
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
vpid=
trap '[ -n "$vpid" ] && kill "$vpid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/fs-checks.sh"
fs_prepare "$tmp/share"
if [ "$backend" = virtiofsd ]; then
	vfsd=/usr/lib/qemu/virtiofsd
	[ -x $vfsd ] || { echo "FAIL: no $vfsd (qemu-system-common)"; exit 1; }
	"$vfsd" --socket-path="$tmp/sock" -o source="$tmp/share" -o sandbox=chroot >"$tmp/vfsd.log" 2>&1 &
	name=virtiofsd
else
	"$backend" --socket "$tmp/sock" --shared-dir "$tmp/share" --tag shmvm >"$tmp/vfsd.log" 2>&1 &
	name=shmvm-fsd
fi
vpid=$!
i=0
while ! [ -S "$tmp/sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fs_edit_when_asked "$tmp/out" "$tmp/share"
timeout 180 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 256M \
	--fs "socket=$tmp/sock,tag=shmvm" --serial "file:$tmp/out" \
	--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=fsops" \
	</dev/null >/dev/null 2>"$tmp/err"
status=$?
fs_verify "$tmp/out" "$tmp/share"
why=$fs_why
if [ $status -ne 0 ]; then
	why="shmvm exit status $status"
elif [ -z "$why" ] && ! grep -q '^SHMVM-GUEST-OK' "$tmp/out"; then
	why="no SHMVM-GUEST-OK marker"
fi
if [ -n "$why" ]; then
	echo "FAIL $name: $why"
	tail -n 30 "$tmp/out" | sed 's/^/  | /'
	sed 's/^/  ! /' "$tmp/err"
	tail -n 10 "$tmp/vfsd.log" | sed 's/^/  v /'
	exit 1
fi
echo "ok   $name"
