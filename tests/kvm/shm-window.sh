#!/bin/sh
# shm-window.sh SHMVM SHM-BACKEND SHM-GUEST STRATEGY [main|eof]: the
# shared-memory window end to end on real KVM, without Linux. main (the
# default): shm-backend maps, unmaps and sends bad requests to a real shmvm
# running the tiny guest guests/shm.S; both sides check, and shmvm's control
# socket and /proc show nothing leaked; then a backend that floods its
# channel. eof: guest accesses past a mapped file's end, which kvm_pvm cannot
# run (the KVM suite runs them through tools/with-kvm --avoid-pvm).
# Needs /dev/kvm (exit 77 without it: run through tools/with-kvm).
set -u
shmvm=$1 backend=$2 guest=$3 strategy=$4 part=${5:-main}
case $part in
main | eof) ;;
*) echo "FAIL: shm-window.sh: part '$part' is neither main nor eof"; exit 1 ;;
esac
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
bpid=
trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; rm -rf "$tmp"' EXIT

fail=0
bad() { echo "FAIL: $*"; fail=1; }

# run_case MODE: shmvm with the backend in MODE; sets status and bstatus.
run_case() {
	rm -f "$tmp/vu.sock" "$tmp/api.sock"
	"$backend" "$tmp/vu.sock" "$tmp/api.sock" "$strategy" "$1" >"$tmp/backend.out" 2>&1 &
	bpid=$!
	timeout 300 "$shmvm" --flat --kernel "$guest" --memory 64M --serial "file:$tmp/serial" \
		--device "vhost-user,socket=$tmp/vu.sock,virtio-id=26,queues=2" \
		--shm-strategy "$strategy" --api-socket "$tmp/api.sock" </dev/null >"$tmp/shmvm.out" 2>&1
	status=$?
	timeout 60 sh -c "while kill -0 $bpid 2>/dev/null; do sleep 0.1; done"
	wait "$bpid"
	bstatus=$?
	bpid=
	if [ "$bstatus" -ne 0 ]; then
		bad "$1: shm-backend exit status $bstatus"
		sed 's/^/  backend | /' "$tmp/backend.out"
	fi
}

if [ "$part" = eof ]; then
	# A page past its file's end (eof: a mapping longer than its file; truncate:
	# the file cut under a live mapping the guest has read): the guest's write
	# there has no host page, KVM_RUN fails with EFAULT. shmvm must put zeros
	# there, say so and run on; the guest reads back its write, the backend finds
	# its file unchanged and ends the VM (docs/design.md, "Beyond EOF").
	for mode in eof truncate; do
		run_case $mode
		[ "$status" -eq 0 ] || bad "$mode: shmvm exit status $status, expected 0 (the backend shuts it down)"
		grep -q 'SHMVM-TINY shm eof OK' "$tmp/serial" || bad "$mode: the guest did not finish"
		grep -q "1 pages past its file's end, now private zeros" "$tmp/shmvm.out" ||
			bad "$mode: shmvm did not log the repair"
		sed -n "s/^/  $mode backend | /p" "$tmp/backend.out"
		sed -n "s/^SHMVM-TINY shm eof/  $mode guest   | &/p" "$tmp/serial"
		if [ "$fail" -ne 0 ]; then
			sed 's/^/  guest   | /' "$tmp/serial"
			sed 's/^/  shmvm   | /' "$tmp/shmvm.out" | tail -40
			exit 1
		fi
	done
	echo "ok: shared-memory window, $strategy strategy: pages past a file's end become zeros and the VM runs on"
	exit 0
fi

"$backend" "$tmp/vu.sock" "$tmp/api.sock" "$strategy" "${SHM_CYCLES:-2000}" >"$tmp/backend.out" 2>&1 &
bpid=$!
timeout 600 "$shmvm" --flat --kernel "$guest" --memory 64M --serial "file:$tmp/serial" \
	--device "vhost-user,socket=$tmp/vu.sock,virtio-id=26,queues=2" \
	--shm-strategy "$strategy" --api-socket "$tmp/api.sock" -v \
	</dev/null >"$tmp/shmvm.out" 2>&1
status=$?
timeout 60 sh -c "while kill -0 $bpid 2>/dev/null; do sleep 0.1; done"
wait "$bpid"
bstatus=$?
bpid=

[ "$status" -eq 0 ] || bad "shmvm exit status $status, expected 0 (the backend shuts it down)"
[ "$bstatus" -eq 0 ] || bad "shm-backend exit status $bstatus"
grep -q 'SHMVM-TINY shm OK' "$tmp/serial" || bad "the guest did not finish"
grep -q 'SHMEM_MAP refused' "$tmp/shmvm.out" || bad "shmvm logged no refusal"
# Slot: a read-only slot and the holes exit to shmvm, which drops writes.
# Window: KVM cannot exit there; writes stay in private memory (docs/design.md).
case $strategy in
slot) ro=0000000000000055 hole=0000000000000000 ;;
window) ro=0000000000000099 hole=0000000000000077 ;;
esac
grep -q "read-only readback $ro" "$tmp/serial" || bad "read-only readback is not $ro"
grep -q "hole readback $hole" "$tmp/serial" || bad "hole readback is not $hole"

sed 's/^/  backend | /' "$tmp/backend.out"
sed 's/^/  guest   | /' "$tmp/serial"
if [ "$fail" -ne 0 ]; then
	sed 's/^/  shmvm   | /' "$tmp/shmvm.out" | tail -60
	exit 1
fi

# A backend that never reads its replies loses its channel; the VM goes on and shuts down.
run_case flood
[ "$status" -eq 0 ] || bad "flood: shmvm exit status $status, expected 0"
if [ "$fail" -ne 0 ]; then
	sed 's/^/  shmvm   | /' "$tmp/shmvm.out" | tail -40
	exit 1
fi
echo "ok: shared-memory window, $strategy strategy (a flooding backend loses its channel)"
