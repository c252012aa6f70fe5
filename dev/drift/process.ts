/**
 * One fresh process of the drift studies (dev/drift/drift.sh and dev/drift/canary.sh start many):
 * one CPU kernel on one suite case — a NeoCell variant with parameters, a baseline or a peer at its
 * defaults, or several of the hub's configurations — timed in rotating rounds spread over the
 * process's life, as the harness times it (measureHostClock with this process's probe). For each
 * round: the median of all samples, of the clean ones and of those clean but for the speed canary
 * (harness/types.ts SpeedCanary), why samples were set aside, the calling thread's wait for
 * workers per call, and on which CPU each busy thread of the process last ran (/proc/self/task);
 * for generated JavaScript kernels, the V8 tier each part ended in. Prints one JSON line.
 *
 *   node --no-concurrent-recompilation dist/dev/drift/process.js [--suite hub] [--case "T stage4.neocell"] \
 *     [--variant tiled-wasm] [--params '{"order":"AB","mr":4,"nv":2}'] [--threads 1,2] \
 *     [--hub-configs 302,318] [--rounds 10] [--time 40] [--gap 200]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
// Before any kernel is compiled: %GetOptimizationStatus reads the tier of JavaScript kernels.
setFlagsFromString('--allow-natives-syntax');
const { createKernel } = await import('../../harness/compile.js');
const { makeProblemData } = await import('../../harness/problem.js');
const { measureHostClock } = await import('../../harness/timing.js');
const { processProbe } = await import('../../harness/probe.js');
const { setAside } = await import('../../harness/stability.js');
const { quantile } = await import('../../harness/stats.js');
const { resolveSuite } = await import('../../suites/suite.js');
const { cpuBackend } = await import('../../kernels/cpu/backend.js');
type Kernel = import('../../harness/types.js').KernelInstance;

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'T stage4.neocell' },
    suite: { type: 'string', default: 'hub' },
    variant: { type: 'string', default: 'tiled-wasm' },
    params: { type: 'string', default: '{"order":"AB","mr":4,"nv":2,"madd":"relaxed"}' },
    threads: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '10' },
    time: { type: 'string', default: '40' },
    gap: { type: 'string', default: '200' },
    // Several configurations of the hub's list (indices) timed round-robin, as the tuner's side-by-side rounds do.
    'hub-configs': { type: 'string' },
  },
});
const suite = resolveSuite(values.suite!);
const c = suite.cases.find((x) => x.name === values.case);
if (!c) throw new Error(`no case ${values.case} in ${values.suite}: ${suite.cases.map((x) => x.name).join(', ')}`);
const session = await cpuBackend.open();
const hubConfigs = values['hub-configs'] ? (JSON.parse(readFileSync('data/hub/cpu.json', 'utf8')) as { configs: { variant: string; params: Record<string, string | number> }[] }).configs : [];
const configs = values['hub-configs']
  ? values['hub-configs'].split(',').map((i) => ({ label: `#${i}`, ...hubConfigs[Number(i)]! }))
  : values.threads!.split(',').map((t) => ({ label: `${t}t`, variant: values.variant!, params: { ...JSON.parse(values.params!), threads: Number(t) } as Record<string, string | number> }));
const kernels = new Map<string, Kernel>();
for (const x of configs) {
  const v = cpuBackend.variants.find((k) => k.name === x.variant);
  if (!v) throw new Error(`no CPU kernel ${x.variant}`);
  const problem = v.op === 'neocell' ? c.neocell : v.op === 'dwconv' ? c.dwconv : c.copy;
  if (!problem) throw new Error(`case ${values.case} has no ${v.op} problem`);
  const defaults = v.defaults(problem as never, session.device);
  // Only the parameters the variant has (a JavaScript kernel or a peer has no thread count).
  const params = { ...defaults, ...Object.fromEntries(Object.entries(x.params).filter(([k]) => k in defaults)) };
  const k = await createKernel(v, problem, params, session);
  await k.prepare(makeProblemData(problem, 1));
  kernels.set(x.label, k);
}

/** CPU each thread of this process last ran on, with its CPU time so far (ticks), busiest first. */
function placement(): { tid: number; cpu: number; ticks: number }[] {
  return readdirSync('/proc/self/task')
    .map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { tid: Number(tid), cpu: Number(f[36]), ticks: Number(f[11]) + Number(f[12]) };
    })
    .sort((a, b) => b.ticks - a.ticks);
}

const rounds: unknown[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const order = [...kernels].map((_, i, all) => all[(i + r) % all.length]!);
  if (r % 2) order.reverse();
  for (const [label, kernel] of order) {
    const t = await measureHostClock(kernel, { timeMs: Number(values.time), minSamples: 10, warmupMs: r === 0 ? Number(values.time) : 0 }, processProbe(kernel));
    const { clean, counts, slowKept } = setAside(t.samples_ms, t.evidence);
    // The same samples judged without the speed canary's reading (what the harness did before it).
    const withoutCanary = setAside(t.samples_ms, t.evidence?.map(({ canary: _, ...e }) => e)).clean;
    const waits = (t.evidence ?? []).map((e) => (e.wait_ms ?? 0) / Math.max(1, e.wall_ms / quantile(t.samples_ms, 0.5)));
    rounds.push({
      round: r,
      label,
      all: +quantile(t.samples_ms, 0.5).toFixed(5),
      clean: clean.length ? +quantile(clean, 0.5).toFixed(5) : null,
      without_canary: withoutCanary.length ? +quantile(withoutCanary, 0.5).toFixed(5) : null,
      n: t.samples_ms.length,
      slow_kept: slowKept,
      aside: Object.fromEntries(Object.entries(counts).filter(([, v]) => v > 0)),
      wait_us_per_call: +(1000 * quantile(waits, 0.5)).toFixed(2),
      where: placement().slice(0, 3).map((p) => p.cpu),
    });
  }
  if (values.gap !== '0') await new Promise((res) => setTimeout(res, Number(values.gap)));
}
// V8's optimization status bits of each generated JavaScript part (bit 4: TurboFan code, bit 5: interpreted, 15: baseline).
const tiers = Object.fromEntries(
  [...kernels].map(([label, k]) => [
    label,
    ((k as unknown as { fns?: unknown[] }).fns ?? [])
      .map((f) => new Function('f', 'return %GetOptimizationStatus(f)')(f) as number)
      .map((s) => (s & 16 ? 'turbofan' : s & (1 << 15) ? 'baseline' : s & 32 ? 'interpreted' : `status ${s}`)),
  ]),
);
process.stdout.write(JSON.stringify({ case: values.case, variant: values.variant, params: values.params, rounds, tiers }) + '\n');
for (const k of kernels.values()) await k.dispose();
await session.close();
