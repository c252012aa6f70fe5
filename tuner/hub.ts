/**
 * The hub of exhaustive spaces: for each of its problems, every configuration of one device's
 * joint space verified and timed, and the leaders (the configurations close to the fastest)
 * re-timed side by side, so the best is not the luckiest of 400 noisy timings. Committed
 * compactly (data/hub/: medians and spreads, no samples) as the cost model's prior, and the
 * ground on which strategies are scored leave-one-problem-out (Kernel Tuner scores its strategies
 * on brute-forced spaces the same way).
 */
import { InputError } from '../core/errors.js';
import type { ProblemRecord } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import { CONFIG_SCHEMA } from './db-schema.js';
import type { DeviceFeatures } from '../model/features.js';
import type { TrainingRow } from '../model/cost-model.js';
import { type Config, configKey } from './space.js';

/** One problem of the hub: every configuration's time and the leaders' side-by-side times. */
export interface HubProblem {
  readonly name: string;
  readonly problem: ProblemRecord;
  /** [index into the hub's configs, median ms or null (failed verification or compilation), relative spread (IQR / median) or null]. */
  readonly times: readonly (readonly [number, number | null, number | null])[];
  /** The leaders re-timed side by side: [config index, ms, ratio to the fastest leader]; the first is the fastest. */
  readonly leaders: readonly (readonly [number, number, number])[];
}

export interface HubFile {
  readonly schema: 'neotune-hub';
  readonly version: 1;
  readonly device: DeviceFeatures & { readonly fingerprint: string; readonly description: string };
  readonly recorded: string;
  /** How it was recorded (the command), for whoever records more. */
  readonly command: string;
  /** Every configuration any problem has, once; problems refer to them by index. */
  readonly configs: readonly Config[];
  readonly problems: readonly HubProblem[];
}

const num = { type: 'number' } as const;
const nullableNum = { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'null' }] } as const;

export const HUB_SCHEMA = {
  type: 'object',
  required: ['schema', 'version', 'device', 'recorded', 'command', 'configs', 'problems'],
  properties: {
    schema: { const: 'neotune-hub' },
    version: { const: 1 },
    device: {
      type: 'object',
      required: ['fingerprint', 'description', 'backend', 'threads'],
      properties: { fingerprint: { type: 'string' }, description: { type: 'string' }, backend: { type: 'string' }, threads: { type: 'integer', minimum: 1 }, copy_gbps: num, peak_gflops: num },
    },
    recorded: { type: 'string' },
    command: { type: 'string' },
    configs: { type: 'array', items: CONFIG_SCHEMA },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'problem', 'times', 'leaders'],
        properties: {
          name: { type: 'string' },
          problem: { type: 'object', required: ['op', 'N', 'C', 'H', 'W', 'dtype', 'spec', 'label'] },
          times: { type: 'array', minItems: 1, items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'integer', minimum: 0 }, nullableNum, { anyOf: [{ type: 'number', minimum: 0 }, { type: 'null' }] }] } },
          leaders: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'integer', minimum: 0 }, { type: 'number', exclusiveMinimum: 0 }, { type: 'number', exclusiveMinimum: 0 }] } },
        },
      },
    },
  },
} as const;

/** A hub problem as the scorer and the model use it: configurations with their measured and best-estimate times. */
export interface HubSpace {
  readonly name: string;
  readonly problem: ProblemRecord;
  readonly configs: readonly Config[];
  /** What one tuning run measured of each configuration (its search-time median; undefined: failed). */
  readonly measured: ReadonlyMap<string, number | undefined>;
  /** The best estimate of each configuration's time: the side-by-side time for leaders, the median otherwise. */
  readonly truth: ReadonlyMap<string, number | undefined>;
  /** The fastest configuration by `truth`, and its time. */
  readonly bestKey: string;
  readonly best: number;
}

/** The problems of a hub file as spaces; configuration indices are checked (a damaged file is refused naming the field). */
export function hubSpaces(hub: HubFile, field = 'hub'): HubSpace[] {
  return hub.problems.map((p, pi) => {
    const config = (i: number, where: string) => {
      const c = hub.configs[i];
      if (!c) throw new InputError(`${field}.problems[${pi}].${where}`, i, `an index into configs (0…${hub.configs.length - 1})`);
      return c;
    };
    const configs = p.times.map(([i], k) => config(i, `times[${k}]`));
    const measured = new Map(p.times.map(([i, ms]) => [configKey(config(i, 'times')), ms ?? undefined]));
    const truth = new Map(measured);
    for (const [key, ms] of leaderTimes(p.leaders.map(([i, , ratio], k) => ({ key: configKey(config(i, `leaders[${k}]`)), ratio })), measured)) truth.set(key, ms);
    let bestKey = '';
    let best = Infinity;
    for (const [k, t] of truth) if (t !== undefined && t < best) [bestKey, best] = [k, t];
    if (!Number.isFinite(best)) throw new InputError(`${field}.problems[${pi}].times`, 'no verified configuration', 'at least one configuration with a time');
    return { name: p.name, problem: p.problem, configs, measured, truth, bestKey, best };
  });
}

/**
 * The leaders' best-estimate times: their side-by-side ratios (what the interleaved rounds
 * measure well) on the scale of the problem's search-time medians, so that a leader and the
 * configurations around it are compared on one scale. (The side-by-side rounds run minutes after
 * the search; a slow phase then would otherwise put every leader behind configurations it beats.)
 * The scale: the median over the leaders of search median / ratio.
 */
export function leaderTimes(leaders: readonly { readonly key: string; readonly ratio: number }[], measured: ReadonlyMap<string, number | undefined>): Map<string, number> {
  const scales = leaders.flatMap(({ key, ratio }) => {
    const ms = measured.get(key);
    return ms === undefined ? [] : [ms / ratio];
  });
  if (scales.length === 0) return new Map();
  const scale = quantile(scales, 0.5);
  return new Map(leaders.map(({ key, ratio }) => [key, Number((scale * ratio).toPrecision(5))]));
}

/** The hub's measurements as the cost model's training rows (the best-estimate times). */
export function hubRows(hub: HubFile, spaces: readonly HubSpace[] = hubSpaces(hub), exclude?: (s: HubSpace) => boolean): TrainingRow[] {
  return spaces.flatMap((s) =>
    exclude?.(s) ? [] : s.configs.flatMap((config) => {
      const t = s.truth.get(configKey(config));
      return t === undefined ? [] : [{ problem: s.problem, config, device: hub.device, median_ms: t }];
    }),
  );
}
