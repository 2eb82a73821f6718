#!/bin/sh
# fsd-escape.sh SHMVM GUESTDIR FSD: shmvm-fsd's confinement against a root
# guest. Debian's kernel mounts shmvm-fsd's share read-write and, as root
# (tests/guest/steps/escape), tries to leave it: ".." traversals, symlinks
# out made by the host and by itself (absolute, relative, deep), writes
# through them, rename and hard link out of the mount, name_to_handle_at /
# open_by_handle_at with its own and forged handles, and a loop on paths
# the host meanwhile swaps with symlinks to a directory and a file outside.
# Then, on the host: every attempt ended in the share or in the guest's own
# files, nothing beside the share changed (names, types, modes, owners,
# sizes, m/ctimes, link targets, contents), and the secret placed there
# never appeared on the guest's console. Needs /dev/kvm.
set -u
shmvm=$1 guest=$2 fsd=$3
here=$(dirname "$0")
. "$here/../need-kvm.sh"
tmp=$(mktemp -d)
fpid= spid= rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null; [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null;
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null; rm -rf "$tmp"' EXIT
top=$tmp/top share=$tmp/top/share out=$tmp/out
token=SHMVM-SECRET-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# Beside the share: the sentinel, with the secret.
mkdir -p "$share/sub" "$share/race" "$top/outside/dir"
echo "$token" >"$top/secret.txt"
echo "$token" >"$top/outside/secret.txt"
echo "$token" >"$top/outside/dir/deep.txt"
ln -s secret.txt "$top/outside/link"
# In the share: symlinks out, files to rename and link, the race's two pairs.
ln -s "$top/outside/secret.txt" "$share/host-abs"
ln -s ../outside/secret.txt "$share/host-rel"
ln -s "$top/outside" "$share/host-dir"
ln -s .. "$share/host-dotdot"
ln -s ../secret.txt "$share/host-parent"
echo victim >"$share/victim"
echo victim2 >"$share/victim2"
echo handle-me >"$share/handle-me"
echo INSIDE-SUB >"$share/sub/secret.txt"
echo INSIDE-RACE >"$share/race/secret.txt"
echo INSIDE-RACEF >"$share/racef"
ln -s "$top/outside" "$share/race.swap"
ln -s "$top/outside/secret.txt" "$share/racef.swap"
inos=$(stat -c %i "$top/secret.txt" "$top/outside/secret.txt" "$top/outside/dir/deep.txt" "$top/outside" "$top" | paste -sd,)

# Everything under top/ but the share, in a stable order, with contents.
snapshot() {
	(
		cd "$top" || exit 1
		find . -path ./share -prune -o -printf '%p %y %m %U:%G %n %s %T@ %C@ %l\n' | LC_ALL=C sort
		find . -path ./share -prune -o -type f -print | LC_ALL=C sort | xargs md5sum
	)
}
snapshot >"$tmp/before"

fail() {
	{
		echo "FAIL: $*"
		tail -n 40 "$out" | sed 's/^/  | /'
		tail -n 20 "$tmp/err" | sed 's/^/  ! /'
		tail -n 10 "$tmp/fsd.log" | sed 's/^/  v /'
	} >&2
	exit 1
}
guest_fail=SHMVM-ESC-FAIL
. "$here/guest-wait.sh"

"$fsd" --socket "$tmp/fs.sock" --shared-dir "$share" --tag shmvm >"$tmp/fsd.log" 2>&1 &
fpid=$!
i=0
while ! [ -S "$tmp/fs.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
timeout 900 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 256M \
	--fs "socket=$tmp/fs.sock,tag=shmvm" --serial "file:$out" \
	--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=escape shmvm.escdir=$top shmvm.escino=$inos" \
	</dev/null >/dev/null 2>"$tmp/err" &
spid=$!

# The race: swap race/ with a symlink to outside/, racef with one to outside/secret.txt.
wait_for '^SHMVM-ESC-RACE-START' 600
python3 - "$share" "$tmp/flips" <<'EOF' &
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
s = sys.argv[1].encode()
pairs = [(s + b"/race", s + b"/race.swap"), (s + b"/racef", s + b"/racef.swap")]
flips = 0
def done(*_):
    open(sys.argv[2], "w").write("%d\n" % flips)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    for a, b in pairs:
        if libc.renameat2(-100, a, -100, b, 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
            sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    flips += 1
    if flips == 1:
        open(s + b"/flag-racing", "w").close()  # the guest starts now
    time.sleep(0.002)
EOF
rpid=$!
wait_for '^SHMVM-ESC-RACE-END' 300
kill "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null
rpid=
flips=$(cat "$tmp/flips" 2>/dev/null)
[ "${flips:-0}" -gt 0 ] || fail "the host's swapper did not run"
wait_for '^SHMVM-ESC-DONE' 300
wait "$spid"
status=$?
spid=
[ $status -eq 0 ] || fail "shmvm exit status $status"
grep -q '^SHMVM-GUEST-OK' "$out" || fail "no SHMVM-GUEST-OK"

# expect NAME RESULT WHY: the guest's line for NAME is exactly RESULT.
bad=0
expect() {
	got=$(sed -n "s/^SHMVM-ESC $1 //p" "$out" | tr -d '\r' | head -n 1)
	if [ "$got" != "$2" ]; then
		echo "FAIL: $1 ($3): got '$got', want '$2'" >&2
		bad=$((bad + 1))
	fi
}
expect dotdot "rc=0 out=GUEST-OWN-PARENT" "'..' of the mount is the guest's /"
expect dotdot-sub "rc=0 out=GUEST-OWN-PARENT" "sub/../.. likewise"
expect dotdot-many "rc=0 out=GUEST-OWN-PARENT" "more '..' stop at the guest's /"
expect dotdot-outside "rc=0 out=GUEST-OWN-REL" "../outside is the guest's"
expect host-abs "rc=0 out=GUEST-OWN-ABS" "an absolute symlink resolves in the guest"
expect host-rel "rc=0 out=GUEST-OWN-REL" "a relative symlink out leaves the mount in the guest"
expect host-dir "rc=0 out=GUEST-OWN-ABS" "a symlink to a directory outside"
expect host-dotdot "rc=0 out=GUEST-OWN-PARENT" "a symlink to .."
expect host-parent "rc=0 out=GUEST-OWN-PARENT" "a symlink to ../secret.txt"
expect host-readlink "rc=0 out=$top/outside/secret.txt" "readlink gives the text"
expect g-abs "rc=0 out=GUEST-OWN-ABS" "the guest's absolute symlink"
expect g-rel "rc=0 out=GUEST-OWN-REL" "the guest's relative symlink"
expect g-top "rc=0 out=GUEST-OWN-TOP" "the guest's symlink to the share's parent"
expect g-deep "rc=0 out=GUEST-OWN-ABS" "the guest's symlink with many '..'"
expect mknod-zero "rc=0 out=00000000" "a device node made in the share is the guest's"
expect guest-abs-now "rc=0 out=PWNED" "writes through symlinks landed in the guest's files"
for w in write-abs append-host-abs create-host-dir create-g-top touch-host-dir chmod-host-abs truncate-host-rel rm-host-dir mkdir-host-dir; do
	expect "$w" "rc=0 out=" "a write through a symlink, to the guest's own file"
done
for x in rename-out link-out rename-up rename-via-link link-via-link rename-in link-in; do
	expect "$x" "rc=0 out=EXDEV" "out of (or into) the mount"
done
expect rename-over-link "rc=0 out=ok" "rename over a symlink in the share"
expect link-a-link "rc=0 out=ok" "hard link of a symlink in the share"
[ $bad -eq 0 ] || fail "$bad attempts did not end as they should"
echo "ok   '..', symlinks out (host's and guest's, absolute, relative, deep) and writes through them stay in the guest"

# Handles: the share's own works (or is stale once forgotten); forged ones reach nothing outside.
line=$(grep -m1 '^SHMVM-ESC-HANDLES ' "$out" | tr -d '\r')
case $line in
*" own=ok after-drop="ok* | *" own=ok after-drop=ESTALE"*) ;;
*) fail "open_by_handle_at of the share's own file: '$line'" ;;
esac
[ "$(grep -c '^SHMVM-ESC-HANDLE-HIT host-ino' "$out")" = 0 ] ||
	fail "a handle made of a host inode number opened: $(grep -m1 '^SHMVM-ESC-HANDLE-HIT host-ino' "$out")"
echo "ok   open_by_handle_at: ${line#SHMVM-ESC-HANDLES }"

# The race: only the share's files and the guest's own were ever read.
line=$(grep -m1 '^SHMVM-ESC-RACE ' "$out" | tr -d '\r')
[ -n "$line" ] || fail "no race summary"
other=$(echo "$line" | sed -n 's/.* other=\([0-9]*\).*/\1/p')
inside=$(echo "$line" | sed -n 's/.* inside=\([0-9]*\).*/\1/p')
guest_reads=$(echo "$line" | sed -n 's/.* guest=\([0-9]*\).*/\1/p')
[ "$other" = 0 ] || fail "the race read something else: $(grep '^SHMVM-ESC-RACE-OTHER' "$out" | head -n 3)"
[ "${inside:-0}" -gt 0 ] && [ "${guest_reads:-0}" -gt 0 ] ||
	fail "the race did not see both sides: $line"
echo "ok   $flips host-side swaps of race/ and racef with symlinks out under a looping guest: ${line#SHMVM-ESC-RACE }"

# On the host: the guest's symlinks are text, the renames and links stayed inside.
[ "$(readlink "$share/g-abs")" = "$top/outside/secret.txt" ] || fail "g-abs is '$(readlink "$share/g-abs")'"
[ "$(readlink "$share/g-rel")" = ../outside/secret.txt ] || fail "g-rel is '$(readlink "$share/g-rel")'"
[ "$(cat "$share/victim")" = victim ] || fail "victim left the share"
[ "$(cat "$share/host-parent")" = victim2 ] && ! [ -L "$share/host-parent" ] ||
	fail "the rename over host-parent did not replace the link"
[ "$(readlink "$share/hl")" = ../outside/secret.txt ] || fail "hl is not a link to the link's text"
[ -c "$share/zero" ] || fail "the guest's device node is not in the share"
! [ -e "$share/outsider" ] || fail "a rename or link from outside the mount arrived"

# Nothing beside the share changed, and the secret never reached the guest.
snapshot >"$tmp/after"
if ! cmp -s "$tmp/before" "$tmp/after"; then
	diff "$tmp/before" "$tmp/after" | head -n 20 >&2
	fail "the tree beside the share changed"
fi
grep -q "${token#SHMVM-SECRET-}" "$out" && fail "the guest printed the secret: $(grep -m1 "${token#SHMVM-SECRET-}" "$out")"
echo "ok   nothing beside the share changed; the secret never reached the guest"
