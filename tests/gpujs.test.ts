/**
 * The gpu.js backend in both hosts, Node (headless-gl under xvfb-run, see scripts/test.sh) and
 * headless Chromium (WebGL2 on SwiftShader): every variant verified against the reference, every
 * parameter value exercised, randomized problems; the real-GPU kernel class asserted; a missing X
 * server or a missing native `gl` is "backend unavailable", never a fallback result.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { evaluateCandidate } from '../harness/evaluate.js';
import { copyProblem, dwconvProblem, makeProblemData, neoCellProblem } from '../harness/problem.js';
import type { Backend, BackendSession, KernelVariant, Params, Problem } from '../harness/types.js';
import { gpujsBackend } from '../kernels/gpujs/backend.js';
import { gpujsBrowserBackend } from '../kernels/gpujs/browser.js';
import { GpuJsKernel, type GpuJsInstance } from '../kernels/gpujs/runner.js';
import { MAX_GPUJS_ELEMENTS } from '../kernels/gpujs/source.js';
import { arbCellProblem } from './arbitraries.js';
import { CELL_CASES } from './cases.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'scripts', 'neotune.js');

/** The defaults, then each other value of each parameter with the rest at their defaults. */
function eachValueOnce(v: KernelVariant, p: Problem, s: BackendSession): Params[] {
  const d = v.defaults(p, s.device);
  return [d, ...v.params(p, s.device).flatMap((decl) => decl.values.filter((x) => x !== d[decl.name]).map((x) => ({ ...d, [decl.name]: x })))];
}

async function verify(s: BackendSession, v: KernelVariant, p: Problem, params: Params, seed = 3): Promise<void> {
  const r = await evaluateCandidate(s, v, p, params, makeProblemData(p, seed), { verifyOnly: true });
  assert.equal(r.state, 'verified', `${v.name} ${JSON.stringify(params)}: ${r.error}`);
}

// Shader compiles cost 0.3–2 s each on software GL: the Node host also runs the whole case table,
// both hosts run every parameter value and randomized problems.
function hostSuite(backend: Backend, session: BackendSession, opts: { caseTable: boolean; randomRuns: number }) {
  describe(`gpu.js host ${backend.name}`, () => {
    const byName = (n: string) => backend.variants.find((v) => v.name === n)!;

    it(`opens on a real WebGL renderer (${session.device.description})`, () => {
      assert.match(session.device.description, backend.name === 'gpujs' ? /headless-gl/ : /WebGL2/);
      assert.ok(session.device.limits.maxTextureSize! >= 2048);
    });

    for (const v of backend.variants.filter((x) => x.op === 'neocell')) {
      it(`${v.name}: every parameter value verified (4+7 shift 1 cell)`, async () => {
        const p = CELL_CASES[1]!.problem;
        for (const params of eachValueOnce(v, p, session)) await verify(session, v, p, params);
      });
      if (opts.caseTable) {
        it(`${v.name}: the whole case table verified`, async () => {
          for (const c of CELL_CASES) await verify(session, v, c.problem, v.defaults(c.problem, session.device), 5);
        });
      }
      it(`${v.name} on random problems (groups, shifts, rectangular blocks, batch), random parameters`, async () => {
        await fc.assert(
          fc.asyncProperty(arbCellProblem({ maxSize: 12 }), fc.nat(), async ({ shape, groups, seed }, pick) => {
            const p = neoCellProblem({ ...shape, spec: groups });
            const all = eachValueOnce(v, p, session);
            await verify(session, v, p, all[pick % all.length]!, seed);
          }),
          { numRuns: opts.randomRuns, seed: 11 },
        );
      });
    }

    it('dwconv-gpujs (interior and zero-padded border) and copy-gpujs verified', async () => {
      for (const [K, H, W] of [
        [7, 10, 9],
        [3, 5, 9],
      ] as const) {
        const p = dwconvProblem({ N: 2, C: 3, H, W, K });
        for (const params of eachValueOnce(byName('dwconv-gpujs'), p, session)) await verify(session, byName('dwconv-gpujs'), p, params, K);
      }
      const c = copyProblem({ N: 1, C: 3, H: 5, W: 7 });
      for (const params of eachValueOnce(byName('copy-gpujs'), c, session)) await verify(session, byName('copy-gpujs'), c, params);
    });

    it('timing includes the read-back, and the time without it is stated separately', async () => {
      const p = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '4' });
      const v = byName('sparse-gpujs');
      const r = await evaluateCandidate(session, v, p, v.defaults(p, session.device), makeProblemData(p, 1), { measure: { timeMs: 30, minSamples: 3, warmupMs: 0 } });
      assert.equal(r.state, 'verified', r.error);
      assert.match(r.timing_method!, /including read-back/);
      assert.ok(r.without_readback && r.without_readback.median_ms > 0, JSON.stringify(r.without_readback));
      assert.match(r.without_readback.method, /pipeline mode/);
    });

    it('a problem over the gpu.js index range is rejected with the limit named, before anything runs', async () => {
      const p = neoCellProblem({ N: 64, C: 96, H: 56, W: 56, spec: '7' });
      const v = byName('fused-gpujs');
      const r = await evaluateCandidate(session, v, p, v.defaults(p, session.device), makeProblemData(neoCellProblem({ N: 1, C: 1, H: 4, W: 4, spec: '4' }), 1), { verifyOnly: true });
      assert.equal(r.state, 'rejected');
      assert.match(r.error!, new RegExp(`exceed the gpu.js limit of ${MAX_GPUJS_ELEMENTS}`));
    });
  });
}

