/**
 * dense block-diagonal (gpu.js): what the official PyTorch code does. A and B are materialised per
 * channel with all their zeros and applied as two matrix products, T = A·X then Y = T·B, a chain
 * of two kernels: H (resp. W) multiply-adds per output instead of k.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { cellOutputShape } from '../../core/spec.js';
import { at, kernelSource, stageOutput, threadCoords } from './source.js';
import { type CommonParams, type GpuJsBackendName, gpujsVariant } from './variant.js';
import type { GpuJsPlanParts } from './plan.js';

export function densePlan(p: NeoCellProblem, common: CommonParams): GpuJsPlanParts {
  const { N, C, H, W } = p;
  const { H_out, W_out } = cellOutputShape(p.cell, H, W);
  const tPlane = { rows: H_out, cols: W };
  const yPlane = { rows: H_out, cols: W_out };
  const L = common.layout;
  const stages = [
    {
      source: kernelSource(['x', 'w0'], `${threadCoords(L, tPlane, C)}
  let acc = 0;
  for (let h = 0; h < ${H}; h++) { acc += w0[(c * ${H_out} + row) * ${H} + h] * x[(nc * ${H} + h) * ${W} + col]; }
  return acc;`),
      output: stageOutput(L, tPlane, N * C),
      args: ['x', 'w0'],
    },
    {
      source: kernelSource(['s0', 'w1'], `${threadCoords(L, yPlane, C)}
  let acc = 0;
  for (let w = 0; w < ${W}; w++) { acc += ${at('s0', L, tPlane, 'row', 'w')} * w1[(c * ${W} + w) * ${W_out} + col]; }
  return acc;`),
      output: stageOutput(L, yPlane, N * C),
      args: ['s0', 'w1'],
    },
  ];
  const macs = N * C * (H_out * H * W + H_out * W * W_out);
  return {
    spec: { name: 'dense-gpujs', stages, precision: common.precision, pipeline: common.pipeline, outputElements: N * C * H_out * W_out },
    weights: ['dense-a', 'dense-b'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}

export const denseGpujsFor = (backend: GpuJsBackendName): KernelVariant<NeoCellProblem> =>
  gpujsVariant<NeoCellProblem>(backend, {
    name: 'dense-gpujs',
    op: 'neocell',
    role: 'neocell',
    chain: true,
    terms: false,
    sizes: (problem) => {
      const p = problem;
      const { H_out, W_out } = cellOutputShape(p.cell, p.H, p.W);
      return { out: { rows: H_out, cols: W_out }, extraElements: Math.max(p.C * H_out * p.H, p.C * p.W * W_out, p.N * p.C * H_out * p.W) };
    },
    plan: (problem, _params, common) => densePlan(problem, common),
  });
