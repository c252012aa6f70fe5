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
  /**
   * Suspects re-timed side by side (`neotune hub check --retime`): [config index, ratio to the
   * reference, the reference's config index]. The reference is the problem's fastest configuration
   * when they were re-timed (a leader, or a suspect of an earlier row).
   */
  readonly retimed?: readonly (readonly [number, number, number])[];
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
          retimed: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'integer', minimum: 0 }, { type: 'number', exclusiveMinimum: 0 }, { type: 'integer', minimum: 0 }] } },
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
  /** What one tuning run measured of each configuration (its search-time median, or its re-timed time where that was a suspect's and faster; undefined: failed). */
  readonly measured: ReadonlyMap<string, number | undefined>;
  /** The best estimate of each configuration's time: the side-by-side time for leaders, the faster of its two for a re-timed suspect, the median otherwise. */
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
    // A re-timed suspect keeps the faster of its two times (the machine only ever slows a kernel
    // down); a tune would measure it so too, as it was measured undisturbed.
    (p.retimed ?? []).forEach(([i, ratio, ref], k) => {
      const key = configKey(config(i, `retimed[${k}]`));
      const refMs = truth.get(configKey(config(ref, `retimed[${k}]`)));
      const recorded = measured.get(key);
      if (refMs === undefined || recorded === undefined) return;
      const ms = Math.min(recorded, Number((ratio * refMs).toPrecision(5)));
      measured.set(key, ms);
      if (truth.get(key) === recorded) truth.set(key, ms);
    });
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

/** What `hubSuspects` holds against a recorded time. */
export const SUSPECT = {
  /** A configuration on T > 1 threads at this fraction of its 1-thread twin's time or more… */
  threadsRatio: 0.9,
  /** …in a problem whose T-thread configurations typically run below this fraction of their twins'. */
  parallelMedian: 0.75,
  /** A relaxed (fused) multiply-add this much slower than its plain twin. */
  maddRatio: 1.1,
} as const;

/** A recorded time that contradicts the rest of its problem's space. */
export interface HubSuspect {
  readonly problem: number;
  readonly config: number;
  readonly reason: string;
}

/**
 * The configurations whose recorded times contradict what the rest of their problem's space
 * shows, so their measurement was disturbed (the machine slows a kernel down, never speeds it up):
 * a multi-threaded configuration no faster than its 1-thread twin where the problem's other
 * configurations run well in parallel (a worker on a core in a slow phase, or late, made it the
 * 1-thread kernel), or a relaxed (fused) multiply-add clearly slower than the plain one it
 * replaces. Leaders (re-timed side by side already) and configurations re-timed before are not
 * suspects. Environment-neutral: it reads the hub only.
 */
export function hubSuspects(hub: HubFile, spaces: readonly HubSpace[] = hubSpaces(hub)): HubSuspect[] {
  const indexOf = new Map(hub.configs.map((c, i) => [configKey(c), i]));
  const twin = (c: Config, param: string, value: string | number) => configKey({ ...c, params: { ...c.params, [param]: value } });
  return spaces.flatMap((s, pi) => {
    const p = hub.problems[pi]!;
    const settled = new Set([...p.leaders.map(([i]) => i), ...(p.retimed ?? []).map(([i]) => i)]);
    const time = (key: string) => s.truth.get(key);
    const threaded = s.configs.flatMap((c) => {
      const t = time(configKey(c));
      const t1 = Number(c.params.threads ?? 1) > 1 ? time(twin(c, 'threads', 1)) : undefined;
      return t !== undefined && t1 !== undefined ? [{ c, ratio: t / t1 }] : [];
    });
    const typical = threaded.length ? quantile(threaded.map((x) => x.ratio), 0.5) : 1;
    const out: HubSuspect[] = [];
    const add = (c: Config, reason: string) => {
      const i = indexOf.get(configKey(c))!;
      if (!settled.has(i) && !out.some((x) => x.config === i)) out.push({ problem: pi, config: i, reason });
    };
    if (typical < SUSPECT.parallelMedian)
      for (const { c, ratio } of threaded) if (ratio >= SUSPECT.threadsRatio) add(c, `${c.params.threads} threads at ${ratio.toFixed(2)}× its 1-thread twin's time (typical here: ${typical.toFixed(2)}×)`);
    for (const c of s.configs) {
      if (c.params.madd !== 'relaxed') continue;
      const t = time(configKey(c));
      const plain = time(twin(c, 'madd', 'plain'));
      if (t !== undefined && plain !== undefined && t > SUSPECT.maddRatio * plain) add(c, `relaxed multiply-add at ${(t / plain).toFixed(2)}× its plain twin's time`);
    }
    return out;
  });
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
