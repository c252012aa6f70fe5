#!/usr/bin/env bash
# Regression smoke (part of the test command): a short CPU benchmark compared with the committed
# baseline. Deterministic proxies (executed multiply-adds, generated code size and memory
# operations) must match exactly; timings are reported, and fail only with --strict (CI machines
# are shared and noisy; a timing verdict there needs the interleaved A/B mode, `compare --run`).
# Then the detection self-test: a fixture kernel 30 % slower / faster must be flagged.
#   bash scripts/regression-smoke.sh [--strict]      (after the build)
#   bash scripts/regression-smoke.sh --update        rewrite the baseline after an intended change
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=.ci/baseline-smoke.json
out=neotune-out/regression
mkdir -p "$out"
kernels=fused-wasm,sparse-wasm,dwconv-wasm,fused-js,sparse-js,winograd-js,copy
node dist/scripts/neotune.js bench --backend cpu --suite smoke --kernels "$kernels" --params threads=1 --time 50 --out "$out/head.json" >/dev/null
if [ "${1:-}" = "--update" ]; then
  # Keep the committed file small: at most 60 samples per record (an even stride).
  node -e '
    const fs = require("fs"); const f = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    for (const r of f.records) if (r.samples_ms && r.samples_ms.length > 60) { const s = r.samples_ms, k = s.length / 60; r.samples_ms = Array.from({ length: 60 }, (_, i) => s[Math.floor(i * k)]); }
    fs.writeFileSync(process.argv[2], JSON.stringify(f) + "\n");' "$out/head.json" "$baseline"
  echo "baseline updated: $baseline"
  exit 0
fi
timings=report
[ "${1:-}" = "--strict" ] && timings=fail
# The noise profile (scripts/aa-rate.sh) adds this machine kind's run-to-run noise to single-run timings.
node dist/scripts/neotune.js compare "$baseline" "$out/head.json" --noise .ci/noise-smoke.json --timings "$timings" --markdown "$out/compare.md"
node dist/scripts/neotune.js compare --self-test
