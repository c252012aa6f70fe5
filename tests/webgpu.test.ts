/** The WebGPU backend in Node (Dawn; SwiftShader on machines without a GPU): every WGSL variant verified, faults reported. */
import { createKernel } from '../harness/compile.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { candidateParams } from '../harness/params.js';
import { evaluateCandidate } from '../harness/evaluate.js';
import { dwconvProblem, makeProblemData, neoCellProblem } from '../harness/problem.js';
import { webgpuBackend } from '../kernels/webgpu/backend.js';
import { countGpuKernel, wgslCountingBuild } from '../kernels/webgpu/count.js';
import { GpuKernel, type GpuKernelSpec } from '../kernels/webgpu/instance.js';
import { countOperations } from '../harness/compile.js';
import type { GpuHostSession } from '../kernels/webgpu/device-session.js';
import type { WebGpuSession } from '../kernels/webgpu/session.js';
import type { BackendSession, KernelDescription, KernelVariant } from '../harness/types.js';
import { arbCellProblem } from './arbitraries.js';
import { CELL_CASES } from './cases.js';

// The setup installs Chromium's SwiftShader Vulkan driver: no adapter here is a failure, not a skip.
const session = (await webgpuBackend.open()) as WebGpuSession;
after(() => session.close());
const byName = (n: string) => webgpuBackend.variants.find((v) => v.name === n)!;

