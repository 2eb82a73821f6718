#!/bin/sh
# with-kvm.sh WITH-KVM: tools/with-kvm's choice between native and nested,
# against a faked machine (WITH_KVM_DEV, WITH_KVM_SYSMODULE, WITH_KVM_CPUINFO,
# WITH_KVM_PROBE): a kvm_pvm /dev/kvm is native for tiny guests and not for
# --linux or --avoid-pvm; its kvm_pvm check holds when kvm_intel could be
# serving /dev/kvm too; without QEMU, work that cannot run natively is a skip
# (77) whose last line names kvm_pvm and why. Needs no KVM and no QEMU: the
# faked native path only runs `true`-like commands.
set -u
wk=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
unset WITH_KVM_MODE

mkdir -p "$tmp/none" "$tmp/pvm/kvm_pvm" "$tmp/pvm-intel/kvm_pvm" "$tmp/pvm-intel/kvm_intel" \
	"$tmp/intel/kvm_intel"
echo "flags		: fpu vme de pse tsc msr pae hypervisor" >"$tmp/cpu-plain"
echo "flags		: fpu vme de pse tsc msr pae vmx ept" >"$tmp/cpu-vmx"

# fake DEV SYSMODULE CPUINFO PROBE: the machine the next with-kvm runs see.
fake() {
	WITH_KVM_DEV=$1 WITH_KVM_SYSMODULE=$tmp/$2 WITH_KVM_CPUINFO=$tmp/$3 WITH_KVM_PROBE=$4
	export WITH_KVM_DEV WITH_KVM_SYSMODULE WITH_KVM_CPUINFO WITH_KVM_PROBE
}

# expect NAME STATUS PATTERN with-kvm-args...: exit status and a line of its output.
expect() {
	name=$1 want=$2 pattern=$3
	shift 3
	"$wk" "$@" >"$tmp/out" 2>&1
	status=$?
	if [ "$status" -ne "$want" ]; then
		echo "FAIL $name: exit status $status, expected $want"
		sed 's/^/  | /' "$tmp/out"
		fail=1
	elif ! grep -q -e "$pattern" "$tmp/out"; then
		echo "FAIL $name: output lacks '$pattern'"
		sed 's/^/  | /' "$tmp/out"
		fail=1
	else
		echo "ok   $name: $(tail -n 1 "$tmp/out")"
	fi
}

# /dev/null is a character device: it stands for a /dev/kvm that exists.
fake "$tmp/no-such-kvm" none cpu-plain /bin/true
expect no-device 1 "no $tmp/no-such-kvm" --native-check
expect no-device-linux 1 "no $tmp/no-such-kvm" --native-check --linux

fake /dev/null intel cpu-vmx /bin/true
expect hardware 0 'native /dev/null is usable$' --native-check
expect hardware-linux 0 'native /dev/null is usable$' --native-check --linux
expect hardware-runs 0 'native /dev/null$' --linux true
expect hardware-status 3 'native /dev/null$' sh -c 'exit 3'

fake /dev/null intel cpu-vmx /bin/false
expect probe-fails 1 'the KVM probe (/bin/false) failed' --native-check

fake /dev/null pvm cpu-plain /bin/true
expect pvm 0 'usable, kvm_pvm (the module is there; the CPU has no vmx or svm): fine for this work' \
	--native-check
expect pvm-runs 0 'kvm_pvm' true
expect pvm-linux 1 'is kvm_pvm (.*), and kvm_pvm cannot boot a stock Linux kernel' --native-check --linux
expect pvm-linux-first 1 'kvm_pvm cannot boot a stock Linux kernel' --linux --native-check
expect pvm-avoid 1 'kvm_pvm loops on X' --native-check --avoid-pvm 'loops on X'
expect avoid-needs-reason 2 'needs a reason' --avoid-pvm

fake /dev/null pvm cpu-vmx /bin/true
expect pvm-vmx-linux 1 'is kvm_pvm (.*kvm_intel and kvm_amd are not), and kvm_pvm cannot boot' \
	--native-check --linux

# kvm_pvm and kvm_intel both there, vmx too: either could serve /dev/kvm; kvm_pvm is assumed.
fake /dev/null pvm-intel cpu-vmx /bin/true
expect pvm-intel-linux 1 'taken for kvm_pvm .*, and kvm_pvm cannot boot' --native-check --linux
expect pvm-intel 0 'taken for kvm_pvm .*: fine for this work' --native-check

# The nested path without QEMU: a skip whose last line says why.
mkdir -p "$tmp/bin"
for t in bash dirname grep cat sed tail; do
	p=$(command -v "$t") || { echo "FAIL: no $t"; exit 1; }
	ln -s "$p" "$tmp/bin/$t"
done
fake /dev/null pvm cpu-plain /bin/true
saved_path=$PATH
PATH=$tmp/bin
expect pvm-linux-no-qemu 77 'kvm_pvm cannot boot a stock Linux kernel; and no qemu-system-x86_64' \
	--linux true
PATH=$saved_path
if ! tail -n 1 "$tmp/out" | grep -q 'kvm_pvm cannot boot'; then
	echo "FAIL pvm-linux-no-qemu: the last line does not name kvm_pvm and why"
	fail=1
fi
export WITH_KVM_MODE=native
expect forced-native 0 'native /dev/null' --native-check --linux
exit $fail