// The setup installs everything and test.sh provides the X server: unavailable is a failure here.
const nodeSession = await gpujsBackend.open();
const browserSession = await gpujsBrowserBackend.open();
after(() => Promise.all([nodeSession.close(), browserSession.close()]));
hostSuite(gpujsBackend, nodeSession, { caseTable: true, randomRuns: 6 });
hostSuite(gpujsBrowserBackend, browserSession, { caseTable: false, randomRuns: 6 });

describe('gpu.js never reports a fallback', () => {
  const neotune = (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000, env });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const noDisplay = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DISPLAY'));

  it('without an X server, `neotune bench --backend gpujs` says the backend is unavailable (exit 4)', () => {
    const r = neotune(noDisplay, CLI, 'bench', '--backend', 'gpujs', '--suite', 'smoke', '--verify-only');
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.err, /gpujs.*unavailable.*no X server: DISPLAY is unset \(run under xvfb-run -a\)/s);
  });

  it('without the native gl package, the backend is unavailable with that reason', () => {
    const r = neotune(process.env, '--require', join(ROOT, '..', 'tests', 'fixtures', 'hide-gl.cjs'), CLI, 'devices', '--json');
    assert.equal(r.code, 0, r.err);
    const gpujs = (JSON.parse(r.out) as { backend: string; available: boolean; reason?: string }[]).find((d) => d.backend === 'gpujs')!;
    assert.equal(gpujs.available, false);
    assert.match(gpujs.reason!, /native package gl \(headless-gl\) is not built: Cannot find module 'gl'/);
  });

  it("a kernel gpu.js built on its CPU fallback fails with the class named, it is never a result", () => {
    const { GPU } = createRequire(import.meta.url)('gpu.js') as { GPU: new (s: object) => GpuJsInstance };
    const cpu = new GPU({ mode: 'cpu' });
    const k = new GpuJsKernel(cpu, { name: 'probe', stages: [{ source: 'function (x) { return x[this.thread.x]; }', output: [4], args: ['x'] }], precision: 'single', pipeline: false, outputElements: 4 }, 'HeadlessGLKernel');
    k.prepare(new Float32Array([1, 2, 3, 4]), []);
    assert.throws(() => k.run(), /gpu.js built CPUKernel for probe stage 0, not HeadlessGLKernel: a CPU\/WASM fallback is not a gpu.js result/);
  });
});