describe(`WebGPU (${session.device.description})`, () => {
  const neocell = webgpuBackend.variants.filter((v) => v.op === 'neocell');
  for (const v of neocell) {
    for (const c of CELL_CASES) {
      it(`${v.name}, ${c.name}: every parameter point verified`, async () => {
        const data = makeProblemData(c.problem, 5);
        for (const params of candidateParams(v, c.problem, session, { allParams: true })) {
          const r = await evaluateCandidate(session, v, c.problem, params, data, { verifyOnly: true });
          assert.equal(r.state, 'verified', `${JSON.stringify(params)}: ${r.error}`);
        }
      });
    }
    it(`${v.name} on random problems (groups, shifts, rectangular blocks, batch)`, async () => {
      await fc.assert(
        fc.asyncProperty(arbCellProblem(), fc.nat(), async ({ shape, groups, seed }, pick) => {
          const p = neoCellProblem({ ...shape, spec: groups });
          const all = candidateParams(v, p, session, { allParams: true });
          const r = await evaluateCandidate(session, v, p, all[pick % all.length]!, makeProblemData(p, seed), { verifyOnly: true });
          assert.equal(r.state, 'verified', `${JSON.stringify(all[pick % all.length])}: ${r.error}`);
        }),
        { numRuns: 25, seed: 4 },
      );
    });
  }

  it('the fused parameter space: wgy and vec only with tile shared, vec 4 only where rows are whole vec4s; --all-params runs valid points only', () => {
    const v = byName('fused-wgsl');
    const even = neoCellProblem({ N: 1, C: 4, H: 8, W: 16, spec: '7' });
    const odd = neoCellProblem({ N: 1, C: 4, H: 8, W: 14, spec: '7' });
    const points = candidateParams(v, even, session, { allParams: true });
    assert.ok(points.length > 0 && points.every((p) => p.tile === 'shared' || (p.wgy === 1 && p.vec === 1)));
    assert.ok(points.some((p) => p.vec === 4));
    assert.match(v.check!(even, { tile: 'column', wg: 64, wgy: 4, vec: 1 }, session.device)!, /wgy and vec apply to tile shared only/);
    assert.deepEqual(v.params(odd, session.device).find((d) => d.name === 'vec')!.values, [1]);
    assert.match(v.check!(odd, { tile: 'shared', wg: 64, wgy: 4, vec: 4 }, session.device)!, /vec 4 needs W and W_out divisible by 4 \(W 14/);
    const wide = neoCellProblem({ N: 1, C: 4, H: 8, W: 4096, spec: '7' });
    assert.match(v.check!(wide, { tile: 'shared', wg: 64, wgy: 16, vec: 1 }, session.device)!, /bytes of workgroup memory, over maxComputeWorkgroupStorageSize/);
  });

  it('a batch over maxStorageBufferBindingSize or the z dispatch limit is split into chunks of whole images, every variant verified; what cannot be split is rejected with the limit named', async () => {
    // The same device, described with smaller limits: 2 images (2 × 2048 bytes) per binding, 16 workgroups along z.
    const small = { ...session, device: { ...session.device, limits: { ...session.device.limits, maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 16 } } };
    const p = neoCellProblem({ N: 4, C: 8, H: 8, W: 8, spec: '4+7', shift: 1 });
    const data = makeProblemData(p, 3);
    for (const v of webgpuBackend.variants.filter((x) => x.op === 'neocell')) {
      for (const params of candidateParams(v, p, small, { allParams: true }).filter((_, i) => i % 3 === 0)) {
        const r = await evaluateCandidate(small, v, p, params, data, { verifyOnly: true });
        assert.equal(r.state, 'verified', `${v.name} ${JSON.stringify(params)}: ${r.error}`);
      }
    }
    for (const [name, q] of [
      ['dwconv-wgsl', dwconvProblem({ N: 4, C: 8, H: 8, W: 8, K: 7 })],
      ['copy-wgsl', (await import('../harness/problem.js')).copyProblem({ N: 4, C: 8, H: 8, W: 8 })],
    ] as const) {
      const r = await evaluateCandidate(small, byName(name), q, { wg: 32 }, makeProblemData(q, 2), { verifyOnly: true });
      assert.equal(r.state, 'verified', `${name}: ${r.error}`);
    }
    const chunks = (await import('../kernels/webgpu/wgsl.js')).imageChunks;
    assert.deepEqual(chunks(p, small.device, [8 * 64, 8 * 64], 8), { images: 2, count: 2 });
    assert.deepEqual(chunks(p, session.device, [8 * 64, 8 * 64], 8), { images: 4, count: 1 });
    const big = neoCellProblem({ N: 1, C: 32, H: 8, W: 8, spec: '7' });
    const one = await evaluateCandidate(small, byName('fused-wgsl'), big, { tile: 'column', wg: 32, wgy: 1, vec: 1 }, makeProblemData(big, 1), { verifyOnly: true });
    assert.equal(one.state, 'rejected');
    assert.match(one.error!, /one image needs a 8192-byte buffer, over maxStorageBufferBindingSize 4096/);
    const odd = neoCellProblem({ N: 4, C: 3, H: 5, W: 7, spec: '5' });
    assert.match(chunks(odd, { ...small.device, limits: { ...small.device.limits, maxStorageBufferBindingSize: 1000 } }, [105, 105], 3) as string, /minStorageBufferOffsetAlignment/);
  });

  it('float16: x and y in f16 (host conversion, f16 copy verified); the fused shared tile runs it where the adapter has shader-f16, and is rejected naming the feature where not; float32-only variants say so', async () => {
    const p = neoCellProblem({ N: 2, C: 8, H: 8, W: 16, spec: '4+7', shift: 1, dtype: 'float16' });
    const data = makeProblemData(p, 7);
    const { copyProblem } = await import('../harness/problem.js');
    for (const q of [copyProblem({ N: 2, C: 8, H: 8, W: 16, dtype: 'float16' }), copyProblem({ N: 1, C: 3, H: 5, W: 2, dtype: 'float16' })]) {
      const r = await evaluateCandidate(session, byName('copy-wgsl'), q, { wg: 64 }, makeProblemData(q, 1), { verifyOnly: true });
      assert.equal(r.state, 'verified', r.error);
      assert.ok(r.max_rel_err! > 0 && r.max_rel_err! < 2 ** -10, `f16 rounding of the input shows: ${r.max_rel_err}`);
    }
    const hasF16 = session.device.features.includes('shader-f16');
    for (const name of ['fused-wgsl', 'winograd-wgsl']) {
      for (const vec of [1, 4]) {
        const r = await evaluateCandidate(session, byName(name), p, { tile: 'shared', wg: 64, wgy: 4, vec }, data, { verifyOnly: true });
        if (hasF16) assert.equal(r.state, 'verified', r.error);
        else assert.match(`${r.state}: ${r.error}`, /^rejected: float16 needs the adapter feature shader-f16/);
      }
      const column = await evaluateCandidate(session, byName(name), p, { tile: 'column', wg: 64, wgy: 1, vec: 1 }, data, { verifyOnly: true });
      assert.match(`${column.state}: ${column.error}`, /^rejected: dtype float16 runs with tile shared only/);
    }
    const sparse = await evaluateCandidate(session, byName('sparse-wgsl'), p, { order: 'AB', wg: 64 }, data, { verifyOnly: true });
    assert.match(`${sparse.state}: ${sparse.error}`, /^rejected: sparse-wgsl computes float32; the problem is float16/);
    const { fusedSharedWgsl } = await import('../kernels/webgpu/fused-shared.js');
    const wgsl = fusedSharedWgsl(p, 64, 4, 4, 'direct').wgsl;
    assert.ok(wgsl.startsWith('enable f16;'));
    assert.match(wgsl, /var<storage, read> x: array<vec4<f16>>;/);
    assert.match(wgsl, /= vec4<f16>\(acc\);/);
  });

  it('dwconv-wgsl and copy-wgsl verified (interior and zero-padded border)', async () => {
    for (const [K, H, W] of [
      [7, 14, 14],
      [3, 5, 9],
    ] as const) {
      const p = dwconvProblem({ N: 2, C: 3, H, W, K });
      const r = await evaluateCandidate(session, byName('dwconv-wgsl'), p, { wg: 32 }, makeProblemData(p, K), { verifyOnly: true });
      assert.equal(r.state, 'verified', r.error);
    }
    const { copyProblem } = await import('../harness/problem.js');
    for (const C of [4, 3]) {
      const p = copyProblem({ N: 1, C, H: 5, W: 7 });
      const r = await evaluateCandidate(session, byName('copy-wgsl'), p, { wg: 64 }, makeProblemData(p, 1), { verifyOnly: true });
      assert.equal(r.state, 'verified', r.error);
    }
  });

  it('timing uses timestamp queries when the adapter has them, and says so', async () => {
    const p = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '4' });
    const r = await evaluateCandidate(session, byName('fused-wgsl'), p, { tile: 'column', wg: 32, wgy: 1, vec: 1 }, makeProblemData(p, 1), { measure: { timeMs: 20, minSamples: 3, warmupMs: 0 } });
    assert.equal(r.state, 'verified', r.error);
    assert.match(r.timing_method!, session.gpu.timestamps ? /timestamp-query/ : /onSubmittedWorkDone/);
    // A quantised timestamp clock (Dawn here quantises to 2^16 ns): every sample spans tens of its steps.
    const step = session.gpu.timestampStepMs;
    if (session.gpu.timestamps && step !== undefined && step >= 0.001) {
      const batch = Number(/mean of (\d+) dispatches/.exec(r.timing_method!)?.[1]);
      assert.match(r.timing_method!, /clock step \d/);
      assert.ok(r.median_ms! * batch >= 50 * step, `${r.median_ms} ms × ${batch} dispatches against a ${step} ms clock step`);
    }
  });

  it('without timestamp-query: wall time around onSubmittedWorkDone, every sample a batch of dispatches spanning about 2 ms, recorded as such', async () => {
    const noTimestamps = { ...session.gpu, timestamps: false };
    const k = await GpuKernel.create(noTimestamps, { kind: 'wgsl', name: 'tiny', source: '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1) fn main() { y[0] = 1.0; }', dispatch: [1, 1, 1], outputElements: 16, weights: [] }, () => []);
    try {
      await k.prepare(makeProblemData(neoCellProblem({ N: 1, C: 1, H: 4, W: 4, spec: '4' }), 1));
      const t = await k.measure!({ timeMs: 30, minSamples: 5, warmupMs: 0 });
      const batch = Number(/^onSubmittedWorkDone wall time \(mean of (\d+) dispatches per sample(, submission overhead ≈ \d+ % of a sample, included)?\)$/.exec(t.method)?.[1]);
      assert.ok(batch > 1, t.method);
      const median = [...t.samples_ms].sort((a, b) => a - b)[t.samples_ms.length >> 1]!;
      assert.ok(median * batch >= 0.5, `a sample spans ${(median * batch).toFixed(2)} ms (${t.method})`);
    } finally {
      k.dispose();
    }
  });

  it('a WGSL compile error fails the candidate with the compiler message', async () => {
    await assert.rejects(GpuKernel.create(session.gpu, { kind: 'wgsl', name: 'broken', source: '@compute @workgroup_size(1) fn main() { let a: f32 = undefined_thing; }', dispatch: [1, 1, 1], outputElements: 4, weights: [] }, () => []), /broken: shader: .*undefined_thing/s);
  });

  it('fault injection in a run: a shader that does not compile and a problem over the limits are recorded with their messages, and the run goes on to verify the rest', async () => {
    const { runSuite } = await import('../lib/bench.js');
    const { benchCase } = await import('../suites/suite.js');
    const { BACKENDS } = await import('../kernels/registry.js');
    const broken: KernelVariant = {
      ...byName('fused-wgsl'),
      name: 'broken-wgsl',
      params: () => [],
      defaults: () => ({}),
      check: undefined,
      generate: () => ({ kind: 'wgsl', name: 'broken-wgsl', source: '@compute @workgroup_size(1) fn main() { let v: f32 = no_such_value; }', dispatch: [1, 1, 1], outputElements: 4, weights: [] }) as KernelDescription,
    };
    const small = { ...session, device: { ...session.device, limits: { ...session.device.limits, maxStorageBufferBindingSize: 4096 } } };
    const run = { entry: BACKENDS.find((e) => e.name === 'webgpu')!, backend: { ...webgpuBackend, variants: [broken, byName('fused-wgsl'), byName('sparse-wgsl')] }, session: small };
    const suite = {
      name: 'faults',
      description: 'fault injection',
      cases: [benchCase('fits', 1, neoCellProblem({ N: 2, C: 4, H: 8, W: 8, spec: '4' })), benchCase('one image over the binding limit', 1, neoCellProblem({ N: 1, C: 32, H: 8, W: 8, spec: '7' }))],
    };
    const records = await runSuite(suite, [run], { verifyOnly: true, kernels: ['broken-wgsl', 'fused-wgsl', 'sparse-wgsl'] });
    const at = (c: string, k: string) => records.find((r) => r.case === c && r.kernel === k)!;
    for (const c of ['fits', 'one image over the binding limit']) assert.match(`${at(c, 'broken-wgsl').state}: ${at(c, 'broken-wgsl').error}`, /^failed: broken-wgsl: shader: .*no_such_value/s);
    assert.equal(at('fits', 'fused-wgsl').state, 'verified', at('fits', 'fused-wgsl').error);
    assert.equal(at('fits', 'sparse-wgsl').state, 'verified', at('fits', 'sparse-wgsl').error);
    for (const k of ['fused-wgsl', 'sparse-wgsl']) assert.match(`${at('one image over the binding limit', k).state}: ${at('one image over the binding limit', k).error}`, /^rejected: one image needs a 8192-byte buffer, over maxStorageBufferBindingSize 4096/);
  });

  it('a device lost mid-run: the candidate in flight fails naming the loss, the next one runs on a new device', async () => {
    await deviceLossContinues(await webgpuBackend.open(), byName('fused-wgsl'));
  });

  it('a buffer over maxStorageBufferBindingSize is refused with the limit named', async () => {
    const limit = session.gpu.device.limits.maxStorageBufferBindingSize;
    const k = await GpuKernel.create(session.gpu, { kind: 'wgsl', name: 'huge', source: '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1) fn main() { y[0] = 1.0; }', dispatch: [1, 1, 1], outputElements: limit / 4 + 16, weights: [] }, () => []);
    const p = neoCellProblem({ N: 1, C: 1, H: 4, W: 4, spec: '4' });
    await assert.rejects(Promise.resolve(k.prepare(makeProblemData(p, 1))), /exceeds maxStorageBufferBindingSize/);
    k.dispose();
  });
});

