# shellcheck shell=sh
# map_csv_check CSV SIZE STRATEGIES LIVES CYCLES FIRST: shmvm-bench's CSV
# (tools/bench-map's results.csv) has the documented columns and, for each
# strategy and live count (space-separated lists) at mapping size SIZE
# (bytes), one row per operation (map, unmap, first_access) with n = CYCLES
# (first access: FIRST), non-zero times, a non-zero limit and channel, and
# operations per second. Never a time's size. Prints each problem; returns 1
# if any. Sourced by bench-smoke.sh and bench-map.sh.
map_csv_check() {
	awk -F, -v size="$2" -v strategies="$3" -v lives="$4" -v cycles="$5" -v first="$6" '
	NR == 1 {
		want = "frontend,strategy,op,size,live,n,min_us,median_us,p90_us,p99_us,max_us," \
		       "limit_median_us,channel_median_us,ops_per_s,kvm,host_kernel"
		if ($0 != want) { print "CSV header is \"" $0 "\", not \"" want "\""; bad = 1 }
		for (i = 1; i <= NF; i++) col[$i] = i
		next
	}
	{
		key = $col["strategy"] " " $col["live"] " " $col["op"]
		if ($col["size"] != size) next
		rows[key]++
		n = $col["op"] == "first_access" ? first : cycles
		if ($col["n"] != n) { print key ": n " $col["n"] ", expected " n; bad = 1 }
		for (c = 7; c <= 14; c++)
			if ($c + 0 <= 0) { print key ": column " c " is \"" $c "\", not a positive number"; bad = 1 }
		if ($col["median_us"] + 0 < $col["min_us"] + 0 || $col["max_us"] + 0 < $col["p99_us"] + 0) {
			print key ": percentiles out of order: " $0; bad = 1
		}
	}
	END {
		ns = split(strategies, S, " "); nl = split(lives, L, " ")
		for (i = 1; i <= ns; i++)
			for (j = 1; j <= nl; j++)
				for (k = 1; k <= 3; k++) {
					op = k == 1 ? "map" : k == 2 ? "unmap" : "first_access"
					key = S[i] " " L[j] " " op
					if (rows[key] != 1) { print "CSV: " rows[key] + 0 " rows for " key ", not 1"; bad = 1 }
				}
		exit bad
	}' "$1"
}
