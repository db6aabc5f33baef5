#!/bin/sh
# porttune's plugin for node-problem-detector's custom plugin monitor: does this node hold
# PORTTUNE_REQUIRE concurrent TCP connections? The plugin protocol: exit 0 OK, 1 a problem,
# 2 unknown, and one line on standard output (the condition's message, at most 80 bytes).
#
#   porttune exit 0 (checks pass, ceiling >= the requirement)         -> 0
#   porttune exit 1 (below the requirement, or another check failed)  -> 1
#   porttune exit 4 (cannot tell: an assumed value decides)           -> 2
#   porttune exit 2 or 3, a timeout, porttune missing                 -> 2
#
# Environment:
#   PORTTUNE          the porttune binary (default /opt/porttune/porttune, where the
#                     DaemonSet's init container copies it; else `porttune` on PATH)
#   PORTTUNE_REQUIRE  connections the node must hold (default 100000)
#   PORTTUNE_ARGS     more words for `porttune check`, e.g. "--scenario outbound"
#   PORTTUNE_TIMEOUT  seconds before porttune check is stopped (default 20)
set -f # PORTTUNE_ARGS is split into words, never globbed

say() {
	printf '%s\n' "$*" | cut -c1-80
}

porttune=${PORTTUNE:-/opt/porttune/porttune}
if [ ! -x "$porttune" ]; then
	porttune=$(command -v porttune) || {
		say "porttune not found: set PORTTUNE"
		exit 2
	}
fi
require=${PORTTUNE_REQUIRE:-100000}
case $require in
'' | *[!0-9]*)
	say "PORTTUNE_REQUIRE is not a number"
	exit 2
	;;
esac

# shellcheck disable=SC2086 # PORTTUNE_ARGS is a list of words on purpose
out=$(timeout "${PORTTUNE_TIMEOUT:-20}" "$porttune" check --require "$require" \
	--format prometheus ${PORTTUNE_ARGS:-} 2>/dev/null)
rc=$?

# The first ceiling series is the scenario asked for: its value and its bottleneck.
line=$(printf '%s\n' "$out" | grep -m1 '^porttune_ceiling_connections{')
ceiling=${line##* }
case $ceiling in '' | *[!0-9]*) ceiling= ;; esac
bottleneck=$(printf '%s\n' "$line" | sed -n 's/.*,bottleneck="\([a-z_]*\)".*/\1/p')
failed=$(printf '%s\n' "$out" |
	sed -n 's/^porttune_check_failed{.*,id="\([A-Za-z0-9]*\)",level="error"} 1$/\1/p' |
	tr '\n' ' ')
failed=${failed% }

case $rc in
0)
	say "ceiling $ceiling >= $require (limited by $bottleneck)"
	exit 0
	;;
1)
	if [ -n "$ceiling" ] && [ "$ceiling" -lt "$require" ]; then
		say "ceiling $ceiling < $require (limited by $bottleneck); failed: $failed"
	else
		say "checks failed: $failed (ceiling $ceiling)"
	fi
	exit 1
	;;
4)
	say "cannot tell if $require holds: an assumed value decides; run porttune check"
	exit 2
	;;
124)
	say "porttune check timed out after ${PORTTUNE_TIMEOUT:-20} s"
	exit 2
	;;
*)
	say "porttune check could not run (exit $rc): run it on the node"
	exit 2
	;;
esac
