/**
 * The cost model: log time of a (problem, configuration, device) predicted with an uncertainty,
 * learned from every measurement there is — the committed hub of exhaustive spaces (its prior) and
 * every verified candidate of the tuning database, all problems, all devices. A random forest
 * (forest.ts) over the features of features.ts predicts a configuration's time relative to its
 * problem's median configuration, so what it learns on one size carries to another; the spread of
 * its trees is the uncertainty. Small and environment-neutral: the tuning page trains it as the
 * CLI does, and a seed fixes it.
 */
import type { ProblemRecord } from '../harness/problem.js';
import { mean, quantile } from '../harness/stats.js';
import { type Config, configKey } from '../harness/params.js';
import { columnIndex, columnLayout, type ColumnLayout, type DeviceFeatures, encodeRow, featureValues, problemFeatures, problemScale } from './features.js';
import { type PortableModel, portableTrees } from './portable.js';
import { type Forest, type ForestOptions, trainForest } from './forest.js';
import { choleskySolver } from './cholesky.js';

/** One measurement the model learns from. */
export interface TrainingRow {
  readonly problem: ProblemRecord;
  readonly config: Config;
  readonly device: DeviceFeatures;
  readonly median_ms: number;
}

/** A predicted time: natural log of milliseconds, and its standard deviation (same units). */
export interface Prediction {
  readonly mean: number;
  readonly sd: number;
  /**
   * How the configuration fares across the training problems, relative to each problem's median
   * configuration and centred over problems, as a unit vector: two configurations whose profiles
   * point the same way rise and fall together from one problem to the next, so a measurement of
   * one says something of the other (the posterior's correlation between them).
   */
  readonly profile?: Float64Array;
}

export interface CostModel {
  /** What it was trained on. */
  readonly rows: number;
  readonly problems: number;
  readonly devices: number;
  /** Backends it has measurements of: on another one its predictions mean nothing. */
  readonly backends: ReadonlySet<string>;
  predict(problem: ProblemRecord, configs: readonly Config[], device: DeviceFeatures): Prediction[];
  /** The model as data for the runtime (model/portable.ts), its predictions made on `device` (the profiles stay behind). */
  portable(device: DeviceFeatures): PortableModel;
}

/** Identity of a device as the model sees it: its features, ceilings included. */
function deviceKey(d: DeviceFeatures): string {
  return JSON.stringify(d);
}

/** Identity of a problem record (the database's problem part of an entry key). */
export function problemId(p: ProblemRecord): string {
  return `${p.op} ${p.N}x${p.C}x${p.H}x${p.W} ${p.spec} ${p.dtype}`;
}


/** Problems measured on fewer configurations than this (a quick tune's dozen) do not teach the relative model: their median is not the space's. */
export const MIN_SPACE_ROWS = 25;

/**
 * Trains the model on `rows` (undefined when there are none: nothing to learn from). Two parts:
 * the forest predicts a configuration's ln time relative to the median configuration of its
 * problem (what ranks configurations), and a least-squares line in the problem's ln FLOPs and ln
 * bytes predicts that median (what a time is expected to be); the posterior learns a problem's
 * own level from its first measurement anyway.
 */
