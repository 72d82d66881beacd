#!/usr/bin/env bash
# A/B of two herald binaries on `bench sim`, for changes worth a percent or two on a noisy host.
#
#   bench/ab-sim.sh W ROUNDS BIN_A BIN_B
#
# Each round runs both binaries (A then B on odd rounds, B then A on even ones), each process
# timing the best of two in-process runs of 2,000,000 deliveries at --in-flight W, and takes the
# ratio B/A. A slow phase of the host hits both halves of a round alike, so the median of the
# rounds' ratios is far steadier than either binary's own figures: A against a copy of itself
# gave medians of 0.995–1.006 over 40 rounds (docs/benchmarks.md). Prints that median, its
# range, and each binary's median rate.
set -euo pipefail
if [ $# -ne 4 ]; then
    sed -n '2,11p' "$0" >&2
    exit 2
fi
W=$1 ROUNDS=$2 A=$3 B=$4
rate() {
    "$1" bench sim --nodes 5 --in-flight "$W" --deliveries 2000000 --repeat 2 --json |
        grep -o '"deliveries_per_sec":[0-9.e+]*' | cut -d: -f2
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)], v[1], v[NR]}'; }
ratios="" as="" bs=""
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then a=$(rate "$A"); b=$(rate "$B"); else b=$(rate "$B"); a=$(rate "$A"); fi
    ratios+="$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')"$'\n'
    as+="$a"$'\n' bs+="$b"$'\n'
done
read -r med lo hi <<<"$(printf '%s' "$ratios" | median)"
read -r ma _ _ <<<"$(printf '%s' "$as" | median)"
read -r mb _ _ <<<"$(printf '%s' "$bs" | median)"
awk -v m="$med" -v lo="$lo" -v hi="$hi" -v n="$ROUNDS" -v ma="$ma" -v mb="$mb" 'BEGIN {
    printf "median B/A %.4f (rounds %.4f-%.4f, n = %d); A %.2f M/s, B %.2f M/s (medians)\n", m, lo, hi, n, ma / 1e6, mb / 1e6
}'
