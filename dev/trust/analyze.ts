/**
 * The figures of dev/trust-bench.sh from the files it wrote (DIR/load-<n>/…):
 *  (a) A/A false alarms: `neotune compare` on consecutive pairs of same-code bench runs; a record
 *      classified regressed or improved is a false alarm, and a pair with one fails the gate. Two
 *      ways: within-run statistics alone, and as CI runs it, with the machine's run-to-run noise
 *      profile (`compare --noise`), estimated for each pair from the other runs (out of sample);
 *  (b) winner agreement over repeated tunes: for each problem and pair of runs, the winners are
 *      identical, or declared tied (one is in the other's tied set);
 *  (c) the largest ratio between a kernel's median in the quiet runs and in the busy runs (clean
 *      samples only), over every record;
 *  (d) the pool's stall rate, copied from pool-stalls.js output (before/after when both exist).
 *   node dist/dev/trust/analyze.js DIR [--json]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CompareOptions, compareResults, DEFAULT_COMPARE, recordKey, runNoise } from '../../analysis/compare.js';
import { type ResultFile, readResults } from '../../harness/results.js';
import { quantile } from '../../harness/stats.js';
import type { TuningDb } from '../../tuner/db.js';

const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  process.stderr.write('usage: node dist/dev/trust/analyze.js DIR (the folder dev/trust-bench.sh wrote)\n');
  process.exit(2);
}
const levels = readdirSync(dir).filter((d) => /^load-\d+$/.test(d)).sort();
const filesIn = (d: string, re: RegExp) => (existsSync(d) ? readdirSync(d).filter((f) => re.test(f)).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0])) : []);

interface AaFigures {
  pairs: number;
  records: number;
  flagged: number;
  unstable: number;
  gate_failures: number;
  rate: number;
}

interface LevelFigures {
  load: string;
  aa?: { within_run: AaFigures; with_noise_profile: AaFigures };
  tune?: { runs: number; problems: number; pairs: number; identical: number; agreeing: number; agreement: number };
  pool?: unknown;
}

function aa(files: readonly ResultFile[], withNoise: boolean): AaFigures {
  let pairs = 0;
  let records = 0;
  let flagged = 0;
  let unstable = 0;
  let gate = 0;
  for (let i = 0; i + 1 < files.length; i += 2) {
    const others = files.filter((_, k) => k !== i && k !== i + 1);
    const o: CompareOptions = withNoise ? { ...DEFAULT_COMPARE, runNoise: runNoise(others) } : DEFAULT_COMPARE;
    const c = compareResults(files[i]!, files[i + 1]!, o);
    pairs++;
    const timed = c.records.filter((r) => r.timing !== 'untimed');
    records += timed.length;
    const bad = timed.filter((r) => r.timing === 'regressed' || r.timing === 'improved').length;
    flagged += bad;
    unstable += timed.filter((r) => r.timing === 'unstable').length;
    if (bad > 0) gate++;
  }
  return { pairs, records, flagged, unstable, gate_failures: gate, rate: records ? flagged / records : 0 };
}

function agreement(dbs: readonly TuningDb[]): LevelFigures['tune'] {
  const keys = new Set(dbs.flatMap((d) => Object.keys(d.entries)));
  let pairs = 0;
  let identical = 0;
  let agreeing = 0;
  for (const k of keys) {
    const winners = dbs.map((d) => d.entries[k]?.winner).filter((w) => w !== undefined);
    for (let i = 0; i < winners.length; i++) {
      for (let j = i + 1; j < winners.length; j++) {
        const a = winners[i]!;
        const b = winners[j]!;
        pairs++;
        const close = (x: typeof a, y: typeof a) => x.confidence.tied.includes(y.key);
        if (a.key === b.key) identical++;
        if (a.key === b.key || close(a, b) || close(b, a)) agreeing++;
      }
    }
  }
  return { runs: dbs.length, problems: keys.size, pairs, identical, agreeing, agreement: pairs ? agreeing / pairs : 0 };
}

const figures: LevelFigures[] = [];
const medians = new Map<string, Map<string, number>>(); // level → record key → median of medians
for (const level of levels) {
  const d = join(dir, level);
  const runs = filesIn(join(d, 'aa'), /^run-\d+\.json$/).map((f) => readResults(join(d, 'aa', f)));
  const dbs = filesIn(join(d, 'tune'), /^db-\d+\.json$/).map((f) => JSON.parse(readFileSync(join(d, 'tune', f), 'utf8')) as TuningDb);
  const poolFile = join(d, 'pool.json');
  const out: LevelFigures = { load: level.replace('load-', '') };
  if (runs.length >= 2) out.aa = { within_run: aa(runs, false), with_noise_profile: aa(runs, true) };
  if (dbs.length >= 2) out.tune = agreement(dbs);
  if (existsSync(poolFile)) out.pool = JSON.parse(readFileSync(poolFile, 'utf8'));
  const beforeFile = join(d, 'pool-before.json');
  if (existsSync(beforeFile)) out.pool = { before: JSON.parse(readFileSync(beforeFile, 'utf8')), after: out.pool };
  figures.push(out);
  const m = new Map<string, number[]>();
  for (const f of runs) for (const r of f.records) if (r.median_ms !== undefined && r.quality?.stable !== false) (m.get(recordKey(r)) ?? m.set(recordKey(r), []).get(recordKey(r))!).push(r.median_ms);
  medians.set(level, new Map([...m].map(([k, v]) => [k, quantile(v, 0.5)])));
}

// (c) quiet (load 0) against each busy level: the largest ratio of medians of the same record.
const quiet = medians.get('load-0');
const drift = levels
  .filter((l) => l !== 'load-0' && quiet)
  .map((l) => {
    let worst = { key: '', ratio: 1 };
    for (const [k, v] of medians.get(l)!) {
      const q = quiet!.get(k);
      if (!q) continue;
      const r = Math.max(v / q, q / v);
      if (r > worst.ratio) worst = { key: k, ratio: r };
    }
    return { load: l.replace('load-', ''), largest_ratio: worst.ratio, record: worst.key };
  });

if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ levels: figures, quiet_vs_busy: drift }, null, 1) + '\n');
else {
  for (const f of figures) {
    process.stdout.write(`busy cores: ${f.load}\n`);
    for (const [how, a] of Object.entries(f.aa ?? {})) {
      process.stdout.write(`  (a) A/A, ${how.replace(/_/g, ' ')}: ${a.pairs} pairs, ${a.records} record comparisons, ${a.flagged} flagged (${(100 * a.rate).toFixed(1)} %), ${a.gate_failures} pair(s) failing the gate, ${a.unstable} unstable (no verdict)\n`);
    }
    if (f.tune) process.stdout.write(`  (b) winners: ${f.tune.runs} tunes × ${f.tune.problems} problems: ${f.tune.pairs} pairs, ${f.tune.identical} identical, ${f.tune.agreeing} identical or declared tied (${(100 * f.tune.agreement).toFixed(1)} %)\n`);
    if (f.pool) process.stdout.write(`  (d) pool: ${JSON.stringify(f.pool)}\n`);
  }
  for (const d of drift) process.stdout.write(`(c) quiet vs ${d.load} busy core(s): largest ratio of medians ${d.largest_ratio.toFixed(2)}× (${d.record})\n`);
}
