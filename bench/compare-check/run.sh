#!/usr/bin/env bash
# Runs herald-check and stateright 0.31 on the same TwoPhase model (DFS, same thread count) and
# prints states/s and peak RSS per unique state side by side, with the ratios. See README.md.
#
# Knobs (environment):
#   RMS="7 8 9"          resource managers per run
#   THREADS=2            worker threads for both checkers
#   ENCODINGS="idiomatic packed"   stateright state encodings to run (see src/main.rs)
#   HERALD_DIR=../..     the Herald checkout whose `herald check 2pc` is measured
set -euo pipefail

RMS=${RMS:-"7 8 9"}
THREADS=${THREADS:-2}
ENCODINGS=${ENCODINGS:-"idiomatic packed"}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${HERALD_DIR:-$HERE/../..}" && pwd)

echo "== building stateright harness and herald (release)" >&2
(cd "$HERE" && cargo build --release >&2)
(cd "$ROOT" && cargo build --release --bin herald >&2)
SR="$HERE/target/release/herald-bench-compare-check"
HERALD="$ROOT/target/release/herald"

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

printf '%-4s %-22s %14s %12s %12s %10s %12s\n' rms checker states unique states/s "B/unique" "vs herald"
for n in $RMS; do
    h=$("$HERALD" check 2pc --rms "$n" --dfs --threads "$THREADS" --json --quiet)
    h_rate=$(field "$h" states_per_sec)
    h_bpu=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(j['peak_rss_bytes']/j['unique_states'])" "$h")
    printf '%-4s %-22s %14s %12s %12.0f %10.1f %12s\n' "$n" herald-check "$(field "$h" states)" \
        "$(field "$h" unique_states)" "$h_rate" "$h_bpu" "-"
    for enc in $ENCODINGS; do
        s=$("$SR" --rms "$n" --threads "$THREADS" --encoding "$enc")
        s_rate=$(field "$s" states_per_sec)
        s_bpu=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(j['peak_rss_bytes']/j['unique_states'])" "$s")
        ratio=$(python3 -c "print(f'{$h_rate/$s_rate:.2f}x speed, {$h_bpu/$s_bpu:.2f}x mem')")
        printf '%-4s %-22s %14s %12s %12.0f %10.1f %12s\n' "$n" "stateright ($enc)" "$(field "$s" states)" \
            "$(field "$s" unique_states)" "$s_rate" "$s_bpu" "$ratio"
    done
done
