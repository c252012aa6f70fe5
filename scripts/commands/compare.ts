/**
 * `neotune compare` (regression tracking) and `neotune history`.
 *   compare BASE HEAD            two result files: timing classes with statistics, exact proxies
 *   compare --aa FILE…           same-code runs: the false-alarm rate of this method vs a naive rule
 *   compare --self-test          a fixture kernel made 30 % slower / faster must be flagged
 *   compare --run BASE_REF HEAD_REF   build both commits, benchmark them alternately, compare
 * Exit 5 when a regression is found (timing: beyond the threshold and significant, unless
 * --timings report; proxies: always), 6 when nothing could be compared (no matched record, an
 * empty file, only unstable timings without proxies), 0 otherwise, 2 for invalid input, 1 for an
 * internal error.
 */
import { type Command, Option } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { checkOutputPath, writeFileAtomic } from '../../core/files.js';
import { readJsonFile } from '../../core/validate.js';
import { NOISE_SCHEMA } from '../../harness/results-schema.js';
import { cpuDevice } from '../../kernels/cpu/backend.js';
import { type Comparison, comparisonMarkdown, compareResults, naiveFlag, nothingCompared, proxyRegressions, recordKey, runNoise, timingRegressions } from '../../analysis/compare.js';
import { evaluateCandidate } from '../../harness/evaluate.js';
import { fixtureKernel } from '../../harness/fixture-kernel.js';
import { appendHistory, detectSteps, historyLine, readHistory } from '../../analysis/history.js';
import { copyProblem, makeProblemData } from '../../harness/problem.js';
import { quantile } from '../../harness/stats.js';
import { type ResultFile, type ResultRecord, readResults } from '../../harness/results.js';
import { action, EXIT, fmt, formatTable, loadResultFile, MAX_TIME_MS, parseChoice, parseIntOption, parseNumberOption } from '../cli-util.js';
import { resultFile } from '../../lib/run.js';
import { examples } from '../options.js';

const load = (path: string): ResultFile => loadResultFile(resolve(path));

/** `--threshold`, in percent (stored as a fraction): 5 by default. */
const thresholdOption = (what: string) =>
  new Option('--threshold <percent>', `${what}, in percent`).argParser(parseNumberOption('threshold', 0, 100, { open: true, scale: 0.01, unit: 'percent' })).default(0.05, '5');

interface CompareFlags {
  threshold: number;
  alpha: number;
  timings: string;
  json?: boolean;
  out?: string;
  markdown?: string;
  aa?: boolean;
  selfTest?: boolean;
  run?: boolean;
  rounds: number;
  suite: string;
  kernels?: string;
  time: number;
  noise?: string;
  saveNoise?: string;
}

function report(c: Comparison, o: CompareFlags): number {
  const md = comparisonMarkdown(c);
  const json = JSON.stringify(c, null, 1) + '\n';
  if (o.markdown && o.markdown !== '-') writeFileAtomic(resolve(o.markdown), md + '\n');
  if (o.out && o.out !== '-') writeFileAtomic(resolve(o.out), json);
  // stdout carries one thing: the JSON (--json, --out -), else the markdown.
  process.stdout.write(o.json || o.out === '-' ? json : md + '\n');
  const timing = timingRegressions(c).length > 0 && o.timings === 'fail';
  if (timing || proxyRegressions(c).length > 0) return EXIT.REGRESSION;
  const nothing = nothingCompared(c);
  if (nothing) {
    process.stderr.write(`neotune: nothing was compared: ${nothing}\n`);
    return EXIT.NOTHING_COMPARED;
  }
  return EXIT.OK;
}

/** Pools the samples of several same-side runs per record (interleaved rounds). */
function pool(files: readonly ResultFile[]): ResultFile {
  const byKey = new Map<string, ResultRecord>();
  for (const f of files)
    for (const r of f.records) {
      const k = recordKey(r);
      const prev = byKey.get(k);
      if (!prev || prev.state !== 'verified' || !prev.samples_ms) byKey.set(k, r.state === 'verified' ? { ...r, samples_ms: [...(r.samples_ms ?? [])] } : r);
      else prev.samples_ms.push(...(r.samples_ms ?? []));
    }
  const rounds = new Map<string, number[]>();
  for (const f of files) for (const r of f.records) if (r.median_ms !== undefined) (rounds.get(recordKey(r)) ?? rounds.set(recordKey(r), []).get(recordKey(r))!).push(r.median_ms);
  const records = [...byKey.values()].map((r) => (r.state === 'verified' && r.samples_ms?.length ? { ...r, median_ms: quantile(r.samples_ms, 0.5), rounds_ms: rounds.get(recordKey(r)) ?? [] } : r));
  return { ...files[0]!, records };
}

