#!/usr/bin/env bash
# Trust under load, measured (a benchmark, not a test). For each number of busy cores (a plain
# `sh -c 'while :; do :; done'` per core, killed afterwards):
#   (a) PAIRS pairs of back-to-back `neotune bench` runs of the same code, compared (A/A false alarms);
#   (b) TUNES repeated `neotune tune` runs of the NeoNeXt-T suite on the CPU backend, fresh databases,
#       same seed, strategy STRATEGY (default random: its proposals do not depend on the timings, so
#       every run measures the same candidates and only the measurement can make winners differ;
#       --strategy tpe measures search and measurement together) (winner agreement);
#   (d) the worker pool's stall rate (dev/trust/pool-stalls.ts), and with --before REF the same
#       measurement of the pool at git ref REF, built in a temporary worktree;
# then (c) the largest ratio of a kernel's median between the quiet and the busy runs, and prints
# everything (dev/trust/analyze.ts). Run after the build (scripts/setup.sh).
#   bash dev/trust-bench.sh [--out DIR] [--loads "0 1 2"] [--pairs 10] [--tunes 5] [--budget 24] [--strategy random] [--before REF]
set -euo pipefail
cd "$(dirname "$0")/.."
out=neotune-out/trust
loads="0 1 2"
pairs=10
tunes=5
budget=24
strategy=random
before=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --loads) loads=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --tunes) tunes=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --strategy) strategy=$2; shift 2 ;;
    --before) before=$2; shift 2 ;;
    *) echo "trust-bench: unknown argument $1 (allowed: --out, --loads, --pairs, --tunes, --budget, --strategy, --before)" >&2; exit 2 ;;
  esac
done
cli="node dist/scripts/neotune.js"
burners=()
stop_burners() { for p in "${burners[@]}"; do kill "$p" 2>/dev/null || true; done; burners=(); }
trap stop_burners EXIT

before_cli=""
if [ -n "$before" ]; then
  wt=$(mktemp -d)/before
  git worktree add --detach --force "$wt" "$before" >/dev/null
  ln -s "$PWD/node_modules" "$wt/node_modules"
  mkdir -p "$wt/scripts/trust" && cp dev/trust/pool-stalls.ts "$wt/scripts/trust/"
  (cd "$wt" && npx --no-install tsc -p tsconfig.json)
  before_cli="$wt/dist/scripts/trust/pool-stalls.js"
  trap 'stop_burners; git worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
fi

for load in $loads; do
  d="$out/load-$load"
  rm -rf "$d"; mkdir -p "$d/aa" "$d/tune"
  for ((i = 0; i < load; i++)); do sh -c 'while :; do :; done' & burners+=($!); done
  echo "== $load busy core(s)" >&2
  for ((i = 1; i <= 2 * pairs; i++)); do
    $cli bench --backend cpu --suite smoke -k fused-wasm,sparse-wasm,dwconv-wasm,copy --time 100 --out "$d/aa/run-$i.json" >/dev/null 2>>"$d/log.txt" || true
    echo "  bench $i/$((2 * pairs))" >&2
  done
  for ((i = 1; i <= tunes; i++)); do
    $cli tune --backend cpu --suite neonext-t --strategy "$strategy" --budget "$budget" --db "$d/tune/db-$i.json" --json >"$d/tune/winners-$i.json" 2>>"$d/log.txt" || true
    echo "  tune $i/$tunes" >&2
  done
  node dist/dev/trust/pool-stalls.js --seconds 4 --json >"$d/pool.json"
  [ -n "$before_cli" ] && node "$before_cli" --seconds 4 --json >"$d/pool-before.json"
  stop_burners
done
node dist/dev/trust/analyze.js "$out" | tee "$out/figures.txt"
