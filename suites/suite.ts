/**
 * Suites: named lists of benchmark cases. A case is one NeoCell problem together with the kernels
 * it is compared with on the same output tensor: a depthwise K×K conv (what NeoCell replaces) and a
 * copy (the bandwidth ceiling). Ratios are always measured side by side within one run.
 */
import { InputError } from '../core/errors.js';
import { isSuiteFile, loadSuiteFile } from './file.js';
import { MODEL_NAMES, type ModelName } from '../core/network.js';
import { DTYPES } from '../harness/problem.js';
import { hubSuite, networkSuite, smokeSuite, stageSuite, type Suite, type SuiteOptions, sweepSuite, SWEEPS } from './builtin.js';

export * from './builtin.js';

/**
 * The named suites resolveSuite accepts: every NeoNeXt model as a network and by stage, the smoke
 * suite and the sweeps. The one registry help, errors and the resolver share; besides these,
 * `neonext-<model>@<resolution>[-stages]` and suite files (.json, .yaml).
 */
export const SUITE_NAMES: readonly string[] = [...MODEL_NAMES.flatMap((m) => [`neonext-${m}`, `neonext-${m}-stages`]), 'smoke', ...SWEEPS, 'hub'];
/** How the other accepted forms are written, for help texts and errors. */
export const SUITE_FORMS = 'neonext-<t|s|b|l|xl>[@<resolution>][-stages], or a suite file FILE.json / FILE.yaml';
export const DEFAULT_SUITE = 'neonext-t-stages';

/** Resolves a suite name: neonext-<model>[@<resolution>][-stages], smoke, sweep-*, or a .json/.yaml file. */
export function resolveSuite(name: string, opts: SuiteOptions = {}): Suite {
  const suite = namedSuite(name, opts);
  const dtype = opts.dtype ?? 'float32';
  if (!DTYPES.includes(dtype)) throw new InputError('dtype', dtype, DTYPES.join(', '));
  if (dtype === 'float32') return suite;
  return {
    ...suite,
    name: `${suite.name}-${dtype}`,
    description: `${suite.description}, ${dtype}`,
    cases: suite.cases.map((c) => ({ ...c, neocell: { ...c.neocell, dtype }, dwconv: { ...c.dwconv, dtype }, copy: { ...c.copy, dtype } })),
  };
}

function namedSuite(name: string, opts: SuiteOptions): Suite {
  if (name === 'smoke') return smokeSuite(opts);
  if (name === 'hub') return hubSuite(opts);
  if ((SWEEPS as readonly string[]).includes(name)) return sweepSuite(name.slice('sweep-'.length) as 'block', opts);
  if (isSuiteFile(name)) return loadSuiteFile(name, opts);
  const m = /^neonext-([a-z]+)(?:@(\d+))?(-stages)?$/.exec(name);
  if (m && (MODEL_NAMES as readonly string[]).includes(m[1]!)) {
    const res = m[2] ? Number(m[2]) : 224;
    return m[3] ? stageSuite(m[1] as ModelName, res, opts) : networkSuite(m[1] as ModelName, res, opts);
  }
  throw new InputError('suite', name, `${SUITE_NAMES.join(', ')}; ${SUITE_FORMS} (.json, .yaml or .yml)`);
}