/**
 * False alarms over pairs of same-code runs. The run-to-run noise is estimated on the first half
 * of the runs and the pairs of the second half are classified with it (out of sample), next to
 * the same statistics without it and a single-run ±threshold rule on the same pairs.
 */
function aaRate(files: readonly ResultFile[], o: CompareFlags): number {
  if (files.length < 6) throw new InputError('files', files.length, 'at least 6 runs of the same code (3 to measure the noise, 3 to test)');
  const half = Math.floor(files.length / 2);
  const noise = runNoise(files.slice(0, half));
  const test = files.slice(half);
  const count = { pairs: 0, aware: 0, within: 0, naive: 0 };
  for (let i = 0; i < test.length; i++) {
    for (let j = i + 1; j < test.length; j++) {
      const opts = { threshold: o.threshold, alpha: o.alpha };
      const aware = compareResults(test[i]!, test[j]!, { ...opts, runNoise: noise });
      const within = compareResults(test[i]!, test[j]!, opts);
      const base = new Map(test[i]!.records.map((r) => [recordKey(r), r]));
      const head = new Map(test[j]!.records.map((r) => [recordKey(r), r]));
      aware.records.forEach((r, k) => {
        if (r.timing === 'untimed') return;
        count.pairs++;
        if (r.timing === 'regressed' || r.timing === 'improved') count.aware++;
        if (['regressed', 'improved'].includes(within.records[k]!.timing)) count.within++;
        if (naiveFlag(base.get(r.key)!, head.get(r.key)!, o.threshold)) count.naive++;
      });
    }
  }
  const rate = (n: number) => `${fmt((100 * n) / count.pairs, 1)} %`;
  const sigma = [...noise.values()].map((v) => 100 * v);
  process.stdout.write(
    `run-to-run noise from runs 1–${half}: σ(log median) ${fmt(Math.min(...sigma), 1)}–${fmt(Math.max(...sigma), 1)} % per record; pairs of runs ${half + 1}–${files.length} tested\n` +
      formatTable(
        ['record pairs', 'flagged: this method', 'flagged: within-run statistics only', `flagged: single run ±${o.threshold * 100} %`],
        [[String(count.pairs), rate(count.aware), rate(count.within), rate(count.naive)]],
      ) +
      '\n',
  );
  if (o.saveNoise) {
    writeFileAtomic(resolve(o.saveNoise), JSON.stringify(Object.fromEntries(runNoise(files)), null, 1) + '\n');
    process.stdout.write(`noise profile (all ${files.length} runs): ${o.saveNoise}\n`);
  }
  return EXIT.OK;
}

function loadNoise(path: string | undefined): Map<string, number> | undefined {
  if (!path) return undefined;
  return new Map(Object.entries(readJsonFile<Record<string, number>>('noise', resolve(path), NOISE_SCHEMA, 'a noise profile written by compare --aa --save-noise')));
}

async function selfTest(o: CompareFlags): Promise<number> {
  const variant = fixtureKernel();
  const problem = copyProblem({ N: 1, C: 16, H: 32, W: 32 });
  const data = makeProblemData(problem, 1);
  const session = { backend: 'cpu' as const, device: cpuDevice(), close: async () => {} };
  const measure = { timeMs: 100, minSamples: 20, warmupMs: 30 };
  const runs: Record<string, ResultRecord[]> = { '1': [], '0.7': [], '1.3': [] };
  // One discarded warm-up round (the first calls run before V8 optimises the loop), then
  // interleaved rounds so drift on the machine hits every factor alike.
  for (let round = 0; round < 7; round++) {
    for (const factor of [1, 1.3, 0.7]) {
      const r = await evaluateCandidate(session, variant, problem, { factor }, data, { measure });
      if (round > 0) runs[String(factor)]!.push(r);
    }
  }
  const file = (factor: string) =>
    pool(runs[factor]!.map((r) => resultFile([{ ...r, params: {} }], [], `self-test factor ${factor}`)));
  const base = file('1');
  const slow = compareResults(base, file('1.3'), { threshold: o.threshold, alpha: o.alpha }).records[0]!;
  const fast = compareResults(base, file('0.7'), { threshold: o.threshold, alpha: o.alpha }).records[0]!;
  const rows = [
    ['30 % slower', fmt(slow.ratio, 3), slow.ci ? `${fmt(slow.ci[0], 3)} … ${fmt(slow.ci[1], 3)}` : '–', slow.timing, 'regressed'],
    ['30 % faster', fmt(fast.ratio, 3), fast.ci ? `${fmt(fast.ci[0], 3)} … ${fmt(fast.ci[1], 3)}` : '–', fast.timing, 'improved'],
  ];
  process.stdout.write(formatTable(['fixture kernel', 'ratio', '95 % CI', 'classified', 'expected'], rows) + '\n');
  const ok = slow.timing === 'regressed' && fast.timing === 'improved';
  process.stdout.write(ok ? 'self-test passed\n' : 'self-test FAILED: detection did not classify the fixture as expected\n');
  return ok ? EXIT.OK : EXIT.INTERNAL;
}

