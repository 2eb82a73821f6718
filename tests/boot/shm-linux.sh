#!/bin/sh
# shm-linux.sh SHMVM GUESTDIR FSD STRATEGY [SHM]: Debian's kernel finds the
# shared-memory capability of a vhost-user device (virtio-id 26, the generic
# --device, served by shmvm-fsd) at the base and length shmvm gave it. SHM is
# a shm= override (ID:SIZE); without it the size comes from the backend's
# GET_SHMEM_CONFIG (shmvm-fsd --dax-window 64M). Needs /dev/kvm.
set -u
shmvm=$1 guest=$2 fsd=$3 strategy=$4 shm=${5:-}
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
vpid=
trap '[ -n "$vpid" ] && kill "$vpid" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/share"
"$fsd" --socket "$tmp/sock" --shared-dir "$tmp/share" --tag shmvm --dax-window 64M \
	>"$tmp/fsd.log" 2>&1 &
vpid=$!
size=$((64 << 20))
dev="vhost-user,socket=$tmp/sock,virtio-id=26,queues=2,config-size=40"
if [ -n "$shm" ]; then
	dev="$dev,shm=$shm"
	size=$(($(echo "${shm#*:}" | sed 's/M$//') << 20))
fi
timeout 180 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 256M \
	--device "$dev" --shm-strategy "$strategy" --serial "file:$tmp/out" -v \
	--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=shm" \
	</dev/null >/dev/null 2>"$tmp/err"
status=$?
# shmvm: "vhost-user-26: shared memory: 64 MiB window at 0x100000000 (slot strategy)"
base=$(sed -n 's/.*shared memory: .* window at 0x\([0-9a-f]*\) .*/\1/p' "$tmp/err")
want=$(printf '%x-%x' $((0x${base:-0})) $((0x${base:-0} + size - 1)))
got=$(sed -n 's/^SHMVM-SHM [^ ]* \([0-9a-f-]*\) .*/\1/p' "$tmp/out")
# BAR 2 as the guest's PCI core sized and placed it: starts at the window.
bar2=$(sed -n 's/^SHMVM-SHM .* bar2=\(0x[0-9a-f]*\)-.*/\1/p' "$tmp/out")
why=
if [ $status -ne 0 ]; then
	why="shmvm exit status $status"
elif [ -z "$base" ]; then
	why="shmvm did not report a window"
elif [ "$got" != "$want" ]; then
	why="the guest found the region at '$got', shmvm put it at $want"
elif [ $((${bar2:-0})) -ne $((0x$base)) ]; then
	why="the guest's BAR 2 starts at '$bar2', not at the window"
elif ! grep -q "($strategy strategy)" "$tmp/err"; then
	why="not the $strategy strategy"
elif ! grep -q '^SHMVM-GUEST-OK' "$tmp/out"; then
	why="no SHMVM-GUEST-OK marker"
fi
if [ -n "$why" ]; then
	echo "FAIL: $why"
	tail -n 30 "$tmp/out" | sed 's/^/  | /'
	sed 's/^/  ! /' "$tmp/err" | tail -n 30
	exit 1
fi
grep '^SHMVM-SHM' "$tmp/out"
echo "ok   guest sees the shared-memory region at $want ($strategy strategy)"
