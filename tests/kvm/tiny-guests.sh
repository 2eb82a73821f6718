#!/bin/sh
# tiny-guests.sh SHMVM GUESTDIR: boot each hand-made flat guest under shmvm
# and check its serial output and exit status. Needs /dev/kvm (exit 77
# without it: run through tools/with-kvm).
set -u
shmvm=$1 dir=$2
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect NAME STATUS PATTERN shmvm-options...
expect() {
	name=$1 want_status=$2 pattern=$3
	shift 3
	timeout 120 "$shmvm" --serial "file:$tmp/$name.out" "$@" \
		</dev/null >"$tmp/$name.stdout" 2>"$tmp/$name.err"
	status=$?
	if [ "$status" -ne "$want_status" ]; then
		echo "FAIL $name: exit status $status, expected $want_status"
		sed 's/^/  | /' "$tmp/$name.err" "$tmp/$name.out"
		fail=1
	elif ! grep -q "$pattern" "$tmp/$name.out" "$tmp/$name.err"; then
		echo "FAIL $name: output lacks '$pattern'"
		sed 's/^/  | /' "$tmp/$name.err" "$tmp/$name.out"
		fail=1
	else
		echo "ok   $name"
	fi
}

flat() { echo "--flat --kernel $dir/$1.bin"; }

# shellcheck disable=SC2046 # word splitting of $(flat ...) is intended
{
expect hello 0 'SHMVM-TINY hello OK' $(flat hello)
expect longmode 0 'SHMVM-TINY longmode OK' $(flat longmode)
expect memory 0 'SHMVM-TINY memory OK' $(flat memory) --memory 64M
expect pio 0 'SHMVM-TINY pio OK' $(flat pio)
expect hello-smp 0 'SHMVM-TINY hello OK' $(flat hello) --cpus 2
# A guest that triple-faults ends shmvm with status 2 and a register dump.
expect triple-status 2 'rip=' $(flat triple)
expect triple-output 2 'SHMVM-TINY triple about to fault' $(flat triple)
}

# Bad kernels are refused with one clear line naming the file, status 1.
head -c 65536 /dev/urandom >"$tmp/garbage"
expect garbage-kernel 1 "$tmp/garbage" --kernel "$tmp/garbage"
printf 'MZ\000\000HdrS' >"$tmp/short"
expect short-kernel 1 "$tmp/short" --kernel "$tmp/short"
expect missing-kernel 1 "$tmp/nope" --kernel "$tmp/nope"
exit $fail
