/** Parameter-domain checks shared by every variant: each value must be one its declaration allows. */
import type { ParamDecl, Params } from './types.js';

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
