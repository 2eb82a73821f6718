#!/bin/sh
# run.sh SHMVM GUEST_DIR: `shmvm run` end to end with Debian's kernel (the
# guest tools/mkguest built in GUEST_DIR, beside SHMVM's build). In ten boots:
#  1. one command that checks the guest side: the host's /etc/os-release
#     through DAX, stdout and stderr apart, --env, a --rw directory the host
#     sees written, a write elsewhere that stays in the guest, the caller's
#     directory, 64 MiB of stdin through sha256sum, then megabytes on stdout
#     and stderr at once, each byte for byte; exit status 7;
#  2. --timeout 2 -- sleep 100 returns 124;
#  3. four runs at once, each with its own status (127: a command that does
#     not exist), output and no crosstalk, each from its own directory: one
#     under /tmp, one under /run (which the guest's fresh /run covers), and
#     one as an ordinary user (a throwaway one the test makes) in a --rw
#     directory of its own under /run, whose new file is the user's; their
#     stdin a pipe to `sort` (ended by its EOF), /dev/null, and an endless
#     `yes` the command never reads;
#  4. a kernel panic returns 125 with a line saying so;
#  5. SIGINT to a run in progress returns 130;
#  6. --kernel a build tree (ktree-fixture.sh: Debian's kernel laid out as
#     one): the guest loaded the root's modules from it, exit status 3;
#  7. `shmvm run -- yes | head -n 2`: yes gets SIGPIPE in the guest (141).
# After all of them: nothing left in TMPDIR, no shmvm-fsd left running.
# Needs /dev/kvm.
set -u
shmvm=$1
guest=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need-kvm.sh"
tmp=$(mktemp -d)
dirs=$tmp
user= kvm_restore=
cleanup() {
	rm -rf $dirs
	[ -z "$user" ] || userdel "$user" || echo "FAIL: userdel $user"
	[ -z "$kvm_restore" ] || eval "$kvm_restore"
}
trap cleanup EXIT
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

# ---- 3: four at once, from different directories ----
# make_user: a throwaway user ($uid, $gid) with /dev/kvm, or why not in $no_user.
no_user=
make_user() {
	[ "$(id -u)" -eq 0 ] || { no_user="not root: cannot make or become another user"; return; }
	command -v setpriv >/dev/null || { no_user="no setpriv (util-linux)"; return; }
	user=shmvm-run-$$
	if useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "$user" 2>"$tmp/useradd.err"; then
		uid=$(id -u "$user") gid=$(id -g "$user")
	else
		# The nested guest's /etc is read-only: a uid with no name is no less ordinary.
		user=
		uid=61000
		while getent passwd $uid >/dev/null || getent group $uid >/dev/null; do uid=$((uid + 1)); done
		gid=$uid
		echo "note: useradd failed ($(head -n 1 "$tmp/useradd.err")); running as uid $uid, which has no name"
	fi
	# /dev/kvm as a KVM user has it: through a group (udev makes it root:kvm 0660); where
	# it is root's alone (the nested guest's devtmpfs), the user's group's until the end.
	kvm_gid=$(stat -c %g /dev/kvm)
	case $kvm_gid:$(stat -c %A /dev/kvm) in
	0:* | *:????-????? | *:?????-????)
		kvm_restore="chown $(stat -c %u:%g /dev/kvm) /dev/kvm; chmod $(stat -c %a /dev/kvm) /dev/kvm"
		kvm_gid=$gid
		chgrp "$gid" /dev/kvm && chmod g+rw /dev/kvm || no_user="cannot give /dev/kvm to group $gid"
		;;
	esac
}
make_user
d1=$(mktemp -d /tmp/shmvm-run.XXXXXX) && dirs="$dirs $d1"
d2=$(mktemp -d /run/shmvm-run.XXXXXX) && dirs="$dirs $d2" || d2=
if [ -z "$no_user" ]; then
	# The user's own copies: shmvm-fsd beside shmvm, the kernel, the modules the root needs.
	u=$(mktemp -d /run/shmvm-run-user.XXXXXX) && dirs="$dirs $u"
	mkdir -p "$u/modules" "$u/rw" "$u/out"
	cp "$shmvm" "$(dirname "$shmvm")/../tools/fsd/shmvm-fsd" "$u/" && cp -L "$guest/vmlinuz" "$u/" &&
		cp "$guest/modules/modules.dep" "$guest/modules/modules.builtin" "$u/modules/" ||
		fail "cannot copy shmvm, shmvm-fsd and the kernel to $u"
	for m in virtio_pci virtiofs overlay virtio_console; do
		for f in $(grep -E "/$m\.ko(\.[a-z]+)?:" "$guest/modules/modules.dep" | tr -d :); do
			mkdir -p "$u/modules/$(dirname "$f")" && cp "$guest/modules/$f" "$u/modules/$f"
		done
	done
	chmod -R a+rX "$u" && chown "$uid:$gid" "$u/rw" "$u/out" && echo d3 >"$u/rw/here"
fi
# Run 1's stdin is a pipe that `sort` reads to its end; run 2's is /dev/null.
for i in 1 2; do
	d=$(eval echo "\$d$i")
	[ -n "$d" ] || continue
	echo "d$i" >"$d/here"
	if [ $i -eq 1 ]; then
		printf 'b\na\n' | (cd "$d" && exec "$shmvm" run -- sh -c "sort; echo run1; cat here; pwd; echo e1 >&2; exit 11") \
			>"$tmp/p1.out" 2>"$tmp/p1.err" &
	else
		(cd "$d" && exec "$shmvm" run -- sh -c "cat; echo run2; cat here; pwd; echo e2 >&2; exit 12") \
			</dev/null >"$tmp/p2.out" 2>"$tmp/p2.err" &
	fi
	eval "pid$i=$!"
