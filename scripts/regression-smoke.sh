#!/usr/bin/env bash
# Regression smoke (part of the test command): HEAD against its parent, built side by side and run in
# paired rounds (neotune compare --run: fresh processes, random order, until every record is decided
# or the time budget ends). The exact lane (executed operations of the counting builds) must not
# grow; a timing regression fails too (the suite-wide false-alarm rate is α = 5 %; pass --timings
# report to see timings without failing on them). Then the detection self-test.
#   bash scripts/regression-smoke.sh [--timings report] [--time-budget 8m]     (after the build)
# Without a parent commit (a shallow or one-commit clone), HEAD is compared with itself (an A/A run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=neotune-out/regression
mkdir -p "$out"
kernels=fused-wasm,sparse-wasm,dwconv-wasm,fused-js,sparse-js,winograd-js,copy
base=$(git rev-parse --verify --quiet 'HEAD~1^{commit}' || true)
if [ -z "$base" ]; then
  echo "regression smoke: HEAD has no parent here; comparing HEAD with itself" >&2
  base=HEAD
fi
node dist/scripts/neotune.js compare --run "$base" HEAD --kernels "$kernels" --time-budget 8m \
  --markdown "$out/compare.md" --out "$out/compare.json" "$@"
node dist/scripts/neotune.js compare --self-test
