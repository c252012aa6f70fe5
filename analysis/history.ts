/**
 * Run history and step-change detection. Each run appends one line (JSON) per result file to a
 * history file: when, which commit, and every verified, unflagged record's median. For each record key the
 * series of log medians is searched for the single split that best separates two levels
 * (binary segmentation, Welch t statistic); a split is reported as a step change when |t| is
 * large and the level moved by more than the threshold, with the run where the new level started.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import { parseJsonInput, readTextFile } from '../core/files.js';
import { validateShape } from '../core/validate.js';
import { HISTORY_LINE_SCHEMA } from '../harness/results-schema.js';
import { recordKey } from './compare.js';
import type { ResultFile } from '../harness/results.js';

export interface HistoryLine {
  readonly created: string;
  readonly label: string;
  readonly medians: Readonly<Record<string, number>>;
  /** Per key, the median's 95 % interval (ms) where the run measured one, else its p10–p90. */
  readonly intervals?: Readonly<Record<string, readonly [number, number]>>;
  /** Per key, the exact lane's executed operations by class. */
  readonly operations?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export function historyLine(f: ResultFile, label: string): HistoryLine {
  const medians: Record<string, number> = {};
  const intervals: Record<string, [number, number]> = {};
  const operations: Record<string, Record<string, number>> = {};
  for (const r of f.records) {
    if (r.state !== 'verified') continue;
    const key = recordKey(r);
    if (r.operations) operations[key] = r.operations;
    // Only timings that can be used: an unstable or impossible one would be a step change of the machine, not of the code.
    if (r.median_ms === undefined || r.flags?.length) continue;
    medians[key] = r.median_ms;
    const ci = r.quality?.ci_rel;
    if (ci !== undefined && ci !== null) intervals[key] = [r.median_ms * (1 - ci), r.median_ms * (1 + ci)];
    else if (r.p10_ms !== undefined && r.p90_ms !== undefined) intervals[key] = [r.p10_ms, r.p90_ms];
  }
  return { created: f.created, label, medians, ...(Object.keys(intervals).length ? { intervals } : {}), ...(Object.keys(operations).length ? { operations } : {}) };
}

export function appendHistory(path: string, line: HistoryLine): void {
  // One appended line per run: a crash mid-write can only lose that line, never earlier ones.
  appendFileSync(path, JSON.stringify(line) + '\n');
}

/** Reads a history file (`field`: the option naming it); a missing file is an error unless `missingOk`. */
export function readHistory(path: string, field = 'file', missingOk = false): HistoryLine[] {
  if (missingOk && !existsSync(path)) return [];
  const what = 'a history file written by neotune history append (one JSON object per line)';
  const text = readTextFile(field, path, { what });
  if (!text.trim()) throw new InputError(field, path, what, 'no run recorded in it');
  return text
    .split('\n')
    .map((l, i) => [l, i] as const)
    .filter(([l]) => l.trim())
    .map(([l, i]) => validateShape<HistoryLine>(HISTORY_LINE_SCHEMA, parseJsonInput(field, `${path}:${i + 1}`, l, what), `${path}:${i + 1}`));
}

export interface StepChange {
  readonly key: string;
  /** Index (and label) of the first run at the new level. */
  readonly index: number;
  readonly label: string;
  readonly before_ms: number;
  readonly after_ms: number;
  readonly ratio: number;
  readonly t: number;
}

const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / x.length;
const variance = (x: readonly number[]) => {
  const m = mean(x);
  return x.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, x.length - 1);
};

/** The best single split of a series (each side ≥ minSegment), by Welch's t. */
export function bestSplit(series: readonly number[], minSegment = 3): { index: number; t: number } | undefined {
  let best: { index: number; t: number } | undefined;
  for (let i = minSegment; i <= series.length - minSegment; i++) {
    const a = series.slice(0, i);
    const b = series.slice(i);
    const se = Math.sqrt(variance(a) / a.length + variance(b) / b.length) || 1e-12;
    const t = (mean(b) - mean(a)) / se;
    if (!best || Math.abs(t) > Math.abs(best.t)) best = { index: i, t };
  }
  return best;
}

export function detectSteps(history: readonly HistoryLine[], threshold = 0.05, minT = 5): StepChange[] {
  const keys = [...new Set(history.flatMap((h) => Object.keys(h.medians)))].sort();
  const out: StepChange[] = [];
  for (const key of keys) {
    const points = history.map((h, i) => ({ i, v: h.medians[key] })).filter((p): p is { i: number; v: number } => p.v !== undefined && p.v > 0);
    const logs = points.map((p) => Math.log(p.v));
    const s = bestSplit(logs);
    if (!s) continue;
    const before = Math.exp(mean(logs.slice(0, s.index)));
    const after = Math.exp(mean(logs.slice(s.index)));
    const ratio = after / before;
    if (Math.abs(s.t) >= minT && Math.abs(ratio - 1) > threshold) {
      const at = points[s.index]!.i;
      out.push({ key, index: at, label: history[at]!.label, before_ms: before, after_ms: after, ratio, t: s.t });
    }
  }
  return out;
}

/** A run where a record's executed operations differ from the run before: exact, so any difference is a step. */
export interface OperationStep {
  readonly key: string;
  readonly index: number;
  readonly label: string;
  readonly changes: readonly { readonly op: string; readonly before: number; readonly after: number }[];
}

export function operationSteps(history: readonly HistoryLine[]): OperationStep[] {
  const out: OperationStep[] = [];
  const last = new Map<string, Readonly<Record<string, number>>>();
  history.forEach((h, index) => {
    for (const [key, ops] of Object.entries(h.operations ?? {})) {
      const prev = last.get(key);
      last.set(key, ops);
      if (!prev) continue;
      const classes = [...new Set([...Object.keys(prev), ...Object.keys(ops)])].sort();
      const changes = classes.filter((c) => (prev[c] ?? 0) !== (ops[c] ?? 0)).map((op) => ({ op, before: prev[op] ?? 0, after: ops[op] ?? 0 }));
      if (changes.length) out.push({ key, index, label: h.label, changes });
    }
  });
  return out;
}