export function trainCostModel(rows: readonly TrainingRow[], options: Partial<ForestOptions> = {}): CostModel | undefined {
  const usable = rows.filter((r) => r.median_ms > 0 && Number.isFinite(r.median_ms));
  if (usable.length === 0) return undefined;
  const problems = new Map<string, { features: Map<string, number>; size: [number, number] }>();
  const problemOf = (p: ProblemRecord) => {
    const id = problemId(p);
    let v = problems.get(id);
    if (!v) problems.set(id, (v = { features: problemFeatures(p), size: problemScale(p) }));
    return v;
  };
  const groups = new Map<string, TrainingRow[]>();
  for (const r of usable) {
    const id = `${problemId(r.problem)} @ ${deviceKey(r.device)}`;
    (groups.get(id) ?? groups.set(id, []).get(id)!).push(r);
  }
  const full = [...groups.values()].filter((g) => g.length >= MIN_SPACE_ROWS);
  const taught = full.length > 0 ? full : [...groups.values()];
  const medians = taught.map((g) => quantile(g.map((r) => Math.log(r.median_ms)), 0.5));
  const level = fitLevel(taught.map((g) => problemOf(g[0]!.problem).size), medians);
  const relRows = taught.flatMap((g, i) => g.map((r) => ({ r, y: Math.log(r.median_ms) - medians[i]! })));
  const values = relRows.map(({ r }) => featureValues(problemOf(r.problem).features, r.config, r.device));
  const layout: ColumnLayout = columnLayout(values);
  const index = columnIndex(layout);
  const encoded = values.map((v) => encodeRow(layout, v, index));
  // The forest that predicts for `device`: trained on its own measurements, and on other devices'
  // measurements of a problem only where it measured fewer of that problem's configurations than
  // they did (all rows for a device with none of its own). Two CPUs rank the same kernels
  // differently (T stage 4: a dense kernel on the AMD VM, a fused one on the Xeon VM) and the
  // device features that tell them apart are a few ceilings: a forest of both devices' rows of the
  // same problems blurred the AMD VM's rankings (replayed, repeated quick tunes agreed in 82-84 %
  // of pairs of seeds, against 96 % without the Xeon's rows). A tune's 30 candidates of a problem
  // do not replace another device's whole space of it; a hub of its own does.
  const sizes = new Map(taught.map((g) => [`${problemId(g[0]!.problem)} @ ${deviceKey(g[0]!.device)}`, g.length]));
  // Each row's problem and device, keyed once (not per device asked for).
  const rowProblem = relRows.map(({ r }) => problemId(r.problem));
  const rowDevice = relRows.map(({ r }) => deviceKey(r.device));
  const forests = new Map<string, Forest>();
  const byDevice = new Map<string, Forest>();
  const forestFor = (device: DeviceFeatures): Forest => {
    const me = deviceKey(device);
    let forest = byDevice.get(me);
    if (forest) return forest;
    const superseded = (i: number) => rowDevice[i] !== me && (sizes.get(`${rowProblem[i]} @ ${me}`) ?? 0) >= sizes.get(`${rowProblem[i]} @ ${rowDevice[i]}`)!;
    const pick = relRows.flatMap((_, i) => (superseded(i) ? [] : [i]));
    // Devices that supersede nothing share the forest of every row.
    const key = pick.length === relRows.length ? '' : me;
    forest = forests.get(key);
    if (!forest) forests.set(key, (forest = trainForest(pick.map((i) => encoded[i]!), pick.map((i) => relRows[i]!.y), options)));
    byDevice.set(me, forest);
    return forest;
  };
  const profiles = configProfiles(relRows.map(({ r }) => r));
  const trainedOn = new Set(usable.map((r) => problemId(r.problem))).size;
  const devices = new Set(usable.map((r) => deviceKey(r.device))).size;
  return {
    rows: usable.length,
    problems: trainedOn,
    devices,
    backends: new Set(usable.map((r) => r.device.backend)),
    portable: (device) => ({
      format: 'neotune-cost-model',
      version: 1,
      basis: { rows: usable.length, problems: trainedOn, devices },
      device,
      columns: layout.columns,
      level: level.coefficients,
      trees: portableTrees(forestFor(device).trees),
    }),
    predict(problem, configs, device) {
      const p = problemOf(problem);
      const base = level.at(p.size);
      const forest = forestFor(device);
      return configs.map((c) => {
        const f = forest.predict(encodeRow(layout, featureValues(p.features, c, device), index));
        const profile = profiles.get(configKey(c));
        return { mean: base + f.mean, sd: f.sd, ...(profile ? { profile } : {}) };
      });
    },
  };
}

/** Least squares (lightly ridged) of the problems' median ln time on [1, ln MFLOPs, ln MB]; a constant with fewer than 4 problems. */
function fitLevel(x: readonly [number, number][], y: readonly number[]): { coefficients: [number, number, number]; at: (size: [number, number]) => number } {
  const level = mean(y);
  const line = (beta: [number, number, number]) => ({ coefficients: beta, at: ([f, b]: [number, number]) => beta[0] + beta[1] * f + beta[2] * b });
  if (x.length < 4) return line([level, 0, 0]);
  const rowsX = x.map(([f, b]) => [1, f, b]);
  const xtx = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rowsX.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j && i > 0 ? 1e-3 : 0)));
  const xty = [0, 1, 2].map((i) => rowsX.reduce((s, r, k) => s + r[i]! * y[k]!, 0));
  const beta = choleskySolver(xtx).solve(xty);
  if (!beta.every(Number.isFinite)) return line([level, 0, 0]);
  return line([beta[0]!, beta[1]!, beta[2]!]);
}

/** Each configuration's profile over the training problems (see Prediction.profile), on one device per problem and configuration. */
function configProfiles(rows: readonly TrainingRow[]): Map<string, Float64Array> {
  const byProblem = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const id = `${problemId(r.problem)} @ ${deviceKey(r.device)}`;
    let m = byProblem.get(id);
    if (!m) byProblem.set(id, (m = new Map()));
    m.set(configKey(r.config), Math.log(r.median_ms));
  }
  // Problems measured too thinly (a quick tune's dozen candidates) say little of the whole space.
  const problems = [...byProblem.values()].filter((m) => m.size >= MIN_SPACE_ROWS);
  const relative = problems.map((m) => {
    const median = quantile([...m.values()], 0.5);
    return new Map([...m].map(([k, v]) => [k, v - median]));
  });
  const keys = new Set(relative.flatMap((m) => [...m.keys()]));
  const out = new Map<string, Float64Array>();
  for (const k of keys) {
    const seen = relative.map((m) => m.get(k));
    const present = seen.filter((v): v is number => v !== undefined);
    if (present.length < 2) continue;
    const centre = mean(present);
    const v = Float64Array.from(seen, (x) => (x === undefined ? 0 : x - centre));
    const norm = Math.hypot(...v);
    if (norm > 0) out.set(k, v.map((x) => x / norm));
  }
  return out;
}
