/**
 * Records an exhaustive tuning run of one problem as a replay fixture (tuner/replay.ts): every
 * configuration of the CPU backend's joint space with its verified median (null when it failed).
 *   node dist/scripts/record-space.js [--out FILE] [--shape 1x96x56x56] [--spec 4+7] [--shift 1]
 * The shipped recording (data/recorded-space.json) was made with the defaults.
 */
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../core/files.js';
import { neoCellProblem, problemKey } from '../harness/problem.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { emptyDb } from '../tuner/db.js';
import type { RecordedSpace } from '../tuner/replay.js';
import { configKey } from '../tuner/space.js';
import { exhaustive } from '../tuner/strategies/exhaustive.js';
import { tuneProblem } from '../tuner/tune.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'data/recorded-space.json' },
    shape: { type: 'string', default: '1x96x56x56' },
    spec: { type: 'string', default: '4+7' },
    shift: { type: 'string', default: '1' },
  },
});
const [N, C, H, W] = values.shape!.split('x').map(Number) as [number, number, number, number];
const problem = neoCellProblem({ N, C, H, W, spec: values.spec!, shift: Number(values.shift) });
const session = await cpuBackend.open();
const db = emptyDb();
const r = await tuneProblem(db, problem, cpuBackend.variants, session, {
  strategy: exhaustive,
  budget: {},
  seed: 1,
  progress: (p) => process.stderr.write(`\r${p.done}/${p.total} ${p.current.padEnd(80)}`),
});
await session.close();
const byKey = new Map(Object.values(r.entry.candidates).map((c) => [c.key, c]));
const rec: RecordedSpace = {
  schema: 'neotune-recorded-space',
  version: 1,
  description: `exhaustive run of the CPU backend's joint space on ${session.device.description}, ${new Date().toISOString().slice(0, 10)}`,
  problem: problemKey(problem),
  configs: r.space.configs.map((config) => {
    const c = byKey.get(configKey(config));
    return { config, median_ms: c?.state === 'verified' ? Number(c.median_ms!.toPrecision(4)) : null };
  }),
};
writeFileAtomic(values.out!, JSON.stringify(rec) + '\n');
process.stderr.write(`\nwrote ${values.out}: ${rec.configs.length} configurations\n`);
