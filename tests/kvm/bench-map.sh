#!/bin/sh
# bench-map.sh BUILD: tools/bench-map --quick-sized work once against the
# shmvm in BUILD (a few hundred operations per strategy), with --out: the
# CSV has its columns and every row, each with a non-zero limit; the table
# is there; the SVG parses as XML. Never a time. Needs /dev/kvm (exit 77
# without it: run through tools/with-kvm, which bench-map calls itself and
# which then runs natively).
set -u
build=$1
here=$(dirname "$0")
. "$here/../need-kvm.sh"
. "$here/map-csv.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$here/../../tools/bench-map" --build "$build" --quick --cycles 100 --first-access 10 \
	--out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
[ $status -eq 0 ] || bad "bench-map exit status $status"
map_csv_check "$tmp/out/results.csv" $((2 << 20)) "slot window" "0 1000" 100 10 || bad "results.csv (above)"
[ "$(grep -c '^ *2048 ' "$tmp/out/table.txt" 2>/dev/null)" = 4 ] || bad "table.txt lacks its 4 rows"
python3 -c 'import sys, xml.etree.ElementTree as e; r = e.parse(sys.argv[1]).getroot(); sys.exit(not r.tag.endswith("svg"))' \
	"$tmp/out/map-latency.svg" 2>"$tmp/xml" || bad "map-latency.svg is not SVG: $(cat "$tmp/xml")"
if [ $fail -ne 0 ]; then
	sed 's/^/  | /' "$tmp/stdout" "$tmp/stderr"
	exit 1
fi
sed 's/^/  | /' "$tmp/out/table.txt"
echo "ok: tools/bench-map --quick --out (CSV, table, SVG)"
