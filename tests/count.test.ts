/**
 * The exact lane: counting builds of the CPU kernels (kernels/cpu/count.ts). Counts are identical
 * run after run, a one-instruction change to an inner loop changes them by exactly its trip count,
 * and `compare` treats more operations as a regression whatever the timings say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareResults, proxyRegressions } from '../analysis/compare.js';
import { countOperations } from '../harness/compile.js';
import { makeProblemData } from '../harness/problem.js';
import type { ResultFile, ResultRecord } from '../harness/results.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { countingPart, jsCounts } from '../kernels/cpu/count-js.js';
import { countingBuild, readCounts } from '../kernels/cpu/wasm/count.js';
import { encodeModule, FunctionBuilder } from '../kernels/cpu/wasm/encoder.js';
import { CELL_CASES } from './cases.js';
import { wgslCountingBuild } from '../kernels/webgpu/count.js';

describe('counting builds of every CPU kernel', () => {
  it('count every variant on every case, identically twice (threads counted as one pass over all channels)', async () => {
    const session = await cpuBackend.open();
    try {
      let counted = 0;
      for (const c of CELL_CASES) {
        const data = makeProblemData(c.problem, 3);
        for (const v of cpuBackend.variants.filter((x) => x.op === 'neocell' && x.generate)) {
          const params = { ...v.defaults(c.problem, session.device) };
          const one = await countOperations(v, c.problem, params, session, data);
          const two = await countOperations(v, c.problem, params, session, data);
          assert.ok(one, `${v.name} on ${c.name}: no counts`);
          assert.deepEqual(one, two, `${v.name} on ${c.name}`);
          const work = (one.vector_madds ?? 0) + (one.vector_muls ?? 0) + (one.float_muls ?? 0);
          assert.ok(work > 0, `${v.name} on ${c.name}: no multiplies counted`);
          counted++;
        }
      }
      assert.ok(counted >= 8 * CELL_CASES.length, `${counted} kernels counted`);
      // Two threads do the same work as one: the counting build runs every thread's calls.
      const c = CELL_CASES[1]!;
      const v = cpuBackend.variants.find((x) => x.name === 'fused-wasm')!;
      const data = makeProblemData(c.problem, 3);
      const base = v.defaults(c.problem, session.device);
      const t1 = await countOperations(v, c.problem, { ...base, threads: 1 }, session, data);
      const t2 = await countOperations(v, c.problem, { ...base, threads: 2 }, session, data);
      assert.equal(t2!.vector_madds, t1!.vector_madds);
      assert.equal(t2!.vector_stores, t1!.vector_stores);
    } finally {
      await session.close();
    }
  });
});

describe('a one-instruction change to an inner loop', () => {
  /** `for (i = 0; i < 24; i += 1) for (j = 0; j < 10; j += 1) { v = v * v [+ v] }` as a module, counted. */
  const wasmCounts = async (extraAdd: boolean) => {
    const f = new FunctionBuilder('k', [['lo', 'i32'], ['hi', 'i32'], ['sc', 'i32']]);
    f.local('v', 'v128');
    f.forLoop('i', 0, 24, 1, () =>
      f.forLoop('j', 0, 10, 1, () => {
        f.get('v').get('v').f32x4Mul();
        if (extraAdd) f.get('v').f32x4Add();
        f.set('v');
      }),
    );
    const { bytes } = encodeModule([f], 1, false);
    const build = countingBuild(bytes);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const { instance } = await WebAssembly.instantiate(build.bytes, { env: { memory } });
    (instance.exports.k as (a: number, b: number, c: number) => void)(0, 0, 0);
    return readCounts(build, instance.exports);
  };

  it('WebAssembly: one more f32x4.add in the inner loop is 240 more vector adds, and nothing else moves but the instruction count', async () => {
    const before = await wasmCounts(false);
    const after = await wasmCounts(true);
    assert.equal(before.vector_muls, 240);
    assert.equal(before.vector_adds, 0);
    assert.equal(after.vector_adds, 240);
    assert.equal(after.instructions! - before.instructions!, 2 * 240, 'local.get + f32x4.add');
    assert.equal(after.branches, before.branches);
  });

  it('JavaScript: one more addition in the inner loop is one more float add per iteration', () => {
    const run = (body: string) => {
      const part = countingPart(`for (let i = 0; i < 24; i++) for (let j = 0; j < 10; j++) { y[j] = x[i] * x[j]${body}; }`, 0);
      const counters = new Float64Array(part.regions.length);
      new Function('x', 'y', '__neotuneCounts', part.source)(new Float32Array(24), new Float32Array(10), counters);
      return jsCounts(part.regions, counters);
    };
    const before = run('');
    const after = run(' + x[0]');
    assert.equal(before.float_muls, 240);
    assert.equal(before.stores, 240);
    assert.equal(after.float_adds! - before.float_adds!, 240);
    assert.equal(after.loads! - before.loads!, 240);
    assert.equal(after.compares, before.compares);
  });

  it('JavaScript: the instrumented source is the original with counters only', () => {
    const source = 'for (let s = 0; s < 4; s++) { y[s] = x[s] * 2; }\nif (x[0] > 0) y[0] = 1; else { y[1] = 2; }';
    const part = countingPart(source, 5);
    assert.equal(part.source.replace(/__neotuneCounts\[\d+\]\+\+;\s?/g, '').replace(/\{ (y\[0\] = 1;) \}/, '$1').replace(/\{\s+/g, '{ ').replace(/^\s+/, ''), source.replace(/\{\s+/g, '{ '));
    assert.equal(part.regions.length, 4);
  });
});

