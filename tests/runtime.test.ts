/**
 * The runtime (runtime/neocell.ts): every case of the case table runs through createNeoCell on JS,
 * WASM and WebGPU (Dawn) with weights in the official layout, verified against the float64
 * reference; a tuned problem runs its table choice (the spec matched canonically), an untuned one
 * the nearest choice with `tuned: false`; bad inputs throw errors naming the field.
 */
import { singleThreadCpuSession } from './helpers/cpu-session.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { neoCellReference } from '../core/reference.js';
import { Rng } from '../core/rng.js';
import { randomWeights } from '../core/weights.js';
import { neoCellProblem } from '../harness/problem.js';
import type { BackendSession, NeoCellProblem } from '../harness/types.js';
import { verifyOutput } from '../harness/verify.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { webgpuBackend } from '../kernels/webgpu/backend.js';
import type { WebGpuSession } from '../kernels/webgpu/session.js';
import { createNeoCell, type NeoCellTarget } from '../runtime/neocell.js';
import { deviceFingerprint, emptyDb } from '../tuner/db.js';
import { dispatchTable } from '../tuner/dispatch.js';
import { STRATEGIES } from '../tuner/strategies/index.js';
import { tuneProblem } from '../tuner/tune.js';
import { CELL_CASES, layerOf } from './cases.js';

async function runAndVerify(target: NeoCellTarget, p: NeoCellProblem, o: Parameters<typeof createNeoCell>[2] = {}) {
  const cell = await createNeoCell(target, layerOf(p), o);
  try {
    const w = randomWeights(p.cell, 11);
    cell.setWeights(w.a.map((a) => Float32Array.from(a)), w.b.map((b) => Float32Array.from(b)));
    const x = new Rng(5).float32Array(p.N * p.C * p.H * p.W);
    const v = verifyOutput(await cell.run(x), neoCellReference(x, p, p.cell, w), 'float32');
    assert.ok(v.ok, `${target.backend} ${cell.choice.variant}: ${'reason' in v ? v.reason : ''}`);
    // A second run with other input gives that input's output (nothing stale from the first).
    const x2 = new Rng(6).float32Array(x.length);
    const out = new Float32Array(cell.outShape.N * cell.outShape.C * cell.outShape.H * cell.outShape.W);
    assert.equal(await cell.run(x2, out), out, 'run(x, out) fills out');
    assert.ok(verifyOutput(out, neoCellReference(x2, p, p.cell, w), 'float32').ok);
    // CPU targets: the kernel's own arrays, nothing copied.
    const io = cell.io();
    assert.equal(io === undefined, target.backend === 'webgpu');
    if (io) {
      const x3 = new Rng(7).float32Array(x.length);
      (io.x as Float32Array).set(x3);
      assert.equal(await cell.run(io.x, io.y), io.y);
      assert.ok(verifyOutput(io.y, neoCellReference(x3, p, p.cell, w), 'float32').ok, 'run(io.x, io.y)');
      // The same without a promise.
      const x4 = new Rng(8).float32Array(x.length);
      assert.ok(verifyOutput(cell.runSync(x4), neoCellReference(x4, p, p.cell, w), 'float32').ok, 'runSync(x)');
    } else {
      assert.throws(() => cell.runSync(x), (e: Error) => e instanceof InputError && /runSync runs CPU kernels/.test(e.message));
    }
    return cell.choice;
  } finally {
    await cell.dispose();
  }
}

const gpuSession = (await webgpuBackend.open()) as WebGpuSession;
after(() => gpuSession.close());

describe('runtime: every case on every target, official weight layout', () => {
  const targets: NeoCellTarget[] = [{ backend: 'js' }, { backend: 'wasm' }, { backend: 'wasm', threads: 2 }, { backend: 'webgpu', device: gpuSession.gpu.device }];
  for (const t of targets) {
    it(`${t.backend}${'threads' in t ? ` (${t.threads} threads)` : ''}: ${CELL_CASES.length} cases verified against the float64 reference`, async () => {
      for (const c of CELL_CASES) {
        const choice = await runAndVerify(t, c.problem);
        assert.equal(choice.tuned, false);
        assert.match(choice.reason, /no dispatch table given/);
      }
    });
  }
});

describe('runtime: choices from a tuned table', () => {
  const session: BackendSession = singleThreadCpuSession();
  const stage = neoCellProblem({ N: 1, C: 16, H: 14, W: 14, spec: '4+7', shift: 1 });
  const jsVariants = cpuBackend.variants.filter((v) => v.role === 'neocell' && v.name.endsWith('-js'));

  it('the tuned problem runs its winner (the spec matched canonically); another problem the nearest choice, tuned: false', async () => {
    const db = emptyDb();
    const r = await tuneProblem(db, stage, jsVariants, session, { strategy: STRATEGIES.find((s) => s.name === 'random')!, budget: { evaluations: 4 }, seed: 3, measure: { timeMs: 5, minSamples: 5, warmupMs: 2 }, revalidate: false });
    const table = dispatchTable(db, deviceFingerprint(session.device));
    assert.equal(table.rows.length, 1);
    // The kernel string a user writes, not the stored "8c:k4s1+8c:k7s1".
    const cell = await createNeoCell({ backend: 'js' }, { N: 1, C: 16, H: 14, W: 14, spec: '4+7', shift: 1 }, { table });
    assert.deepEqual([cell.choice.variant, cell.choice.params, cell.choice.tuned], [r.winner!.config.variant, r.winner!.config.params, true]);
    await cell.dispose();
    const other = neoCellProblem({ N: 1, C: 16, H: 28, W: 28, spec: '4+7', shift: 1 });
    const choice = await runAndVerify({ backend: 'js' }, other, { table });
    assert.equal(choice.tuned, false);
    assert.match(choice.reason, /nearest tuned problem, 1x16x14x14 8c:k4s1\+8c:k7s1/);
    // A table of CPU JavaScript kernels on the WASM target: its choices do not apply; the defaults run.
    const wasm = await runAndVerify({ backend: 'wasm' }, stage, { table });
    assert.equal(wasm.tuned, false);
    assert.match(wasm.reason, /no tuned choice of the table can run this problem here/);
  });
});

