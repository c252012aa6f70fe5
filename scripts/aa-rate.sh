#!/usr/bin/env bash
# Measures the false-alarm rate of `neotune compare` on this machine: N benchmark runs of the same
# code (the CI smoke), every consecutive pair compared, next to what a single-run ±5 % rule flags.
# Uses the regression smoke's kernels and settings, and writes the machine's run-to-run noise
# profile, for comparisons of result files (`compare A.json B.json --noise`); the CI gate itself
# uses paired rounds (`compare --run`, dev/gate-bench.sh measures it).
#   bash scripts/aa-rate.sh [N=12] [OUTDIR=neotune-out/aa] [NOISE=neotune-out/aa/noise.json]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-12}
out=${2:-neotune-out/aa}
noise=${3:-$out/noise.json}
mkdir -p "$out"
for i in $(seq 1 "$n"); do
  node dist/scripts/neotune.js bench --backend cpu --suite smoke --kernels fused-wasm,sparse-wasm,dwconv-wasm,fused-js,sparse-js,winograd-js,copy \
    --params threads=1 --time 50 --out "$out/run-$i.json" >/dev/null
done
node dist/scripts/neotune.js compare --aa "$out"/run-*.json --save-noise "$noise"
