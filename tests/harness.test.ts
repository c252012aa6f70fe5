/** The shared harness: verification before timing, failure records, the result file format. */
import { singleThreadCpuSession } from './helpers/cpu-session.js';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { evaluateCandidate, sourceHash } from '../harness/evaluate.js';
import { environment } from '../harness/environment.js';
import { copyProblem, makeProblemData, neoCellProblem } from '../harness/problem.js';
import { readResults, RESULTS_SCHEMA, RESULTS_VERSION, writeResults } from '../harness/results.js';
import type { BackendSession, KernelInstance, KernelVariant, ProblemData } from '../harness/types.js';
import { verifyOutput } from '../harness/verify.js';
import { copyCpu } from '../kernels/cpu/copy.js';

const session: BackendSession = singleThreadCpuSession();

/** A test kernel whose run() does whatever `body` says with the output buffer. */
function fakeVariant(body: (y: Float32Array, data: ProblemData) => void, log: string[] = []): KernelVariant {
  return {
    backend: 'cpu',
    name: 'fake',
    op: 'neocell',
    role: 'neocell',
    params: () => [{ name: 'mode', values: ['ok', 'bad'], doc: 'test' }],
    defaults: () => ({ mode: 'ok' }),
    check: (_p, params) => (params.mode === 'bad' ? 'mode=bad is not allowed' : undefined),
    async create() {
      let data: ProblemData;
      let y = new Float32Array(0);
      const k: KernelInstance = {
        source: 'fake',
        prepare(d) {
          data = d;
          y = new Float32Array(d.reference().length);
        },
        poisonOutput() {
          y.fill(NaN);
          log.push('poison');
        },
        run() {
          body(y, data);
        },
        readOutput: () => y,
        dispose() {
          log.push('dispose');
        },
      };
      return k;
    },
  };
}

const problem = neoCellProblem({ N: 1, C: 4, H: 9, W: 9, spec: '3', shift: 1 });
const data = makeProblemData(problem, 3);
const quick = { measure: { timeMs: 20, minSamples: 5, warmupMs: 5 } };

describe('evaluateCandidate', () => {
  it('a correct kernel is verified, then timed, with raw samples and statistics', async () => {
    const r = await evaluateCandidate(session, fakeVariant((y, d) => y.set(d.reference())), problem, { mode: 'ok' }, data, quick);
    assert.equal(r.state, 'verified');
    assert.ok(r.samples_ms && r.samples_ms.length >= 5);
    assert.ok(r.p10_ms! <= r.median_ms! && r.median_ms! <= r.p90_ms!);
    assert.equal(r.problem.label, '3 s1');
    assert.ok(r.flops.useful > 0 && r.bytes > 0 && r.source_hash?.length === 16);
  });

  it('a kernel that writes nothing leaves the poisoned NaNs and fails verification; it is never timed', async () => {
    const log: string[] = [];
    const r = await evaluateCandidate(session, fakeVariant(() => {}, log), problem, { mode: 'ok' }, data, quick);
    assert.equal(r.state, 'mismatch');
    assert.match(r.error!, /not finite/);
    assert.equal(r.samples_ms, undefined);
    assert.deepEqual(log, ['poison', 'dispose']);
  });

  it('a kernel that writes only part of the output fails too', async () => {
    const r = await evaluateCandidate(session, fakeVariant((y, d) => y.set(d.reference().subarray(0, y.length - 1))), problem, { mode: 'ok' }, data, quick);
    assert.equal(r.state, 'mismatch');
  });

  it('a slightly wrong kernel (one tap off) is a mismatch with the worst index', async () => {
    const r = await evaluateCandidate(
      session,
      fakeVariant((y, d) => {
        y.set(d.reference());
        y[17]! += 0.01;
      }),
      problem,
      { mode: 'ok' },
      data,
      quick,
    );
    assert.equal(r.state, 'mismatch');
    assert.match(r.error!, /worst at index 17/);
  });

  it('a throwing kernel is a failed candidate with its message, and is disposed', async () => {
    const log: string[] = [];
    const r = await evaluateCandidate(
      session,
      fakeVariant(() => {
        throw new Error('boom');
      }, log),
      problem,
      { mode: 'ok' },
      data,
      quick,
    );
    assert.equal(r.state, 'failed');
    assert.equal(r.error, 'boom');
    assert.ok(log.includes('dispose'));
  });

  it('invalid parameters are rejected before anything is created', async () => {
    const log: string[] = [];
    const r = await evaluateCandidate(session, fakeVariant(() => {}, log), problem, { mode: 'bad' }, data, quick);
    assert.equal(r.state, 'rejected');
    assert.equal(r.error, 'mode=bad is not allowed');
    assert.deepEqual(log, []);
  });

  it('values outside the declared domain are rejected by the harness itself, naming the allowed values', async () => {
    const log: string[] = [];
    const r = await evaluateCandidate(session, fakeVariant(() => {}, log), problem, { mode: 'maybe' }, data, quick);
    assert.equal(r.state, 'rejected');
    assert.match(r.error!, /parameter mode = "maybe" is not allowed; allowed: ok, bad/);
    assert.deepEqual(log, []);
  });

  it('a variant for another operator is rejected', async () => {
    const r = await evaluateCandidate(session, copyCpu, problem, {}, data, quick);
    assert.equal(r.state, 'rejected');
    const cp = copyProblem({ N: 1, C: 2, H: 3, W: 3 });
    assert.equal((await evaluateCandidate(session, copyCpu, cp, {}, makeProblemData(cp), { verifyOnly: true })).state, 'verified');
  });
});

