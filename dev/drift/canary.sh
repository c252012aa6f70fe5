#!/usr/bin/env bash
# The speed canary's effect on between-process spread (docs/regressions.md): for each cell, N
# fresh processes (dev/drift/process.ts: 6 rounds of 40 ms over about 1.5 s, as the harness
# times) with the canary, the same samples judged with and without its readings; σ of the
# per-process medians (first round: what one short bench run measures; all rounds) and the rounds
# left with fewer than 10 clean samples; then one process timing the same cell in N rounds spread
# over the wall time the N processes took (σ of its round medians: the spread inside one process
# over the same stretch of the machine's life).
#   bash dev/drift/canary.sh [N=10] [CASE:VARIANT:THREADS[:PARAMS_JSON] ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10}; shift || true
cells=("$@")
[ ${#cells[@]} -eq 0 ] && cells=(
  'T stage4.neocell:tiled-wasm:1' 'T stage4.neocell:tiled-wasm:2'
  'T stage2.neocell:fused-wasm:1' 'T stage2.neocell:fused-wasm:2'
  'T stage1.neocell:fused-wasm:2' 'T stage3.neocell:sparse-js:1')
out=$(mktemp -d)
for cell in "${cells[@]}"; do
  IFS=: read -r kase variant threads params <<<"$cell"
  f="$out/$(printf %s "$kase $variant $threads" | tr -c 'A-Za-z0-9.' _).jsonl"
  start=$(date +%s%3N)
  for i in $(seq 1 "$n"); do
    node --no-concurrent-recompilation dist/dev/drift/process.js --case "$kase" --variant "$variant" --threads "$threads" --params "${params:-{\}}" --rounds 6 --gap 100 >>"$f"
  done
  gap=$(( ($(date +%s%3N) - start) / n ))
  node --no-concurrent-recompilation dist/dev/drift/process.js --case "$kase" --variant "$variant" --threads "$threads" --params "${params:-{\}}" --rounds "$n" --gap "$gap" >"${f%.jsonl}.within"
done
node -e '
  const fs = require("fs"); const dir = process.argv[1];
  const sd = (x) => { const m = x.reduce((a, b) => a + b, 0) / x.length; return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1)); };
  const med = (x) => { const s = [...x].sort((a, b) => a - b); return s[s.length >> 1]; };
  const pct = (x) => x.length > 1 ? `${(100 * sd(x.map(Math.log))).toFixed(1)} %` : "–";
  console.log("| kernel (problem, threads) | µs | without the canary: σ round 1 / all rounds | with it: σ round 1 / all rounds | rounds judged without it (no 10 clean) | one process, as many rounds over the same time: σ without / with the canary |");
  console.log("|---|---|---|---|---|---|");
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".jsonl")).sort()) {
    const runs = fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const rounds = runs.map((r) => r.rounds);
    const col = (field) => {
      const first = rounds.map((rs) => rs[0][field]).filter((x) => x);
      const all = rounds.map((rs) => rs.map((r) => r[field]).filter((x) => x)).filter((x) => x.length).map(med);
      return `${pct(first)} / ${pct(all)}`;
    };
    const kept = rounds.flat().filter((r) => r.slow_kept > 0).length;
    const name = `${runs[0].variant} (${runs[0].case.replace(".neocell", "")}, ${rounds[0][0].label})`;
    const within = JSON.parse(fs.readFileSync(`${dir}/${f.replace(/\.jsonl$/, ".within")}`, "utf8")).rounds;
    const inOne = (field) => pct(within.map((r) => r[field]).filter((x) => x));
    console.log(`| ${name} | ${(1000 * med(rounds.flat().map((r) => r.clean).filter((x) => x))).toFixed(1)} | ${col("without_canary")} | ${col("clean")} | ${kept} of ${rounds.flat().length} | ${inOne("without_canary")} / ${inOne("clean")} (${within.length} rounds) |`);
  }
' "$out"
