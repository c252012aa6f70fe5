/**
 * The CLI answers every bad input: fast-check generates bad values for every option and file
 * argument of every command (numbers out of range or not numbers, unknown words, paths that are
 * missing, folders, FIFOs, not UTF-8, nested 100 000 deep, valid JSON of the wrong shape, outputs
 * that cannot be written or hold the user's files, empty values). Options are checked before a
 * service (Redis) is contacted, so the unreachable one given here is never reached. Each run must exit 2 with a message naming the field and what is allowed,
 * and never print a stack trace or an internal error.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const dir = mkdtempSync(join(tmpdir(), 'neotune-fuzz-'));
const f = (name: string) => join(dir, name);

/** Files every file argument is tried with. */
const BAD_FILES = {
  missing: f('missing.json'),
  folder: f('folder'),
  notUtf8: f('not-utf8.json'),
  deep: f('deep.json'),
  empty: f('empty.json'),
  wrongShape: f('wrong-shape.json'),
  notJson: f('not-json.json'),
  fifo: f('fifo.json'),
};
/** A Redis nobody listens on: a command that reached it would answer exit 4, not 2. */
const NO_REDIS = 'redis://127.0.0.1:1';
const VALID_RESULTS = f('results.json');
const VALID_DB = f('db.json');

before(() => {
  mkdirSync(BAD_FILES.folder);
  execFileSync('mkfifo', [BAD_FILES.fifo]);
  mkdirSync(f('foreign-site'));
  writeFileSync(join(f('foreign-site'), 'index.html'), '<p>the user\'s page</p>');
  writeFileSync(BAD_FILES.notUtf8, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
  writeFileSync(BAD_FILES.deep, '['.repeat(100_000) + ']'.repeat(100_000));
  writeFileSync(BAD_FILES.empty, '');
  writeFileSync(BAD_FILES.wrongShape, JSON.stringify({ schema: 'neotune-results', version: 1, created: 'x', command: 'x', environment: { cpu: 'x', cores: 1, node: 'v20' }, records: { a: null }, entries: [], cases: null }));
  writeFileSync(BAD_FILES.notJson, 'name: [unclosed\n');
  writeFileSync(VALID_RESULTS, JSON.stringify({ schema: 'neotune-results', version: 1, created: 'x', command: 'x', environment: { cpu: 'x', cores: 1, node: 'v20' }, records: [] }));
  writeFileSync(VALID_DB, JSON.stringify({ schema: 'neotune-tuning-db', version: 2, entries: {} }));
  writeFileSync(f('a-file'), 'x');
  writeFileSync(f('read-only.json'), '');
  chmodSync(f('read-only.json'), 0o444);
});

/** Output paths that cannot be written. */
const BAD_OUTPUTS = () => [BAD_FILES.folder, join(f('a-file'), 'below-a-file.json'), f('read-only.json')];

// Bad values by kind.
const notInt = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', 'NaN', 'Infinity', '1e400', 'abc', '', ' ', '0x', '--'),
  fc.integer({ min: -1e9, max: 0 }).map(String),
  fc.double({ noNaN: true, min: 0.001, max: 1e6 }).filter((x) => !Number.isInteger(x)).map(String),
  fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !/^\s*\d+\s*$/.test(s) && !s.startsWith('-')),
);
const badDuration = fc.oneof(
  fc.constantFrom('0', '-1', '0.5', 'NaN', 'abc', '', ' ', '1x', '5 m', 'm', '1h-5m', '8d', '0s', '9999h', '1m1', 'Infinity'),
  fc.integer({ min: -1e9, max: 0 }).map(String),
);
const huge = fc.oneof(fc.constantFrom('1000000000000', '9007199254740993', '1e12'), fc.integer({ min: 10_000_000, max: 2 ** 31 }).map(String));
const word = (allowed: readonly string[]) => fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !allowed.includes(s) && !s.startsWith('-') && !s.includes(',') && s.trim() === s && s !== '');
const outOfRange = (lo: number, hi: number) => fc.oneof(fc.double({ noNaN: true, min: -1e6, max: lo, maxExcluded: true }), fc.double({ noNaN: true, min: hi, max: 1e9, minExcluded: true }), fc.constantFrom(NaN, Infinity)).map(String);
const badFile = fc.constantFrom(...Object.values(BAD_FILES));

