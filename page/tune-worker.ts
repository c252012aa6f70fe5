/**
 * The tuner in a visitor's browser, in a dedicated Web Worker (the page stays responsive while
 * kernels are verified and timed): the WebAssembly variants neotune tunes in Node, on this CPU,
 * and the WGSL variants on this browser's WebGPU adapter, searched, verified against the float64
 * reference and timed by the very same code (tuner/tune.ts), into a tuning database in the CLI's
 * format. Every case's NeoCell problem and the depthwise 7×7 conv it replaces are tuned on each
 * backend. A candidate that fails (a compile error, a lost device) fails alone; a backend that
 * cannot open is reported and left out. Messages: page → worker one TuneRequest; worker → page
 * progress, one message per tuned problem, notes, then the database (or an error).
 */
import { openPageGpuSession } from '../kernels/webgpu/page-session.js';
import { problemCosts, problemKey, problemRecord } from '../harness/problem.js';
import { softwareRenderer } from '../harness/software.js';
import type { BackendSession, KernelVariant, Problem } from '../harness/types.js';
import { openCpuTarget } from '../runtime/cpu-target.js';
import { benchCase, smokeSuite, stageSuite, type Suite } from '../suites/builtin.js';
import { deviceFingerprint, emptyDb, winnerUnstable } from '../tuner/db-model.js';
import type { HubFile } from '../tuner/hub.js';
import { modelOfEverything, sessionDeviceFeatures } from '../tuner/model/training.js';
import { modelStrategy } from '../tuner/strategies/model.js';
import { tuneProblem } from '../tuner/tune.js';
import { neoCellProblem } from '../harness/problem.js';
import { parseCellText } from '../core/spec.js';
import { pageVariants } from './variants.js';
import { PAGE_EFFORTS, PAGE_SUITES, type PageBackend, type TuneRequest, type WorkerMessage } from './protocol.js';

function suiteOf(req: TuneRequest): Suite {
  if (req.suite === 'smoke') return smokeSuite();
  if (req.suite === 'custom') {
    const c = req.custom;
    if (!c) throw new Error('suite=custom needs a layer (N, C, H, W, spec)');
    const spec = /c:/.test(c.spec) ? parseCellText(c.spec) : c.spec;
    const problem = neoCellProblem({ N: c.N, C: c.C, H: c.H, W: c.W, spec, ...(c.shift !== undefined && typeof spec === 'string' ? { shift: c.shift } : {}) });
    return { name: 'custom', description: 'a layer typed into the page', cases: [benchCase(problemRecord(problem).label, 1, problem)] };
  }
  return stageSuite(req.suite.slice('neonext-'.length, -'-stages'.length) as 't', 224);
}

const post = (m: WorkerMessage) => (globalThis as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

interface Target {
  readonly backend: PageBackend;
  readonly variants: readonly KernelVariant[];
  readonly session: BackendSession;
  readonly software?: string;
}

async function openTargets(req: TuneRequest): Promise<Target[]> {
  const targets: Target[] = [];
  for (const backend of req.backends) {
    if (backend === 'wasm') {
      const t = await openCpuTarget('wasm', req.threads, { browser: req.browser });
      targets.push({ backend, variants: pageVariants(backend), session: t.session });
      continue;
    }
    let session;
    try {
      session = await openPageGpuSession(req.browser);
    } catch (e) {
      post({ type: 'note', message: `WebGPU is left out: ${(e as Error).message}` });
      continue;
    }
    const software = softwareRenderer(session.device);
    if (software && !req.includeSoftware) {
      post({ type: 'note', message: `WebGPU runs on a software renderer here (${software}): its kernels are not tuned, since their times are not GPU performance (include-software=1 tunes them anyway, as correctness runs)` });
      await session.close();
      continue;
    }
    targets.push({ backend, variants: pageVariants(backend), session, ...(software ? { software } : {}) });
  }
  return targets;
}

/** The hubs the page serves beside this worker (hubs.json): the cost model's prior, as in the CLI. */
async function pageHubs(): Promise<HubFile[]> {
  try {
    const r = await fetch(new URL('./hubs.json', import.meta.url));
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return (await r.json()) as HubFile[];
  } catch (e) {
    post({ type: 'note', message: `the hub of exhaustive spaces could not be loaded (${(e as Error).message}): the model-based search starts from no prediction` });
    return [];
  }
}

async function tune(req: TuneRequest): Promise<void> {
  if (!PAGE_SUITES.includes(req.suite)) throw new Error(`unknown suite ${req.suite}`);
  const suite = suiteOf(req);
  const targets = await openTargets(req);
  if (targets.length === 0) throw new Error('no backend to tune on (see the notes above)');
  try {
    const db = emptyDb();
    // The model-based search, as the CLI's default: each problem starts from the cost model's
    // predictions (learned from the shipped hub), corrected by what this browser measures.
    const hubs = await pageHubs();
    const model = modelOfEverything(hubs, undefined);
    const jobs = targets.flatMap((t) => suite.cases.flatMap((c) => [c.neocell, c.dwconv].map((problem) => ({ t, c, problem: problem as Problem }))));
    for (const [i, { t, c, problem }] of jobs.entries()) {
      const name = `${c.name} ${problem.op} (${t.backend})`;
      const variants = t.variants.filter((v) => v.op === problem.op);
      const r = await tuneProblem(db, problem, variants, t.session, {
        strategy: modelStrategy,
        seed: 1,
        budget: req.budget !== undefined ? { evaluations: req.budget } : PAGE_EFFORTS[req.effort],
        ...(model?.backends.has(t.session.backend) ? { model: { model, device: sessionDeviceFeatures(t.session.device, hubs) } } : {}),
        progress: (p) => post({ type: 'progress', problem: name, index: i, problems: jobs.length, done: p.done, total: p.total, failed: p.failed, best_ms: p.best?.median_ms ?? null }),
      });
      const w = r.winner ? r.entry.candidates[Object.keys(r.entry.candidates).find((k) => r.entry.candidates[k]!.key === r.winner!.key)!] : undefined;
      const rec = problemRecord(problem);
      const unstable = winnerUnstable(r.entry);
      post({
        type: 'tuned',
        case: c.name,
        op: problem.op as 'neocell' | 'dwconv',
        backend: t.backend,
        device: deviceFingerprint(t.session.device),
        shape: problemKey(problem).split(' ')[1]!,
        label: rec.label,
        winner: r.winner ? { key: r.winner.key, median_ms: r.winner.median_ms, timing_method: w?.timing_method ?? '', ...(unstable ? { unstable } : {}) } : null,
        evaluated: r.evaluated,
        failed: Object.values(r.entry.candidates).filter((x) => x.state !== 'verified').length,
        flops: problemCosts(problem).useful_flops,
        ...(t.software ? { software: t.software } : {}),
      });
    }
    post({ type: 'done', db, devices: targets.map((t) => deviceFingerprint(t.session.device)) });
  } finally {
    for (const t of targets) await t.session.close();
  }
}

(globalThis as unknown as { onmessage: (e: MessageEvent<TuneRequest>) => void }).onmessage = (e) => {
  tune(e.data).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
