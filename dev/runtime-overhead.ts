/**
 * Per-call overhead of the runtime: `cell.run(x, out)` (input copied in, kernel, output copied out)
 * against the harness's own timing of the same kernel (`run()` alone, inputs resident), side by
 * side in alternating rounds, at a NeoNeXt-T shape (default stage 4: 1×768×7×7, k = 7).
 *
 *   node dist/dev/runtime-overhead.js [--backend wasm|js] [--stage stage4] [--rounds 15]
 */
import { createKernel } from '../harness/compile.js';
import { parseArgs } from 'node:util';
import { makeProblemData, problemRecord } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import type { KernelInstance, NeoCellProblem } from '../harness/types.js';
import { createNeoCell } from '../runtime/neocell.js';
import { openCpuTarget } from '../runtime/cpu-target.js';
import { resolveSuite } from '../suites/suite.js';
import { fmt, formatTable } from '../scripts/cli-util.js';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, stage: { type: 'string', default: 'stage4' }, rounds: { type: 'string', default: '15' } } });
const backend = values.backend as 'wasm' | 'js';
const c = resolveSuite('neonext-t').cases.find((x) => x.name.startsWith(values.stage!));
if (!c) throw new Error(`no case ${values.stage} in neonext-t`);
const problem = c.neocell as NeoCellProblem;
const data = makeProblemData(problem, 1);
const layer = { N: problem.N, C: problem.C, H: problem.H, W: problem.W, spec: problem.cell.groups.map((g) => ({ channels: g.channels, kernel: g.a.in, shift: g.a.shift })) };

const cell = await createNeoCell({ backend }, layer);
cell.setWeights(data.cellWeights!.a, data.cellWeights!.b);
await cell.run(data.x);
// The same variant and parameters, driven as the harness drives it.
const { variants, session } = await openCpuTarget(backend, 1);
const kernel: KernelInstance = await createKernel(variants.find((v) => v.name === cell.choice.variant)!, problem, cell.choice.params, session);
await kernel.prepare(data);

/** ms per call over a batch long enough to read a clock (≥ 20 ms). */
async function perCall(f: () => unknown): Promise<number> {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await f();
    const dt = performance.now() - t0;
    if (dt >= 20) return dt / n;
    n *= 2;
  }
}

const o = cell.outShape;
const out = new Float32Array(o.N * o.C * o.H * o.W);
const harness: number[] = [];
const runtime: number[] = [];
const allocating: number[] = [];
const zeroCopy: number[] = [];
const sync: number[] = [];
const io = cell.io()!;
for (let r = 0; r < Number(values.rounds); r++) {
  harness.push(await perCall(() => kernel.run()));
  runtime.push(await perCall(() => cell.run(data.x, out)));
  allocating.push(await perCall(() => cell.run(data.x)));
  zeroCopy.push(await perCall(() => cell.run(io.x, io.y)));
  sync.push(await perCall(() => cell.runSync(io.x, io.y)));
}
const overhead = (t: readonly number[]) => {
  const ratios = harness.map((h, i) => t[i]! / h);
  return [`${fmt(100 * (quantile(ratios, 0.5) - 1), 1)} %`, `${fmt(100 * (quantile(ratios, 0.1) - 1), 1)} … ${fmt(100 * (quantile(ratios, 0.9) - 1), 1)} %`];
};
process.stdout.write(
  `${problemRecord(problem).label} ${problem.N}×${problem.C}×${problem.H}×${problem.W}, ${backend}: ${cell.choice.variant} ${JSON.stringify(cell.choice.params)}, ${values.rounds} alternating rounds\n` +
    formatTable(
      ['call', 'median ms', 'overhead over run() (median of paired ratios)', 'p10–p90'],
      [
        ['harness: run() (inputs resident, output left in place)', fmt(quantile(harness, 0.5), 4), '', ''],
        ['runtime: cell.run(x, out)', fmt(quantile(runtime, 0.5), 4), ...overhead(runtime)],
        ['runtime: cell.run(x) (a new output array per call)', fmt(quantile(allocating, 0.5), 4), ...overhead(allocating)],
        ['runtime: cell.run(io.x, io.y) (the kernel\'s own arrays)', fmt(quantile(zeroCopy, 0.5), 4), ...overhead(zeroCopy)],
        ['runtime: cell.runSync(io.x, io.y) (no promise)', fmt(quantile(sync, 0.5), 4), ...overhead(sync)],
      ],
    ) +
    '\n',
);
await kernel.dispose();
await session.close();
await cell.dispose();
