/** Pooling several runs of one side (interleaved rounds of the same code) into one result file. */
import { quantile } from '../harness/stats.js';
import type { ResultFile, ResultRecord } from '../harness/results.js';
import { recordKey } from './compare.js';

/** Pools the samples of several same-side runs per record; each record keeps its rounds' medians (rounds_ms). */
export function poolRuns(files: readonly ResultFile[]): ResultFile {
  const byKey = new Map<string, ResultRecord>();
  for (const f of files)
    for (const r of f.records) {
      const k = recordKey(r);
      const prev = byKey.get(k);
      if (!prev || prev.state !== 'verified' || !prev.samples_ms) byKey.set(k, r.state === 'verified' ? { ...r, samples_ms: [...(r.samples_ms ?? [])] } : r);
      else prev.samples_ms.push(...(r.samples_ms ?? []));
    }
  const rounds = new Map<string, number[]>();
  for (const f of files) for (const r of f.records) if (r.median_ms !== undefined) (rounds.get(recordKey(r)) ?? rounds.set(recordKey(r), []).get(recordKey(r))!).push(r.median_ms);
  const records = [...byKey.values()].map((r) => (r.state === 'verified' && r.samples_ms?.length ? { ...r, median_ms: quantile(r.samples_ms, 0.5), rounds_ms: rounds.get(recordKey(r)) ?? [] } : r));
  return { ...files[0]!, records };
}
