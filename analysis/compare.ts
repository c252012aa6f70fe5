/**
 * Comparing two result files (a base and a head run). Records are matched by backend, kernel,
 * parameters and problem. For each pair:
 *  - timing: ratio of medians (head / base) with a bootstrap 95 % interval on the raw samples and a
 *    Mann–Whitney U test; classified against a threshold t (default 5 %):
 *      regressed    significant (p < α) and the whole interval above 1 + t
 *      improved     significant and the whole interval below 1 − t
 *      unchanged    the whole interval within [1 − t, 1 + t]
 *      inconclusive otherwise (the data cannot tell at this threshold)
 *  - deterministic proxies (executed multiply-adds, generated code lines and memory operations),
 *    compared exactly: more work is a regression even when the timing is lost in noise.
 * Records present on one side only are listed, never ignored.
 */
import { bootstrapMedianRatio, mannWhitneyU, normalCdf, quantile, thinSamples, tQuantile975 } from '../harness/stats.js';
import { paramsText } from '../harness/params.js';
import type { ResultFile, ResultRecord } from '../harness/results.js';

/** `unstable`: either side's timing is unstable (harness/stability.ts): no verdict can rest on it. */
export type TimingClass = 'improved' | 'regressed' | 'unchanged' | 'inconclusive' | 'untimed' | 'unstable';

export interface CompareOptions {
  /** Relative threshold, e.g. 0.05. */
  readonly threshold: number;
  readonly alpha: number;
  /**
   * Run-to-run noise: the standard deviation of log(median) between separate runs of the same code
   * on this machine, per record key or one value for all (measured by `compare --aa`). Samples of
   * one run only see within-run noise; on a shared machine whole runs shift by more than that, so
   * the between-run part must be added or every A/A pair looks "significant". Records with ≥ 3
   * rounds on both sides (interleaved A/B) estimate it from their rounds instead.
   */
  readonly runNoise?: number | ReadonlyMap<string, number>;
}

export const DEFAULT_COMPARE: CompareOptions = { threshold: 0.05, alpha: 0.05 };

export interface ProxyChange {
  readonly proxy: string;
  readonly base: number | null;
  readonly head: number | null;
}

export interface ComparedRecord {
  readonly key: string;
  readonly base_median_ms?: number;
  readonly head_median_ms?: number;
  readonly ratio?: number;
  readonly ci?: readonly [number, number];
  readonly p_value?: number;
  readonly timing: TimingClass;
  /** Proxies that differ; `more` = the head does more work on at least one of them. */
  readonly proxy_changes: readonly ProxyChange[];
  readonly proxies: 'same' | 'more' | 'less' | 'changed' | 'missing';
  /** The exact lane: executed operations by class (counting builds), compared exactly; `more` = some class grew. */
  readonly operations?: 'same' | 'more' | 'less' | 'changed' | 'missing';
  readonly operation_changes?: readonly ProxyChange[];
  /** Paired rounds (compare --run): how many rounds decided it, and the largest change its interval still allows. */
  readonly rounds?: number;
  readonly resolution?: number;
  /** Paired rounds: each side's median per round, in round order (the evidence behind the verdict). */
  readonly rounds_ms?: { readonly base: readonly number[]; readonly head: readonly number[] };
}

/** The outcome of compareResults: one row per problem and kernel, and the regressions and improvements found. */
export interface Comparison {
  readonly options: CompareOptions;
  readonly records: readonly ComparedRecord[];
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  /** Paired rounds (compare --run): how the run went. */
  readonly paired?: {
    readonly base: string;
    readonly head: string;
    readonly rounds: number;
    readonly stopped: 'decided' | 'schedule' | 'time';
    readonly seed: number;
    readonly looks: readonly number[];
    readonly wall_s: number;
  };
}

/** The key two runs' records are matched by. */
export function recordKey(r: ResultRecord): string {
  const params = paramsText(r.params);
  const p = r.problem;
  return `${r.backend} ${r.kernel}${params ? ` ${params}` : ''} @ ${p.op} ${p.N}x${p.C}x${p.H}x${p.W} ${p.spec} ${p.dtype}`;
}

/** At most this many samples per side enter the statistics. */
const MAX_TEST_SAMPLES = 400;

/** 1.4826 × median absolute deviation of log values: σ for normal data, robust to an outlier. */
function robustLogSigma(x: readonly number[]): number {
  const logs = x.map(Math.log);
  const m = quantile(logs, 0.5);
  return 1.4826 * quantile(logs.map((v) => Math.abs(v - m)), 0.5);
}

