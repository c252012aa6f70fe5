/**
 * One fresh process of the speed-canary and thread-pool drift study (dev/drift/canary.sh starts
 * many): one configuration of a hub problem, timed on each thread count asked (or several of the
 * hub's configurations) in rotating rounds spread over the process's life, as the harness times
 * it (measureHostClock with this process's probe). For each round: the median of all samples, of
 * the clean ones and of those clean but for the speed canary (harness/types.ts SpeedCanary), why
 * samples were set aside, the calling thread's wait for workers per call, and on which CPU each
 * busy thread of the process last ran (/proc/self/task). Prints one JSON line.
 *
 *   node --no-concurrent-recompilation dist/dev/drift/pool-process.js [--case "T stage4.neocell"] \
 *     [--variant tiled-wasm] [--params '{"order":"AB","mr":4,"nv":2}'] [--threads 1,2] \
 *     [--hub-configs 302,318] [--rounds 10] [--time 40] [--gap 200]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createKernel } from '../../harness/compile.js';
import type { KernelInstance as Kernel } from '../../harness/types.js';
import { makeProblemData } from '../../harness/problem.js';
import { measureHostClock } from '../../harness/timing.js';
import { processProbe } from '../../harness/probe.js';
import { setAside } from '../../harness/stability.js';
import { quantile } from '../../harness/stats.js';
import { resolveSuite } from '../../suites/suite.js';
import { cpuBackend } from '../../kernels/cpu/backend.js';

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
const c = resolveSuite(values.suite!).cases.find((x) => x.name === values.case);
if (!c) throw new Error(`no case ${values.case}`);
const session = await cpuBackend.open();
const problem = c.neocell!;
const hubConfigs = (JSON.parse(readFileSync('data/hub/cpu.json', 'utf8')) as { configs: { variant: string; params: Record<string, string | number> }[] }).configs;
const configs = values['hub-configs']
  ? values['hub-configs'].split(',').map((i) => ({ label: `#${i}`, ...hubConfigs[Number(i)]! }))
  : values.threads!.split(',').map((t) => ({ label: `${t}t`, variant: values.variant!, params: { ...JSON.parse(values.params!), threads: Number(t) } }));
const kernels = new Map<string, Kernel>();
for (const c of configs) {
  const v = cpuBackend.variants.find((x) => x.name === c.variant)!;
  const k = await createKernel(v, problem, { ...v.defaults(problem as never, session.device), ...c.params }, session);
  await k.prepare(makeProblemData(problem, 1));
  kernels.set(c.label, k);
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
  await new Promise((res) => setTimeout(res, Number(values.gap)));
}
process.stdout.write(JSON.stringify({ case: values.case, variant: values.variant, params: values.params, rounds }) + '\n');
for (const k of kernels.values()) await k.dispose();
await session.close();
