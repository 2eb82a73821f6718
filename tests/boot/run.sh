#!/bin/sh
# run.sh SHMVM: `shmvm run` end to end with Debian's kernel (the guest
# tools/mkguest built beside SHMVM's build). In eight boots:
#  1. one command that checks the guest side: the host's /etc/os-release
#     through DAX, stdout and stderr apart, --env, a --rw directory the host
#     sees written, a write elsewhere that stays in the guest, the caller's
#     directory, 64 MiB of stdin through sha256sum, then megabytes on stdout
#     and stderr at once, each byte for byte; exit status 7;
#  2. --timeout 2 -- sleep 100 returns 124;
#  3. four runs at once, each with its own status (127: a command that does
#     not exist), output and no crosstalk; their stdin a pipe to `sort`
#     (ended by its EOF), /dev/null, and an endless `yes` the command never
#     reads;
#  4. a kernel panic returns 125 with a line saying so;
#  5. SIGINT to a run in progress returns 130.
# After all of them: nothing left in TMPDIR, no shmvm-fsd left running.
# Needs /dev/kvm.
set -u
shmvm=$1
here=$(dirname "$0")
. "$here/../need-kvm.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() { echo "ok: $*"; }
# Every run gets an empty TMPDIR of its own, checked empty afterwards.
export TMPDIR="$tmp/tmpdir"
mkdir -p "$TMPDIR" "$tmp/rw" "$tmp/ro"
cd "$tmp" || exit 1

secs() { date +%s.%N; }
took() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- 1: one boot, many checks inside ----
head -c 64M /dev/urandom >"$tmp/in1"
t0=$(secs)
"$shmvm" run --log "$tmp/log1" --rw "$tmp/rw" --env SHMVM_T=hello -- sh -c '
	echo "in: $(sha256sum | cut -c1-64)"
	echo "out: $(cat /etc/os-release | md5sum | cut -c1-32)"
	echo "err line" >&2
	echo "env: $SHMVM_T"
	echo "cwd: $(pwd)"
	echo written >rw/file
	echo local >ro/file && echo "ro: $(cat ro/file)"
	grep -q "^overlay / overlay " /proc/mounts && echo "root: overlay"
	seq 1 1000000 & seq 1000001 2000000 >&2
	wait
	exit 7' <"$tmp/in1" >"$tmp/out1" 2>"$tmp/err1"
rc=$?
t1=$(secs)
want_md5=$(md5sum </etc/os-release | cut -c1-32)
[ $rc -eq 7 ] && ok "exit status 7 ($(took "$t0" "$t1") s)" || fail "exit status $rc, not 7"
grep -qx "in: $(sha256sum <"$tmp/in1" | cut -c1-64)" "$tmp/out1" && ok "64 MiB of stdin arrive whole" ||
	fail "stdin: $(grep in: "$tmp/out1")"
grep -qx "out: $want_md5" "$tmp/out1" && ok "/etc/os-release matches the host's" ||
	fail "/etc/os-release differs: $(head -c 300 "$tmp/out1")"
[ "$(head -n 1 "$tmp/err1")" = "err line" ] && ok "stderr apart from stdout" ||
	fail "stderr: '$(head -c 300 "$tmp/err1")'"
grep -q "err line" "$tmp/out1" && fail "stderr leaked into stdout"
# Written at once from two processes: each stream whole and in order, nothing of the other.
[ "$(grep -x '[0-9]*' "$tmp/out1" | md5sum)" = "$(seq 1 1000000 | md5sum)" ] &&
	[ "$(tail -n +2 "$tmp/err1" | md5sum)" = "$(seq 1000001 2000000 | md5sum)" ] &&
	ok "$(wc -c <"$tmp/out1") and $(wc -c <"$tmp/err1") bytes on stdout and stderr at once, byte for byte" ||
	fail "stdout/stderr mixed or lost: $(wc -l <"$tmp/out1") and $(wc -l <"$tmp/err1") lines"
grep -qx "env: hello" "$tmp/out1" && ok "--env" || fail "--env not passed"
grep -qx "cwd: $tmp" "$tmp/out1" && ok "runs in the caller's directory" || fail "cwd: $(grep cwd: "$tmp/out1")"
[ "$(cat "$tmp/rw/file" 2>/dev/null)" = written ] && ok "--rw directory written through" ||
	fail "the host does not see the guest's write in --rw"