interface Slot {
  readonly name: string;
  readonly gen: fc.Arbitrary<string>;
  readonly args: (v: string) => string[];
  /** What the message must contain: the field, or the file path. */
  readonly names: (v: string) => string;
}
const opt = (command: string[], flag: string, gen: fc.Arbitrary<string>, field = flag.replace(/^--/, ''), rest: string[] = []): Slot => ({
  name: `${command.join(' ')} ${flag}`,
  gen,
  args: (v) => [...command, ...rest, `${flag}=${v}`],
  names: () => field,
});
const fileArg = (command: string[], args: (p: string) => string[]): Slot => ({ name: `${command.join(' ')} <file>`, gen: badFile, args: (p) => [...command, ...args(p)], names: (p) => p });
const output = (command: string[], args: (p: string) => string[], field: string): Slot => ({ name: `${command.join(' ')} ${field} (output)`, gen: fc.constantFrom(...BAD_OUTPUTS()), args: (p) => [...command, ...args(p)], names: () => field });

const SLOTS: Slot[] = [
  opt(['bench'], '--batch', fc.oneof(notInt, huge), 'batch'),
  opt(['bench'], '--time', fc.oneof(notInt, huge), 'time'),
  opt(['bench'], '--seed', fc.oneof(fc.constantFrom('-1', '1.5', 'x', '99999999999'))),
  opt(['bench'], '--backend', word(['auto', 'cpu', 'webgpu', 'webgpu-browser', 'gpujs', 'gpujs-browser'])),
  opt(['bench'], '--suite', word(['smoke', 'neonext-t', 'neonext-s', 'neonext-b', 'neonext-l', 'neonext-xl']).filter((s) => !/^neonext|\.(json|ya?ml)$/i.test(s))),
  opt(['bench'], '--dtype', word(['float32', 'float16'])),
  opt(['bench'], '--params', fc.constantFrom('x', '=1', 'a=', '{', '[1]', '{"a":', 'order'), 'params'),
  fileArg(['bench'], (p) => ['--suite', p.endsWith('.json') ? p : `${p}.json`]),
  output(['bench', '--suite', BAD_FILES.missing], (p) => ['--out', p], 'out'),
  opt(['tune'], '--strategy', word(['tpe', 'random', 'exhaustive', 'anneal', 'greedy', 'bayes', 'genetic'])),
  opt(['tune'], '--budget', fc.oneof(notInt, fc.constantFrom('1000000000', '0%', '101%', '-5%', '%', '5 %', '1e2%'))),
  opt(['tune'], '--time-budget', fc.oneof(badDuration, huge)),
  opt(['run'], '--effort', word(['quick', 'balanced', 'full'])),
  // A missing --db is a new database: every other bad file is tried.
  { ...fileArg(['tune', '--backend', 'cpu', '--suite', 'smoke'], (p) => ['--db', p]), gen: badFile.filter((p) => p !== BAD_FILES.missing) },
  output(['tune', '--backend', 'cpu', '--suite', 'smoke'], (p) => ['--db', p], 'db'),
  opt(['compare', VALID_RESULTS, VALID_RESULTS], '--alpha', outOfRange(0, 0.5)),
  opt(['compare', VALID_RESULTS, VALID_RESULTS], '--threshold', outOfRange(0, 100)),
  opt(['compare', VALID_RESULTS, VALID_RESULTS], '--timings', word(['fail', 'report'])),
  opt(['compare', '--run', 'HEAD', 'HEAD'], '--max-rounds', fc.oneof(notInt, huge)),
  opt(['compare', '--run', 'HEAD', 'HEAD'], '--time-budget', fc.constantFrom('0', '-1', '0.5', 'abc', '10x', '8d', '1e400')),
  opt(['compare', '--run', 'HEAD', 'HEAD'], '--time', fc.oneof(notInt, huge)),
  fileArg(['compare'], (p) => [VALID_RESULTS, p]),
  fileArg(['compare', VALID_RESULTS, VALID_RESULTS], (p) => ['--noise', p]),
  output(['compare', VALID_RESULTS, VALID_RESULTS], (p) => ['--out', p], 'out'),
  { name: 'history <action>', gen: word(['append', 'check']), args: (v) => ['history', v], names: () => 'action' },
  fileArg(['history', 'check'], (p) => ['--file', p]),
  fileArg(['history', 'append'], (p) => [p, '--file', f('history.jsonl')]),
  opt(['history', 'check', '--file', BAD_FILES.empty], '--threshold', outOfRange(0, 100)),
  fileArg(['report', '--no-images'], (p) => [p, '--out', f('report-out')]),
  { name: 'report --out (a file)', gen: fc.constant(f('a-file')), args: (p) => ['report', VALID_RESULTS, '--no-images', '--out', p], names: () => 'out' },
  fileArg(['summary'], (p) => [p]),
  opt(['flops'], '--model', word(['t', 's', 'b', 'l', 'xl'])),
  opt(['flops'], '--resolution', fc.oneof(notInt, huge, fc.constantFrom('31', '1', '5000'))),
  opt(['select', '--shape', '1x8x8x8'], '--shift', fc.oneof(notInt.filter((s) => s !== '0'), huge, fc.constant('-3'))),
  opt(['select'], '--shape', fc.string({ maxLength: 12 }).filter((s) => !/^\d+x\d+x\d+x\d+$/.test(s) && !s.startsWith('-'))),
  fileArg(['select', '--shape', '1x8x8x8'], (p) => ['--db', p]),
  fileArg(['export', '--out', f('dispatch.ts')], (p) => ['--db', p]),
  output(['export', '--db', BAD_FILES.missing], (p) => ['--out', p], 'out'),
  opt(['export', '--db', VALID_DB, '--out', f('export.js')], '--format', word(['table', 'module', 'bundle'])),
  opt(['export', '--db', VALID_DB, '--out', f('export.js')], '--device', fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !s.startsWith('-'))),
  opt(['replay'], '--seeds', fc.oneof(notInt, huge)),
  opt(['replay'], '--tolerance', outOfRange(0, 100)),
  fileArg(['replay'], (p) => ['--space', p]),
  fileArg(['db-merge', '--out', f('merged.json')], (p) => [p]),
  output(['db-merge', VALID_DB], (p) => ['--out', p], 'out'),
  opt(['run'], '--budget', fc.oneof(notInt, fc.constantFrom('0%', '200%'))),
  opt(['run'], '--time-budget', badDuration),
  opt(['run'], '--strategy', word(['tpe', 'random', 'exhaustive', 'anneal', 'greedy', 'bayes', 'genetic'])),
  { name: 'run --out (a file)', gen: fc.constant(f('a-file')), args: (p) => ['run', '--out', p], names: () => 'out' },
  // serve: only values that cannot start a server (a valid one would serve until killed).
  opt(['serve'], '--port', fc.oneof(notInt, huge).filter((v) => v.trim() === '' || !Number.isInteger(Number(v)) || Number(v) < 0 || Number(v) > 65535)),
  opt(['serve'], '--host', fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /[^A-Za-z0-9.:-]/.test(s) && !s.startsWith('-'))),
  { ...fileArg(['serve', '--port', '0'], (p) => ['--collect', p]), gen: badFile.filter((p) => p !== BAD_FILES.missing) },
  { name: 'page --out (output)', gen: fc.constantFrom(f('a-file'), join(f('a-file'), 'below'), f('foreign-site')), args: (p) => ['page', '--out', p], names: () => 'out' },
  opt(['worker', '--redis', NO_REDIS], '--concurrency', fc.oneof(notInt, huge)),
  opt(['worker', '--redis', NO_REDIS], '--stall-seconds', fc.oneof(notInt, huge)),
  opt(['worker', '--redis', NO_REDIS], '--replay-scale', outOfRange(0, 1000)),
  opt(['worker', '--redis', NO_REDIS], '--backend', word(['auto', 'cpu', 'webgpu', 'webgpu-browser', 'gpujs', 'gpujs-browser'])),
  opt(['worker'], '--redis', fc.oneof(fc.constantFrom('http://x', 'redis://', 'redis://h:0', 'redis://h:99999', 'redis://h/x', 'localhost:6379', '://'), fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !s.startsWith('-')))),
  fileArg(['worker', '--redis', NO_REDIS], (p) => ['--replay', p]),
  opt(['fleet', 'tune', '--redis', NO_REDIS], '--slices', fc.oneof(notInt, huge)),
  opt(['fleet', 'tune', '--redis', NO_REDIS], '--job-timeout', badDuration),
  opt(['fleet', 'tune'], '--local-workers', fc.oneof(notInt, huge)),
  opt(['fleet', 'collect', '--redis', NO_REDIS], '--run', fc.string({ minLength: 1, maxLength: 70 }).filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s) && !s.startsWith('-'))),
  { ...fileArg(['fleet', 'collect', '--redis', NO_REDIS, '--run', 'r1'], (p) => ['--db', p]), gen: badFile.filter((p) => p !== BAD_FILES.missing) },
  opt(['fleet', 'status'], '--redis', fc.constantFrom('http://x', 'redis://', 'redis://h:0', 'redis://h/x')),
];

