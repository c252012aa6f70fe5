/**
 * Options several commands share, so that a flag means one thing everywhere: what to run
 * (backend, suite, batch, dtype, kernels, seed), how much effort (effort level, budget, time
 * budget), where output goes (`--json` prints JSON on stdout; `-o, --out FILE` writes a file, `-`
 * meaning stdout), and how much is said (`--quiet`, `--verbose`); plus help examples.
 */
import { type Command, Option } from 'commander';
import { InputError } from '../core/errors.js';
import { DTYPES } from '../harness/problem.js';
import type { Dtype, Params } from '../harness/types.js';
import type { BenchRequest } from '../lib/run.js';
import { BACKEND_NAMES } from '../kernels/registry.js';
import { SUITE_FORMS, SUITE_NAMES } from '../suites/suite.js';
import { MAX_TIME_MS, optionParser, parseIntOption } from './cli-util.js';
import type { Verbosity } from './progress.js';

/** Where tune, run and the fleet keep the tuning database unless --db says otherwise. */
export const DEFAULT_DB = 'neotune-out/tuning-db.json';

export const suiteHelp = `suite: ${SUITE_NAMES.join(', ')}; or ${SUITE_FORMS}`;

/** The flags addProblemOptions adds, plus a search's strategy and database (tune, fleet tune). */
export interface SearchFlags {
  backend: string;
  suite: string;
  batch: number;
  dtype: string;
  strategy: string;
  db: string;
  seed: number;
  kernels?: string;
  includeSoftware?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** What to run: backends, suite, batch, dtype, kernels, seed, software renderers. */
export function addProblemOptions(cmd: Command, defaults: { suite: string; backend?: string }): Command {
  return cmd
    .option('-b, --backend <list>', `backends, comma-separated: auto (every available one) or ${BACKEND_NAMES.join(', ')}`, defaults.backend ?? 'auto')
    .option('-s, --suite <name>', suiteHelp, defaults.suite)
    .option('-n, --batch <n>', 'batch size N', parseIntOption('batch', undefined, 4096), 1)
    .option('--dtype <type>', `element type of every problem: ${DTYPES.join(', ')} (kernels that do not compute it are recorded as rejected, with the reason)`, 'float32')
    .option('-k, --kernels <list>', 'only these kernels, comma-separated (neotune kernels lists them)')
    .option('--seed <n>', 'seed of the random problem data and of the search', parseIntOption('seed', undefined, 2 ** 32 - 1, 0), 1)
    .option('--include-software', 'treat software renderers (SwiftShader, llvmpipe…) as devices to tune and compare; by default they are verified, not tuned, and their times are flagged as not GPU performance');
}

/** Options of commands that measure kernels (bench, run). */
export function addMeasureOptions(cmd: Command, timeDefault?: number): Command {
  const time = parseIntOption('time', `an integer number of milliseconds from 1 to ${MAX_TIME_MS}`, MAX_TIME_MS);
  return cmd
    .option('-p, --params <spec>', 'pin parameter values for every kernel that has them: key=value,… or JSON (tuning searches the other parameters; the pinned ones are never varied)')
    .option('-t, --time <ms>', `measurement time per kernel, ms${timeDefault === undefined ? ' (default: from --effort)' : ''}`, time, timeDefault);
}

/** How hard a search tries. */
export const EFFORTS = {
  quick: { fraction: 0.1, modelEvaluations: 10, timeMs: 100, timeBudgetMs: 3 * 60_000, doc: '10 evaluations per problem with the model strategy, 10 % of each pruned space (at least 16 configurations) with the others, 100 ms per measurement, at most 3 minutes' },
  balanced: { fraction: 0.25, modelEvaluations: 30, timeMs: 200, timeBudgetMs: 10 * 60_000, doc: '30 evaluations per problem with the model strategy, 25 % of each pruned space (at least 16 configurations) with the others, 200 ms per measurement, at most 10 minutes' },
  full: { fraction: 1, modelEvaluations: undefined, timeMs: 300, timeBudgetMs: undefined, doc: 'every configuration of each pruned space, 300 ms per measurement, no time limit' },
} as const;
export type Effort = keyof typeof EFFORTS;

export interface EffortFlags {
  effort: Effort;
  budget?: { evaluations: number } | { fraction: number };
  timeBudget?: number;
}

/** `--effort`, `--budget` (evaluations per problem: a count or a percentage of its space), `--time-budget` (the whole run). */
export function addEffortOptions(cmd: Command, defaultEffort: Effort): Command {
  return cmd
    .addOption(
      new Option('--effort <level>', `how hard to search: ${Object.entries(EFFORTS).map(([k, v]) => `${k} (${v.doc})`).join('; ')}`)
        .choices(Object.keys(EFFORTS))
        .default(defaultEffort),
    )
    .option('--budget <n|p%>', 'evaluations per problem at most: a count (40) or a percentage of its pruned space (25%) (default: from --effort)', parseBudget)
    .option('--time-budget <duration>', 'the whole run at most, e.g. 90s, 4m, 1h30m (default: from --effort); problems share what is left evenly', parseDuration('time-budget'));
}

const parseBudget = optionParser((v: string): { evaluations: number } | { fraction: number } => {
  const allowed = 'a positive integer (evaluations) or a percentage from 0.1% to 100%';
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  if (pct) {
    const p = Number(pct[1]);
    if (!(p >= 0.1 && p <= 100)) throw new InputError('budget', v, allowed);
    return { fraction: p / 100 };
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1 || n > 1_000_000) throw new InputError('budget', v, allowed);
  return { evaluations: n };
});

/** "90s", "4m", "1h30m", "1.5h", or plain seconds ("240"), in milliseconds. */
/** A duration option named `field` (its errors name it). */
export const parseDuration = (field: string) => optionParser((v: string): number => {
  const allowed = 'a duration such as 90s, 4m, 1h30m or 240 (seconds), from 1 second to 7 days';
  const text = v.trim().toLowerCase();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new InputError(field, v, allowed);
    for (const [, n, unit] of parts) ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000 }[unit as 'h' | 'm' | 's'];
  }
  if (!(ms >= 1000 && ms <= 7 * 86_400_000)) throw new InputError(field, v, allowed);
  return ms;
});