describe('WebGPU in headless Chromium: the same WGSL through the page host', async () => {
  const { webgpuBrowserBackend } = await import('../kernels/webgpu/browser.js');
  const browser = await webgpuBrowserBackend.open();
  after(() => browser.close());
  const v = (n: string) => webgpuBrowserBackend.variants.find((x) => x.name === n)!;

  it(`reports the browser and adapter (${browser.device.description})`, () => {
    assert.match(browser.device.description, /Chrom/);
  });
  for (const c of CELL_CASES) {
    it(`fused-wgsl (every tile), winograd-wgsl (shared) and sparse-wgsl (both orders), ${c.name}: verified`, async () => {
      const data = makeProblemData(c.problem, 5);
      const vec = v('fused-wgsl').params(c.problem, browser.device).find((d) => d.name === 'vec')!.values.at(-1)!;
      for (const [name, params] of [
        ['fused-wgsl', { tile: 'shared', wg: 64, wgy: 4, vec }],
        ['winograd-wgsl', { tile: 'shared', wg: 32, wgy: 16, vec }],
        ['fused-wgsl', { tile: 'column', wg: 64, wgy: 1, vec: 1 }],
        ['fused-wgsl', { tile: 'block', wg: 32, wgy: 1, vec: 1 }],
        ['sparse-wgsl', { order: 'AB', wg: 64 }],
        ['sparse-wgsl', { order: 'BA', wg: 32 }],
      ] as const) {
        const r = await evaluateCandidate(browser, v(name), c.problem, params, data, { verifyOnly: true });
        assert.equal(r.state, 'verified', `${name} ${JSON.stringify(params)}: ${r.error}`);
      }
    });
  }
  for (const variant of webgpuBrowserBackend.variants.filter((x) => x.op === 'neocell')) {
    it(`${variant.name} on random problems in the page (a random valid parameter point each)`, async () => {
      await fc.assert(
        fc.asyncProperty(arbCellProblem(), fc.nat(), async ({ shape, groups, seed }, pick) => {
          const p = neoCellProblem({ ...shape, spec: groups });
          const all = candidateParams(variant, p, browser, { allParams: true });
          const params = all[pick % all.length]!;
          const r = await evaluateCandidate(browser, variant, p, params, makeProblemData(p, seed), { verifyOnly: true });
          assert.equal(r.state, 'verified', `${JSON.stringify(params)}: ${r.error}`);
        }),
        { numRuns: 8, seed: 6 },
      );
    });
  }
  it('the exact lane in the page: the counting build gives the counts Dawn in Node gives', async () => {
    const p = CELL_CASES[1]!.problem;
    const data = makeProblemData(p, 3);
    for (const [name, params] of [
      ['sparse-wgsl', { order: 'AB', wg: 64 }],
      ['fused-wgsl', { tile: 'shared', wg: 64, wgy: 4, vec: 1 }],
    ] as const) {
      const inPage = await countOperations(v(name), p, params, browser, data);
      assert.ok(inPage && inPage.invocations! > 0, name);
      assert.deepEqual(inPage, await countOperations(byName(name), p, params, session, data), name);
    }
  });
  it('dwconv and copy verified; timing comes from the page', async () => {
    const d = dwconvProblem({ N: 1, C: 3, H: 9, W: 9, K: 7 });
    assert.equal((await evaluateCandidate(browser, v('dwconv-wgsl'), d, { wg: 32 }, makeProblemData(d, 1), { verifyOnly: true })).state, 'verified');
    const { copyProblem } = await import('../harness/problem.js');
    const half = copyProblem({ N: 2, C: 4, H: 6, W: 6, dtype: 'float16' });
    const hc = await evaluateCandidate(browser, v('copy-wgsl'), half, { wg: 64 }, makeProblemData(half, 2), { verifyOnly: true });
    assert.equal(hc.state, 'verified', `float16 copy in the page: ${hc.error}`);
    const p = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '4' });
    const t = await evaluateCandidate(browser, v('fused-wgsl'), p, { tile: 'block', wg: 32, wgy: 1, vec: 1 }, makeProblemData(p, 1), { measure: { timeMs: 20, minSamples: 3, warmupMs: 0 } });
    assert.equal(t.state, 'verified', t.error);
    assert.match(t.timing_method!, /^Chromium (timestamp-query|onSubmittedWorkDone)/);
  });
  it('a batch split into image chunks (binding limit) runs in the page too', async () => {
    const small = { ...browser, device: { ...browser.device, limits: { ...browser.device.limits, maxStorageBufferBindingSize: 4096 } } };
    const p = neoCellProblem({ N: 4, C: 8, H: 8, W: 8, spec: '4+7', shift: 1 });
    for (const [name, params] of [
      ['fused-wgsl', { tile: 'shared', wg: 64, wgy: 4, vec: 4 }],
      ['sparse-wgsl', { order: 'BA', wg: 32 }],
    ] as const) {
      const r = await evaluateCandidate(small, v(name), p, params, makeProblemData(p, 4), { verifyOnly: true });
      assert.equal(r.state, 'verified', `${name}: ${r.error}`);
    }
  });
  it('a device lost mid-run in the page: the candidate in flight fails naming the loss, the next one runs on a new device', async () => {
    const { webgpuBrowserBackend: b } = await import('../kernels/webgpu/browser.js');
    await deviceLossContinues(await b.open(), v('fused-wgsl'));
  });
  it('a WGSL compile error in the page fails the candidate with the message', async () => {
    const host = browser as unknown as { compile: (s: object) => Promise<unknown> };
    await assert.rejects(host.compile({ kind: 'wgsl', name: 'broken', source: '@compute @workgroup_size(1) fn main() { let a: f32 = nope; }', dispatch: [1, 1, 1], outputElements: 4, weights: [] }), /broken: shader: .*nope/s);
  });
});

