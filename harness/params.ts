/** Parameter-domain checks shared by every variant: each value must be one its declaration allows. */
import type { DeviceInfo, KernelVariant, ParamDecl, Params, Problem } from './types.js';

/** A reason naming the parameter and its allowed values, or undefined when every value is allowed. */
export function checkDomain(decls: readonly ParamDecl[], params: Params): string | undefined {
  for (const d of decls) {
    if (!(d.name in params)) return `parameter ${d.name} is missing; allowed: ${d.values.join(', ')}`;
    if (!d.values.includes(params[d.name]!)) return `parameter ${d.name} = ${JSON.stringify(params[d.name])} is not allowed; allowed: ${d.values.join(', ')}`;
  }
  const known = new Set(decls.map((d) => d.name));
  const extra = Object.keys(params).filter((k) => !known.has(k));
  if (extra.length) return `unknown parameter(s) ${extra.join(', ')}; this variant has ${[...known].join(', ') || 'none'}`;
  return undefined;
}

/** Parameters as stable text, sorted by name: "order=AB,rows=2" (keys of results, configs, reports). */
export function paramsText(params: Params, separator = ','): string {
  return Object.entries(params)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(separator);
}

/**
 * Why `params` of variant `v` cannot run `problem` on `device`: the problem's dtype (a variant
 * computes float32 unless it declares more), a parameter outside its domain, or the variant's own
 * constraints. Undefined when it can run.
 */
export function whyNot(v: KernelVariant, problem: Problem, params: Params, device: DeviceInfo): string | undefined {
  const dtypes = v.dtypes ?? ['float32'];
  if (!dtypes.includes(problem.dtype)) return `${v.name} computes ${dtypes.join(', ')}; the problem is ${problem.dtype}`;
  return checkDomain(v.params(problem, device), params) ?? v.check?.(problem, params, device);
}
