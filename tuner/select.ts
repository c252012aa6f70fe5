/**
 * "Which kernel for this problem on this device?" From the tuning database: the winner of the
 * problem itself when it was tuned; otherwise the cost model's choice (the configuration of this
 * problem's space it predicts fastest, learned from the hub and the database, corrected by what
 * the other problems measured on this device show), flagged untuned and predicted, with its
 * expected time; without a model for this backend, the winner of the nearest
 * tuned problem on the same device whose configuration is valid for this problem, flagged
 * untuned; with nothing tuned, the backend's first variant with its defaults, also flagged.
 */
import { whyNot } from '../harness/params.js';
import { problemRecord } from '../harness/problem.js';
import type { DeviceInfo, KernelVariant, Params, Problem } from '../harness/types.js';
import { problemDistance } from '../runtime/choice.js';
import { deviceFingerprint, entryKey, type TuningDb } from './db-model.js';
import type { CostModel } from '../model/cost-model.js';
import { fastestPredicted, predictedTimes } from '../model/portable.js';
import type { DeviceFeatures } from '../model/features.js';
import { buildSpace } from './space.js';
import { problemPosterior } from './model/posterior.js';
import { measuredOnDevice, relatedObservations } from './model/related.js';

/** What select returns: the chosen kernel for a problem, whether it was tuned for it, and from which entry. */
export interface Selection {
  readonly variant: string;
  readonly params: Params;
  readonly tuned: boolean;
  /** The database entry the choice comes from, or "defaults". */
  readonly basis: string;
  /** Distance to the tuned problem it comes from (0 = this problem). */
  readonly distance: number;
  /** Tuned median of the basis problem, ms. */
  readonly basis_median_ms?: number;
  /** The cost model's choice: its expected time and the range of one standard deviation around it, ms. */
  readonly predicted?: { readonly expected_ms: number; readonly range_ms: readonly [number, number]; readonly candidates: number };
}

/** The cost model and the device's features, asked for only when a problem was not tuned (training it takes seconds). */
export type ModelForSelect = () => { readonly model: CostModel; readonly device: DeviceFeatures } | undefined;

/** The tuned winner of this problem, or the cost model's choice, or the nearest tuned problem's (problemDistance, shared with the runtime), or defaults. */
export function select(db: TuningDb, problem: Problem, device: DeviceInfo, variants: readonly KernelVariant[], modelFor?: ModelForSelect): Selection {
  const fp = deviceFingerprint(device);
  const rec = problemRecord(problem);
  const exact = db.entries[entryKey(fp, rec)];
  if (exact?.winner) {
    return { variant: exact.winner.config.variant, params: exact.winner.config.params, tuned: true, basis: entryKey(fp, rec), distance: 0, basis_median_ms: exact.winner.median_ms };
  }
  const model = modelFor?.();
  if (model?.model.backends.has(device.backend)) {
    const space = buildSpace(problem, variants, { device });
    if (space.configs.length > 0) {
      // Corrected by what the other problems measured on this device say of it (a device the
      // model's training never saw misses the same way from problem to problem); the range stays
      // the model's.
      const predicted = model.model.predict(rec, space.configs, model.device);
      const related = relatedObservations(model.model, model.device, rec, measuredOnDevice(db, fp, device.backend));
      const corrected = related.length ? problemPosterior(space.configs, predicted, [], {}, related, rec) : predicted;
      const p = predicted.map((x, k) => ({ ...x, mean: corrected[k]!.mean }));
      const i = fastestPredicted(p);
      const c = space.configs[i]!;
      const m = model.model;
      const groups = new Set(related.map((r) => r.group)).size;
      return {
        variant: c.variant,
        params: c.params,
        tuned: false,
        basis: `cost model (${m.rows} measurements of ${m.problems} problems on ${m.devices} device${m.devices === 1 ? '' : 's'}${groups >= 2 ? `; ${related.length} measurements of ${groups} other problems on this device` : ''})`,
        distance: Infinity,
        predicted: predictedTimes(p[i]!, space.configs.length),
      };
    }
  }
  const candidates = Object.entries(db.entries)
    .filter(([, e]) => e.device === fp && e.winner && e.problem.op === rec.op && e.problem.dtype === rec.dtype)
    .map(([k, e]) => ({ k, e, d: problemDistance(rec, e.problem) }))
    .sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : 1));
  for (const { k, e, d } of candidates) {
    const v = variants.find((x) => x.name === e.winner!.config.variant);
    if (!v) continue;
    const params = e.winner!.config.params;
    if (whyNot(v, problem, params, device)) continue;
    return { variant: v.name, params, tuned: false, basis: k, distance: d, basis_median_ms: e.winner!.median_ms };
  }
  const v = variants.find((x) => x.op === problem.op && (x.role === 'neocell' || problem.op !== 'neocell'));
  if (!v) throw new Error(`no ${problem.op} variant on this backend`);
  return { variant: v.name, params: v.defaults(problem, device), tuned: false, basis: 'defaults', distance: Infinity };
}
