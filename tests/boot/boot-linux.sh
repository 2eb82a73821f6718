#!/bin/sh
# boot-linux.sh SHMVM GUESTDIR: boot Debian's kernel (tools/mkguest output)
# under shmvm as bzImage and as PVH vmlinux, with 1 and 2 vCPUs, and check
# what the guest reports. Needs /dev/kvm (exit 77 without it).
set -u
shmvm=$1 guest=$2
. "$(dirname "$0")/../need-kvm.sh"
for f in vmlinuz vmlinux initramfs.img; do
	if ! [ -r "$guest/$f" ]; then
		echo "FAIL: $guest/$f missing (run tools/mkguest $guest)"
		exit 1
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
mem_mib=256

# check NAME KERNEL CPUS [EXTRA_CMDLINE]: boot and set $why to what is wrong ("" if nothing)
check() {
	name=$1 kernel=$2 cpus=$3 extra=${4:-}
	out=$tmp/$name.out
	timeout 180 "$shmvm" --kernel "$guest/$kernel" --initrd "$guest/initramfs.img" \
		--memory ${mem_mib}M --cpus "$cpus" --serial "file:$out" \
		--cmdline "console=ttyS0 quiet acpi=off reboot=k panic=-1 shmvm.steps=info,pci $extra" \
		</dev/null >"$tmp/$name.stdout" 2>"$tmp/$name.err"
	status=$?
	why=
	if [ $status -ne 0 ]; then
		why="exit status $status"
	elif grep -q 'Kernel panic' "$out"; then
		why="kernel panic"
	elif ! grep -qx 'SHMVM-GUEST-OK.\{0,1\}' "$out"; then
		why="no SHMVM-GUEST-OK marker"
	else
		info=$(grep -o 'SHMVM-INFO cpus=[0-9]* memtotal_kb=[0-9]*' "$out" | head -n 1)
		got_cpus=$(echo "$info" | sed -n 's/.*cpus=\([0-9]*\).*/\1/p')
		got_kb=$(echo "$info" | sed -n 's/.*memtotal_kb=\([0-9]*\).*/\1/p')
		want_kb=$((mem_mib * 1024))
		if [ "$got_cpus" != "$cpus" ]; then
			why="guest sees '$got_cpus' CPUs, expected $cpus"
		elif [ -z "$got_kb" ] || [ "$got_kb" -gt "$want_kb" ] ||
			[ "$got_kb" -lt $((want_kb * 3 / 4)) ]; then
			why="MemTotal '$got_kb' kB is not close to $want_kb kB"
		elif ! grep -q '^SHMVM-PCI 0000:00:00.0 .*class=0x0600' "$out"; then
			why="the PCI host bridge is not in /sys/bus/pci/devices"
		fi
	fi
}

# boot NAME KERNEL CPUS: the guest must boot and report correctly.
boot() {
	check "$@"
	if [ -n "$why" ]; then
		echo "FAIL $name: $why"
		tail -n 40 "$out" | sed 's/^/  | /'
		sed 's/^/  ! /' "$tmp/$name.err"
		fail=1
	else
		echo "ok   $name (cpus=$got_cpus memtotal_kb=$got_kb)"
	fi
}

boot bzimage-1cpu vmlinuz 1
boot bzimage-2cpu vmlinuz 2
boot pvh-1cpu vmlinux 1
boot pvh-2cpu vmlinux 2

# The checks can fail: a guest whose init is missing panics, and a guest
# whose step fails prints no marker; both must be caught.
check panic vmlinux 1 rdinit=/no-such-init
case $why in
"kernel panic") echo "ok   panic-detected" ;;
*) echo "FAIL panic-detected: verdict was '$why'"; fail=1 ;;
esac
check no-marker vmlinux 1 shmvm.steps=no-such-step
case $why in
"no SHMVM-GUEST-OK marker") echo "ok   missing-marker-detected" ;;
*) echo "FAIL missing-marker-detected: verdict was '$why'"; fail=1 ;;
esac

# A truncated kernel image is refused with a clear line and status 1.
head -c 200000 "$guest/vmlinuz" >"$tmp/truncated"
"$shmvm" --kernel "$tmp/truncated" --serial none </dev/null >/dev/null 2>"$tmp/trunc.err"
status=$?
if [ $status -ne 1 ] || ! grep -q truncated "$tmp/trunc.err"; then
	echo "FAIL truncated-bzimage: status $status, stderr: $(cat "$tmp/trunc.err")"
	fail=1
else
	echo "ok   truncated-bzimage ($(head -n 1 "$tmp/trunc.err"))"
fi
exit $fail
