# shellcheck shell=bash
# A job pool for tools/check: queue commands, run them N at a time (one per
# core), longest first, each into a log of its own; as each ends, print its
# log whole under a line with its name, status and seconds, so that output
# from jobs side by side never interleaves. Sourced.

JOB_NAMES=()
JOB_COST=()
JOB_CMDS=()

# job NAME SECONDS COMMAND: queue COMMAND (a string for bash -c). SECONDS is
# what it takes unloaded, for the queue's order.
job() {
	JOB_NAMES+=("$1")
	JOB_COST+=("$2")
	JOB_CMDS+=("$3")
}

# jobs_run N LOGDIR: run the queue, N at a time; every job's log goes to
# LOGDIR/NAME.log (spaces and slashes made dashes). Returns 1 if any job
# failed. Prints "job NAME: ok|FAILED (exit S) in T s" for each, and leaves
# the same lines in LOGDIR/summary.
jobs_run() {
	local n=$1 dir=$2 order=() running=0 failed=0 i pid rc
	local -A pid_job=() pid_start=()

	mkdir -p "$dir"
	: >"$dir/summary"
	# Longest first: a long job started last would run alone at the end.
	mapfile -t order < <(for i in "${!JOB_NAMES[@]}"; do echo "${JOB_COST[$i]} $i"; done |
		sort -k1,1nr -k2,2n | cut -d' ' -f2)
	while [ ${#order[@]} -gt 0 ] || [ $running -gt 0 ]; do
		while [ $running -lt "$n" ] && [ ${#order[@]} -gt 0 ]; do
			i=${order[0]}
			order=("${order[@]:1}")
			echo ">> job started: ${JOB_NAMES[$i]}"
			bash -c "${JOB_CMDS[$i]}" >"$dir/$(_job_file "$i")" 2>&1 &
			pid_job[$!]=$i
			pid_start[$!]=$SECONDS
			running=$((running + 1))
		done
		rc=0
		wait -n -p pid "${!pid_job[@]}" || rc=$?
		i=${pid_job[$pid]}
		local secs=$((SECONDS - pid_start[$pid]))
		unset "pid_job[$pid]" "pid_start[$pid]"
		running=$((running - 1))
		local line="job ${JOB_NAMES[$i]}: ok in $secs s (unloaded about ${JOB_COST[$i]} s)"
		if [ $rc -ne 0 ]; then
			line="job ${JOB_NAMES[$i]}: FAILED (exit $rc) in $secs s"
			failed=1
		fi
		echo ">> ---- $line"
		cat "$dir/$(_job_file "$i")"
		echo ">> ---- end of ${JOB_NAMES[$i]}"
		echo "$line" >>"$dir/summary"
	done
	return $failed
}

_job_file() { echo "${JOB_NAMES[$1]}.log" | tr ' /:' '---'; }