done
if [ -z "$no_user" ]; then
	# Its stdin never read, and never at its end: the command's end is the run's.
	yes | (cd "$u/rw" && exec setpriv --reuid="$uid" --regid="$gid" --groups="$kvm_gid" --inh-caps=-all \
		env -u SHMVM_FSD -u SHMVM_KERNEL -u SHMVM_MODULES "$u/shmvm" run --kernel "$u/vmlinuz" \
		--modules "$u/modules" --log "$u/out/log" --rw "$u/rw" -- \
		sh -c 'echo run3; cat here; pwd; id -u; echo x >f; stat -c %u f; echo e3 >&2; exit 13') \
		>"$tmp/p3.out" 2>"$tmp/p3.err" &
	pid3=$!
fi
"$shmvm" run -- no-such-command-shmvm >"$tmp/p4.out" 2>"$tmp/p4.err" &
pid4=$!
for i in 1 2 3; do
	case $i in
	1) where=$d1 ;;
	2) where=$d2; [ -n "$d2" ] || { echo "SKIP: parallel run 2: cannot make a directory under /run"; continue; } ;;
	3) where=$u/rw; [ -z "$no_user" ] || { echo "SKIP: parallel run 3 as an ordinary user: $no_user"; continue; } ;;
	esac
	wait "$(eval echo "\$pid$i")"
	rc=$?
	want=$(printf 'run%s\nd%s\n%s' $i $i "$where")
	[ $i -eq 1 ] && want=$(printf 'a\nb\n%s' "$want")
	[ $i -eq 3 ] && want=$(printf '%s\n0\n0' "$want")
	[ $rc -eq $((10 + i)) ] && [ "$(cat "$tmp/p$i.out")" = "$want" ] && [ "$(cat "$tmp/p$i.err")" = "e$i" ] &&
		ok "parallel run $i, in $where" || fail "parallel run $i in $where: status $rc, out '$(cat "$tmp/p$i.out")', err '$(cat "$tmp/p$i.err")'"
done
wait $pid4
rc=$?
[ $rc -eq 127 ] && grep -q "no-such-command-shmvm" "$tmp/p4.err" && ok "parallel run 4: command not found is 127" ||
	fail "parallel run 4: status $rc, err '$(cat "$tmp/p4.err")'"
if [ -z "$no_user" ]; then
	[ "$(stat -c %u:%g "$u/rw/f" 2>/dev/null)" = "$uid:$gid" ] && [ "$(cat "$u/rw/f")" = x ] &&
		ok "as uid $uid: the guest's new file is the user's on the host, root's in the guest" ||
		fail "as uid $uid: $u/rw/f is $(stat -c '%u:%g, %s bytes' "$u/rw/f" 2>&1)"
	grep -q "cannot drop capabilities" "$u/out/log" && fail "as uid $uid: $(grep -m1 "cannot drop" "$u/out/log")"
	left=$(pgrep -u "$uid")
	[ -z "$left" ] && ok "as uid $uid: nothing left running" || fail "as uid $uid: left running: $left"
fi

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
		for m in virtio_pci virtiofs fuse overlay virtio_console; do
			grep -q "^$m " /proc/modules && echo "loaded: $m"
		done
		echo "kernel: $(uname -r)"
		exit 3' >"$tmp/out6" 2>"$tmp/err6"
	rc=$?
	[ $rc -eq 3 ] && ok "--kernel DIR: exit status 3" || fail "--kernel DIR: status $rc, '$(cat "$tmp/err6")'"
	for m in virtio_pci virtiofs fuse overlay virtio_console; do
		grep -qx "loaded: $m" "$tmp/out6" && ok "--kernel DIR: $m loaded from the tree" ||
			fail "--kernel DIR: $m not in /proc/modules: $(cat "$tmp/out6")"
	done
	grep -qx "kernel: $(basename "$(readlink -f "$guest/modules")")" "$tmp/out6" &&
		ok "--kernel DIR: booted the tree's bzImage" || fail "--kernel DIR: $(grep kernel: "$tmp/out6")"
else
	fail "ktree-fixture.sh could not lay out a build tree"
fi

# ---- 7: a reader that goes away ----
# `yes` in the guest hears of `head` leaving as it would on the host: SIGPIPE.
("$shmvm" run -- yes; echo $? >"$tmp/yes.status") | head -n 2 >"$tmp/yes.out"
[ "$(cat "$tmp/yes.status")" = 141 ] && [ "$(cat "$tmp/yes.out")" = "$(printf 'y\ny')" ] &&
	ok "a command whose reader went away gets SIGPIPE (141)" ||
	fail "reader gone: status '$(cat "$tmp/yes.status")', output '$(head -c 100 "$tmp/yes.out")'"

# ---- nothing left behind ----
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && ok "TMPDIR empty" || fail "left in TMPDIR: $left"
servers=$(for c in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$c" 2>/dev/null; echo; done | grep "shmvm-fs[d] --socket-fd")
[ -z "$servers" ] && ok "no shmvm-fsd left" || fail "shmvm-fsd still running: $servers"
[ $fails -eq 0 ] && echo "PASS: shmvm run" || echo "FAIL: $fails checks"
exit $((fails != 0))
