#!/bin/sh
# qemu-fsd.sh FSD|virtiofsd GUESTDIR: a virtio-fs backend under a frontend
# nobody here wrote — Debian's QEMU (vhost-user-fs-pci, guest RAM from
# memory-backend-memfd,share=on), KVM when /dev/kvm works, plain TCG
# otherwise. The guest runs the virtio-fs checks (tests/guest/steps/fsops)
# and the host checks each result. With "virtiofsd", Debian's C virtiofsd is
# the backend: the reference the same checks must hold for.
set -u
fsd=$1 guest=$2
qemu=$(command -v qemu-system-x86_64) || { echo "FAIL: no qemu-system-x86_64"; exit 1; }
tmp=$(mktemp -d)
fpid=
trap '[ -n "$fpid" ] && kill "$fpid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/fs-checks.sh"
fs_prepare "$tmp/share"
if [ "$fsd" = virtiofsd ]; then
	name=virtiofsd
	/usr/lib/qemu/virtiofsd --socket-path="$tmp/sock" -o source="$tmp/share" -o sandbox=chroot \
		>"$tmp/fsd.log" 2>&1 &
else
	name=shmvm-fsd
	"$fsd" --socket "$tmp/sock" --shared-dir "$tmp/share" >"$tmp/fsd.log" 2>&1 &
fi
fpid=$!
i=0
while ! [ -S "$tmp/sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fs_edit_when_asked "$tmp/out" "$tmp/share"
accel=tcg
[ -w /dev/kvm ] && "$(dirname "$0")/../../tools/with-kvm" --native-check --linux 2>/dev/null && accel=kvm
timeout 900 "$qemu" -accel $accel -m 512M -smp 1 -nodefaults -no-reboot -display none \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-chardev socket,id=fs0,path="$tmp/sock" -device vhost-user-fs-pci,chardev=fs0,tag=shmvm \
	-kernel "$guest/vmlinux" -initrd "$guest/initramfs.img" -serial "file:$tmp/out" \
	-append "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=fsops" </dev/null >"$tmp/qemu.log" 2>&1
status=$?
fs_verify "$tmp/out" "$tmp/share"
why=$fs_why
if [ $status -ne 0 ]; then
	why="qemu exit status $status"
elif [ -z "$why" ] && ! grep -q '^SHMVM-GUEST-OK' "$tmp/out"; then
	why="no SHMVM-GUEST-OK marker"
fi
if [ -n "$why" ]; then
	echo "FAIL qemu+$name ($accel): $why"
	tail -n 30 "$tmp/out" | sed 's/^/  | /'
	tail -n 10 "$tmp/qemu.log" "$tmp/fsd.log" | sed 's/^/  ! /'
	exit 1
fi
echo "ok   qemu+$name ($accel)"
