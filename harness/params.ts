/** Parameter code shared by every variant: domain checks, the cartesian product of the declared values, the points a run evaluates. */
import type { BackendSession, DeviceInfo, KernelVariant, ParamDecl, Params, Problem } from './types.js';

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

/** A point of a search space: a variant and its parameter values. */
export interface Config {
  readonly variant: string;
  readonly params: Params;
}

/** A stable key of a configuration (parameters sorted by name). */
export function configKey(c: Config): string {
  const params = paramsText(c.params);
  return `${c.variant}${params ? ' ' : ''}${params}`;
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

/** Every combination of the declared parameter values (cartesian product). */
export function enumerateParams(decls: readonly ParamDecl[]): Params[] {
  let out: Record<string, Params[string]>[] = [{}];
  for (const d of decls) out = out.flatMap((p) => d.values.map((v) => ({ ...p, [d.name]: v })));
  return out;
}

/** Which points of a variant's space a run evaluates: its defaults, or every valid point, with pinned values. */
export interface CandidateOptions {
  /** Pinned parameter values, applied to every variant that declares them (bypasses defaults). */
  readonly pin?: Params;
  /** Evaluate every valid point of each variant's parameter space instead of its defaults. */
  readonly allParams?: boolean;
}

/** The parameter points to evaluate for one variant on one problem. */
export function candidateParams(v: KernelVariant, problem: Problem, session: BackendSession, opts: CandidateOptions): Params[] {
  const decls = v.params(problem, session.device);
  const base = opts.allParams ? enumerateParams(decls) : [v.defaults(problem, session.device)];
  const pinned = opts.pin ?? {};
  const names = new Set(decls.map((d) => d.name));
  const pin = Object.fromEntries(Object.entries(pinned).filter(([k]) => names.has(k)));
  const seen = new Set<string>();
  const points = base
    .map((p) => ({ ...p, ...pin }))
    .filter((p) => {
      const k = JSON.stringify(p);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  if (!opts.allParams) return points;
  // Every *valid* point: combinations the variant's constraints rule out (a parameter that applies
  // to one tile only, a device limit) are left out, unless none is valid: then the defaults run
  // alone, to be recorded as rejected with the reason.
  const valid = points.filter((p) => !whyNot(v, problem, p, session.device));
  return valid.length ? valid : [{ ...v.defaults(problem, session.device), ...pin }];
}
