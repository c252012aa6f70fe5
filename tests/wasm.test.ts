/** The WebAssembly machinery of the CPU backend: encoder, thread split, worker pool, rejections, peak kernel. */
import { createKernel } from '../harness/compile.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { join } from 'node:path';
import fc from 'fast-check';
import { chromiumMissingReason, launchBrowser } from '../browser/chromium.js';
import { evaluateCandidate } from '../harness/evaluate.js';
import { makeProblemData, neoCellProblem } from '../harness/problem.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { encodeModule, FunctionBuilder } from '../kernels/cpu/wasm/encoder.js';
import { buildNeoCellWasm } from '../kernels/cpu/wasm/neocell-module.js';
import { base64ToBytes, type WasmKernelSpec } from '../kernels/cpu/wasm/runtime.js';
import { peakModule } from '../kernels/cpu/wasm/peak.js';
import { WorkerPool } from '../kernels/cpu/wasm/pool.js';
import { callSequence } from '../kernels/cpu/wasm/call-sequence.js';
import { partitionCalls } from '../kernels/cpu/wasm/runtime.js';
import type { CpuSession } from '../kernels/cpu/wasm/variant.js';

const session = (await cpuBackend.open()) as CpuSession;
const fused = cpuBackend.variants.find((v) => v.name === 'fused-wasm')!;
after(() => session.close());

describe('wasm encoder', () => {
  it('emits valid modules: constants of every LEB128 length, loops, SIMD and relaxed SIMD', () => {
    const f = new FunctionBuilder('f', [['p', 'i32']], 'i32');
    f.local('v', 'v128');
    for (const c of [0, 1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2 ** 20, 2 ** 31 - 1, -(2 ** 31)]) f.i32(c).set('p');
    f.forLoop('i', 0, 'p', 3, () => f.get('p').v128Load32Splat(4).get('p').v128Load(16).f32x4Mul().set('v'));
    f.get('p');
    const { bytes, text } = encodeModule([f], 1, true);
    assert.ok(WebAssembly.validate(bytes), text);
    assert.match(text, /v128.load32_splat offset=4/);
  });

  it('a generated NeoCell module validates and lists its exported segment functions', () => {
    const p = neoCellProblem({ N: 2, C: 6, H: 9, W: 10, spec: '3+4', shift: 1 });
    const spec = buildNeoCellWasm(p, 't', { schedule: 'fused', order: 'AB', rowsPerStep: 2, madd: 'plain', threads: 2, offsets: 'add', horizontalLoop: 'v', unroll: 2 });
    const bytes = base64ToBytes(spec.module);
    assert.ok(WebAssembly.validate(bytes));
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
    assert.deepEqual(exported, spec.segments.map((s) => s.fn));
    assert.equal(spec.segments[0]!.c0, 0);
    assert.equal(spec.segments.at(-1)!.c1, 6);
  });

  it('the peak micro-kernel validates for both multiply-add modes', () => {
    for (const madd of ['plain', 'relaxed'] as const) assert.ok(WebAssembly.validate(peakModule(madd).bytes));
  });
});

describe('thread split', () => {
  it('covers every channel exactly once, in order, with balanced cost', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: 40 }), cost: fc.integer({ min: 1, max: 9 }) }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 8 }), (segs, threads) => {
        let c = 0;
        const segments = segs.map((s, i) => ({ fn: `seg${i}`, c0: c, c1: (c += s.n), costPerChannel: s.cost }));
        const calls = partitionCalls(segments, threads, 1000, 64);
        assert.equal(calls.length, threads);
        const covered = calls.flat().flatMap(([fn, lo, hi]) => Array.from({ length: hi - lo }, (_, k) => `${fn}:${lo + k}`));
        assert.deepEqual(covered, segments.flatMap((s) => Array.from({ length: s.c1 - s.c0 }, (_, k) => `${s.fn}:${s.c0 + k}`)));
        calls.forEach((cs, t) => cs.forEach(([, , , scratch]) => assert.equal(scratch, 1000 + t * 64)));
        // No thread gets more than its share plus one channel's cost.
        const total = segments.reduce((s, g) => s + (g.c1 - g.c0) * g.costPerChannel, 0);
        const most = Math.max(...segments.map((g) => g.costPerChannel));
        for (const cs of calls) {
          const cost = cs.reduce((s, [fn, lo, hi]) => s + (hi - lo) * segments.find((g) => g.fn === fn)!.costPerChannel, 0);
          assert.ok(cost <= total / threads + most, `${cost} > ${total / threads} + ${most}`);
        }
      }),
    );
  });
});

