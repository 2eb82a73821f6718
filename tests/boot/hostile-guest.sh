#!/bin/sh
# hostile-guest.sh SHMVM GUESTDIR FSD [STRATEGY...]: a guest that programs
# nonsense (issue 13). Debian's kernel, as root, runs tests/guest/steps/hostile
# against two virtio-fs functions served by shmvm-fsd: A with a live DAX
# mount, B unbound from its driver. It moves BARs over RAM and over each
# other, notifies queues never set up, gives rings outside RAM, moves A's
# shared-memory BAR under live mappings (elsewhere, over RAM fifty times,
# over B's), writes junk into masked MSI-X entries while A does I/O (what
# they held back must arrive once they are put back), resets A in the middle
# of I/O, and last writes junk into unmasked entries and vectors past the
# table (interrupts sent there are lost, as on hardware). One boot per strategy (default: slot, then window). Checked
# here: after every attack shmvm still runs and its control socket answers;
# the guest's own checks hold (a moved window shows the file at its new
# address and again at its old one once moved back); shmvm logged what it
# refused, boundedly, and nothing like a crash or a seccomp kill; the reset
# dropped every mapping; the guest keeps a heartbeat; both shmvm-fsd live;
# shmvm stops cleanly on request; nothing in either share changed (contents,
# names, sizes, modes, mtimes). Needs /dev/kvm.
set -u
shmvm=$1 guest=$2 fsd=$3
shift 3
[ $# -gt 0 ] || set -- slot window
here=$(dirname "$0")
aq=${API_QUERY:?set by meson to tests/api-query in the build}
. "$here/../need-kvm.sh"
tmp=$(mktemp -d)
apid= bpid= spid=
cleanup() {
	for p in $spid $apid $bpid; do kill -9 "$p" 2>/dev/null; done
	spid= apid= bpid=
}
trap 'cleanup; rm -rf "$tmp"' EXIT
attacks="bar-ram bar-overlap notify rings shm-move msix-masked reset msix-junk"
# What shmvm may log: every line a guest can cause goes through a rate limit
# of 10 lines per 5 s per site (util/log.h), so no kind of line (numbers
# aside) may come more often than that over the run; more is a flood.

fail() {
	# HOSTILE_KEEP=DIR: keep the logs (run with-kvm with --rw DIR).
	[ -n "${HOSTILE_KEEP:-}" ] && mkdir -p "$HOSTILE_KEEP/$strategy" &&
		cp "$dir"/*.log "$out" "$err" "$HOSTILE_KEEP/$strategy/"
	{
		echo "FAIL ($strategy): $*"
		tail -n 40 "$out" | sed 's/^/  | /'
		tail -n 30 "$err" | sed 's/^/  ! /'
		tail -n 5 "$dir/fsd-a.log" | sed 's/^/  a /'
		tail -n 5 "$dir/fsd-b.log" | sed 's/^/  b /'
	} >&2
	exit 1
}
# status: the control socket's answer, within 10 s.
status() {
	"$aq" "$dir/api.sock" status 2>&1
}
# While waiting for the guest (wait_for), the control socket must answer.
wait_hook() {
	if [ -S "$dir/api.sock" ]; then
		s=$(status) || fail "the control socket does not answer 'status': $s"
	fi
}
guest_fail=SHMVM-HOSTILE-FAIL
. "$here/guest-wait.sh"
# live: mappings in every shared-memory window (control socket).
live() {
	"$aq" "$dir/api.sock" regions 'devices.*.regions.*.mappings.#'
}
# snapshot DIR: everything in DIR but access times, with contents.
snapshot() {
	(
		cd "$1" || exit 1
		find . -printf '%p %y %m %U:%G %n %s %T@\n' | LC_ALL=C sort
		find . -type f -print | LC_ALL=C sort | xargs md5sum
	)
}

run() {
	strategy=$1
	dir=$tmp/$strategy
	out=$dir/out err=$dir/err
	mkdir -p "$dir/share" "$dir/other"
	head -c $((4 << 20)) /dev/urandom >"$dir/share/big.bin"
	head -c $((2 << 20)) /dev/urandom >"$dir/share/held.bin"
	for i in 00 01 02 03; do
		head -c $((2 << 20)) /dev/urandom >"$dir/share/r$i"
	done
	head -c $((1 << 20)) /dev/urandom >"$dir/other/victim.bin"
	snapshot "$dir/share" >"$dir/share.before"
	snapshot "$dir/other" >"$dir/other.before"
	r00=$(md5sum "$dir/share/r00" | cut -d' ' -f1)

	fsd_args= shm=
	case $strategy in
	slot) fsd_args="--dax-window 16M" ;;
	window) shm=",shm=0:16M" ;;
	esac
	# shellcheck disable=SC2086
	"$fsd" --socket "$dir/a.sock" --shared-dir "$dir/share" --tag shmvm $fsd_args >"$dir/fsd-a.log" 2>&1 &
	apid=$!
	# shellcheck disable=SC2086
	"$fsd" --socket "$dir/b.sock" --shared-dir "$dir/other" --tag other $fsd_args >"$dir/fsd-b.log" 2>&1 &
	bpid=$!
	i=0
	while ! { [ -S "$dir/a.sock" ] && [ -S "$dir/b.sock" ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	started=$(date +%s)
	timeout 300 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 512M \
		--fs "socket=$dir/a.sock,tag=shmvm$shm" --fs "socket=$dir/b.sock,tag=other$shm" \
		--shm-strategy "$strategy" --api-socket "$dir/api.sock" --serial "file:$out" \
		--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 iomem=relaxed shmvm.steps=hostile" \
		</dev/null >/dev/null 2>"$err" &
	spid=$!
	# iomem=relaxed: root in the guest may map BARs its driver holds (resource0, /dev/mem).

	wait_for '^SHMVM-HOSTILE-MOUNTED' 120
	for a in $attacks; do
		wait_for "^SHMVM-HOSTILE $a done" 120
		grep -q "^SHMVM-HOSTILE $a done rc=0" "$out" ||
			fail "$a: $(grep "^SHMVM-HOSTILE $a done" "$out")"
	done
	wait_for '^SHMVM-HOSTILE-END' 60
	bad=$(grep '^SHMVM-HOSTILE-CHECK .* bad' "$out")
	[ -z "$bad" ] || fail "the guest's checks: $bad"
	nchecks=$(grep -c '^SHMVM-HOSTILE-CHECK .* ok' "$out")
	[ "$nchecks" -eq 21 ] || fail "$nchecks of the guest's 21 checks ran"
	grep -q "^SHMVM-HOSTILE-AFTER-MSIX $r00" "$out" ||
		fail "A's I/O did not recover with its MSI-X table: $(grep AFTER-MSIX "$out")"
	echo "ok   $strategy: all 8 attacks ran, shmvm answered throughout, $nchecks guest checks hold"

	# The reset dropped every mapping; the guest lives on.
	end=$(($(date +%s) + 30))
	while [ "$(live)" != 0 ]; do
		[ "$(date +%s)" -lt $end ] || fail "$(live) mappings left after A's reset"
		sleep 0.5
	done
	beat=$(grep -c '^SHMVM-HEARTBEAT' "$out")
	wait_for "^SHMVM-HEARTBEAT $((beat + 3))\\b" 60
	status | grep -q '"state": *"running"' || fail "the VM is not running: $(status)"
	kill -0 "$apid" 2>/dev/null || fail "shmvm-fsd (A) died"
	kill -0 "$bpid" 2>/dev/null || fail "shmvm-fsd (B) died"
	"$aq" "$dir/api.sock" shutdown >/dev/null || fail "the control socket refused shutdown"
	wait "$spid"
	rc=$?
	spid=
	[ $rc -eq 0 ] || fail "shmvm exit status $rc after shutdown"
	echo "ok   $strategy: the reset dropped every mapping, the guest kept its heartbeat, clean shutdown"

	# What shmvm said: the refusals, and nothing like a crash.
	crash=$(grep -m1 -i 'forbidden system call\|sanitizer\|runtime error\|SIGSEGV\|SIGBUS\|registers:\|assert\|KVM internal error\|triple fault' "$err")
	[ -z "$crash" ] || fail "shmvm: $crash"
	grep -q 'rings are not in guest RAM' "$err" || fail "no log line for rings outside RAM"
	grep -q 'overlaps another range; left unmapped' "$err" || fail "no log line for overlapping BARs"
	grep -q 'needs a reset' "$err" || fail "B was not marked as needing a reset"
	lines=$(wc -l <"$err")
	secs=$(($(date +%s) - started))
	budget=$((10 * (secs / 5 + 2)))
	# shellcheck disable=SC2046
	set -- $(sed 's/0x[0-9a-f]*/N/g; s/[0-9][0-9]*/N/g' "$err" | sort | uniq -c | sort -rn | head -n 1)
	[ "${1:-0}" -le $budget ] ||
		fail "shmvm logged '$*' in $secs s: more than its rate limit lets through ($budget)"
	echo "ok   $strategy: shmvm logged $lines lines in $secs s, at most ${1:-0} of a kind, the refusals among them, no crash"

	kill "$apid" "$bpid" 2>/dev/null
	wait "$apid" "$bpid" 2>/dev/null
	apid= bpid=
	snapshot "$dir/share" >"$dir/share.after"
	snapshot "$dir/other" >"$dir/other.after"
	for s in share other; do
		if ! cmp -s "$dir/$s.before" "$dir/$s.after"; then
			diff "$dir/$s.before" "$dir/$s.after" | head -n 10 >&2
			fail "the $s directory changed"
		fi
	done
	echo "ok   $strategy: both shares byte for byte as before"
}

for strategy in "$@"; do
	run "$strategy"
done
