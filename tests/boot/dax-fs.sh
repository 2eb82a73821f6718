#!/bin/sh
# dax-fs.sh SHMVM GUESTDIR FSD STRATEGY: virtio-fs DAX end to end. Debian's
# kernel mounts shmvm-fsd's directory with -o dax=always through shmvm's
# shared-memory window (--shm-strategy STRATEGY) and, in one boot:
#  - passes the virtio-fs checks of every frontend/backend pair (fs-checks.sh);
#  - holds a file mapped while the host finds its mappings, by inode, on the
#    control socket;
#  - reads 128 MiB of files twice in random order through a 16 MiB window
#    (the guest must recycle mappings), every checksum right, never more
#    mappings than the window holds;
#  - writes a file from a buffer that is another file's DAX mapping (the
#    backend must reach the window), checksummed here;
#  - touches a page past the end of a file the host truncated under its
#    mapping: the VM keeps running; and of a file it had mapped but not read,
#    whose DAX range is set up after the cut with the size the guest saw
#    before it (the race that made this test hang under load: the range is
#    past the file's end from the start, and no change of the file follows);
#  - unmounts: no mapping is left;
#  - loses shmvm-fsd in the middle of reading: the mappings go, the VM lives.
# The window is 16 MiB: for slot, shmvm-fsd asks for it (--dax-window); for
# window, shmvm's shm=0:16M overrides shmvm-fsd's default 1 GiB. Needs /dev/kvm.
set -u
shmvm=$1 guest=$2 fsd=$3 strategy=$4
here=$(dirname "$0")
aq=${API_QUERY:?set by meson to tests/api-query in the build}
. "$here/../need-kvm.sh"
tmp=$(mktemp -d)
fpid= spid=
trap '[ -n "$fpid" ] && kill -9 "$fpid" 2>/dev/null; [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$here/fs-checks.sh"
share=$tmp/share out=$tmp/out sock=$tmp/api.sock
fs_prepare "$share"
head -c $((6 << 20)) /dev/urandom >"$share/big.bin"
for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15; do
	head -c $((8 << 20)) /dev/urandom >"$share/r$i"
done
head -c $((2 << 20)) /dev/urandom >"$share/trunc.bin"
head -c 4096 "$share/trunc.bin" >"$tmp/trunc.head"
cp "$share/trunc.bin" "$share/trunc-cold.bin"
big_md5=$(md5sum "$share/big.bin" | cut -d' ' -f1)
big_ino=$(stat -c %i "$share/big.bin")
window_maps=8 # 16 MiB of 2 MiB ranges

fail() {
	{
		echo "FAIL ($strategy): $*"
		tail -n 40 "$out" | sed 's/^/  | /'
		tail -n 30 "$tmp/err" | sed 's/^/  ! /'
		tail -n 10 "$tmp/fsd.log" | sed 's/^/  v /'
	} >&2
	exit 1
}
guest_fail=SHMVM-DAX-FAIL
. "$here/guest-wait.sh"
# q PATH: the number at PATH in the control socket's regions reply for the device (api-query).
q() { "$aq" "$sock" regions "devices.0.$1"; }
live() { q 'regions.*.mappings.#'; }
# wait_live N SECONDS: until the window holds N mappings.
wait_live() {
	end=$(($(date +%s) + $2))
	while [ "$(live)" != "$1" ]; do
		[ "$(date +%s)" -lt $end ] || fail "still $(live) mappings after $2 s, expected $1"
		sleep 0.5
	done
}

fsd_args= shm=
case $strategy in
slot) fsd_args="--dax-window 16M" ;;
window) shm=",shm=0:16M" ;;
esac
# shellcheck disable=SC2086
"$fsd" --socket "$tmp/fs.sock" --shared-dir "$share" --tag shmvm $fsd_args >"$tmp/fsd.log" 2>&1 &
fpid=$!
fs_edit_when_asked "$out" "$share"
timeout 900 "$shmvm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.img" --memory 512M \
	--fs "socket=$tmp/fs.sock,tag=shmvm$shm" --shm-strategy "$strategy" --api-socket "$sock" \
	--serial "file:$out" \
	--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=fsops,dax shmvm.fsopts=dax=always" \
	</dev/null >/dev/null 2>"$tmp/err" &
spid=$!

# 0. The virtio-fs checks under DAX.
wait_for '^SHMVM-DAX-MOUNTED' 600
fs_verify "$out" "$share"
[ -z "$fs_why" ] || fail "fsops with DAX: $fs_why"
[ "$(q window.size)" = $((16 << 20)) ] || fail "the window is not 16 MiB: $("$aq" "$sock" regions)"
echo "ok   the virtio-fs checks pass with -o dax=always"

# 1. Live mappings of the held file, with its inode.
wait_for '^SHMVM-DAX-HOLD' 300
line=$(grep -m1 '^SHMVM-DAX-HOLD' "$out")
[ "${line#*ino=}" != "$line" ] && [ "$(echo "$line" | sed 's/.*ino=\([0-9]*\).*/\1/')" = "$big_ino" ] ||
	fail "the guest holds inode '$line', the host file is $big_ino"
