#!/bin/sh
# vhost-blk.sh SHMVM GUESTDIR: shmvm's vhost-user frontend against a backend
# nobody here wrote: Debian's qemu-storage-daemon exports a raw image as
# vhost-user-blk; the guest reads and writes /dev/vda and the host checks the
# image. Needs /dev/kvm (exit 77 without it) and qemu-storage-daemon.
set -u
shmvm=$1 guest=$2
. "$(dirname "$0")/../need-kvm.sh"
qsd=$(command -v qemu-storage-daemon) || { echo "FAIL: no qemu-storage-daemon (qemu-system-common)"; exit 1; }
tmp=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
cmdline="console=ttyS0 quiet acpi=off reboot=k panic=-1"

# start_qsd NAME QUEUES: a fresh 8 MiB image (random first half) exported on $tmp/NAME.sock
start_qsd() {
	img=$tmp/$1.img
	head -c 4M /dev/urandom >"$img"
	head -c 4M /dev/zero >>"$img"
	want_md5=$(head -c 4M "$img" | md5sum | cut -d' ' -f1)
	rm -f "$tmp/$1.sock"
	"$qsd" --blockdev "driver=file,node-name=disk,filename=$img" \
		--export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$tmp/$1.sock,writable=on,num-queues=$2" \
		>"$tmp/$1.qsd.log" 2>&1 &
	qpid=$!
	i=0
	while ! [ -S "$tmp/$1.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}

# verdict NAME [QUEUES]: the guest read what the host wrote, its write reached
# the image, and it drives QUEUES hardware queues
verdict() {
	name=$1 out=$tmp/$1.out queues=${2:-}
	got=$(sed -n 's/.*SHMVM-BLK-READ \([0-9a-f]*\).*/\1/p' "$out" | head -n 1)
	others=$(dd if="$img" bs=1M skip=4 count=1 2>/dev/null | tr -d 'G' | wc -c)
	why=
	if [ "$status" -ne 0 ]; then
		why="shmvm exit status $status"
	elif ! grep -q '^SHMVM-GUEST-OK' "$out"; then
		why="no SHMVM-GUEST-OK marker"
	elif [ "$got" != "$want_md5" ]; then
		why="guest read checksum '$got', host has $want_md5"
	elif [ "$others" -ne 0 ]; then
		why="the guest's write did not reach the image ($others bytes differ)"
	elif [ -n "$queues" ] && ! grep -q "^SHMVM-BLK-QUEUES $queues" "$out"; then
		why="the guest does not use $queues queues: $(grep SHMVM-BLK-QUEUES "$out")"
	fi
}

report() {
	if [ -n "$why" ]; then
		echo "FAIL $1: $why"
		tail -n 30 "$tmp/$1.out" | sed 's/^/  | /'
		sed 's/^/  ! /' "$tmp/$1.err"
		fail=1
	else
		echo "ok   $1"
	fi
}

# blk NAME CPUS QUEUES
blk() {
	name=$1
	start_qsd "$name" "$3"
	timeout 180 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" \
		--cpus "$2" --memory 256M --blk "socket=$tmp/$name.sock,queues=$3" \
		--serial "file:$tmp/$name.out" --cmdline "$cmdline shmvm.steps=blk" \
		</dev/null >/dev/null 2>"$tmp/$name.err"
	status=$?
	verdict "$name" "$3"
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=
	report "$name"
}

blk blk-1cpu 1 1
blk blk-2cpu-2queues 2 2

# The backend dies while the guest runs: shmvm logs it, the guest goes on to its marker.
name=backend-killed
start_qsd $name 1
"$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 256M \
	--blk "socket=$tmp/$name.sock" --serial "file:$tmp/$name.out" \
	--cmdline "$cmdline shmvm.steps=blk,pause,info" </dev/null >/dev/null 2>"$tmp/$name.err" &
spid=$!
i=0
while ! grep -q SHMVM-BLK-WROTE "$tmp/$name.out" 2>/dev/null && [ $i -lt 3000 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$qpid"
wait "$spid"
status=$?
verdict $name
if [ -z "$why" ] && ! grep -q 'disconnected' "$tmp/$name.err"; then
	why="shmvm did not log the backend's disconnection"
fi
qpid=
report $name
exit $fail