describe('compare: the exact lane', () => {
  const record = (operations: Record<string, number>): ResultRecord => ({
    backend: 'cpu',
    kernel: 'fused-wasm',
    role: 'neocell',
    params: {},
    problem: { op: 'neocell', N: 1, C: 16, H: 14, W: 14, spec: '16c:k7', dtype: 'float32' } as never,
    flops: { useful: 1, executed: 1, dwconv7_equivalent: 1 },
    bytes: 1,
    device: 'cpu',
    state: 'verified',
    max_rel_err: 0,
    median_ms: 1,
    samples_ms: [1, 1, 1, 1],
    operations,
  });
  const file = (r: ResultRecord): ResultFile => ({ schema: 'neotune-results', version: 2, created: '', command: '', environment: {} as never, records: [r] });

  it('more operations in any class is a regression, with its size; fewer is not', () => {
    const base = file(record({ vector_madds: 1000, vector_loads: 500 }));
    const more = compareResults(base, file(record({ vector_madds: 1000, vector_loads: 520 })));
    assert.equal(more.records[0]!.operations, 'more');
    assert.deepEqual(more.records[0]!.operation_changes, [{ proxy: 'vector_loads', base: 500, head: 520 }]);
    assert.equal(proxyRegressions(more).length, 1);
    const less = compareResults(base, file(record({ vector_madds: 900, vector_loads: 500 })));
    assert.equal(less.records[0]!.operations, 'less');
    assert.equal(proxyRegressions(less).length, 0);
    assert.equal(compareResults(base, base).records[0]!.operations, 'same');
  });
});

describe('WGSL counting builds: what each region counts', () => {
  const module = (body: string) => `enable f16;
// a fixture
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f16>>;
var<workgroup> tile: array<f32, 64>;
fn helper(v: f32) -> f32 { return v * 2.0; }
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
${body}
}
`;
  const regions = (body: string) => wgslCountingBuild(module(body), 2).regions;

  it('loads and stores with the bytes of their declared element type, operators, fma, calls, barriers', () => {
    const r = regions(`  let i = gid.x;
  tile[i] = x[i].x - -1.0;
  workgroupBarrier();
  y[i] = vec4<f16>(fma(tile[i], 2.0, helper(tile[i + 1u])));`);
    assert.equal(r.length, 2); // helper's body, main's body: one region each
    const main = r[1]!;
    assert.deepEqual(main, {
      invocations: 1,
      workgroup_stores: 1,
      workgroup_store_bytes: 4,
      storage_loads: 1,
      storage_load_bytes: 16,
      arith_ops: 2, // the binary minus (not the unary one) and the index addition
      barriers: 1,
      storage_stores: 1,
      storage_store_bytes: 8,
      fmas: 1,
      workgroup_loads: 2,
      workgroup_load_bytes: 8,
      calls: 1,
    });
    assert.deepEqual(r[0], { arith_ops: 1 }); // helper: not an entry point, its multiply
  });

  it('loops: the init once before, the test and the update per iteration; an if\'s test before it, an else-if\'s in its branch; code after a block is a region of its own', () => {
    const r = regions(`  var acc = 0.0;
  for (var q = 0u; q < 7u; q++) {
    acc += x[q].x;
  }
  if (acc > 1.0) {
    acc = 1.0;
  } else if (acc < 0.0) {
    acc = 0.0;
  } else {
    acc *= 2.0;
  }
  y[0] = vec4<f16>(f16(acc));`).slice(1);
    assert.deepEqual(r, [
      { invocations: 1 }, // main's first region: `var acc = 0.0;` and the loop's init
      { branches: 1, compares: 1, arith_ops: 2, storage_loads: 1, storage_load_bytes: 16 }, // loop body: test, q++, acc +=
      { branches: 1, compares: 1 }, // after the loop: the if's test
      {}, // the if's branch
      { branches: 1, compares: 1 }, // the else-if's branch, with its test
      { arith_ops: 1 }, // the else branch
      { storage_stores: 1, storage_store_bytes: 8 }, // after the chain
    ]);
  });

  it('constructs it does not count are refused, not counted wrong', () => {
    assert.throws(() => regions('  switch gid.x { default: { } }'), /WGSL "switch" is not counted/);
  });
});