const logMean = (x: readonly number[]) => x.reduce((s, v) => s + Math.log(v), 0) / x.length;
const logVar = (x: readonly number[]) => {
  const m = logMean(x);
  return x.reduce((s, v) => s + (Math.log(v) - m) ** 2, 0) / Math.max(1, x.length - 1);
};

/**
 * Timing class of head vs base. Within-run uncertainty: bootstrap interval of the median ratio
 * and Mann–Whitney U on the raw samples. Between-run uncertainty: from the rounds (≥ 3 a side:
 * Welch on log round medians) or the machine's measured run-to-run noise σ (each side one run:
 * variance 2σ²). The two are combined on the log scale; the class needs both significance and
 * the whole interval beyond the threshold.
 */
export function classifyTiming(
  base: readonly number[],
  head: readonly number[],
  o: CompareOptions,
  rounds?: { base?: readonly number[]; head?: readonly number[] },
  noise = 0,
): Pick<ComparedRecord, 'ratio' | 'ci' | 'p_value' | 'timing'> {
  if (base.length < 3 || head.length < 3) return { timing: 'untimed' };
  const b = thinSamples(base, MAX_TEST_SAMPLES);
  const h = thinSamples(head, MAX_TEST_SAMPLES);
  const r = bootstrapMedianRatio(h, b, { iterations: 1000 });
  const within = mannWhitneyU(h, b).p;
  const est = Math.log(quantile(head, 0.5) / quantile(base, 0.5));
  const seWithin = (Math.log(r.hi) - Math.log(r.lo)) / (2 * 1.96);
  const rb = rounds?.base ?? [];
  const rh = rounds?.head ?? [];
  let seBetween = Math.SQRT2 * noise;
  if (rb.length >= 3 && rh.length >= 3) {
    // Rounds: a robust spread (MAD of log round medians, so one disturbed round does not swamp
    // the rest), Student's t at nb + nh − 2 degrees of freedom for the few rounds there are.
    const sigma = Math.max(robustLogSigma(rb), robustLogSigma(rh));
    seBetween = sigma * Math.sqrt(1 / rb.length + 1 / rh.length) * (tQuantile975(rb.length + rh.length - 2) / 1.96);
  }
  const se = Math.sqrt(seWithin ** 2 + seBetween ** 2);
  const lo = Math.exp(est - 1.96 * se);
  const hi = Math.exp(est + 1.96 * se);
  const z = se > 0 ? Math.abs(est) / se : Infinity;
  const between = 2 * (1 - normalCdf(z));
  const p = seBetween > 0 ? Math.max(within, between) : within;
  const timing: TimingClass =
    p < o.alpha && lo > 1 + o.threshold ? 'regressed' : p < o.alpha && hi < 1 - o.threshold ? 'improved' : lo >= 1 - o.threshold && hi <= 1 + o.threshold ? 'unchanged' : 'inconclusive';
  return { ratio: Math.exp(est), ci: [lo, hi], p_value: p, timing };
}

function noiseFor(o: CompareOptions, key: string): number {
  if (o.runNoise === undefined) return 0;
  if (typeof o.runNoise === 'number') return o.runNoise;
  return o.runNoise.get(key) ?? Math.max(0, ...o.runNoise.values());
}

function compareProxies(base: ResultRecord, head: ResultRecord): Pick<ComparedRecord, 'proxy_changes' | 'proxies'> {
  if (!base.proxies || !head.proxies) return { proxy_changes: [], proxies: 'missing' };
  const changes: ProxyChange[] = [];
  for (const k of ['executed_macs', 'code_lines', 'code_memory_ops'] as const) {
    if (base.proxies[k] !== head.proxies[k]) changes.push({ proxy: k, base: base.proxies[k], head: head.proxies[k] });
  }
  return { proxy_changes: changes, proxies: workChange(changes) };
}

/** Which way a set of exact counts moved: none, all up (more work), all down, or both. */
function workChange(changes: readonly ProxyChange[]): 'same' | 'more' | 'less' | 'changed' {
  if (changes.length === 0) return 'same';
  const more = changes.some((c) => (c.head ?? 0) > (c.base ?? 0));
  const less = changes.some((c) => (c.head ?? 0) < (c.base ?? 0));
  return more && !less ? 'more' : less && !more ? 'less' : 'changed';
}