describe('runtime: a choice tuned with more threads than the target has', () => {
  it('runs the best candidate the table has for the target\'s thread count, still tuned', async () => {
    const p = neoCellProblem({ N: 1, C: 16, H: 14, W: 14, spec: '4+7', shift: 1 });
    const one = { variant: 'sparse-wasm', params: { order: 'AB', rows: 1, hloop: 'v', unroll: 1, threads: 1, madd: 'plain' }, median_ms: 0.2 };
    const table = { device: 'cpu | test', backend: 'cpu', rows: [{ op: 'neocell', N: 1, C: 16, H: 14, W: 14, spec: '8c:k4s1+8c:k7s1', dtype: 'float32', variant: 'fused-wasm', params: { order: 'AB', rows: 1, hloop: 'v', unroll: 1, threads: 2, madd: 'plain' }, median_ms: 0.1, fewer_threads: [one] }] };
    const choice = await runAndVerify({ backend: 'wasm' }, p, { table });
    assert.deepEqual([choice.variant, choice.params, choice.tuned], [one.variant, one.params, true]);
    assert.match(choice.reason, /best candidate with 1 thread\(s\) \(the winner fused-wasm cannot run here: threads=2/);
    const two = await runAndVerify({ backend: 'wasm', threads: 2 }, p, { table });
    assert.deepEqual([two.variant, two.params.threads, two.tuned], ['fused-wasm', 2, true]);
  });
});

describe('runtime: bad input names the field and what is allowed', () => {
  const layer = { N: 1, C: 16, H: 14, W: 14, spec: '4+7', shift: 1 };
  const rejects = async (f: () => Promise<unknown>, field: RegExp) => assert.rejects(f, (e: Error) => e instanceof InputError && field.test(e.message) && /allowed: /.test(e.message));

  it('targets, specs and shapes', async () => {
    await rejects(() => createNeoCell({ backend: 'cuda' } as never, layer), /^invalid target\.backend: "cuda".*js, wasm, webgpu/);
    await rejects(() => createNeoCell({ backend: 'webgpu', device: {} as GPUDevice }, layer), /^invalid target\.device/);
    await rejects(() => createNeoCell({ backend: 'wasm', threads: 0 }, layer), /^invalid target\.threads/);
    await rejects(() => createNeoCell({ backend: 'js' }, { ...layer, spec: [{ kernel: 7, channels: 10 }, { kernel: 4, channels: 4 }] }), /^invalid channels: \[10,4\].*summing to C = 16/);
    await rejects(() => createNeoCell({ backend: 'js' }, { ...layer, C: 0 }), /^invalid C/);
    await rejects(() => createNeoCell({ backend: 'wasm' }, { ...layer, dtype: 'float16' }), /^invalid layer\.dtype: "float16".*float32 on the wasm target/);
    // SwiftShader has no shader-f16 (a device that has it runs f16 kernels instead).
    if (!gpuSession.gpu.device.features.has('shader-f16')) await rejects(() => createNeoCell({ backend: 'webgpu', device: gpuSession.gpu.device }, { ...layer, dtype: 'float16' }), /^invalid layer\.dtype: "float16".*no shader-f16 feature/);
  });

  it('weights and input', async () => {
    const cell = await createNeoCell({ backend: 'js' }, layer);
    try {
      const a = [new Float32Array(8 * 4 * 4), new Float32Array(8 * 7 * 7)];
      const b = [new Float32Array(8 * 4 * 4), new Float32Array(8 * 7 * 7)];
      await rejects(() => cell.run(new Float32Array(16 * 14 * 14)), /^invalid weights/);
      assert.throws(() => cell.setWeights([a[0]!], b), (e: Error) => e instanceof InputError && /^invalid weightA: "1 arrays".*2 Float32Arrays, one per group/.test(e.message));
      assert.throws(() => cell.setWeights(a, [b[0]!, new Float32Array(5)]), (e: Error) => e instanceof InputError && /^invalid weightB\[1\]: "5 floats".*392 floats \(channels × w_in × w_out = 8 × 7 × 7\)/.test(e.message));
      cell.setWeights(a, b);
      await rejects(() => cell.run(new Float32Array(10)), /^invalid x: "10 floats".*3136 floats/);
      await rejects(() => cell.run(new Float32Array(3136), new Float32Array(3)), /^invalid out: "3 floats".*3136 floats/);
    } finally {
      await cell.dispose();
    }
  });
});
