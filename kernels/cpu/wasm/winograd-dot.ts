/**
 * Winograd's inner-product scheme (1968) as a DotScheme of the WebAssembly passes: for a block
 * with inputs x_0…x_{k−1} and an output's weights w_0…w_{k−1},
 *
 *   Σ_q w_q·x_q = Σ_pairs (w_a + x_b)(w_b + x_a) − ξ − η,  ξ = Σ_pairs w_a·w_b,  η = Σ_pairs x_a·x_b
 *
 * ξ is computed once per channel (a derived weight local), η once per input set and shared by every
 * output of the block. For k = 7: 4 multiplies per output instead of 7, plus 3 shared, at the price
 * of 6 + 2 more additions. A CPU with fused multiply-add executes a multiply-add at the cost of one
 * multiply, so the scheme trades cheap work for more instructions here; it is in the space so the
 * tuner measures that trade instead of assuming it.
 */
import { type DotScheme, mac, type PassContext } from './passes.js';

/** Index pairs (0,1), (2,3), … of k terms, and the odd one left. */
function pairing(k: number): { pairs: [number, number][]; odd: number | undefined } {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < k; i += 2) pairs.push([i, i + 1]);
  return { pairs, odd: k % 2 ? k - 1 : undefined };
}

export const winogradDot: DotScheme = {
  name: 'winograd',
  inputs(ctx: PassContext, xs: readonly string[]) {
    const { f } = ctx;
    const { pairs, odd } = pairing(xs.length);
    const eta = f.local('weta', 'v128');
    pairs.forEach(([a, b], i) => mac(f, ctx.madd, eta, i === 0, () => f.get(xs[a]!), () => f.get(xs[b]!)));
    ctx.counter.ops(pairs.length, pairs.length - 1);
    return (acc, ws) => {
      const xi = ctx.weights.derived(`xi_${pairs.map(([a, b]) => `${ws[a]}_${ws[b]}`).join('_')}`, () =>
        pairs.forEach(([a, b], i) => {
          f.get(ws[a]!).get(ws[b]!).f32x4Mul();
          if (i > 0) f.f32x4Add();
        }),
      );
      pairs.forEach(([a, b], i) =>
        mac(f, ctx.madd, acc, i === 0, () => f.get(ws[a]!).get(xs[b]!).f32x4Add(), () => f.get(ws[b]!).get(xs[a]!).f32x4Add()),
      );
      if (odd !== undefined) mac(f, ctx.madd, acc, false, () => f.get(ws[odd]!), () => f.get(xs[odd]!));
      f.get(acc).get(xi).get(eta).f32x4Add().f32x4Sub().set(acc);
      const terms = pairs.length + (odd !== undefined ? 1 : 0);
      ctx.counter.ops(terms, 2 * pairs.length + (terms - 1) + 2);
    };
  },
};
