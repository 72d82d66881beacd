#!/usr/bin/env bash
# Runs the same 5-node all-to-all ping-pong workload on the bare event loop,
# turmoil 0.7.2, madsim 0.2.34 and Herald's own `bench sim`, and prints
# deliveries per wall-clock second side by side. See README.md.
#
# Knobs (environment):
#   WS="20 200"        in-flight pings per peer pair to test
#   DELIVERIES=1000000 deliveries per run
#   REPS=3             rounds per W, each running every peer once in turn; the table shows
#                      each peer's median and best
#   SEED=1             simulation seed (same for every peer)
#   WARMUP=1           untimed runs of the workload in each process before its timed one
#                      (0: every timed run starts on a cold process; see README.md)
#   HERALD=1           set to 0 to skip Herald
#   HERALD_DIR=../..   the Herald checkout whose `bench sim` is measured
set -uo pipefail

WS=${WS:-"20 200"}
DELIVERIES=${DELIVERIES:-1000000}
REPS=${REPS:-3}
SEED=${SEED:-1}
WARMUP=${WARMUP:-1}
HERALD=${HERALD:-1}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${HERALD_DIR:-$HERE/../..}" && pwd)
RESULTS="$HERE/target/compare-results.jsonl"

cd "$HERE"
echo "== building peers (release)" >&2
cargo build --release --features turmoil --bin bench-baseline --bin bench-turmoil >&2 || exit 1
# madsim needs --cfg madsim for the whole dependency graph; its own target dir
# keeps that flag from invalidating the other build.
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$HERE/target/madsim" \
    cargo build --release --features madsim --bin bench-madsim >&2 || exit 1

herald_ok=0
if [ "$HERALD" = 1 ]; then
    echo "== building herald in $ROOT (release)" >&2
    if (cd "$ROOT" && cargo build --release) >&2; then herald_ok=1; else
        echo "herald: unavailable (build failed)" >&2
    fi
fi

: >"$RESULTS"

# field NAME <<<JSON: pulls one numeric field out of a JSON object (flat or
# pretty-printed) without needing jq or python.
field() { grep -o "\"$1\"[[:space:]]*:[[:space:]]*[0-9.eE+-]*" | head -n1 | sed 's/.*:[[:space:]]*//'; }

# "median best" of the numbers on stdin.
stats() { sort -g | awk '{v[NR]=$1} END {if (NR) printf "%.0f %.0f", v[int((NR+1)/2)], v[NR]}'; }

# once LABEL W CMD...: runs CMD once and appends its deliveries/s to RUNS[LABEL,W], or marks the
# label failed for this W.
declare -A RUNS FAILED
once() {
    local label=$1 w=$2; shift 2
    local out rate
    [ -n "${FAILED[$label,$w]:-}" ] && return
    if out=$(timeout 600 "$@" 2>/dev/null) && rate=$(field deliveries_per_sec <<<"$out") && [ -n "$rate" ]; then
        printf '{"label":"%s","w":%s,"run":%s}\n' "$label" "$w" "$(tr -d '\n' <<<"$out")" >>"$RESULTS"
        echo "  $label W=$w: $rate deliveries/s" >&2
        RUNS[$label,$w]+="$rate"$'\n'
    else
        FAILED[$label,$w]=1
    fi
}

# The peers take turns within each of the REPS rounds, so that a slow phase of the host (they last
# seconds to minutes here) falls on all of them rather than on whichever ran then.
declare -A RATE
LABELS=("baseline" "turmoil" "madsim" "madsim-1rx" "herald" "herald-trace-memory")
for w in $WS; do
    common=(--in-flight "$w" --deliveries "$DELIVERIES" --seed "$SEED" --warmup "$WARMUP")
    # One timed run per process, after the same warm-up, like every peer: `bench sim` would
    # otherwise report the best of three in-process runs.
    herald=(cargo run --release -q -- bench sim --nodes 5 --in-flight "$w" --deliveries "$DELIVERIES" --seed "$SEED" --repeat 1 --warmup "$WARMUP" --json)
    for rep in $(seq "$REPS"); do
        echo "== W=$w, round $rep of $REPS" >&2
        once baseline "$w" target/release/bench-baseline "${common[@]}"
        once turmoil "$w" target/release/bench-turmoil "${common[@]}"
        once madsim "$w" target/madsim/release/bench-madsim "${common[@]}"
        # Informational: madsim with one recv→reply loop per node (see README).
        once madsim-1rx "$w" target/madsim/release/bench-madsim "${common[@]}" --receivers 1
        if [ "$herald_ok" = 1 ]; then
            cd "$ROOT"
            once herald "$w" "${herald[@]}"
            once herald-trace-memory "$w" "${herald[@]}" --trace-memory
            cd "$HERE"
        fi
    done
    for label in "${LABELS[@]}"; do
        if [ -z "${FAILED[$label,$w]:-}" ] && [ -n "${RUNS[$label,$w]:-}" ]; then
            RATE[$label,$w]=$(printf '%s' "${RUNS[$label,$w]}" | stats)
        fi
    done
done

ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}' || echo "-"; }

echo
echo "5 nodes, all-to-all ping-pong, latency 1-10 ms, $DELIVERIES deliveries, seed $SEED, $REPS runs each, $WARMUP warm-up run(s) before each"
echo "($(nproc) cores; load before table: $(cut -d' ' -f1-3 /proc/loadavg); raw runs: $RESULTS)"
echo "Ratios compare best runs; every process, Herald's too, times one run."
echo
best() { cut -d' ' -f2 <<<"${RATE[$1,$2]:-}"; }
printf '%-20s %5s %14s %14s %11s %11s\n' peer W "median dlv/s" "best dlv/s" "vs turmoil" "vs madsim"
for w in $WS; do
    for label in "${LABELS[@]}"; do
        if [ -z "${RATE[$label,$w]:-}" ]; then
            case $label in
                herald*) printf '%-20s %5s %14s\n' "$label" "$w" "unavailable" ;;
                *) printf '%-20s %5s %14s\n' "$label" "$w" "FAILED" ;;
            esac
            continue
        fi
        read -r med top <<<"${RATE[$label,$w]}"
        vs_t="" vs_m=""
        case $label in herald*)
            vs_t=$(ratio "$top" "$(best turmoil "$w")")
            vs_m=$(ratio "$top" "$(best madsim "$w")") ;;
        esac
        printf '%-20s %5s %14s %14s %11s %11s\n' "$label" "$w" "$med" "$top" "$vs_t" "$vs_m"
    done
done
[ "$HERALD" = 1 ] && [ "$herald_ok" = 0 ] && echo && echo "herald: unavailable"
exit 0
