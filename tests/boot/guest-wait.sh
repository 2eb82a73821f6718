# shellcheck shell=sh
# wait_for, shared by the boot tests that follow a guest step on its console.
# Sourced. The caller sets out (the console file), spid (shmvm's pid) and
# guest_fail (the step's own failure marker, e.g. SHMVM-DAX-FAIL), and
# defines fail MESSAGE (which exits); it may define wait_hook, run every
# round (e.g. to check the control socket still answers).

# wait_for PATTERN SECONDS: until the guest prints a line matching PATTERN;
# fails if shmvm exits, the time runs out, or the guest reports a failure.
wait_for() {
	end=$(($(date +%s) + $2))
	while ! grep -q "$1" "$out" 2>/dev/null; do
		kill -0 "$spid" 2>/dev/null || fail "shmvm exited while waiting for '$1'"
		[ "$(date +%s)" -lt $end ] || fail "no '$1' from the guest in $2 s"
		grep -q "$guest_fail\\|SHMVM-STEP-FAIL" "$out" &&
			fail "the guest failed: $(grep -m1 "$guest_fail\\|SHMVM-STEP-FAIL" "$out")"
		if command -v wait_hook >/dev/null 2>&1; then
			wait_hook
		fi
		sleep 0.5
	done
}