/** Every option given an empty value (`--flag=`): refused before the command runs. */
const EMPTY_VALUES: [string[], string][] = [
  [['page', '--out='], 'out'],
  [['export', '--db', VALID_DB, '--device=', '--out', f('x.js')], 'device'],
  [['serve', '--collect='], 'collect'],
  [['worker', '--replay=', '--redis', NO_REDIS], 'replay'],
  [['fleet', 'collect', '--run', 'r1', '--db=', '--redis', NO_REDIS], 'db'],
  [['fleet', 'tune', '--device=', '--redis', NO_REDIS], 'device'],
  [['bench', '--kernels='], 'kernels'],
  [['tune', '--db='], 'db'],
  [['select', '--shape', '1x8x8x8', '--spec='], 'spec'],
  [['compare', VALID_RESULTS, VALID_RESULTS, '--noise='], 'noise'],
  [['report', VALID_RESULTS, '--out='], 'out'],
  [['history', 'check', '--file='], 'file'],
  [['replay', '--space='], 'space'],
  [['run', '--out='], 'out'],
];

/** Values per slot: CI drives SLOTS.length × RUNS bad inputs. */
const RUNS = 3;

function neotune(args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, NEOTUNE_LOCK_WAIT_MS: '2000' } }, (e, _out, err) => {
      ok({ code: e ? ((e as { code?: number }).code ?? (e.killed ? -1 : 1)) : 0, err: String(err) });
    });
  });
}

