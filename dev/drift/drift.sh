#!/usr/bin/env bash
# Between-process spread of kernel timings, before and after the fixes in docs/regressions.md:
# for each kernel, N fresh processes (dev/drift/process.ts, 4 rounds of 30 ms each) under two settings,
#   default   node as the scheduler places it, V8 optimising on a helper thread
#   gate      as compare --run runs bench: --no-concurrent-recompilation, pinned to one CPU (1 thread)
# and prints σ of the per-process medians (first round, as one bench run measures it) next to the
# spread of rounds inside a process.
#   bash dev/drift/drift.sh [N=10] [KERNEL[:THREADS[:CASE[:SUITE]]] ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10}; shift || true
kernels=("$@")
[ ${#kernels[@]} -eq 0 ] && kernels=(fused-wasm:1 sparse-wasm:1 dwconv-wasm:1 fused-wasm:2 sparse-js:1 winograd-js:1 ort-dwconv:1)
cpu=$(grep Cpus_allowed_list /proc/self/status | awk '{print $2}' | tr ',' '\n' | tail -1 | sed 's/.*-//')
out=$(mktemp -d)
for k in "${kernels[@]}"; do
  IFS=: read -r kernel threads case suite <<<"$k"; threads=${threads:-1}; case=${case:-4+7 s1}; suite=${suite:-smoke}
  for setting in default gate; do
    for i in $(seq 1 "$n"); do
      args=(dist/dev/drift/process.js --variant "$kernel" --params '{}' --threads "$threads" --case "$case" --suite "$suite" --rounds 4 --time 30 --gap 0)
      if [ "$setting" = gate ]; then
        if [ "$threads" = 1 ]; then taskset -c "$cpu" node --no-concurrent-recompilation "${args[@]}"; else node --no-concurrent-recompilation "${args[@]}"; fi
      else node "${args[@]}"; fi >>"$out/${kernel}__${threads}__$(printf %s "$case" | tr -c 'A-Za-z0-9.' _)__${setting}.jsonl"
    done
  done
done
node -e '
  const fs = require("fs"); const dir = process.argv[1];
  const sd = (x) => { const m = x.reduce((a, b) => a + b, 0) / x.length; return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1)); };
  const rows = {};
  for (const f of fs.readdirSync(dir).sort()) {
    const [kernel, threads, kase, setting] = f.replace(".jsonl", "").split("__");
    const runs = fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => JSON.parse(l).rounds.map((r) => r.all));
    const key = `${kernel} ${threads}t ${kase.replace(/_+$/, "").replace(/_/g, " ")}`;
    rows[key] ??= { kernel: key, us: (1000 * runs[0][3]).toFixed(1) };
    rows[key][setting] = `${(100 * sd(runs.map((r) => Math.log(r[0])))).toFixed(1)} % / ${(100 * sd(runs.map((r) => Math.log(r[3])))).toFixed(1)} % / ${(100 * runs.map((r) => sd(r.slice(1).map(Math.log))).reduce((a, b) => a + b, 0) / runs.length).toFixed(1)} %`;
  }
  console.log("| kernel | µs | default: σ between processes (round 1 / round 4) / within | gate: the same |");
  console.log("|---|---|---|---|");
  for (const r of Object.values(rows)) console.log(`| ${r.kernel} | ${r.us} | ${r.default} | ${r.gate} |`);
' "$out"