/** Executed operations by class, compared exactly (any class that grew is more work, whatever the timing says). */
export function compareOperations(base: ResultRecord, head: ResultRecord): Pick<ComparedRecord, 'operations' | 'operation_changes'> {
  if (!base.operations || !head.operations) return base.operations || head.operations ? { operations: 'missing', operation_changes: [] } : {};
  const classes = [...new Set([...Object.keys(base.operations), ...Object.keys(head.operations)])];
  const changes = classes.filter((k) => base.operations![k] !== head.operations![k]).map((k) => ({ proxy: k, base: base.operations![k] ?? null, head: head.operations![k] ?? null }));
  return { operations: workChange(changes), operation_changes: changes };
}

/** Compares two result files problem by problem: ratio of medians with a bootstrap confidence interval, regressions beyond the threshold and the run-to-run noise. */
export function compareResults(base: ResultFile, head: ResultFile, o: CompareOptions = DEFAULT_COMPARE): Comparison {
  const index = (f: ResultFile) => {
    const m = new Map<string, ResultRecord>();
    for (const r of f.records) if (r.state === 'verified') m.set(recordKey(r), r);
    return m;
  };
  const b = index(base);
  const h = index(head);
  const records: ComparedRecord[] = [];
  for (const [key, hr] of h) {
    const br = b.get(key);
    if (!br) continue;
    records.push({
      key,
      ...(br.median_ms !== undefined ? { base_median_ms: br.median_ms } : {}),
      ...(hr.median_ms !== undefined ? { head_median_ms: hr.median_ms } : {}),
      ...(br.quality?.stable === false || hr.quality?.stable === false
        ? { timing: 'unstable' as const, ...(br.median_ms && hr.median_ms ? { ratio: hr.median_ms / br.median_ms } : {}) }
        : classifyTiming(br.samples_ms ?? [], hr.samples_ms ?? [], o, { ...(br.rounds_ms ? { base: br.rounds_ms } : {}), ...(hr.rounds_ms ? { head: hr.rounds_ms } : {}) }, noiseFor(o, key))),
      ...compareProxies(br, hr),
      ...compareOperations(br, hr),
    });
  }
  records.sort((x, y) => (x.key < y.key ? -1 : 1));
  return { options: o, records, missing: [...b.keys()].filter((k) => !h.has(k)).sort(), extra: [...h.keys()].filter((k) => !b.has(k)).sort() };
}

export function timingRegressions(c: Comparison): ComparedRecord[] {
  return c.records.filter((r) => r.timing === 'regressed');
}

/**
 * Why the comparison is no evidence at all, or undefined when it is some: no matched record, or
 * matched records with neither a usable timing nor proxies to compare.
 */
export function nothingCompared(c: Comparison): string | undefined {
  if (c.records.length === 0) return `no record of the head file matches one of the base file (${c.missing.length} only in base, ${c.extra.length} only in head)`;
  const evidence = c.records.filter((r) => !['unstable', 'untimed'].includes(r.timing) || r.proxies !== 'missing');
  if (evidence.length === 0) {
    const unstable = c.records.filter((r) => r.timing === 'unstable').length;
    return `none of the ${c.records.length} matched records has a usable timing or proxies (${unstable} unstable, ${c.records.length - unstable} untimed)`;
  }
  return undefined;
}

/** Records that do more work by a deterministic measure: a proxy or an operation class grew (exit 5 whatever the timings say). */
export function proxyRegressions(c: Comparison): ComparedRecord[] {
  return c.records.filter((r) => r.proxies === 'more' || r.proxies === 'changed' || r.operations === 'more' || r.operations === 'changed');
}