/** A kernel prepared, the device lost under it: its run fails with the reason; a new candidate on the same session verifies. */
async function deviceLossContinues(s: BackendSession, fused: KernelVariant): Promise<void> {
  const host = s as GpuHostSession;
  try {
    const p = neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '4+7', shift: 1 });
    const params = { tile: 'shared', wg: 64, wgy: 4, vec: 4 };
    const data = makeProblemData(p, 9);
    const inFlight = await createKernel(fused, p, params, s);
    await inFlight.prepare(data);
    await host.simulateDeviceLoss('unknown: simulated loss');
    await assert.rejects(Promise.resolve().then(() => inFlight.run()), /device lost.*unknown: simulated loss/);
    const next = await evaluateCandidate(s, fused, p, params, data, { verifyOnly: true });
    assert.equal(next.state, 'verified', next.error);
  } finally {
    await s.close();
  }
}

describe('float16 conversion on the host (x up, y back)', () => {
  it('every finite half round-trips exactly; float32 rounds to nearest even, overflows to infinity, keeps subnormals and NaN', async () => {
    const { fromF16Bits, toF16Bits } = await import('../kernels/webgpu/instance.js');
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
    assert.deepEqual(toF16Bits(fromF16Bits(all)), all);
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // tie: to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie: up
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds past the largest half: infinity
      [-1e9, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie with zero: to even
      [3 * 2 ** -26, 0x0001],
      [-0, 0x8000],
    ];
    assert.deepEqual([...toF16Bits(Float32Array.from(cases.map(([f]) => f)))], cases.map(([, h]) => h));
    assert.ok(Number.isNaN(fromF16Bits(toF16Bits(Float32Array.of(NaN)))[0]));
  });
});