describe('verifyOutput', () => {
  it('tolerance is relative to the output magnitude and per dtype', () => {
    const ref = Float64Array.from([1000, -2000, 3]);
    assert.equal(verifyOutput([1000.01, -2000, 3], ref, 'float32').ok, true);
    assert.equal(verifyOutput([1001, -2000, 3], ref, 'float32').ok, false);
    assert.equal(verifyOutput([1001, -2000, 3], ref, 'float16').ok, true);
    assert.equal(verifyOutput([1000, -2000], ref, 'float32').ok, false);
  });
});

describe('result file', () => {
  it('round-trips, is written atomically, and refuses other versions and corrupt files with the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-results-'));
    const path = join(dir, 'r.json');
    const r = await evaluateCandidate(session, fakeVariant((y, d) => y.set(d.reference())), problem, { mode: 'ok' }, data, quick);
    writeResults(path, { schema: RESULTS_SCHEMA, version: RESULTS_VERSION, created: 'now', command: 'test', environment: environment(), records: [r] });
    assert.deepEqual(readdirSync(dir), ['r.json']);
    const back = readResults(path);
    assert.deepEqual(back.records[0], r);
    assert.ok(back.environment.cpu && back.environment.cores > 0);
    // Version 1 files (a `verified` flag beside the state) are read as version 2.
    writeFileSync(path, JSON.stringify({ ...back, version: 1, records: back.records.map((x) => ({ ...x, verified: x.state === 'verified' })) }));
    const v1 = readResults(path);
    assert.equal(v1.version, 2);
    assert.deepEqual(v1.records[0], r);
    writeFileSync(path, JSON.stringify({ ...back, version: 0 }));
    assert.throws(() => readResults(path), /r\.json: version: 0 .*allowed: 1 or 2/);
    writeFileSync(path, '{"schema": "neotune-res');
    assert.throws(() => readResults(path), (e: Error) => e.message.includes(path) && /not valid JSON/.test(e.message));
    // Valid JSON of the wrong shape: the field is named.
    writeFileSync(path, JSON.stringify({ ...back, records: [{ ...back.records[0], samples_ms: ['1'] }] }));
    assert.throws(() => readResults(path), /r\.json: records\[0\]\.samples_ms\[0\]: "1"/);
  });
});

describe('source hash', () => {
  it('is the first 16 hex digits of the SHA-256 of the source, as databases recorded it before (Web Crypto, so a page computes the same)', async () => {
    for (const source of ['', '(module)', 'fn main() { let x = 1; }\n'.repeat(1000), 'é ≥ 7×7']) {
      assert.equal(await sourceHash(source), createHash('sha256').update(source).digest('hex').slice(0, 16));
    }
  });
});