/** The top folder of the git checkout here; not being in one is invalid input for --run. */
function checkoutRoot(): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new InputError('run', process.cwd(), 'a folder inside a git checkout of neotune (compare --run builds two of its commits)', 'not a git checkout');
  }
}

/** The commit a ref names (exit 2 naming the ref when it names none). */
function resolveRef(field: string, ref: string, root: string): string {
  const allowed = 'a branch, tag or commit of this repository (git rev-parse understands it)';
  if (ref.startsWith('-')) throw new InputError(field, ref, allowed, 'a ref cannot start with "-"');
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new InputError(field, ref, allowed, 'no such commit');
  }
}

/** Builds a commit into a temporary worktree sharing this checkout's node_modules; a commit that does not build is invalid input naming its ref. */
function buildRef(field: string, ref: string, commit: string, dir: string, root: string): string {
  execFileSync('git', ['worktree', 'add', '--detach', '--force', dir, commit], { cwd: root, stdio: 'ignore' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const out = `${(e as { stdout?: Buffer }).stdout ?? ''}${(e as { stderr?: Buffer }).stderr ?? ''}`.trim().split('\n').slice(0, 5).join('; ');
    throw new InputError(field, ref, 'a commit that builds (tsc -p tsconfig.json)', `it does not build: ${out || (e as Error).message}`);
  }
  return join(dir, 'dist', 'scripts', 'neotune.js');
}

async function abRun(refs: readonly string[], o: CompareFlags): Promise<number> {
  const root = checkoutRoot();
  const commits = refs.map((ref, i) => resolveRef(i === 0 ? 'base ref' : 'head ref', ref, root));
  const tmp = mkdtempSync(join(tmpdir(), 'neotune-ab-'));
  const dirs = [join(tmp, 'base'), join(tmp, 'head')];
  try {
    const clis = refs.map((ref, i) => buildRef(i === 0 ? 'base ref' : 'head ref', ref, commits[i]!, dirs[i]!, root));
    const files: ResultFile[][] = [[], []];
    for (let round = 0; round < o.rounds; round++) {
      // ABBA order: neither side always runs first (warm caches, thermal drift).
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) {
        const out = join(tmp, `${side}-${round}.json`);
        const args = [clis[side]!, 'bench', '--backend', 'cpu', '--suite', o.suite, '--time', String(o.time), '--params', 'threads=1', '--out', out, ...(o.kernels ? ['--kernels', o.kernels] : [])];
        process.stderr.write(`round ${round + 1}/${o.rounds}: ${side === 0 ? 'base' : 'head'} (${refs[side]})\n`);
        execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
        files[side]!.push(readResults(out));
      }
    }
    return report(compareResults(pool(files[0]!), pool(files[1]!), { threshold: o.threshold, alpha: o.alpha }), o);
  } finally {
    for (const d of dirs) if (existsSync(d)) execFileSync('git', ['worktree', 'remove', '--force', d], { cwd: root, stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerCompare(program: Command): void {
  const compare = program
    .command('compare')
    .description('compare two result files (timing with statistics, deterministic proxies exactly); exit 5 on a regression, 6 when nothing was compared')
    .argument('[files...]', 'BASE HEAD result files (with --aa: same-code runs; with --run: BASE_REF HEAD_REF)')
    .addOption(thresholdOption('smallest change that counts'))
    .option('--alpha <p>', 'significance level', parseNumberOption('alpha', 0, 0.5, { open: true }), 0.05)
    .option('--timings <mode>', 'fail: a timing regression exits 5; report: timings are reported only (proxies still fail)', parseChoice('timings', ['fail', 'report'] as const), 'fail')
    .option('--json', 'print the comparison as JSON instead of the markdown summary')
    .option('-o, --out <file>', 'write the comparison as JSON to FILE (- for stdout)')
    .option('--markdown <file>', 'write the markdown summary to FILE (for a pull-request comment; - for stdout, the default)')
    .option('--noise <file>', 'run-to-run noise profile of this machine (compare --aa --save-noise) for single-run files')
    .option('--aa', 'files are runs of the same code: report the false-alarm rate')
    .option('--save-noise <file>', 'with --aa: write the run-to-run noise profile')
    .option('--self-test', 'prove detection on a fixture kernel made 30 % slower and 30 % faster')
    .option('--run', 'files are two git refs: build both and benchmark them alternately in this session')
    .option('--rounds <n>', 'with --run: alternating rounds', parseIntOption('rounds', undefined, 100), 3)
    .option('--suite <name>', 'with --run: suite', 'smoke')
    .option('-k, --kernels <list>', 'with --run: only these kernels')
    .option('--time <ms>', 'with --run: measurement time per candidate', parseIntOption('time', `an integer number of milliseconds from 1 to ${MAX_TIME_MS}`, MAX_TIME_MS), 100);
  examples(compare, [
    ['neotune compare base.json head.json', 'regressions between two result files (exit 5 if any)'],
    ['neotune compare base.json head.json --threshold 5 --markdown pr.md', 'changes of 5 % or more; markdown for a PR comment'],
    ['neotune compare --aa run-*.json --save-noise noise.json', "this machine's run-to-run noise and false-alarm rate"],
    ['neotune compare --run main HEAD -k fused-wasm', 'build both commits, benchmark them alternately'],
  ]).action(
      action(async (files: string[], o: CompareFlags) => {
        for (const [field, p] of [['out', o.out], ['markdown', o.markdown], ['save-noise', o.saveNoise]] as const) if (p && p !== '-') checkOutputPath(field, resolve(p));
        // `--json FILE` wrote a file in earlier versions: FILE now arrives as a third file.
        const afterJson = process.argv[process.argv.indexOf('--json') + 1];
        if (o.json && !o.aa && files.length === 3 && afterJson === files[2]) throw new InputError('json', files[2], 'no value (--json prints to stdout; write a file with --out FILE)');
        if (o.selfTest) return selfTest(o);
        if (o.aa) {
          if (files.length < 2) throw new InputError('files', files.length, 'at least two result files of the same code');
          return aaRate(files.map(load), o);
        }
        if (files.length !== 2) throw new InputError('files', files.length, o.run ? 'two git refs: BASE_REF HEAD_REF' : 'two result files: BASE HEAD');
        if (o.run) return abRun(files, o);
        const noise = loadNoise(o.noise);
        return report(compareResults(load(files[0]!), load(files[1]!), { threshold: o.threshold, alpha: o.alpha, ...(noise ? { runNoise: noise } : {}) }), o);
      }),
    );

  const history = program
    .command('history')
    .description('append a result file to a history, or find where step changes started')
    .argument('<action>', 'append or check')
    .argument('[results]', 'with append: the result file')
    .option('--file <path>', 'history file (JSON lines)', 'neotune-history.jsonl')
    .option('--label <text>', 'with append: label of this run (e.g. a commit)', '')
    .addOption(thresholdOption('with check: smallest step'))
    .option('--json', 'with check: print JSON');
  examples(history, [
    ['neotune history append results.json --label $(git rev-parse --short HEAD)', 'add a run to neotune-history.jsonl'],
    ['neotune history check --threshold 5', 'where did a step change of 5 % or more start (exit 5 if slower)'],
  ]).action(
      action(async (act: string, results: string | undefined, o: { file: string; label: string; threshold: number; json?: boolean }) => {
        if (act === 'append') {
          if (!results) throw new InputError('results', results, 'a result file to append');
          const f = load(results);
          checkOutputPath('file', resolve(o.file));
          appendHistory(resolve(o.file), historyLine(f, o.label || f.created));
          process.stdout.write(`appended ${results} to ${o.file}\n`);
          return EXIT.OK;
        }
        if (act !== 'check') throw new InputError('action', act, 'append, check');
        const steps = detectSteps(readHistory(resolve(o.file), 'file'), o.threshold);
        if (o.json) process.stdout.write(JSON.stringify(steps, null, 1) + '\n');
        else if (steps.length === 0) process.stdout.write('no step change\n');
        else
          process.stdout.write(
            formatTable(
              ['record', 'from run', 'before ms', 'after ms', 'change', 't'],
              steps.map((s) => [s.key, `${s.index} (${s.label})`, fmt(s.before_ms, 4), fmt(s.after_ms, 4), `${fmt((s.ratio - 1) * 100, 1)} %`, fmt(s.t, 1)]),
            ) + '\n',
          );
        return steps.some((s) => s.ratio > 1) ? EXIT.REGRESSION : EXIT.OK;
      }),
    );
}