const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)} %`;

/** A markdown summary for a pull-request comment. */
export function comparisonMarkdown(c: Comparison): string {
  const count = (t: TimingClass) => c.records.filter((r) => r.timing === t).length;
  const p = c.paired;
  const lines = [
    `### neotune compare (threshold ${(c.options.threshold * 100).toFixed(0)} %, α = ${c.options.alpha}${p ? ' for the whole suite' : ''})`,
    '',
    ...(p
      ? [
          `Paired rounds: ${p.base} (base) against ${p.head} (head), each round both in fresh processes in a random order (seed ${p.seed}); ${p.rounds} rounds in ${Math.round(p.wall_s)} s, ${p.stopped === 'decided' ? 'every record decided' : p.stopped === 'time' ? 'stopped by the time budget' : 'the last look of the schedule reached'}. Regressed: surely slower by more than a quarter of the threshold; unchanged: within ±threshold (with the resolution reached).`,
          '',
        ]
      : []),
    `${c.records.length} matched records: **${count('regressed')} regressed**, ${count('improved')} improved, ${count('unchanged')} unchanged, ${count('inconclusive')} inconclusive${count('untimed') ? `, ${count('untimed')} untimed` : ''}${count('unstable') ? `, ${count('unstable')} unstable (no timing verdict)` : ''}. Deterministic proxies: ${proxyRegressions(c).length} with more work, ${c.records.filter((r) => r.proxies === 'less').length} with less.`,
    '',
  ];
  const counted = c.records.filter((r) => r.operations !== undefined && r.operations !== 'missing');
  if (counted.length) {
    const grew = c.records.filter((r) => r.operations === 'more' || r.operations === 'changed').length;
    lines.push(`Exact lane (executed operations of the counting builds): ${counted.length} records counted on both sides, **${grew} with more operations**, ${c.records.filter((r) => r.operations === 'less').length} with fewer.`, '');
  }
  const paired = c.records.some((r) => r.rounds !== undefined);
  const notable = paired ? c.records : c.records.filter((r) => r.timing === 'regressed' || r.timing === 'improved' || r.proxies !== 'same' || (r.operations !== undefined && r.operations !== 'same'));
  if (notable.length) {
    const interval = paired ? 'interval (suite-wide)' : '95 % CI';
    lines.push(`| record | base ms | head ms | change | ${interval} | ${paired ? 'rounds' : 'p'} | timing | proxies and operations |`, '|---|---|---|---|---|---|---|---|');
    for (const r of notable) {
      const changes = [...r.proxy_changes, ...(r.operation_changes ?? [])].map((p) => `${p.proxy} ${p.base}→${p.head}${p.base && p.head ? ` (${pct(p.head / p.base)})` : ''}`).join('; ') || [r.proxies, r.operations].filter(Boolean).join(', ');
      const verdict = r.timing === 'unchanged' && r.resolution !== undefined ? `unchanged within ±${(100 * r.resolution).toFixed(1)} %` : r.timing;
      lines.push(
        `| ${r.key} | ${r.base_median_ms?.toFixed(4) ?? '–'} | ${r.head_median_ms?.toFixed(4) ?? '–'} | ${r.ratio ? pct(r.ratio) : '–'} | ${r.ci ? `${pct(r.ci[0])} … ${pct(r.ci[1])}` : '–'} | ${paired ? (r.rounds ?? '–') : (r.p_value?.toExponential(1) ?? '–')} | ${verdict} | ${changes} |`,
      );
    }
    lines.push('');
  }
  if (c.missing.length) lines.push(`Missing in head (${c.missing.length}):`, ...c.missing.map((k) => `- ${k}`), '');
  if (c.extra.length) lines.push(`New in head (${c.extra.length}):`, ...c.extra.map((k) => `- ${k}`), '');
  return lines.join('\n');
}

/** What a naive single-run rule flags: |median ratio − 1| > threshold (for the false-alarm comparison). */
export function naiveFlag(base: ResultRecord, head: ResultRecord, threshold: number): 'regressed' | 'improved' | undefined {
  if (base.median_ms === undefined || head.median_ms === undefined) return undefined;
  const r = head.median_ms / base.median_ms;
  return r > 1 + threshold ? 'regressed' : r < 1 - threshold ? 'improved' : undefined;
}

/**
 * Run-to-run noise per record key: σ of log medians over same-code runs (needs ≥ 3 runs), floored
 * at the median σ of all keys. Whole runs shift together on a shared machine, so a record that
 * happened to look steady in a few runs borrows the machine's typical noise (a shrinkage
 * estimate; without the floor a handful of runs under-estimates σ for some records).
 */
export function runNoise(files: readonly ResultFile[]): Map<string, number> {
  const medians = new Map<string, number[]>();
  for (const f of files) for (const r of f.records) if (r.state === 'verified' && r.median_ms) (medians.get(recordKey(r)) ?? medians.set(recordKey(r), []).get(recordKey(r))!).push(r.median_ms);
  const sigma = [...medians].filter(([, m]) => m.length >= 3).map(([k, m]) => [k, Math.sqrt(logVar(m))] as const);
  const floor = quantile(sigma.map(([, s]) => s), 0.5);
  return new Map(sigma.map(([k, s]) => [k, Math.max(s, floor)]));
}
