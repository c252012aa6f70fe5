/**
 * The false-alarm rate of the comparison on same-code runs (A/A): the run-to-run noise is
 * estimated on the first half of the runs and the pairs of the second half are classified with it
 * (out of sample), next to the same statistics without it and a single-run ±threshold rule on the
 * same pairs.
 */
import { InputError } from '../core/errors.js';
import type { ResultFile } from '../harness/results.js';
import { compareResults, naiveFlag, recordKey, runNoise } from './compare.js';

export interface FalseAlarms {
  /** Runs 1…noiseRuns measured the noise; the pairs of the others were tested. */
  readonly noiseRuns: number;
  readonly noise: ReadonlyMap<string, number>;
  /** Record pairs compared (timed on both sides). */
  readonly pairs: number;
  /** Flagged (regressed or improved) by this method, with the noise profile. */
  readonly aware: number;
  /** Flagged by the within-run statistics alone. */
  readonly within: number;
  /** Flagged by a single-run ±threshold rule. */
  readonly naive: number;
}

export function falseAlarms(files: readonly ResultFile[], o: { threshold: number; alpha: number }): FalseAlarms {
  if (files.length < 6) throw new InputError('files', files.length, 'at least 6 runs of the same code (3 to measure the noise, 3 to test)');
  const half = Math.floor(files.length / 2);
  const noise = runNoise(files.slice(0, half));
  const test = files.slice(half);
  const count = { pairs: 0, aware: 0, within: 0, naive: 0 };
  for (let i = 0; i < test.length; i++) {
    for (let j = i + 1; j < test.length; j++) {
      const opts = { threshold: o.threshold, alpha: o.alpha };
      const aware = compareResults(test[i]!, test[j]!, { ...opts, runNoise: noise });
      const within = compareResults(test[i]!, test[j]!, opts);
      const base = new Map(test[i]!.records.map((r) => [recordKey(r), r]));
      const head = new Map(test[j]!.records.map((r) => [recordKey(r), r]));
      aware.records.forEach((r, k) => {
        if (r.timing === 'untimed') return;
        count.pairs++;
        if (r.timing === 'regressed' || r.timing === 'improved') count.aware++;
        if (['regressed', 'improved'].includes(within.records[k]!.timing)) count.within++;
        if (naiveFlag(base.get(r.key)!, head.get(r.key)!, o.threshold)) count.naive++;
      });
    }
  }
  return { noiseRuns: half, noise, ...count };
}
