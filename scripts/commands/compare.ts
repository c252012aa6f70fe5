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
import { resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { checkOutputFiles, checkOutputPath, writeFileAtomic } from '../../core/files.js';
import { HISTORY_PAGE_FILES, writeHistoryPage } from '../../reports/history-page.js';
import { readJsonFile } from '../../core/validate.js';
import { NOISE_SCHEMA } from '../../harness/results-schema.js';
import { type Comparison, comparisonMarkdown, compareResults, nothingCompared, proxyRegressions, runNoise, timingRegressions } from '../../analysis/compare.js';
import { falseAlarms } from '../../analysis/false-alarms.js';
import { appendHistory, detectSteps, historyLine, readHistory } from '../../analysis/history.js';
import type { ResultFile } from '../../harness/results.js';
import { detectionSelfTest, InterruptedError, pairedRun } from '../../lib/compare.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import { action, EXIT, fmt, formatTable, loadResultFile, MAX_TIME_MS, parseChoice, parseIntOption, parseNumberOption } from '../cli-util.js';
import { examples, parseDuration } from '../options.js';

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
  minRounds: number;
  maxRounds: number;
  timeBudget?: number;
  params: string;
  seed?: number;
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

/** Prints the false-alarm rate of same-code runs (analysis/false-alarms.ts); --save-noise writes the noise profile of all of them. */
function aaRate(files: readonly ResultFile[], o: CompareFlags): number {
  const a = falseAlarms(files, o);
  const rate = (n: number) => `${fmt((100 * n) / a.pairs, 1)} %`;
  const sigma = [...a.noise.values()].map((v) => 100 * v);
  process.stdout.write(
    `run-to-run noise from runs 1–${a.noiseRuns}: σ(log median) ${fmt(Math.min(...sigma), 1)}–${fmt(Math.max(...sigma), 1)} % per record; pairs of runs ${a.noiseRuns + 1}–${files.length} tested\n` +
      formatTable(
        ['record pairs', 'flagged: this method', 'flagged: within-run statistics only', `flagged: single run ±${o.threshold * 100} %`],
        [[String(a.pairs), rate(a.aware), rate(a.within), rate(a.naive)]],
      ) +
      '\n',
  );
  if (o.saveNoise) {
    writeFileAtomic(resolve(o.saveNoise), JSON.stringify(Object.fromEntries(runNoise(files)), null, 1) + '\n');
    process.stdout.write(`noise profile (all ${files.length} runs): ${o.saveNoise}\n`);
  }
  return EXIT.OK;
}

/** Prints the detection self-test (lib/compare.ts) and exits 1 when it fails. */
async function selfTest(o: CompareFlags): Promise<number> {
  const { records, rounds, passed } = await detectionSelfTest(o);
  const rows = records.map((r) => [r.name, fmt(r.verdict.ratio, 3), r.verdict.ci ? `${fmt(r.verdict.ci[0], 3)} … ${fmt(r.verdict.ci[1], 3)}` : '–', `${r.verdict.decision} after ${r.verdict.rounds} rounds`, r.expected.join(' or ')]);
  process.stdout.write(formatTable(['fixture kernel against itself', 'ratio', `interval (suite-wide α ${o.alpha})`, 'decided', 'expected'], rows) + `\n${rounds} paired rounds in this process\n`);
  process.stdout.write(passed ? 'self-test passed\n' : 'self-test FAILED: the gate did not classify the fixture as expected\n');
  return passed ? EXIT.OK : EXIT.INTERNAL;
}

function loadNoise(path: string | undefined): Map<string, number> | undefined {
  if (!path) return undefined;
  return new Map(Object.entries(readJsonFile<Record<string, number>>('noise', resolve(path), NOISE_SCHEMA, 'a noise profile written by compare --aa --save-noise')));
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
    .option('--run', 'files are two git refs: build both, then benchmark them in paired rounds (fresh processes, random order) until every record is decided; --alpha is the suite-wide false-alarm rate')
    .option('--min-rounds <n>', 'with --run: rounds before the first look', parseIntOption('min-rounds', 'an integer from 3 to 1000', 1000, 3), 5)
    .option('--max-rounds <n>', 'with --run: the most rounds', parseIntOption('max-rounds', 'an integer from 3 to 1000', 1000, 3), 40)
    .option('--time-budget <duration>', 'with --run: wall time for the rounds, e.g. 8m (building both commits not included)', parseDuration('time-budget'))
    .option('--suite <name>', 'with --run: suite', 'smoke')
    .option('-k, --kernels <list>', 'with --run: only these kernels')
    .option('-p, --params <list>', 'with --run: pinned parameters for bench', 'threads=1')
    .option('--seed <n>', 'with --run: seed of the random order of each round (default: from the clock, printed)', parseIntOption('seed', 'an integer from 0 to 2147483647', 2147483647, 0))
    .option('--time <ms>', 'with --run: measurement time per candidate', parseIntOption('time', `an integer number of milliseconds from 1 to ${MAX_TIME_MS}`, MAX_TIME_MS), 30);
  examples(compare, [
    ['neotune compare base.json head.json', 'regressions between two result files (exit 5 if any)'],
    ['neotune compare base.json head.json --threshold 5 --markdown pr.md', 'changes of 5 % or more; markdown for a PR comment'],
    ['neotune compare --aa run-*.json --save-noise noise.json', "this machine's run-to-run noise and false-alarm rate"],
    ['neotune compare --run main HEAD', 'build both commits, paired rounds until every record is decided (exit 5 on a regression)'],
    ['neotune compare --run HEAD~1 HEAD --time-budget 8m --markdown pr.md', "this repository's CI: the parent against HEAD"],
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
        if (o.run) {
          if (o.maxRounds < o.minRounds) throw new InputError('max-rounds', o.maxRounds, `an integer ≥ --min-rounds (${o.minRounds})`);
          const seed = o.seed ?? Date.now() % 2147483647;
          const log = (s: string) => process.stderr.write(`${s}\n`);
          // Ctrl-C, SIGTERM (a CI job cancelled) or SIGHUP: stop before the next process, remove the worktrees.
          const signal = gracefulInterrupts(log, 'stopping before the next bench process; the temporary worktrees are removed');
          for (const s of ['SIGTERM', 'SIGHUP'] as const) process.on(s, () => process.emit('SIGINT'));
          try {
            return report(await pairedRun([files[0]!, files[1]!], { ...o, seed, timeBudgetMs: o.timeBudget ?? 8 * 60_000, log, signal }), o);
          } catch (e) {
            if (!(e instanceof InterruptedError)) throw e;
            log(`neotune: ${e.message}`);
            return INTERRUPTED_EXIT;
          }
        }
        const noise = loadNoise(o.noise);
        return report(compareResults(load(files[0]!), load(files[1]!), { threshold: o.threshold, alpha: o.alpha, ...(noise ? { runNoise: noise } : {}) }), o);
      }),
    );

  const history = program
    .command('history')
    .description('append a result file to a history, find where step changes started, or draw the history as a page')
    .argument('<action>', 'append, check or page')
    .argument('[results]', 'with append: the result file')
    .option('--file <path>', 'history file (JSON lines)', 'neotune-history.jsonl')
    .option('--label <text>', 'with append: label of this run (e.g. a commit)', '')
    .addOption(thresholdOption('with check: smallest step'))
    .option('--json', 'with check: print JSON')
    .option('-o, --out <dir>', 'with page: output folder for history.html and history.png', 'neotune-out')
    .option('--force', 'with page: replace files of the same names in --out that neotune did not write');
  examples(history, [
    ['neotune history append results.json --label $(git rev-parse --short HEAD)', 'add a run to neotune-history.jsonl'],
    ['neotune history check --threshold 5', 'where did a step change of 5 % or more start (exit 5 if slower)'],
    ['neotune history page -o site/', 'history.html and history.png: time per run with intervals, steps and operation counts'],
  ]).action(
      action(async (act: string, results: string | undefined, o: { file: string; label: string; threshold: number; json?: boolean; out: string; force?: boolean }) => {
        if (act === 'append') {
          if (!results) throw new InputError('results', results, 'a result file to append');
          const f = load(results);
          checkOutputPath('file', resolve(o.file));
          appendHistory(resolve(o.file), historyLine(f, o.label || f.created));
          process.stdout.write(`appended ${results} to ${o.file}\n`);
          return EXIT.OK;
        }
        if (act === 'page') {
          const lines = readHistory(resolve(o.file), 'file');
          checkOutputFiles('out', resolve(o.out), HISTORY_PAGE_FILES, o.force);
          const { files, render } = await writeHistoryPage(lines, resolve(o.out), o.threshold);
          for (const p of files) process.stdout.write(`wrote ${p}\n`);
          if (render.consoleErrors.length || render.inkPerCanvas.some((n) => n === 0)) {
            process.stderr.write(`neotune: the history page did not render cleanly: ${render.consoleErrors.join('; ') || 'an empty chart'}\n`);
            return EXIT.INTERNAL;
          }
          return EXIT.OK;
        }
        if (act !== 'check') throw new InputError('action', act, 'append, check, page');
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
