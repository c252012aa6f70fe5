/**
 * The tuner in a visitor's browser, in a dedicated Web Worker (the page stays responsive while
 * kernels are verified and timed): the WebAssembly variants neotune tunes in Node, on this CPU,
 * searched, verified against the float64 reference and timed by the very same code (tuner/tune.ts),
 * into a tuning database in the CLI's format. Messages: page → worker one TuneRequest; worker →
 * page progress, one line per tuned problem, then the database (or an error).
 */
import { openCpuTarget } from '../runtime/cpu-target.js';
import { smokeSuite, stageSuite, type Suite } from '../suites/builtin.js';
import { emptyDb } from '../tuner/db-model.js';
import { strategyByName } from '../tuner/strategies/index.js';
import { tuneProblem } from '../tuner/tune.js';
import { PAGE_EFFORTS, PAGE_SUITES, type PageSuite, type TuneRequest, type WorkerMessage } from './protocol.js';

function suiteOf(name: PageSuite): Suite {
  if (name === 'smoke') return smokeSuite();
  return stageSuite(name.slice('neonext-'.length, -'-stages'.length) as 't', 224);
}

const post = (m: WorkerMessage) => (globalThis as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

async function tune(req: TuneRequest): Promise<void> {
  if (!PAGE_SUITES.includes(req.suite)) throw new Error(`unknown suite ${req.suite}`);
  const target = await openCpuTarget('wasm', req.threads, { browser: req.browser });
  try {
    const db = emptyDb();
    const problems = suiteOf(req.suite).cases.map((c) => ({ name: c.name, problem: c.neocell }));
    for (const [i, { name, problem }] of problems.entries()) {
      const r = await tuneProblem(db, problem, target.variants, target.session, {
        strategy: strategyByName('tpe'),
        seed: 1,
        budget: req.budget !== undefined ? { evaluations: req.budget } : { fraction: PAGE_EFFORTS[req.effort].fraction },
        progress: (p) => post({ type: 'progress', problem: name, index: i, problems: problems.length, done: p.done, total: p.total, failed: p.failed, best_ms: p.best?.median_ms ?? null }),
      });
      post({ type: 'tuned', problem: name, key: `${problem.N}x${problem.C}x${problem.H}x${problem.W}`, winner: r.winner ? { key: r.winner.key, median_ms: r.winner.median_ms } : null, evaluated: r.evaluated, failed: Object.values(r.entry.candidates).filter((c) => c.state !== 'verified').length });
    }
    post({ type: 'done', db, device: target.session.device.description });
  } finally {
    await target.session.close();
  }
}

(globalThis as unknown as { onmessage: (e: MessageEvent<TuneRequest>) => void }).onmessage = (e) => {
  tune(e.data).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
