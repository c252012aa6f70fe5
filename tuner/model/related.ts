/**
 * Other problems measured on the device being tuned, as the model-based search learns from them
 * (tuner/model/posterior.ts RelatedObservation): the run's earlier problems and whatever the
 * database holds for this device. The cost model itself learns only from spaces measured broadly
 * (a quick tune's ten candidates do not give a problem's median), so without this a device the
 * prior has not seen would teach the search nothing from one problem to the next.
 */
import type { ProblemRecord } from '../../harness/problem.js';
import { problemDistance } from '../../runtime/choice.js';
import { type CostModel, problemId } from '../../model/cost-model.js';
import type { DeviceFeatures } from '../../model/features.js';
import type { TuningDb } from '../db-model.js';
import type { Config } from '../space.js';
import type { RelatedObservation } from './posterior.js';

/** One problem's measurements on the device. */
export interface MeasuredProblem {
  readonly problem: ProblemRecord;
  readonly measured: readonly { readonly config: Config; readonly ms: number }[];
}

/**
 * How much of it the search takes: the problems nearest in shape, and each one's fastest
 * measurements (where the search decides; a handful of problems of a quick tune's size keep the
 * posterior's matrix small enough to refit after every evaluation).
 */
export const RELATED = { problems: 6, perProblem: 16 };

/**
 * The measurements of other problems of the same operator that the search of `current` learns
 * from, each with the model's prediction for it on `device`. A problem measured once says
 * nothing beyond its own offset and is left out.
 */
export function relatedObservations(model: CostModel, device: DeviceFeatures, current: ProblemRecord, others: readonly MeasuredProblem[]): RelatedObservation[] {
  const id = problemId(current);
  return others
    .filter((o) => o.problem.op === current.op && problemId(o.problem) !== id && o.measured.length >= 2)
    .map((o) => ({ o, d: problemDistance(o.problem, current) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, RELATED.problems)
    .flatMap(({ o }) => {
      const fastest = [...o.measured].sort((a, b) => a.ms - b.ms).slice(0, RELATED.perProblem);
      const priors = model.predict(o.problem, fastest.map((m) => m.config), device);
      const group = problemId(o.problem);
      return fastest.map((m, i) => ({ group, problem: o.problem, config: m.config, prior: priors[i]!, logMs: Math.log(m.ms) }));
    });
}

/** What the database holds of `device` (a fingerprint) on `backend`: each problem's verified candidates, one per configuration. */
export function measuredOnDevice(db: TuningDb, device: string, backend: string): MeasuredProblem[] {
  return Object.values(db.entries).flatMap((e) => {
    if (e.device !== device || e.backend !== backend) return [];
    const byKey = new Map<string, { config: Config; ms: number }>();
    for (const c of Object.values(e.candidates)) if (c.state === 'verified' && c.median_ms !== undefined && !byKey.has(c.key)) byKey.set(c.key, { config: c.config, ms: c.median_ms });
    return [{ problem: e.problem, measured: [...byKey.values()] }];
  });
}
