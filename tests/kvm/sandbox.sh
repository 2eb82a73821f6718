#!/bin/sh
# sandbox.sh SHMVM SHMVM-FSD SPIN-GUEST SHMVM-API: least privilege
# (vmm/sandbox.c) seen from outside, on real KVM. A running shmvm with a
# shmvm-fsd device (so a backend-channel thread started during set-up) and a
# control socket: every thread has the seccomp filter, no_new_privs and no
# capability; shmvm-fsd keeps only its own; the control socket still answers
# and its shutdown ends shmvm with 0, the socket file removed. Then
# --no-seccomp: no filter, capabilities dropped all the same. (What the
# filter lets through and stops: tests/unit/test_sandbox.c; every other KVM
# and boot test runs with it.) Needs /dev/kvm (exit 77 without it: run
# through tools/with-kvm).
set -u
shmvm=$1 fsd=$2 spin=$3
aq=${API_QUERY:?set by meson to tests/api-query in the build}
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
spid=
fpid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "$fpid" ] && kill "$fpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
root=0
[ "$(id -u)" -eq 0 ] && root=1

# field PID/TASK NAME: a field of /proc/PID/status (or /proc/PID/task/TID/status).
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

mkdir "$tmp/share"
# start_spin SHMVM-OPTION...: shmvm-fsd and shmvm running the spinning guest
# with it as a device; sets fpid and spid, 1 if the guest did not spin.
start_spin() {
	rm -f "$tmp/fs.sock" "$tmp/api.sock" "$tmp/serial"
	"$fsd" --socket "$tmp/fs.sock" --shared-dir "$tmp/share" --dax-window 64M >"$tmp/fsd.out" 2>&1 &
	fpid=$!
	# shmvm retries its connection until shmvm-fsd listens.
	"$shmvm" --flat --kernel "$spin" --memory 64M --serial "file:$tmp/serial" \
		--fs "socket=$tmp/fs.sock" "$@" </dev/null >"$tmp/shmvm.out" 2>&1 &
	spid=$!
	i=0
	while ! grep -q 'SHMVM-TINY spin: spinning' "$tmp/serial" 2>/dev/null &&
		kill -0 "$spid" 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q 'SHMVM-TINY spin: spinning' "$tmp/serial" 2>/dev/null && return 0
	bad "shmvm $*: the guest did not start spinning"
	sed 's/^/  shmvm | /' "$tmp/shmvm.out"
	return 1
}

# stop_spin: wait for shmvm's end (SIGTERM after 60 s) and stop shmvm-fsd; sets status.
stop_spin() {
	timeout 60 sh -c "while kill -0 $spid 2>/dev/null; do sleep 0.1; done"
	kill "$spid" 2>/dev/null
	wait "$spid"
	status=$?
	spid=
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	fpid=
}

if start_spin --api-socket "$tmp/api.sock"; then
	threads=0
	for t in /proc/"$spid"/task/*; do
		tid=$spid/task/${t##*/}
		threads=$((threads + 1))
		[ "$(field "$tid" Seccomp)" = 2 ] || bad "thread ${t##*/} ($(cat "$t/comm")): no seccomp filter"
		[ "$(field "$tid" NoNewPrivs)" = 1 ] || bad "thread ${t##*/} ($(cat "$t/comm")): no no_new_privs"
		for c in CapInh CapPrm CapEff CapAmb; do
			[ "$(field "$tid" $c)" = 0000000000000000 ] ||
				bad "thread ${t##*/} ($(cat "$t/comm")): $c $(field "$tid" $c)"
		done
		# Only root may clear its bounding set.
		[ $root -eq 0 ] || [ "$(field "$tid" CapBnd)" = 0000000000000000 ] ||
			bad "thread ${t##*/} ($(cat "$t/comm")): CapBnd $(field "$tid" CapBnd)"
	done
	# main, vcpu0, the backend channel's thread.
	[ "$threads" -ge 3 ] || bad "$threads threads in shmvm, expected at least 3"
	# shmvm-fsd: chown, dac_override, dac_read_search, fowner, fsetid, mknod (tools/fsd/main.c).
	if [ $root -eq 1 ]; then
		for c in CapEff CapPrm; do
			[ "$(field "$fpid" $c)" = 000000000800001f ] ||
				bad "shmvm-fsd: $c $(field "$fpid" $c), expected 000000000800001f"
		done
		[ "$(field "$fpid" CapBnd)" = 0000000000000000 ] ||
			bad "shmvm-fsd: CapBnd $(field "$fpid" CapBnd), expected none"
		[ "$(field "$fpid" NoNewPrivs)" = 1 ] || bad "shmvm-fsd: no no_new_privs"
	fi
	"$aq" "$tmp/api.sock" status >"$tmp/status" 2>&1 ||
		bad "control socket: status failed: $(cat "$tmp/status")"
	"$aq" "$tmp/api.sock" shutdown >/dev/null 2>&1 || bad "control socket: shutdown failed"
	stop_spin
	[ "$status" -eq 0 ] || bad "shmvm exit status $status after the control socket's shutdown, expected 0"
	[ -e "$tmp/api.sock" ] && bad "the control socket's file is still there"
	grep -q seccomp "$tmp/shmvm.out" && bad "shmvm: $(grep seccomp "$tmp/shmvm.out")"
else
	stop_spin
fi

# --no-seccomp: the filter is off, the capabilities are gone all the same.
if start_spin --no-seccomp; then
	[ "$(field "$spid" Seccomp)" = 0 ] || bad "--no-seccomp: Seccomp $(field "$spid" Seccomp), expected 0"
	[ "$(field "$spid" CapEff)" = 0000000000000000 ] || bad "--no-seccomp: CapEff $(field "$spid" CapEff)"
	kill "$spid"
	stop_spin
	[ "$status" -eq 143 ] || bad "--no-seccomp: exit status $status on SIGTERM, expected 143"
else
	stop_spin
fi

[ $fail -eq 0 ] && echo "ok   sandbox: filter, no_new_privs and no capability in every thread; --no-seccomp"
exit $fail