/** The search budget, measurement time and time cap an effort level and the explicit flags give. */
export function effortSettings(o: EffortFlags & { time?: number }, strategy: string): { budget: { evaluations?: number; fraction?: number }; timeMs: number; timeBudgetMs?: number } {
  const e = EFFORTS[o.effort];
  // The model-based strategy starts from predictions: a fixed small number of evaluations, not a share of the space.
  const budget = o.budget ?? (strategy === 'exhaustive' || e.fraction >= 1 ? {} : strategy === 'model' && e.modelEvaluations !== undefined ? { evaluations: e.modelEvaluations } : { fraction: e.fraction });
  const timeBudgetMs = o.timeBudget ?? e.timeBudgetMs;
  return { budget, timeMs: o.time ?? e.timeMs, ...(timeBudgetMs !== undefined ? { timeBudgetMs } : {}) };
}

/** The search budget in words ("25 % of each space"). */
export function budgetText(b: { evaluations?: number; fraction?: number }): string {
  return b.evaluations !== undefined ? `${b.evaluations} evaluations per problem` : b.fraction !== undefined ? `${+(100 * b.fraction).toFixed(1)} % of each space` : 'each whole space';
}

/** `-q, --quiet` and `-v, --verbose`. */
export function addVerbosityOptions(cmd: Command): Command {
  return cmd.option('-q, --quiet', 'no progress on stderr (errors and warnings only)').option('-v, --verbose', 'a line on stderr for every tuned problem, besides the progress');
}

export function verbosity(o: { quiet?: boolean; verbose?: boolean }): Verbosity {
  if (o.quiet && o.verbose) throw new InputError('quiet', true, 'either --quiet or --verbose, not both');
  return o.quiet ? 'quiet' : o.verbose ? 'verbose' : 'normal';
}

/** The "Examples:" block of a command's help: command line and what it does. */
export function exampleText(lines: readonly (readonly [string, string])[]): string {
  const width = Math.max(...lines.map(([c]) => c.length));
  return `\nExamples:\n${lines.map(([c, what]) => `  $ ${c.padEnd(width)}  # ${what}`).join('\n')}\n`;
}

/** Examples at the end of a command's help. */
export function examples(cmd: Command, lines: readonly (readonly [string, string])[]): Command {
  return cmd.addHelpText('after', exampleText(lines));
}

/** --params 'order=BA,tile=8' or a JSON object. */
export function parsePin(text: string | undefined): Params | undefined {
  if (!text) return undefined;
  if (text.trim().startsWith('{')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Params;
    } catch {
      /* reported below */
    }
    throw new InputError('params', text, 'a JSON object or key=value pairs separated by commas');
  }
  const out: Record<string, string | number | boolean> = {};
  for (const kv of text.split(',')) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$/.exec(kv);
    if (!m) throw new InputError('params', kv, 'key=value pairs separated by commas, e.g. order=BA');
    const v = m[2]!;
    out[m[1]!] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

/** The flags addProblemOptions and addMeasureOptions add, as the CLI receives them. */
export interface BenchFlags {
  backend: string;
  suite: string;
  batch: number;
  dtype: string;
  kernels?: string;
  params?: string;
  time: number;
  seed: number;
  includeSoftware?: boolean;
  /** --no-ceilings (bench): false. */
  ceilings?: boolean;
}

/** --kernels 'a,b' as names. */
export const kernelList = (text: string | undefined): string[] | undefined => text?.split(',').map((s) => s.trim());

/** The library's request from the CLI's flags (lists and pinned values parsed; the suite and dtype are checked when resolved). */
export function benchRequest(o: BenchFlags): BenchRequest {
  const pin = parsePin(o.params);
  const kernels = kernelList(o.kernels);
  return { backend: o.backend, suite: o.suite, batch: o.batch, dtype: o.dtype as Dtype, timeMs: o.time, seed: o.seed, ...(kernels ? { kernels } : {}), ...(pin ? { pin } : {}), ...(o.includeSoftware ? { includeSoftware: true } : {}), ...(o.ceilings === false ? { noCeilings: true } : {}) };
}
