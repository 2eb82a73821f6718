#!/bin/sh
# run.sh SHMVM GUEST_DIR: `shmvm run` end to end with Debian's kernel (the
# guest tools/mkguest built in GUEST_DIR, beside SHMVM's build). In nine boots:
#  1. one command that checks the guest side: the host's /etc/os-release
#     through DAX, stdout and stderr apart, --env, a --rw directory the host
#     sees written, a write elsewhere that stays in the guest, the caller's
#     directory, exit status 7;
#  2. --timeout 2 -- sleep 100 returns 124;
#  3. four runs at once, each with its own status (127: a command that does
#     not exist), output and no crosstalk;
#  4. a kernel panic returns 125 with a line saying so;
#  5. SIGINT to a run in progress returns 130;
#  6. --kernel a build tree (ktree-fixture.sh: Debian's kernel laid out as
#     one): the guest loaded the root's modules from it, exit status 3.
# After all of them: nothing left in TMPDIR, no shmvm-fsd left running.
# Needs /dev/kvm.
set -u
shmvm=$1
guest=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
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
t0=$(secs)
"$shmvm" run --log "$tmp/log1" --rw "$tmp/rw" --env SHMVM_T=hello -- sh -c '
	echo "out: $(cat /etc/os-release | md5sum | cut -c1-32)"
	echo "err line" >&2
	echo "env: $SHMVM_T"
	echo "cwd: $(pwd)"
	echo written >rw/file
	echo local >ro/file && echo "ro: $(cat ro/file)"
	grep -q "^overlay / overlay " /proc/mounts && echo "root: overlay"
	exit 7' >"$tmp/out1" 2>"$tmp/err1"
rc=$?
t1=$(secs)
want_md5=$(md5sum </etc/os-release | cut -c1-32)
[ $rc -eq 7 ] && ok "exit status 7 ($(took "$t0" "$t1") s)" || fail "exit status $rc, not 7"
grep -qx "out: $want_md5" "$tmp/out1" && ok "/etc/os-release matches the host's" ||
	fail "/etc/os-release differs: $(head -c 300 "$tmp/out1")"
[ "$(cat "$tmp/err1")" = "err line" ] && ok "stderr apart from stdout" ||
	fail "stderr: '$(head -c 300 "$tmp/err1")'"
grep -q "err line" "$tmp/out1" && fail "stderr leaked into stdout"
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
for i in 1 2 3; do
	"$shmvm" run -- sh -c "echo run$i; echo e$i >&2; exit $((10 + i))" >"$tmp/p$i.out" 2>"$tmp/p$i.err" &
	pids="$pids $!"
done
"$shmvm" run -- no-such-command-shmvm >"$tmp/p4.out" 2>"$tmp/p4.err" &
pids="$pids $!"
i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p"
	rc=$?
	if [ $i -le 3 ]; then
		[ $rc -eq $((10 + i)) ] && [ "$(cat "$tmp/p$i.out")" = "run$i" ] && [ "$(cat "$tmp/p$i.err")" = "e$i" ] &&
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

# ---- 6: --kernel a build tree ----
if sh "$here/ktree-fixture.sh" "$guest" "$tmp/linux"; then
	"$shmvm" run --kernel "$tmp/linux" -- sh -c '
		for m in virtio_pci virtiofs fuse overlay; do
			grep -q "^$m " /proc/modules && echo "loaded: $m"
		done
		echo "kernel: $(uname -r)"
		exit 3' >"$tmp/out6" 2>"$tmp/err6"
	rc=$?
	[ $rc -eq 3 ] && ok "--kernel DIR: exit status 3" || fail "--kernel DIR: status $rc, '$(cat "$tmp/err6")'"
	for m in virtio_pci virtiofs fuse overlay; do
		grep -qx "loaded: $m" "$tmp/out6" && ok "--kernel DIR: $m loaded from the tree" ||
			fail "--kernel DIR: $m not in /proc/modules: $(cat "$tmp/out6")"
	done
	grep -qx "kernel: $(basename "$(readlink -f "$guest/modules")")" "$tmp/out6" &&
		ok "--kernel DIR: booted the tree's bzImage" || fail "--kernel DIR: $(grep kernel: "$tmp/out6")"
else
	fail "ktree-fixture.sh could not lay out a build tree"
fi

# ---- nothing left behind ----
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && ok "TMPDIR empty" || fail "left in TMPDIR: $left"
servers=$(for c in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$c" 2>/dev/null; echo; done | grep "shmvm-fs[d] --socket-fd")
[ -z "$servers" ] && ok "no shmvm-fsd left" || fail "shmvm-fsd still running: $servers"
[ $fails -eq 0 ] && echo "PASS: shmvm run" || echo "FAIL: $fails checks"
exit $((fails != 0))
