#!/usr/bin/env bash
# How well the CI gate (neotune compare --run) does on this machine:
#   aa    N paired runs of HEAD against itself: any record "regressed" or "improved" is a false alarm
#   slow  N paired runs of HEAD against a commit whose WebAssembly kernels redo the first FRACTION
#         of their first channel range after each call (real kernel work added, as a generator
#         regression would); the detection rate, and each record's ratio as the paired rounds measured it
#   bash dev/gate-bench.sh aa|slow [N=5] [FRACTION=0.05] [-- extra compare options]
# Results: neotune-out/gate-bench/<mode>[-<LABEL>]-<i>.json (compare --out) and a summary line per run;
# LABEL (environment, e.g. LABEL=busy) keeps the runs of one load apart from another's.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?aa or slow}; n=${2:-5}; fraction=${3:-0.05}
shift $(( $# < 3 ? $# : 3 )); [ "${1:-}" = "--" ] && shift
out=neotune-out/gate-bench; mkdir -p "$out"
name=$mode${LABEL:+-$LABEL}
kernels=fused-wasm,sparse-wasm,dwconv-wasm,fused-js,sparse-js,winograd-js,copy
head=HEAD
if [ "$mode" = slow ]; then
  kernels=fused-wasm,sparse-wasm,dwconv-wasm
  # A commit with the patched runtime, made with git plumbing (no branch, the work tree untouched).
  index=$(mktemp -d)/index
  export GIT_INDEX_FILE=$index GIT_AUTHOR_NAME=gate-bench GIT_AUTHOR_EMAIL=gate@neotune.invalid GIT_COMMITTER_NAME=gate-bench GIT_COMMITTER_EMAIL=gate@neotune.invalid
  git read-tree HEAD
  patched=$(git show HEAD:kernels/cpu/wasm/runtime.ts | sed "s|      for (const part of this.calls) this.runCalls(part);|      for (const part of this.calls) this.runCalls(part);\n      this.runCalls(this.calls[0]!.slice(0, 1).map(([fn, lo, hi, sc]) => [fn, lo, lo + Math.max(1, Math.round((hi - lo) * $fraction)), sc] as WasmCall));|")
  blob=$(printf '%s\n' "$patched" | git hash-object -w --stdin)
  git update-index --cacheinfo "100644,$blob,kernels/cpu/wasm/runtime.ts"
  head=$(git commit-tree "$(git write-tree)" -p HEAD -m "gate-bench: WebAssembly kernels redo $fraction of their first channel range" </dev/null)
  unset GIT_INDEX_FILE
fi
for i in $(seq 1 "$n"); do
  # A result file of an earlier session must never be read as this run's.
  rm -f "$out/$name-$i.json"
  set +e
  node dist/scripts/neotune.js compare --run HEAD "$head" --kernels "$kernels" --out "$out/$name-$i.json" "$@" >/dev/null 2>"$out/$name-$i.log"
  rc=$?
  set -e
  if [ ! -f "$out/$name-$i.json" ]; then
    echo "run $i (exit $rc): no comparison: $(tail -1 "$out/$name-$i.log")"
    continue
  fi
  node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const n = (t) => c.records.filter((r) => r.timing === t).length;
    console.log(`run ${process.argv[2]} (exit ${process.argv[3]}): ${c.records.length} records, ${n("regressed")} regressed, ${n("improved")} improved, ${n("unchanged")} unchanged, ${n("inconclusive")} inconclusive; ${c.paired.rounds} rounds, ${Math.round(c.paired.wall_s)} s`);
    // The work added to each record, exactly, from the counting builds: the true size of the slowdown to detect.
    for (const r of c.records) {
      const madds = (r.operation_changes ?? []).find((x) => x.proxy === "vector_madds");
      if (!madds) continue;
      console.log(`  work +${((madds.head / madds.base - 1) * 100).toFixed(1)} %  measured ${((r.ratio - 1) * 100).toFixed(1)} % [${r.ci.map((x) => ((x - 1) * 100).toFixed(1)).join(", ")}]  ${r.timing}${r.timing === "unchanged" ? ` within ±${(100 * r.resolution).toFixed(1)} %` : ""} after ${r.rounds} rounds  ${r.key.split(" @ ")[0].split(" ")[1]} @ ${r.key.split(" @ ")[1]}`);
    }
  ' "$out/$name-$i.json" "$i" "$rc"
done
