#!/bin/sh
# fsd-options.sh FSD: shmvm-fsd's command line — help, and refusals that
# name the bad option and value (exit 1) before anything is served.
# (A socket that is not a connected unix stream one is refused by the same
# check: tests/unit/test_vhost_backend.c, adopt_refuses_bad_fds.)
set -u
fsd=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# expect STATUS PATTERN ARGS...: shmvm-fsd ARGS exits STATUS and prints PATTERN.
expect() {
	want=$1 pat=$2
	shift 2
	"$fsd" "$@" >"$tmp/out" 2>&1
	got=$?
	if [ $got -ne "$want" ] || ! grep -q -- "$pat" "$tmp/out"; then
		echo "FAIL: shmvm-fsd $*: exit $got (want $want), output: $(cat "$tmp/out")"
		fail=1
	else
		echo "ok   shmvm-fsd $*"
	fi
}
mkdir "$tmp/d"
expect 0 '--dax-window SIZE' --help
expect 0 'default 1G; 0: no DAX' --help
expect 1 "--dax-window: '3M' is not 0 or a multiple of 2M up to 32G" -s "$tmp/s" -d "$tmp/d" --dax-window 3M
expect 1 "--dax-window: '64G' is not 0 or a multiple of 2M up to 32G" -s "$tmp/s" -d "$tmp/d" --dax-window 64G
expect 1 "--dax-window: 'lots' is not 0" -s "$tmp/s" -d "$tmp/d" --dax-window lots
expect 1 "option '--dax-window' needs a value" -s "$tmp/s" -d "$tmp/d" --dax-window
expect 1 "--shared-dir $tmp/nope" -s "$tmp/s" -d "$tmp/nope"
expect 1 "unknown option '--bogus'" -s "$tmp/s" -d "$tmp/d" --bogus
expect 1 "are required" -d "$tmp/d"
# --socket-fd N: an inherited, connected unix stream socket, instead of --socket.
expect 0 '--socket-fd N' --help
expect 1 "--socket-fd: 'abc' is not a file descriptor number" --socket-fd abc -d "$tmp/d"
expect 1 "--socket-fd: '-1' is not a file descriptor number" --socket-fd -1 -d "$tmp/d"
expect 1 "--socket-fd 987: not an open file descriptor" --socket-fd 987 -d "$tmp/d"
: >"$tmp/file"
exec 7<"$tmp/file"
expect 1 "--socket-fd 7: not a socket" --socket-fd 7 -d "$tmp/d"
exec 7<&-
expect 1 "--socket and --socket-fd exclude each other" -s "$tmp/s" --socket-fd 7 -d "$tmp/d"
expect 1 "option '--socket-fd' needs a value" -d "$tmp/d" --socket-fd
[ -e "$tmp/s" ] && { echo "FAIL: a refused command line left a socket behind"; fail=1; }

# The open-file limit: raised from the usual 1024 to what the node and handle
# tables can use (65536 + 4096 + 1024), within the hard limit; past it only
# with CAP_SYS_RESOURCE, otherwise with a warning naming the limit.
want=70656
# limit_case SOFT:HARD WANT-SOFT: shmvm-fsd started with that limit runs with WANT-SOFT.
limit_case() {
	rm -f "$tmp/s"
	prlimit --nofile="$1" "$fsd" -s "$tmp/s" -d "$tmp/d" >"$tmp/out" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$tmp/s" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	got=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
	kill "$pid"
	wait "$pid" 2>/dev/null
	if [ "$got" != "$2" ]; then
		echo "FAIL: shmvm-fsd under --nofile=$1 runs with an open-file limit of '$got', not $2"
		fail=1
	else
		echo "ok   shmvm-fsd under --nofile=$1 runs with an open-file limit of $got"
	fi
}
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
# CAP_SYS_RESOURCE (bit 24): whether shmvm-fsd may raise the hard limit.
eff=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
sysres=$(( (0x$eff >> 24) & 1 ))
# warned HARD: shmvm-fsd said the limit it got is below what it wanted.
warned() {
	grep -q "open-file limit $1 is below the $want" "$tmp/out" ||
		{ echo "FAIL: no warning for an open-file limit of $1: $(cat "$tmp/out")"; fail=1; }
}
if [ "$hard" -ge $want ]; then
	limit_case "1024:$hard" $want
	limit_case "$hard:$hard" "$hard" # enough already: left alone
elif [ $sysres -eq 1 ]; then
	limit_case "1024:$hard" $want
else
	limit_case "1024:$hard" "$hard"
	warned "$hard"
fi
if [ $sysres -eq 1 ]; then
	limit_case 1024:2048 $want
else
	limit_case 1024:2048 2048
	warned 2048
fi
exit $fail
