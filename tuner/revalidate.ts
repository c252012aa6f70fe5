/**
 * Winners re-validated side by side. During the search each candidate is timed once, at its own
 * moment; on a shared machine a candidate can look fastest because the machine was quiet just
 * then. Before a winner is stored, it and every candidate statistically tied with it or within
 * CLOSE_MARGIN of the fastest are opened again (verified again) and measured in interleaved rounds
 * (A B C, C B A, …, as asv and Helion do), so drift on the machine hits all of them alike; the
 * winner is chosen again from those samples.
 */
import { prepareAndVerify, timingFields } from '../harness/evaluate.js';
import { processProbe } from '../harness/probe.js';
import { DEFAULT_TARGET_REL } from '../harness/stability.js';
import { measureWithTinybench } from '../harness/timing.js';
import type { BackendSession, DeviceTiming, KernelInstance, KernelVariant, Problem, ProblemData, SampleEvidence } from '../harness/types.js';
import type { DbEntry } from './db.js';
import { complexity, type Config } from './space.js';
import { type Candidate, selectWinner, type Winner } from './winner.js';

export const REVALIDATION = { rounds: 6, roundMs: 40, maxFinalists: 4, closeMargin: 0.1 } as const;

interface Finalist {
  readonly key: string;
  readonly config: Config;
  readonly source_hash?: string;
  readonly kernel: KernelInstance;
  readonly samples: number[];
  readonly evidence: SampleEvidence[];
  threads: number;
  method: string;
}

/** The finalists' database keys: the winner, its ties, and candidates close to the fastest, fastest first. */
export function finalistKeys(winner: Winner, entry: DbEntry, current: ReadonlySet<string>): string[] {
  const timed = Object.entries(entry.candidates).filter(([k, c]) => current.has(k) && c.state === 'verified' && c.median_ms !== undefined);
  const stable = timed.filter(([, c]) => c.quality?.stable !== false);
  const pool = stable.length ? stable : timed;
  const fastest = Math.min(...pool.map(([, c]) => c.median_ms!));
  const tied = new Set([winner.key, ...winner.confidence.tied]);
  const close = pool.filter(([, c]) => tied.has(c.key) || c.median_ms! <= (1 + REVALIDATION.closeMargin) * fastest).sort(([, a], [, b]) => a.median_ms! - b.median_ms!);
  const keys = close.map(([k]) => k).slice(0, REVALIDATION.maxFinalists);
  const own = close.find(([, c]) => c.key === winner.key);
  if (own && !keys.includes(own[0])) keys[keys.length - 1] = own[0];
  return keys;
}

export async function revalidateWinner(
  winner: Winner,
  entry: DbEntry,
  variants: readonly KernelVariant[],
  current: ReadonlySet<string>,
  session: BackendSession,
  problem: Problem,
  data: ProblemData,
): Promise<Winner> {
  const keys = finalistKeys(winner, entry, current);
  if (keys.length < 2) return winner;
  const byName = new Map(variants.map((v) => [v.name, v]));
  const finalists: Finalist[] = [];
  try {
    for (const k of keys) {
      const c = entry.candidates[k]!;
      const variant = byName.get(c.config.variant);
      if (!variant) continue;
      let kernel: KernelInstance | undefined;
      try {
        kernel = await variant.create(problem, c.config.params, session);
        // Checked against the reference again before it is timed again.
        if (!(await prepareAndVerify(kernel, data)).ok) throw new Error('mismatch');
        finalists.push({ key: c.key, config: c.config, ...(c.source_hash ? { source_hash: c.source_hash } : {}), kernel, samples: [], evidence: [], threads: 1, method: '' });
      } catch {
        // A finalist that no longer opens or verifies leaves the comparison; the rest go on.
        await kernel?.dispose();
      }
    }
    if (finalists.length < 2) return winner;
    for (let round = 0; round < REVALIDATION.rounds; round++) {
      // Rotated and reversed every other round: nobody always runs first or right after another.
      const order = finalists.map((_, i) => finalists[(i + round) % finalists.length]!);
      if (round % 2 === 1) order.reverse();
      for (const f of order) {
        const probe = processProbe(f.kernel);
        const t: DeviceTiming = f.kernel.measure
          ? await f.kernel.measure({ timeMs: REVALIDATION.roundMs, minSamples: 5, warmupMs: round === 0 ? 20 : 0 })
          : await measureWithTinybench(f.kernel, { timeMs: REVALIDATION.roundMs, minSamples: 5, warmupMs: round === 0 ? 20 : 0 }, probe);
        f.samples.push(...t.samples_ms);
        f.evidence.push(...(t.evidence ?? []));
        f.threads = t.threads ?? 1;
        f.method = t.method;
      }
    }
  } finally {
    for (const f of finalists) await f.kernel.dispose();
  }
  const candidates: Candidate[] = finalists.map((f) => {
    const evidence = f.evidence.length === f.samples.length ? f.evidence : undefined;
    const t = timingFields({ samples_ms: f.samples, method: f.method, threads: f.threads, ...(evidence ? { evidence } : {}) }, DEFAULT_TARGET_REL);
    return { key: f.key, config: f.config, samples_ms: t.samples_ms ?? [], ...(f.source_hash ? { source_hash: f.source_hash } : {}), stable: t.quality?.stable ?? true };
  });
  const again = selectWinner(candidates, (cfg) => complexity(variants, cfg));
  if (!again) return winner;
  return { ...again, confidence: { ...again.confidence, revalidated: { candidates: finalists.map((f) => f.key), rounds: REVALIDATION.rounds, changed: again.key !== winner.key } } };
}
