/** Every CPU variant, on the shared case table and on random problems, verified against the reference. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { candidateParams } from '../harness/params.js';
import { evaluateCandidate } from '../harness/evaluate.js';
import { copyProblem, dwconvProblem, makeProblemData, neoCellProblem } from '../harness/problem.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { arbCellProblem } from './arbitraries.js';
import { CELL_CASES } from './cases.js';

const session = await cpuBackend.open();
const neocellVariants = cpuBackend.variants.filter((v) => v.op === 'neocell');

describe('CPU NeoCell variants', () => {
  for (const v of neocellVariants) {
    describe(v.name, () => {
      for (const c of CELL_CASES) {
        it(`${c.name}: every parameter point verified`, async () => {
          const data = makeProblemData(c.problem, 5);
          for (const params of candidateParams(v, c.problem, session, { allParams: true })) {
            const r = await evaluateCandidate(session, v, c.problem, params, data, { verifyOnly: true });
            assert.equal(r.state, 'verified', `${JSON.stringify(params)}: ${r.error}`);
          }
        });
      }
      it('random problems (groups, shifts, rectangular blocks, batch) × random parameter points', async () => {
        // Large spaces (the WASM variants have ~100 points) are sampled: fast-check draws the point.
        await fc.assert(
          fc.asyncProperty(arbCellProblem(), fc.nat(), fc.nat(), async ({ shape, groups, seed }, pick1, pick2) => {
            const p = neoCellProblem({ ...shape, spec: groups });
            const data = makeProblemData(p, seed);
            const all = candidateParams(v, p, session, { allParams: true });
            const points = all.length <= 8 ? all : [all[pick1 % all.length]!, all[pick2 % all.length]!];
            for (const params of points) {
              const r = await evaluateCandidate(session, v, p, params, data, { verifyOnly: true });
              assert.equal(r.state, 'verified', `${JSON.stringify(params)}: ${r.error}`);
            }
          }),
          { numRuns: 60, seed: 3 },
        );
      });
    });
  }
});

describe('CPU depthwise conv baselines and peers', () => {
  const dwVariants = cpuBackend.variants.filter((v) => v.op === 'dwconv');
  it('has the JS and WASM baselines and both peers', () => {
    assert.deepEqual(dwVariants.map((v) => v.name).sort(), ['dwconv-js', 'dwconv-wasm', 'ort-dwconv', 'tfjs-wasm-dwconv']);
  });
  for (const [K, H, W] of [
    [7, 14, 14],
    [7, 5, 6],
    [3, 9, 4],
    [4, 8, 8],
    [1, 3, 3],
  ] as const) {
    it(`K = ${K} on ${H}×${W} (interior and zero-padded border): every variant, every parameter point`, async () => {
      const p = dwconvProblem({ N: 2, C: 3, H, W, K });
      const data = makeProblemData(p, K);
      for (const v of dwVariants) {
        for (const params of candidateParams(v, p, session, { allParams: true })) {
          const r = await evaluateCandidate(session, v, p, params, data, { verifyOnly: true });
          // tfjs pads even K on the other side: it refuses them up front (rejected, with the reason).
          if (v.name === 'tfjs-wasm-dwconv' && K % 2 === 0) assert.equal(r.state, 'rejected', r.error);
          else assert.equal(r.state, 'verified', `${v.name} ${JSON.stringify(params)}: ${r.error}`);
        }
      }
    });
  }
});

describe('CPU copy ceilings', () => {
  it('copy and copy-wasm (1 and 2 threads) reproduce the input exactly: odd planes, batch 2', async () => {
    const copies = cpuBackend.variants.filter((v) => v.op === 'copy');
    assert.deepEqual(copies.map((v) => v.name).sort(), ['copy', 'copy-wasm']);
    const p = copyProblem({ N: 2, C: 5, H: 7, W: 7 });
    const data = makeProblemData(p, 2);
    for (const v of copies)
      for (const params of candidateParams(v, p, session, { allParams: true })) {
        const r = await evaluateCandidate(session, v, p, params, data, { verifyOnly: true });
        assert.equal(r.state, 'verified', `${v.name} ${JSON.stringify(params)}: ${r.error}`);
        assert.equal(r.max_rel_err, 0);
      }
  });
});
