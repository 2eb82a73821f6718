# shellcheck shell=bash
# Shared by tools/demo and tools/check: install the Debian packages shmvm
# needs, only when something is missing (idempotent, no network if not).

SHMVM_PACKAGES=(
	build-essential meson ninja-build pkg-config
	check libcap-ng-dev libseccomp-dev libjson-c-dev
	clang libclang-rt-14-dev
	qemu-system-x86 qemu-utils
	busybox-static cpio xz-utils kmod
	gnuplot-nox
)

shmvm_install_deps() {
	local missing=() p
	for p in "${SHMVM_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo ">> installing: ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}
