/**
 * The joint search space of one problem on one backend: every variant of the problem's operator
 * with every combination of its declared parameter values, the variant itself being one more
 * parameter. Configurations that violate a domain or a variant's constraints (device limits, block
 * sizes…) are pruned here, with their reason, before anything is generated or run.
 */
import { type Config, enumerateParams } from '../harness/params.js';
import { whyNot } from '../harness/params.js';
import type { BackendSession, KernelVariant, ParamValue, Problem } from '../harness/types.js';

export { type Config, configKey } from '../harness/params.js';

export interface PrunedConfig {
  readonly config: Config;
  readonly reason: string;
}

export interface SearchSpace {
  readonly problem: Problem;
  /** Valid configurations in a stable order (variant order of the backend, then declaration order). */
  readonly configs: readonly Config[];
  readonly pruned: readonly PrunedConfig[];
  readonly variants: readonly KernelVariant[];
}


export function buildSpace(problem: Problem, variants: readonly KernelVariant[], session: Pick<BackendSession, 'device'>): SearchSpace {
  const configs: Config[] = [];
  const pruned: PrunedConfig[] = [];
  const used: KernelVariant[] = [];
  for (const v of variants) {
    if (v.op !== problem.op) continue;
    const decls = v.params(problem, session.device);
    used.push(v);
    for (const params of enumerateParams(decls)) {
      const config = { variant: v.name, params };
      const reason = whyNot(v, problem, params, session.device);
      if (reason) pruned.push({ config, reason });
      else configs.push(config);
    }
  }
  return { problem, configs, pruned, variants: used };
}

/**
 * How much a configuration costs in resources, for breaking statistical ties: fewer threads first,
 * then the backend's variant order, then smaller numeric parameters (false before true). Lower is
 * simpler; string parameters are ordered by the configuration key after this (winner.ts).
 */
export function complexity(variants: readonly { readonly name: string }[], c: Config): number[] {
  const threads = Number(c.params.threads ?? 1);
  const variantIndex = variants.findIndex((v) => v.name === c.variant);
  const numeric = Object.entries(c.params)
    .filter(([k, v]) => k !== 'threads' && (typeof v === 'number' || typeof v === 'boolean'))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, v]) => Number(v));
  return [threads, variantIndex, ...numeric];
}

export function compareComplexity(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Categorical features of a configuration: (name, value) pairs including the variant. */
export function features(c: Config): [string, ParamValue][] {
  return [['variant', c.variant], ...Object.entries(c.params).map(([k, v]) => [`${c.variant}.${k}`, v] as [string, ParamValue])];
}

/** Configurations one parameter (or the variant) away from c: the local-search neighbourhood. */
export function neighbours(space: SearchSpace, c: Config): Config[] {
  const fc = new Map(features(c));
  return space.configs.filter((o) => {
    if (o === c) return false;
    if (o.variant !== c.variant) return true; // any configuration of another variant is one "move" away
    let diff = 0;
    for (const [k, v] of features(o)) if (fc.get(k) !== v) diff++;
    return diff === 1;
  });
}
