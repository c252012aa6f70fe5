/**
 * Generation apart from compilation: every variant that describes itself (`generate`) gives the same
 * description for the same problem and parameters (deterministic: equal keys, equal code), the
 * description is data (it survives JSON unchanged: no functions), it is made without a device, and
 * what the backend compiles from it is that very code (the tuner's hash of the description is the
 * hash of the compiled kernel's source).
 */
import { createKernel } from '../harness/compile.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { copyProblem, dwconvProblem, neoCellProblem } from '../harness/problem.js';
import { generatedSourceHash, sourceHash } from '../harness/evaluate.js';
import type { KernelVariant, Problem } from '../harness/types.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { gpujsBackend } from '../kernels/gpujs/backend.js';
import { webgpuBackend } from '../kernels/webgpu/backend.js';
import type { WebGpuSession } from '../kernels/webgpu/session.js';
import { buildSpace, configKey } from '../tuner/space.js';
import { CELL_CASES } from './cases.js';

const gpu = (await webgpuBackend.open()) as WebGpuSession;
const cpu = await cpuBackend.open();
const gl = await gpujsBackend.open();
after(async () => {
  await gpu.close();
  await cpu.close();
  await gl.close();
});

const stage1 = neoCellProblem({ N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 });
const problems: Problem[] = [...CELL_CASES.map((c) => c.problem), stage1, dwconvProblem({ N: 1, C: 8, H: 9, W: 9, K: 7 }), copyProblem({ N: 1, C: 4, H: 6, W: 6 })];

for (const [backend, session, all] of [
  ['webgpu', gpu, webgpuBackend.variants],
  ['cpu', cpu, cpuBackend.variants],
  ['gpujs', gl, gpujsBackend.variants],
] as const) {
  describe(`generate (${backend}): pure, deterministic, serialisable descriptions`, () => {
    const described = all.filter((v): v is KernelVariant & Required<Pick<KernelVariant, 'generate'>> => v.generate !== undefined);

    it('every variant but the peers describes itself', () => {
      // Every generated kernel describes itself; the peers (onnxruntime, tfjs) run code neotune does not generate.
      const expected = all.filter((v) => v.role !== 'peer').map((v) => v.name);
      assert.deepEqual(described.map((v) => v.name), expected);
    });

    it('the same configuration gives the same description, and it is data', () => {
      let checked = 0;
      for (const p of problems) {
        const space = buildSpace(p, described, session);
        const seen = new Map<string, string>();
        // A larger problem's descriptions are large (a WebAssembly listing per point): every fourth
        // point of its space, plus a point for each variant and parameter value that misses.
        const configs = p.N * p.C * p.H * p.W >= 2000 ? coveringSample(space.configs, 4) : space.configs;
        for (const config of configs) {
          const v = described.find((x) => x.name === config.variant)!;
          const a = v.generate(p, config.params, session.device);
          const text = JSON.stringify(a);
          assert.equal(JSON.stringify(v.generate(p, config.params, session.device)), text, `${config.variant} ${configKey(config)}`);
          assert.equal(notData(a), undefined, `${config.variant}: the description is plain data (no functions, no typed arrays)`);
          const key = configKey(config);
          if (seen.has(key)) assert.equal(seen.get(key), text);
          seen.set(key, text);
          checked++;
        }
      }
      assert.ok(checked > 20, `${checked} descriptions`);
    });

    it('what is compiled is the described code: hashing the description is hashing the kernel', async () => {
      for (const p of problems.slice(0, 4).concat(problems.slice(-2))) {
        for (const v of described.filter((x) => x.op === p.op)) {
          const params = v.defaults(p, session.device);
          const kernel = await createKernel(v, p, params, session);
          try {
            assert.equal(kernel.source, v.generate(p, params, session.device).source);
            assert.equal(await generatedSourceHash(session, v, p, params), await sourceHash(kernel.source));
          } finally {
            await kernel.dispose();
          }
        }
      }
    });
  });
}

/** The path of the first value in `x` that JSON would not carry as is (a function, a typed array, a class instance, undefined, a non-finite number), or undefined when it is plain data. */
function notData(x: unknown, path = '$'): string | undefined {
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return undefined;
  if (typeof x === 'number') return Number.isFinite(x) ? undefined : path;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const bad = notData(x[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    for (const [k, v] of Object.entries(x)) {
      const bad = notData(v, `${path}.${k}`);
      if (bad) return bad;
    }
    return undefined;
  }
  return path;
}

/** Every `step`-th configuration, plus the first one carrying each variant or parameter value the others miss. */
function coveringSample<C extends { readonly variant: string; readonly params: Readonly<Record<string, unknown>> }>(all: readonly C[], step: number): C[] {
  const valuesOf = (c: C) => [c.variant, ...Object.entries(c.params).map(([k, v]) => `${c.variant} ${k}=${String(v)}`)];
  const chosen = all.filter((_, i) => i % step === 0);
  const seen = new Set(chosen.flatMap(valuesOf));
  for (const c of all) {
    const values = valuesOf(c);
    if (values.some((v) => !seen.has(v))) {
      chosen.push(c);
      values.forEach((v) => seen.add(v));
    }
  }
  return chosen;
}