describe('Strassen-like WGSL accounting', () => {
  it('Winograd inner products execute fewer multiplications than the direct fused kernel (k = 7: 31 instead of 49 per band column in the A step)', async () => {
    const { fusedWgsl } = await import('../kernels/webgpu/fused-wgsl.js');
    const p = neoCellProblem({ N: 1, C: 8, H: 14, W: 14, spec: '7' });
    const direct = fusedWgsl(p, 64, 'direct');
    const wino = fusedWgsl(p, 64, 'winograd');
    const invocations = 8 * 2 * 14;
    assert.equal(direct.multiplies - wino.multiplies, invocations * (49 - 31));
    assert.equal(direct.macs, wino.macs);
  });
});

describe('counting builds of the WGSL kernels (the exact lane)', () => {
  /** Invocations a description dispatches: Σ passes (workgroups × the entry point's workgroup size) × chunks. */
  const dispatched = (spec: GpuKernelSpec) => {
    const passes = spec.passes ?? [{ entry: 'main', dispatch: spec.dispatch! }];
    return passes.reduce((sum, p) => {
      const size = new RegExp(`@workgroup_size\\(([^)]*)\\)\\s*fn ${p.entry}\\b`).exec(spec.source)![1]!.split(',').reduce((a, x) => a * Number(x), 1);
      return sum + p.dispatch[0] * p.dispatch[1] * p.dispatch[2] * size;
    }, 0) * (spec.chunks ?? 1);
  };

  it('count every variant on every case identically twice; every dispatched invocation is counted and every output stored', async () => {
    let counted = 0;
    for (const c of CELL_CASES) {
      const data = makeProblemData(c.problem, 3);
      for (const v of webgpuBackend.variants.filter((x) => x.op === 'neocell' && x.generate)) {
        for (const params of candidateParams(v, c.problem, session, { allParams: true }).slice(0, 4)) {
          const spec = v.generate!(c.problem, params, session.device) as GpuKernelSpec;
          const one = await countOperations(v, c.problem, params, session, data);
          const two = await countOperations(v, c.problem, params, session, data);
          const what = `${v.name} ${JSON.stringify(params)} on ${c.name}`;
          assert.ok(one, `${what}: no counts`);
          assert.deepEqual(one, two, what);
          assert.equal(one.invocations, dispatched(spec), `${what}: invocations`);
          assert.ok(one.storage_stores! >= spec.outputElements / 4 && one.storage_store_bytes! >= spec.outputElements * 4, `${what}: ${one.storage_store_bytes} bytes stored for ${spec.outputElements} outputs`);
          assert.ok(one.arith_ops! + one.fmas! > 0 && one.storage_loads! > 0, what);
          counted++;
        }
      }
    }
    assert.ok(counted >= 4 * CELL_CASES.length, `${counted} kernels counted`);
  });

  it('one more operation in an inner loop of 240 iterations is 240 more operations of its class, and nothing else moves', async () => {
    const kernel = (extra: string): GpuKernelSpec => ({
      kind: 'wgsl',
      name: 'fixture',
      outputElements: 1,
      weights: [],
      dispatch: [1, 1, 1],
      source: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1)
fn main() {
  var acc = 0.0;
  for (var q = 0u; q < 240u; q++) {
    acc += x[q]${extra};
  }
  y[0] = acc;
}
`,
    });
    const data = makeProblemData(CELL_CASES[0]!.problem, 1);
    const base = await countGpuKernel(session.gpu, kernel(''), data);
    assert.deepEqual(
      { ...base },
      { ...base, invocations: 1, dispatches: 1, workgroups: 1, storage_loads: 240, storage_load_bytes: 960, storage_stores: 1, storage_store_bytes: 4, branches: 240, compares: 240 },
    );
    const more = (extra: string, cls: string) => countGpuKernel(session.gpu, kernel(extra), data).then((m) => assert.deepEqual(m, { ...base, [cls]: base[cls]! + 240 }, extra));
    await more(' * 2.0', 'arith_ops');
    const loads = await countGpuKernel(session.gpu, kernel(' * x[q + 1u]'), data);
    assert.equal(loads.storage_loads! - base.storage_loads!, 240);
    assert.equal(loads.arith_ops! - base.arith_ops!, 480); // the multiply and the index addition
  });

  it('the counting build is the timed source with the counters only', () => {
    const v = byName('sparse-wgsl');
    const p = CELL_CASES[1]!.problem;
    const spec = v.generate!(p, v.defaults(p, session.device), session.device) as GpuKernelSpec;
    const build = wgslCountingBuild(spec.source, 5);
    const stripped = build.source.replace(/ atomicAdd\(&neotune_counts\[\d+\], select\(0u, 1u, atomicAdd\(&neotune_counts\[\d+\], 1u\) == 4294967295u\)\);/g, '').replace('\n@group(0) @binding(5) var<storage, read_write> neotune_counts: array<atomic<u32>>;\n', '');
    assert.equal(stripped, spec.source);
    assert.equal(build.regions.length, (build.source.match(/atomicAdd\(&neotune_counts/g) ?? []).length / 2);
  });
});
