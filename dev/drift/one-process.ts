/**
 * One fresh process of the drift study (dev/drift.ts starts many): opens the CPU backend, takes one
 * kernel at its defaults on one smoke case, and times it in `rounds` rounds spread over the process's
 * life, as the harness does (measureHostClock, no adaptive rounds). Prints one JSON line: each
 * round's median, and for JavaScript kernels the V8 tier each part ended in (with
 * --allow-natives-syntax, set here before any kernel is compiled).
 *
 *   node dist/dev/drift/one-process.js --kernel winograd-js [--suite smoke] [--case "4+7 s1"] [--rounds 10] [--time 50] [--threads 1]
 */
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
setFlagsFromString('--allow-natives-syntax');
const { createKernel } = await import('../../harness/compile.js');
const { makeProblemData } = await import('../../harness/problem.js');
const { measureHostClock } = await import('../../harness/timing.js');
const { quantile } = await import('../../harness/stats.js');
const { resolveSuite } = await import('../../suites/suite.js');
const { cpuBackend } = await import('../../kernels/cpu/backend.js');

const { values } = parseArgs({ options: { kernel: { type: 'string' }, case: { type: 'string', default: '4+7 s1' }, suite: { type: 'string', default: 'smoke' }, rounds: { type: 'string', default: '10' }, time: { type: 'string', default: '50' }, threads: { type: 'string', default: '1' } } });
const suite = resolveSuite(values.suite!);
const c = suite.cases.find((x) => x.name === values.case);
if (!c) throw new Error(`no case ${values.case} in ${values.suite}: ${suite.cases.map((x) => x.name).join(', ')}`);
const session = await cpuBackend.open();
const variant = cpuBackend.variants.find((v) => v.name === values.kernel);
if (!variant) throw new Error(`no CPU kernel ${values.kernel}`);
const problem = variant.op === 'neocell' ? c.neocell : variant.op === 'dwconv' ? c.dwconv : c.copy;
const params = { ...variant.defaults(problem as never, session.device) } as Record<string, string | number>;
if ('threads' in params) params.threads = Number(values.threads);
const kernel = await createKernel(variant, problem, params, session);
await kernel.prepare(makeProblemData(problem, 1));
const medians: number[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const t = await measureHostClock(kernel, { timeMs: Number(values.time), minSamples: 10, warmupMs: r === 0 ? Number(values.time) : 0 });
  medians.push(quantile(t.samples_ms, 0.5));
}
// V8's optimization status bits of each generated JavaScript part (bit 4: TurboFan code, bit 5: interpreted, 16: baseline).
const fns = (kernel as unknown as { fns?: unknown[] }).fns ?? [];
const status = fns.map((f) => new Function('f', 'return %GetOptimizationStatus(f)')(f) as number);
const tier = status.map((s) => (s & 16 ? 'turbofan' : s & (1 << 15) ? 'baseline' : s & 32 ? 'interpreted' : `status ${s}`));
process.stdout.write(JSON.stringify({ kernel: values.kernel, case: values.case, params, medians, tier }) + '\n');
await kernel.dispose();
await session.close();