grep -qx "ro: local" "$tmp/out1" && [ ! -e "$tmp/ro/file" ] && ok "writes elsewhere stay in the guest" ||
	fail "write outside --rw: guest '$(grep ro: "$tmp/out1")', host has file: $([ -e "$tmp/ro/file" ] && echo yes || echo no)"
grep -qx "root: overlay" "$tmp/out1" && ok "root is an overlay" || fail "root mounts: $(cat "$tmp/out1")"
grep -q "Linux version" "$tmp/log1" && ok "--log has the kernel's messages" || fail "--log is empty"
# The lower layer's mount is outside the new root; the kernel says it found the DAX window.
grep -q "virtiofs.*Cache len" "$tmp/log1" && ok "the root share has a DAX window" ||
	fail "no DAX window in the kernel log"

# ---- 2: timeout ----
t0=$(secs)
"$shmvm" run --timeout 2 -- sleep 100 >"$tmp/out2" 2>"$tmp/err2"
rc=$?
t1=$(secs)
[ $rc -eq 124 ] && ok "--timeout 2 returned 124 after $(took "$t0" "$t1") s" || fail "--timeout: status $rc"
grep -q "timed out" "$tmp/err2" || fail "--timeout: no reason line: $(cat "$tmp/err2")"

# ---- 3: four at once ----
pids=
printf 'b\na\n' | "$shmvm" run -- sh -c "sort; echo run1; echo e1 >&2; exit 11" >"$tmp/p1.out" 2>"$tmp/p1.err" &
pids="$pids $!"
"$shmvm" run -- sh -c "cat; echo run2; echo e2 >&2; exit 12" </dev/null >"$tmp/p2.out" 2>"$tmp/p2.err" &
pids="$pids $!"
# Its stdin never read, and never at its end: the command's end is the run's.
yes | "$shmvm" run -- sh -c "echo run3; echo e3 >&2; exit 13" >"$tmp/p3.out" 2>"$tmp/p3.err" &
pids="$pids $!"
"$shmvm" run -- no-such-command-shmvm >"$tmp/p4.out" 2>"$tmp/p4.err" &
pids="$pids $!"
i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p"
	rc=$?
	want=run$i
	[ $i -eq 1 ] && want=$(printf 'a\nb\nrun1')
	if [ $i -le 3 ]; then
		[ $rc -eq $((10 + i)) ] && [ "$(cat "$tmp/p$i.out")" = "$want" ] && [ "$(cat "$tmp/p$i.err")" = "e$i" ] &&
			ok "parallel run $i" || fail "parallel run $i: status $rc, out '$(cat "$tmp/p$i.out")', err '$(cat "$tmp/p$i.err")'"
	else
		[ $rc -eq 127 ] && grep -q "no-such-command-shmvm" "$tmp/p4.err" && ok "parallel run 4: command not found is 127" ||
			fail "parallel run 4: status $rc, err '$(cat "$tmp/p4.err")'"
	fi
done

# ---- 4: kernel panic ----
"$shmvm" run --append "rdinit=/no-such-init root=/dev/nothing" -- true >"$tmp/out4" 2>"$tmp/err4"
rc=$?
[ $rc -eq 125 ] && grep -q "panic" "$tmp/err4" && ok "kernel panic: 125, '$(cat "$tmp/err4")'" ||
	fail "kernel panic: status $rc, '$(cat "$tmp/err4")'"

# ---- 5: SIGINT in the middle ----
"$shmvm" run -- sh -c 'echo started; sleep 100' >"$tmp/out5" 2>"$tmp/err5" &
p=$!
n=0
while kill -0 $p 2>/dev/null && ! grep -q started "$tmp/out5" && [ $n -lt 600 ]; do
	sleep 0.5
	n=$((n + 1))
done
kill -INT $p
wait $p
rc=$?
[ $rc -eq 130 ] && ok "SIGINT: 130" || fail "SIGINT: status $rc, '$(cat "$tmp/err5")'"

# ---- nothing left behind ----
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && ok "TMPDIR empty" || fail "left in TMPDIR: $left"
servers=$(for c in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$c" 2>/dev/null; echo; done | grep "shmvm-fs[d] --socket-fd")
[ -z "$servers" ] && ok "no shmvm-fsd left" || fail "shmvm-fsd still running: $servers"
[ $fails -eq 0 ] && echo "PASS: shmvm run" || echo "FAIL: $fails checks"
exit $((fails != 0))