n=$("$aq" "$sock" regions | python3 -c "import json, sys
d = json.load(sys.stdin)['devices'][0]
print(sum(1 for r in d['regions'] for m in r['mappings'] if m['ino'] == $big_ino))")
[ "$n" -ge 1 ] || fail "the control socket shows no mapping of inode $big_ino: $("$aq" "$sock" regions)"
echo "ok   $n live mappings of big.bin (inode $big_ino) while the guest holds it"
touch "$share/flag-hold"

# 2. Reclaim: sample the mapping count while the guest reads 256 MiB through 8 ranges.
max=0
while ! grep -q '^SHMVM-DAX-ODIRECT\|SHMVM-DAX-FAIL' "$out"; do
	kill -0 "$spid" 2>/dev/null || fail "shmvm exited during the reads"
	n=$(live)
	[ "$n" -gt "$max" ] && max=$n
	sleep 0.2
done
[ "$max" -le $window_maps ] || fail "$max live mappings in a window of $window_maps"
wrong=0
for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15; do
	want=$(md5sum "$share/r$i" | cut -d' ' -f1)
	for round in 1 2; do
		grep -q "^SHMVM-DAX-MD5 $round r$i $want" "$out" || wrong=$((wrong + 1))
	done
done
[ $wrong -eq 0 ] || fail "$wrong of 32 reads through the recycled window have the wrong checksum"
grep -q "^SHMVM-DAX-BIG $big_md5" "$out" || fail "big.bin read wrong: $(grep SHMVM-DAX-BIG "$out")"
maps=$(q counters.maps)
[ "$maps" -gt $((2 * 128 / 2)) ] || fail "only $maps maps for 256 MiB of reads: the window was not recycled"
echo "ok   32 checksummed reads of 8 MiB files through a $window_maps-range window: $maps maps, at most $max live"

# 3. A write from a buffer in the window.
wait_for '^SHMVM-DAX-ODIRECT' 300
got=$(md5sum "$share/odirect.out" 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$big_md5" ] || fail "odirect.out has checksum '$got', big.bin $big_md5"
echo "ok   a file written from another file's DAX mapping is right on the host"

# 4. Truncation under a live mapping.
wait_for '^SHMVM-DAX-TRUNC-READY' 300
truncate -s 4096 "$share/trunc.bin"
touch "$share/flag-trunc"
wait_for '^SHMVM-DAX-ALIVE' 300
grep -q '^SHMVM-DAX-TRUNC-READ 00' "$out" || fail "past the new end the guest read $(grep TRUNC-READ "$out"), not zeros"
[ "$(stat -c %s "$share/trunc.bin")" = 4096 ] || fail "trunc.bin grew to $(stat -c %s "$share/trunc.bin") bytes"
cmp -s "$tmp/trunc.head" "$share/trunc.bin" || fail "trunc.bin's remaining page changed"
eof=$(q counters.eof_pages)
[ "$eof" -ge 1 ] || fail "no eof_pages counted"
echo "ok   a page past a host truncation: the VM goes on ($eof pages zeroed), the file is untouched"

# 4b. Truncation before the guest's first access: its mapping is past the end when made.
wait_for '^SHMVM-DAX-TRUNC-COLD-READY' 300
held=$(q counters.eof_held)
truncate -s 4096 "$share/trunc-cold.bin"
touch "$share/flag-trunc-cold"
wait_for '^SHMVM-DAX-ALIVE-COLD' 300
grep -q '^SHMVM-DAX-TRUNC-COLD-READ 00' "$out" ||
	fail "past the new end the guest read $(grep TRUNC-COLD-READ "$out"), not zeros"
cmp -s "$tmp/trunc.head" "$share/trunc-cold.bin" || fail "trunc-cold.bin changed"
[ "$(q counters.eof_held)" -gt "$held" ] || fail "the mapping made past the file's end held nothing"
[ "$(q counters.eof_pages)" -gt "$eof" ] || fail "no page of the cold mapping was zeroed"
echo "ok   a range mapped after a host truncation: held from the map, zeros on access, the VM goes on"

# 5. Unmount.
wait_for '^SHMVM-DAX-UNMOUNTED' 300
wait_live 0 60
touch "$share/flag-unmounted"
echo "ok   unmounting leaves no mapping"

# 6. shmvm-fsd dies mid-read.
wait_for '^SHMVM-DAX-READING' 300
sleep 2
kill -9 "$fpid"
fpid=
wait_live 0 60
beat=$(grep -c '^SHMVM-HEARTBEAT' "$out")
wait_for "^SHMVM-HEARTBEAT $((beat + 3))\\b" 120
"$aq" "$sock" status | grep -q '"state":"running"' || fail "the VM is not running: $("$aq" "$sock" status)"
"$aq" "$sock" shutdown >/dev/null || fail "the control socket refused shutdown"
wait "$spid"
status=$?
spid=
[ $status -eq 0 ] || fail "shmvm exit status $status after shutdown"
grep -q 'disconnected\|closed its backend channel\|needs a reset' "$tmp/err" ||
	fail "shmvm did not log the backend's end"
echo "ok   shmvm-fsd killed mid-read: mappings dropped, the guest kept its heartbeat, clean shutdown"
echo "ok   DAX end to end ($strategy strategy)"
