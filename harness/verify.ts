/**
 * Verification of a kernel output against the float64 oracle. The tolerance is relative to the
 * output's magnitude (max |reference|), scaled by the dtype's precision: a kernel that drops a tap,
 * reads the wrong block entry or leaves poisoned (NaN) outputs fails; float32 rounding passes.
 */
import type { Dtype } from './types.js';

/** Allowed max |y − ref| / max |ref| per dtype. float32: ~1000 ulps of accumulated rounding. */
export const TOLERANCE: Record<Dtype, number> = { float32: 1e-4, float16: 2e-2 };

export type Verification =
  | { readonly ok: true; readonly maxRelErr: number }
  | { readonly ok: false; readonly maxRelErr: number; readonly reason: string };

export function verifyOutput(out: ArrayLike<number>, ref: Float64Array, dtype: Dtype): Verification {
  if (out.length !== ref.length) {
    return { ok: false, maxRelErr: Infinity, reason: `output has ${out.length} elements, expected ${ref.length}` };
  }
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  scale = Math.max(scale, 1e-30);
  let maxErr = 0;
  let worst = -1;
  let nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    const v = out[i]!;
    if (!Number.isFinite(v)) {
      if (nonFinite++ === 0) worst = i;
      continue;
    }
    const e = Math.abs(v - ref[i]!);
    if (e > maxErr) {
      maxErr = e;
      if (nonFinite === 0) worst = i;
    }
  }
  if (nonFinite > 0) {
    return { ok: false, maxRelErr: Infinity, reason: `${nonFinite} of ${ref.length} outputs are not finite (first at index ${worst}: ${out[worst]}); the kernel did not write them` };
  }
  const rel = maxErr / scale;
  if (rel > TOLERANCE[dtype]) {
    return {
      ok: false,
      maxRelErr: rel,
      reason: `max relative error ${rel.toExponential(2)} > ${TOLERANCE[dtype]} (${dtype}); worst at index ${worst}: got ${out[worst]}, expected ${ref[worst]}`,
    };
  }
  return { ok: true, maxRelErr: rel };
}
