/**
 * How steady the default tune is: reads the tuning databases of repeated `neotune tune` runs of
 * the same suite (each into a fresh database), and says per problem how many pairs of runs chose
 * the same winner, or one the other declared tied with its own (a tie the statistics could not
 * break), how many distinct winners there were, and how far apart the winners' medians are.
 *
 *   for i in 1 2 3 4 5; do bin/neotune tune -b cpu --effort quick --db /tmp/stab/$i.json; done
 *   node dist/dev/tune-stability.js [--hub data/hub/cpu.json] /tmp/stab/*.json
 *
 * With --hub, each winner is also looked up in the hub recorded on the same device: its
 * side-by-side time over the problem's best there (a winner's own stored median comes from a
 * short re-timing and is not comparable across runs).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fmt, formatTable } from '../scripts/cli-util.js';
import type { TuningDb } from '../tuner/db-model.js';
import { readHub } from '../tuner/shipped-space.js';
import { hubSpaces } from '../tuner/hub.js';
import { problemId } from '../model/cost-model.js';
import { sameOrTied } from '../tuner/winner.js';

const { values, positionals: files } = parseArgs({ options: { hub: { type: 'string' } }, allowPositionals: true });
const hub = values.hub ? hubSpaces(readHub(values.hub)) : [];
if (files.length < 2) throw new Error('usage: node dist/dev/tune-stability.js DB1.json DB2.json …');
const dbs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as TuningDb);
const keys = [...new Set(dbs.flatMap((d) => Object.keys(d.entries)))].filter((k) => dbs.every((d) => d.entries[k]?.winner) && dbs[0]!.entries[k]!.problem.op === 'neocell');
let pairs = 0;
let same = 0;
let tied = 0;
const rows = keys.map((k) => {
  const w = dbs.map((d) => d.entries[k]!.winner!);
  let p = 0;
  let s = 0;
  let t = 0;
  for (let i = 0; i < w.length; i++)
    for (let j = i + 1; j < w.length; j++) {
      p++;
      if (w[i]!.key === w[j]!.key) s++;
      else if (sameOrTied({ key: w[i]!.key, tied: w[i]!.confidence.tied }, { key: w[j]!.key, tied: w[j]!.confidence.tied })) t++;
    }
  pairs += p;
  same += s;
  tied += t;
  const ms = w.map((x) => x.median_ms);
  const evaluations = dbs.map((d) => d.entries[k]!.search?.evaluations ?? NaN);
  const space = hub.find((h) => problemId(h.problem) === problemId(dbs[0]!.entries[k]!.problem));
  const overBest = space ? w.map((x) => (space.truth.get(x.key) ?? NaN) / space.best) : [];
  return [
    dbs[0]!.entries[k]!.problem.label + ' ' + k.split(' || ')[1]!.split(' ')[1],
    `${s}/${p}`,
    `${s + t}/${p}`,
    String(new Set(w.map((x) => x.key)).size),
    `${fmt(100 * (Math.max(...ms) / Math.min(...ms) - 1), 1)} %`,
    space ? overBest.map((r) => fmt(r, 3)).join(' ') : '–',
    `${Math.min(...evaluations)}–${Math.max(...evaluations)}`,
  ];
});
process.stdout.write(
  formatTable(['problem', 'same winner', 'same or tied', 'distinct winners', 'winners’ stored medians spread', 'winners in the hub: time / best', 'evaluations'], rows) +
    `\n\nall problems: same winner in ${same} of ${pairs} pairs (${fmt((100 * same) / pairs, 0)} %), same or declared tie in ${same + tied} (${fmt((100 * (same + tied)) / pairs, 0)} %)\n`,
);
