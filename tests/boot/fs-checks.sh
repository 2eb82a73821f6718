# shellcheck shell=sh
# Host side of the guest's virtio-fs checks (tests/guest/steps/fsops), shared
# by the boot tests of every frontend/backend pair. Sourced.

# fs_prepare DIR: the shared directory's initial contents; sets fs_want_md5.
fs_prepare() {
	mkdir -p "$1"
	head -c 300000 /dev/urandom >"$1/data.bin"
	echo before >"$1/host-edit.txt"
	fs_want_md5=$(md5sum "$1/data.bin" | cut -d' ' -f1)
}

# fs_edit_when_asked OUT DIR: in the background, change a file once the guest says it waits.
fs_edit_when_asked() {
	(
		i=0
		while ! grep -q SHMVM-FSOPS-WAIT "$1" 2>/dev/null && [ $i -lt 6000 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo after-host-edit >"$2/host-edit.txt"
	) &
}

# fs_verify OUT DIR: sets fs_why to what is wrong, "" if all is right.
fs_verify() {
	out=$1 d=$2
	fs_why=
	got=$(sed -n 's/.*SHMVM-FSOPS-READ \([0-9a-f]*\).*/\1/p' "$out" | head -n 1)
	if ! grep -q '^SHMVM-FSOPS-DONE' "$out"; then
		fs_why="the guest's checks did not finish: $(grep -E 'FAIL|failed|No such|Permission' "$out" | head -n 3 | tr '\n' ' ')"
	elif [ "$got" != "$fs_want_md5" ]; then
		fs_why="guest read checksum '$got', host has $fs_want_md5"
	elif [ "$(cat "$d/f1-renamed" 2>/dev/null)" != "$(printf 'one\ntwo')" ] || [ -e "$d/f1" ]; then
		fs_why="create/append/rename of f1 not seen on the host"
	elif [ "$(cat "$d/f2" 2>/dev/null)" != "truncate" ]; then
		fs_why="truncate not seen on the host: '$(cat "$d/f2" 2>/dev/null)'"
	elif [ "$(cat "$d/d1-renamed/d2/f3" 2>/dev/null)" != "deep" ]; then
		fs_why="nested directories or their rename not seen on the host"
	elif [ -e "$d/gone" ] || [ -e "$d/del" ]; then
		fs_why="rmdir or unlink not seen on the host"
	elif [ "$(readlink "$d/link" 2>/dev/null)" != "f1-renamed" ]; then
		fs_why="symlink not seen on the host"
	elif [ "$(stat -c %i "$d/hard" 2>/dev/null)" != "$(stat -c %i "$d/f2")" ]; then
		fs_why="hard link not seen on the host"
	elif [ "$(cat "$d/mapped" 2>/dev/null)" != "AAAAMMAPAAAAAAAA" ]; then
		fs_why="a write through mmap + msync did not reach the host: '$(cat "$d/mapped" 2>/dev/null)'"
	elif ! grep -q '^SHMVM-FSOPS-STAT 8 regular file' "$out"; then
		fs_why="stat in the guest: $(grep SHMVM-FSOPS-STAT "$out")"
	elif ! grep -q '^SHMVM-FSOPS-DF ok' "$out"; then
		fs_why="df in the guest shows no blocks"
	elif ! grep -q '^SHMVM-FSOPS-HOSTEDIT after-host-edit' "$out"; then
		fs_why="the guest did not see the host's change: $(grep SHMVM-FSOPS-HOSTEDIT "$out")"
	fi
}
