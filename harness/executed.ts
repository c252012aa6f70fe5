/**
 * What every counting build shares (WebAssembly, JavaScript, WGSL): a counter per straight-line
 * region of the generated code, each region's operations classified once, statically. Executed
 * operations by class = Σ regions (times entered × the region's static counts).
 */
import type { OperationCounts } from './types.js';

/** Executed operations by class: every class of `classes` present (0 when no region had it), then any other class a region counted. */
export function executedCounts(classes: readonly string[], regions: readonly Readonly<Record<string, number>>[], timesEntered: (region: number) => number): OperationCounts {
  const total: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  regions.forEach((region, i) => {
    const times = timesEntered(i);
    if (times) for (const [k, v] of Object.entries(region)) total[k] = (total[k] ?? 0) + times * v;
  });
  return total;
}
