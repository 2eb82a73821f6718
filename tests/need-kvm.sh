# shellcheck shell=sh
# Sourced by every test script that runs guests: without a usable /dev/kvm,
# skip loudly (exit 77) — such scripts run through tools/with-kvm.
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm here (run through tools/with-kvm)" >&2
	exit 77
fi