describe('CLI fuzz: every bad input is answered with exit 2 naming the field', () => {
  it(`${SLOTS.length} option and file slots × ${RUNS} generated bad values`, async () => {
    const cases = [
      ...SLOTS.flatMap((s, i) => fc.sample(s.gen, { numRuns: RUNS, seed: 1000 + i }).map((v) => ({ s, v }))),
      ...EMPTY_VALUES.map(([args, field]) => ({ s: { name: `${args.slice(0, 2).join(' ')} (empty value)`, gen: fc.constant(''), args: () => args, names: () => field } as Slot, v: '' })),
    ];
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const { s, v } = cases[next++]!;
        const args = s.args(v);
        const r = await neotune(args);
        const named = r.err.includes(s.names(v));
        const clean = !/internal error|\n\s+at \S+ \(|Error: .*\n\s+at /.test(r.err);
        if (r.code !== 2 || !named || !clean || !/allowed|invalid|error:/.test(r.err)) {
          failures.push(`${s.name} ${JSON.stringify(v)}: exit ${r.code}, ${named ? '' : `no "${s.names(v)}" in the message, `}${clean ? '' : 'a stack trace, '}stderr: ${r.err.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, Math.min(4, cpus().length)) }, worker));
    assert.equal(failures.length, 0, `${failures.length} of ${cases.length} bad inputs not answered:\n${failures.join('\n')}`);
    assert.ok(cases.length >= 200, `${cases.length} bad inputs`);
  });

  it('nothing given as an input file was changed', () => {
    assert.equal(readFileSync(BAD_FILES.wrongShape, 'utf8').length > 0, true);
    assert.equal(readFileSync(BAD_FILES.notJson, 'utf8'), 'name: [unclosed\n');
  });
});
