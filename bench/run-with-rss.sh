#!/usr/bin/env bash
# Run a command under GNU time and print its wall time and peak RSS (largest of the process and any
# child it waited for, e.g. a decoder process). Use node directly, not npx, so the figure is the
# benchmark's own:  bash bench/run-with-rss.sh node --import tsx bench/image-rowsource.ts --mode rows FILE
set -euo pipefail
if [ ! -x /usr/bin/time ]; then echo "run-with-rss: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
/usr/bin/time -v -o "$log" "$@" || status=$?
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u + s}' "$log")
awk -v kb="$rss_kb" -v wall="$wall" -v cpu="$cpu" -v st="$status" 'BEGIN { printf "peak RSS: %.1f MB  wall: %s  cpu: %s s  exit: %s\n", kb / 1024, wall, cpu, st }' 
exit "$status"