describe('worker pool', () => {
  it("a worker's part is compiled into one function that makes its calls in order, with integer arguments only", () => {
    const seen: string[] = [];
    const exports = { a: (...x: number[]) => seen.push(`a ${x}`), b: (...x: number[]) => seen.push(`b ${x}`), memory: {} };
    const part = callSequence(exports, [['a', 0, 3, 64], ['b', 3, 8, 128], ['a', 8, 9, 64]]);
    part();
    part();
    assert.deepEqual(seen, ['a 0,3,64', 'b 3,8,128', 'a 8,9,64', 'a 0,3,64', 'b 3,8,128', 'a 8,9,64']);
    assert.throws(() => callSequence(exports, [['memory', 0, 1, 0]]), /exports no function memory/);
    assert.throws(() => callSequence(exports, [['a', 0, '1);globalThis.x=(1' as never, 0]]), /is not an integer/);
    assert.throws(() => callSequence(exports, [['a', 0.5, 1, 0]]), /0.5 is not an integer/);
  });

  it('multi-threaded kernels give the same output as one thread', async () => {
    const p = neoCellProblem({ N: 2, C: 10, H: 14, W: 14, spec: '4+7', shift: 1 });
    const data = makeProblemData(p, 11);
    const outs: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const k = await createKernel(fused, p, { ...fused.defaults(p, session.device), threads, madd: 'plain' }, session);
      k.prepare(data);
      k.poisonOutput();
      await k.run();
      outs.push(Float32Array.from(await k.readOutput()));
      await k.dispose();
    }
    assert.deepEqual(outs[1], outs[0]);
  });

  it('a failing worker call is reported as an error, not a hang or a silent result', async () => {
    const pool = new WorkerPool(1);
    try {
      await assert.rejects(pool.load(new WebAssembly.Module(peakModule('plain').bytes), new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), [[['missing', 0, 1, 64]]]), /worker thread failed: worker 0: the kernel exports no function missing/);
      assert.throws(() => pool.run(1, () => {}), /kernel 1 is not loaded/);
      assert.throws(() => pool.run(42, () => {}), /kernel 42 is not loaded/);
    } finally {
      await pool.close();
    }
  });
});

