#!/bin/sh
# bench-smoke.sh SHMVM SHMVM-BENCH POLL-GUEST STRATEGY: shmvm-bench with tiny
# numbers against a real shmvm running the tiny guest guests/poll.S, the
# limit (shm-limit) beside it. Checks that it works, never how fast: exit 0,
# a table row per live count with a ratio to the limit, a CSV with every
# row (map, unmap, first guest access) and non-zero numbers, the guest
# polling, and in shmvm's window afterwards no mapping left and exactly the
# maps made (its control socket). Needs /dev/kvm (exit 77 without it: run
# through tools/with-kvm).
set -u
shmvm=$1 bench=$2 guest=$3 strategy=$4
aq=${API_QUERY:?set by meson to tests/api-query in the build}
. "$(dirname "$0")/../need-kvm.sh"
tmp=$(mktemp -d)
spid=
bpid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "$bpid" ] && kill "$bpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

. "$(dirname "$0")/map-csv.sh"
timeout 300 "$bench" --socket "$tmp/vu.sock" --api "$tmp/api.sock" --sizes 2M --live 0,8 \
	--cycles 50 --first-access 5 --csv "$tmp/results.csv" >"$tmp/bench.out" 2>"$tmp/bench.err" &
bpid=$!
# shmvm retries its connection until the bench listens.
timeout 300 "$shmvm" --flat --kernel "$guest" --memory 64M --serial "file:$tmp/serial" \
	--device "vhost-user,socket=$tmp/vu.sock,virtio-id=26,queues=2" \
	--shm-strategy "$strategy" --api-socket "$tmp/api.sock" \
	</dev/null >"$tmp/shmvm.out" 2>&1 &
spid=$!
# If shmvm ends first (a setup error), the bench would wait for it in vain.
while kill -0 "$bpid" 2>/dev/null && kill -0 "$spid" 2>/dev/null; do sleep 0.2; done
kill -0 "$spid" 2>/dev/null || { sleep 1; kill "$bpid" 2>/dev/null; }
wait "$bpid"
bstatus=$?
bpid=

[ "$bstatus" -eq 0 ] || bad "shmvm-bench exit status $bstatus"
# The table: a header line, then one row per live count with a ratio to the limit.
for live in 0 8; do
	awk -v l="$live" '$1 == 2048 && $2 == l && $10 ~ /^[0-9]+\.[0-9]+x$/ && $10 + 0 > 0 { ok = 1 } END { exit !ok }' \
		"$tmp/bench.out" || bad "no table row with a map/limit ratio for live $live"
done
map_csv_check "$tmp/results.csv" $((2 << 20)) "$strategy" "0 8" 50 5 || bad "the CSV (above)"
grep -q 'SHMVM-TINY poll: polling' "$tmp/serial" 2>/dev/null || bad "the guest did not program BAR 2 and poll"
# One device, no mapping left, and how many maps it counted.
set -- $("$aq" "$tmp/api.sock" regions 'devices.#' 'devices.0.regions.*.mappings.#' devices.0.counters.maps)
[ "$#" = 3 ] || bad "control socket: regions failed: $("$aq" "$tmp/api.sock" regions 2>&1)"
[ "${1:-}" = 1 ] || bad "control socket shows ${1:-no} devices with a window, not 1"
[ "${2:-}" = 0 ] || bad "control socket shows ${2:-?} live mappings after the bench, not 0"
maps=${3:-}
# The report page, 8 live, and at each of 2 live counts 50 timed, 50 burst, 5 first accesses.
[ "$maps" -eq 219 ] 2>/dev/null || bad "shmvm counted $maps maps, expected 219"
"$aq" "$tmp/api.sock" shutdown >/dev/null || bad "control socket: shutdown failed"
timeout 60 sh -c "while kill -0 $spid 2>/dev/null; do sleep 0.1; done"
wait "$spid"
status=$?
spid=
[ "$status" -eq 0 ] || bad "shmvm exit status $status after shutdown, expected 0"

sed 's/^/  bench | /' "$tmp/bench.out" "$tmp/bench.err"
if [ "$fail" -ne 0 ]; then
	sed 's/^/  guest | /' "$tmp/serial" 2>/dev/null
	sed 's/^/  shmvm | /' "$tmp/shmvm.out" | tail -40
	exit 1
fi
echo "ok: shmvm-bench against shmvm, $strategy strategy (rows for live 0 and 8, nothing left mapped)"
