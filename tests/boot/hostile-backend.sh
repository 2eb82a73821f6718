#!/bin/sh
# hostile-backend.sh SHMVM GUESTDIR HOSTILE-BACKEND: one shmvm boots Linux
# with the heartbeat step and six vhost-user devices whose backends
# (hostile-backend.c) send every kind of bad input of issue 13's list: shmvm
# must refuse each with a log line, an error reply where one is due and a
# counter, keep the guest's heartbeat going, and end with the fds and memory
# slots it started with. Needs /dev/kvm. One boot.
#
# The devices' virtio ids are ones no driver of the guest takes (6, 21, 22,
# 30, 31, 33: none has a Linux driver; the guest's initramfs loads only
# virtio_pci, virtio_blk and virtiofs), and the guest checks it. virtio_pci
# still enables each function, so shared-memory BARs are decoded and each
# mapping costs a memory slot, but no driver sends requests of its own:
# everything on those channels is the test's, and the heartbeat depends on
# nothing they do. The one request a guest must cause (device 6: a config
# write that waits for a backend that never answers) is made by the
# heartbeat step itself through BAR 0.
set -u
shmvm=$1 guest=$2 backend=$3
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
bpid= vpid=
trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; [ -n "$vpid" ] && kill "$vpid" 2>/dev/null; rm -rf "$tmp"' EXIT
: >"$tmp/err"
: >"$tmp/out"
"$backend" "$tmp" "$tmp/api" "$tmp/err" "$tmp/out" >"$tmp/backend.log" 2>&1 &
bpid=$!
i=0
while ! [ -S "$tmp/noreply.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dev() { echo "vhost-user,socket=$tmp/$1.sock,virtio-id=$2,queues=1${3:-}"; }
timeout 300 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 256M \
	--cpus 2 --api-socket "$tmp/api" --serial "file:$tmp/out" \
	--device "$(dev main 21)" --device "$(dev short 22)" --device "$(dev huge 30)" \
	--device "$(dev fds 31)" --device "$(dev cut 33)" --device "$(dev noreply 6 ,config-size=8)" \
	--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=heartbeat shmvm.noreply=6" \
	</dev/null >/dev/null 2>>"$tmp/err" &
vpid=$!
wait "$bpid"
brc=$?
bpid=
# The backend ends the VM over the control socket; if it died instead, do not wait 300 s.
i=0
while kill -0 "$vpid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill "$vpid" 2>/dev/null
wait "$vpid"
status=$?
vpid=
cat "$tmp/backend.log"
why=
if [ $brc -ne 0 ]; then
	why="hostile-backend exited $brc"
elif [ $status -ne 0 ]; then
	why="shmvm exit status $status"
elif grep -q 'seccomp' "$tmp/err"; then
	why="shmvm hit its seccomp filter"
elif grep -q -i 'sanitizer\|runtime error' "$tmp/err"; then
	why="a sanitizer report: $(grep -m1 -i 'sanitizer\|runtime error' "$tmp/err")"
elif ! grep -q 'hostile-backend: all checks passed' "$tmp/backend.log"; then
	why="the backend did not finish its checks"
fi
if [ -n "$why" ]; then
	echo "FAIL: $why"
	grep -v '^SHMVM-HB [0-9]' "$tmp/out" | tail -n 20 | sed 's/^/  | /'
	tail -n 40 "$tmp/err" | sed 's/^/  ! /'
	exit 1
fi
echo "ok   shmvm refused every hostile input and the guest beat on ($(grep -c '^SHMVM-HB [0-9]' "$tmp/out") heartbeats)"