describe('Web Worker pool (Chromium, cross-origin isolated page)', { skip: chromiumMissingReason() }, () => {
  it('a worker runs its part of each call on the shared memory; a failing call names the worker and the reason', async () => {
    const esbuild = await import('esbuild');
    const js = await esbuild.build({ entryPoints: [join(import.meta.dirname, '..', 'kernels', 'cpu', 'wasm', 'web-pool.js')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
    const b = await launchBrowser({ '/index.html': ['text/html', '<!doctype html>'], '/web-pool.js': ['text/javascript', js.outputFiles[0]!.text] });
    try {
      const page = await b.browser.newPage();
      await page.goto(`${b.origin}/index.html`);
      const { bytes, layout } = peakModule('plain');
      const scratch = layout.region('scratch').offset;
      const r = (await page.evaluate(
        async (bytes: number[], pages: number, scratch: number) => {
          const { WebWorkerPool } = (await import('/web-pool.js' as string)) as typeof import('../kernels/cpu/wasm/web-pool.js');
          const pool = new WebWorkerPool(1);
          const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
          const module = await WebAssembly.compile(new Uint8Array(bytes));
          // Part 1 (the worker's) writes its accumulators at scratch + 256; part 0 (this thread) waits 2 ms, so the worker claims
          // its part first; a part taken over would run the no-op steal here, leaving the accumulators unwritten.
          const id = await pool.load(module, memory, [[['peak', 0, 200, scratch + 256]]]);
          for (let i = 0; i < 20; i++) pool.run(id, () => { const t = performance.now(); while (performance.now() - t < 2); }, () => {});
          const written = new Float32Array(memory.buffer, scratch + 256, 4)[0];
          const bad = await pool.load(module, memory, [[['missing', 0, 1, scratch]]]);
          let failure = '';
          try { pool.run(bad, () => {}); } catch (e) { failure = (e as Error).message; }
          const stats = pool.stats();
          await pool.close();
          return { written, stats, failure };
        },
        Array.from(bytes),
        layout.pages,
        scratch,
      )) as { written: number; stats: { taken_over: number }; failure: string };
      assert.ok(r.written > 0, `the worker wrote its accumulators (${r.written})`);
      assert.ok(r.stats.taken_over < 20, `the worker ran parts itself (taken over ${r.stats.taken_over} of 20)`);
      assert.match(r.failure, /^worker thread failed: worker 0: .*(missing|not a function)/);
    } finally {
      await b.close();
    }
  });
});

describe('parameter rejections (before anything runs)', () => {
  const p = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '4' });
  const data = makeProblemData(p, 1);
  for (const [params, pattern] of [
    [{ threads: 3 }, /threads/],
    [{ rows: 5 }, /rows/],
    [{ order: 'CA' }, /order/],
    [{ hloop: 'w' }, /hloop/],
  ] as const) {
    it(`${JSON.stringify(params)} is rejected with the field named`, async () => {
      const r = await evaluateCandidate(session, fused, p, { ...fused.defaults(p, session.device), ...params }, data, { verifyOnly: true });
      assert.equal(r.state, 'rejected');
      assert.match(r.error!, pattern);
    });
  }
  it('a problem larger than WebAssembly memory is rejected, not attempted', async () => {
    const big = neoCellProblem({ N: 64, C: 768, H: 112, W: 112, spec: '7' });
    const msg = fused.check!(big, fused.defaults(big, session.device), session.device);
    assert.match(msg ?? '', /bytes of WebAssembly memory/);
  });
});

describe('executed work, counted from the generated code', () => {
  const variant = (name: string) => cpuBackend.variants.find((v) => v.name === name)!;
  const executed = (name: string, p: ReturnType<typeof neoCellProblem>, params: Record<string, string | number>) =>
    (variant(name).generate!(p, { ...variant(name).defaults(p, session.device), ...params }, session.device) as WasmKernelSpec).executed!;

  it('dense-wasm: both materialised matmuls, zeros included (widths a multiple of 4: no lane waste)', () => {
    const p = neoCellProblem({ N: 2, C: 3, H: 8, W: 8, spec: '4' });
    for (const order of ['AB', 'BA'])
      for (const mr of [2, 4]) {
        const e = executed('dense-wasm', p, { order, mr, nv: 2 });
        // 8×8 · 8×8 twice per channel image: 2 · 512 multiply-adds, for 2 images of 3 channels.
        assert.deepEqual(e, { multiplies: 2 * 3 * 2 * 512, adds: 2 * 3 * 2 * 512, macs: 2 * 3 * 2 * 512 });
      }
  });

  it("winograd-wasm: Winograd's multiplies (4 per output of a 7-block, 3 shared) against fused-wasm's multiply-adds", () => {
    // 14×14 with 7-blocks, order AB: per channel two bands of 7 rows; a 14-wide row is 4 f32x4
    // vectors (the last overlapping), a 7-wide block 2.
    const p = neoCellProblem({ N: 1, C: 4, H: 14, W: 14, spec: '7' });
    const w = executed('winograd-wasm', p, { order: 'AB' });
    const f = executed('fused-wasm', p, { order: 'AB', rows: 1, hloop: 'v' });
    // Column vector of the A pass: η 3 multiplies + 2 adds, then 7 outputs × (4 multiplies, 6 + 3 + 2 adds).
    // Row block of the B pass: η 3 + 2, then 2 output vectors × (4, 11).
    const perBand = { mults: 4 * (3 + 7 * 4) + 7 * 2 * (3 + 2 * 4), adds: 4 * (2 + 7 * 11) + 7 * 2 * (2 + 2 * 11) };
    assert.equal(w.multiplies, 4 * 4 * 2 * perBand.mults);
    assert.equal(w.adds, 4 * 4 * 2 * perBand.adds);
    assert.equal(w.macs, w.multiplies);
    // fused-wasm: 7 × 7 multiply-adds per A-pass vector (4 per row) and per B-pass block vector (2 per block, 2 blocks per row).
    assert.equal(f.macs, 4 * 4 * 2 * (4 * 49 + 7 * 2 * 2 * 7));
    assert.ok(w.multiplies < 0.8 * f.multiplies && w.adds > 1.5 * f.adds);
  });
});
