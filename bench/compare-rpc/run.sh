#!/usr/bin/env bash
# Side-by-side loopback echo RPC (issue 5, item 7): a blocking std::net floor, a minimal tokio +
# length-delimited + postcard loop, tarpc 0.38, tonic 0.14, and Herald's own
# `herald bench rpc --json`, all in one script run, then one table with the ratios the issue's
# targets are stated in. See README.md.
#
# Knobs (environment):
#   REPS=3              runs per peer (interleaved: floor, tokio, tarpc, tonic, herald, then again);
#                       the table shows each peer's median run by throughput, and the median p50/p99
#   SEQUENTIAL=20000    calls in the sequential latency run
#   CALLS=200000        calls in the throughput run
#   CONCURRENCY=64      callers in the throughput run
#   CONNECTIONS=1       connections they share (each peer's own multiplexing; = CONCURRENCY gives
#                       every caller a connection of its own). The floor always has one per caller.
#   PAYLOAD=32          payload bytes
#   BUSY_POLL_US=50     herald's busy-polling legs' budget (0: none)
#   HERALD_DIR=../..    the Herald checkout whose target/release/herald is measured (built here)
#   HERALD_BIN=         measure this herald binary instead (nothing is built in HERALD_DIR)
set -uo pipefail

REPS=${REPS:-3}
SEQUENTIAL=${SEQUENTIAL:-20000}
CALLS=${CALLS:-200000}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-1}
PAYLOAD=${PAYLOAD:-32}
BUSY_POLL_US=${BUSY_POLL_US:-50}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${HERALD_DIR:-$HERE/../..}" && pwd)
RESULTS="$HERE/target/compare-rpc-results.jsonl"

cd "$HERE"
echo "== building the peers (release)" >&2
cargo build --release >&2 || exit 1
if [ -n "${HERALD_BIN:-}" ]; then
    HERALD=$HERALD_BIN
else
    echo "== building herald in $ROOT (release)" >&2
    (cd "$ROOT" && cargo build --release) >&2 || exit 1
    HERALD="$ROOT/target/release/herald"
fi

: >"$RESULTS"
LOAD_BEFORE=$(uptime)
common=(--sequential "$SEQUENTIAL" --calls "$CALLS" --concurrency "$CONCURRENCY" --payload "$PAYLOAD")
PEERS=(floor tokio tarpc tonic herald)
for rep in $(seq "$REPS"); do
    for peer in "${PEERS[@]}"; do
        if [ "$peer" = herald ]; then
            out=$(timeout 600 "$HERALD" bench rpc "${common[@]}" --connections "$CONNECTIONS" --busy-poll-us "$BUSY_POLL_US" --json) || { echo "  herald run $rep failed" >&2; continue; }
        elif [ "$peer" = floor ]; then
            out=$(timeout 600 target/release/compare-rpc floor "${common[@]}") || { echo "  floor run $rep failed" >&2; continue; }
        else
            out=$(timeout 600 target/release/compare-rpc "$peer" "${common[@]}" --connections "$CONNECTIONS") || { echo "  $peer run $rep failed" >&2; continue; }
        fi
        printf '{"peer":"%s","rep":%s,"run":%s}\n' "$peer" "$rep" "$out" >>"$RESULTS"
        echo "  $peer run $rep: $out" >&2
    done
done
LOAD_AFTER=$(uptime)

# field NAME: one numeric field of the JSON object on stdin.
field() { grep -o "\"$1\"[[:space:]]*:[[:space:]]*[0-9.eE+-]*" | tail -n1 | sed 's/.*:[[:space:]]*//'; }
# median of the numbers on stdin.
median() { sort -g | awk '{v[NR]=$1} END {if (NR) printf "%.2f", v[int((NR+1)/2)]}'; }
# peer_median PEER FIELD: the median of FIELD over PEER's runs.
peer_median() { grep "\"peer\":\"$1\",\"rep\"" "$RESULTS" | while read -r line; do field "$2" <<<"$line"; done | median; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}' || echo "-"; }

declare -A P50 P99 RATE
for peer in "${PEERS[@]}"; do
    P50[$peer]=$(peer_median "$peer" p50_us)
    P99[$peer]=$(peer_median "$peer" p99_us)
    RATE[$peer]=$(peer_median "$peer" calls_per_sec)
done

echo
echo "loopback echo RPC, ${PAYLOAD}-byte payload: p50/p99 over $SEQUENTIAL sequential calls; calls/s with"
echo "$CONCURRENCY callers on $CONNECTIONS connection(s) (the floor: one each) over $CALLS calls; median of $REPS"
echo "interleaved runs per peer ($(nproc) cores)"
echo "load before: $LOAD_BEFORE"
echo "load after:  $LOAD_AFTER"
echo "raw runs: $RESULTS"
echo
printf '%-8s %10s %10s %8s %10s %12s %10s\n' peer "p50 µs" "p99 µs" p99/p50 "p50/floor" "calls/s" "/tarpc"
for peer in "${PEERS[@]}"; do
    if [ -z "${P50[$peer]}" ]; then printf '%-8s %10s\n' "$peer" FAILED; continue; fi
    printf '%-8s %10s %10s %8s %10s %12.0f %10s\n' "$peer" "${P50[$peer]}" "${P99[$peer]}" \
        "$(ratio "${P99[$peer]}" "${P50[$peer]}")" "$(ratio "${P50[$peer]}" "${P50[floor]}")" \
        "${RATE[$peer]}" "$(ratio "${RATE[$peer]}" "${RATE[tarpc]}")"
done
hf=$(grep '"peer":"herald"' "$RESULTS" | while read -r line; do field floor_p50_us <<<"$line"; done | median)
echo
echo "herald's own in-process std::net floor (median): ${hf:-?} µs"
if [ "$BUSY_POLL_US" != 0 ]; then
    hb50=$(grep '"peer":"herald"' "$RESULTS" | while read -r line; do field busy_poll_p50_us <<<"$line"; done | median)
    hb99=$(grep '"peer":"herald"' "$RESULTS" | while read -r line; do field busy_poll_p99_us <<<"$line"; done | median)
    hs=$(grep '"peer":"herald"' "$RESULTS" | while read -r line; do field spin_floor_p50_us <<<"$line"; done | median)
    echo "herald busy-polling ${BUSY_POLL_US} µs (median): p50 ${hb50:-?} µs, p99 ${hb99:-?} µs; its in-process spinning std::net floor: p50 ${hs:-?} µs"
    echo "  herald busy-polling p50 / the floor: $(ratio "$hb50" "${P50[floor]}"); / the spinning floor: $(ratio "$hb50" "$hs")"
fi
steal=$(grep '"peer":"herald"' "$RESULTS" | while read -r line; do field sequential_steal_fraction <<<"$line"; done | median)
[ -n "$steal" ] && echo "CPU time the hypervisor stole during herald's sequential legs (median share): $steal"
echo "targets (issue 5): herald p50/floor <= 1.10: $(ratio "${P50[herald]}" "${P50[floor]}");" \
    "herald calls/s / tarpc >= 2.00: $(ratio "${RATE[herald]}" "${RATE[tarpc]}");" \
    "herald p99/p50 <= 2.00: $(ratio "${P99[herald]}" "${P50[herald]}")"
