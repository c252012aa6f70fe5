/**
 * Depthwise K×K convolution baseline (JavaScript): the operator NeoCell replaces, measured by the
 * same harness. Interior outputs use a fully unrolled K×K window with weights in locals; the
 * border (where the "same" zero padding bites) uses a bounds-checked loop.
 */
import type { DwConvProblem, KernelVariant } from '../../harness/types.js';
import { jsKernelSpec } from './instance.js';

export function dwconvJsSource(p: DwConvProblem): string {
  const { N, C, H, W, K } = p;
  const pad = Math.floor((K - 1) / 2);
  const KK = K * K;
  const weights = Array.from({ length: KK }, (_, i) => `const w${i} = dw[wb + ${i}];`).join(' ');
  const terms: string[] = [];
  for (let u = 0; u < K; u++) for (let v = 0; v < K; v++) terms.push(`w${u * K + v} * x[xb + (i + ${u - pad}) * ${W} + j + ${v - pad}]`);
  // Interior: rows pad..H-K+pad, columns pad..W-K+pad (window fully inside).
  const i0 = pad;
  const i1 = H - K + pad; // inclusive
  const j0 = pad;
  const j1 = W - K + pad;
  return `
for (let c = 0; c < ${C}; c++) {
  const wb = c * ${KK}; ${weights}
  for (let n = 0; n < ${N}; n++) {
    const xb = (n * ${C} + c) * ${H * W};
    for (let i = 0; i < ${H}; i++) {
      const interiorRow = i >= ${i0} && i <= ${i1};
      for (let j = 0; j < ${W}; j++) {
        if (interiorRow && j >= ${j0} && j <= ${j1}) {
          y[xb + i * ${W} + j] = ${terms.join(' + ')};
          continue;
        }
        let acc = 0;
        for (let u = 0; u < ${K}; u++) {
          const r = i + u - ${pad};
          if (r < 0 || r >= ${H}) continue;
          for (let v = 0; v < ${K}; v++) {
            const s = j + v - ${pad};
            if (s >= 0 && s < ${W}) acc += dw[wb + u * ${K} + v] * x[xb + r * ${W} + s];
          }
        }
        y[xb + i * ${W} + j] = acc;
      }
    }
  }
}`;
}

export const dwconvJs: KernelVariant<DwConvProblem> = {
  backend: 'cpu',
  name: 'dwconv-js',
  op: 'dwconv',
  role: 'baseline',
  params: () => [],
  defaults: () => ({}),
  generate(problem) {
    const p = problem;
    const macs = p.N * p.C * p.H * p.W * p.K * p.K;
    return jsKernelSpec(`dwconv-js-${p.K}`, [dwconvJsSource(p)], 0, { multiplies: macs, adds: macs, macs });
  },
};
