/**
 * The comparison machinery the CLI's `compare` wraps: the detection self-test on a fixture kernel,
 * and the paired runner that builds two commits and benchmarks them in paired rounds (the CI gate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ComparedRecord, compareResults, type Comparison, recordKey } from '../analysis/compare.js';
import { lookSchedule, runSequential, type SequentialDecision, type SequentialVerdict } from '../analysis/sequential.js';
import { Rng } from '../core/rng.js';
import { quantile } from '../harness/stats.js';
import { InputError } from '../core/errors.js';
import { createKernel } from '../harness/compile.js';
import { measureKernel, prepareAndVerify, timingFields } from '../harness/evaluate.js';
import { DEFAULT_TARGET_REL } from '../harness/stability.js';
import type { KernelInstance } from '../harness/types.js';
import { fixtureKernel } from '../harness/fixture-kernel.js';
import { copyProblem, makeProblemData } from '../harness/problem.js';
import { type ResultFile, type ResultRecord, readResults } from '../harness/results.js';
import { cpuDevice } from '../kernels/cpu/backend.js';

/** One fixture record of the self-test: what the gate decided, what it should have. */
export interface SelfTestRecord {
  readonly name: string;
  readonly expected: readonly SequentialDecision[];
  readonly verdict: SequentialVerdict;
}

/**
 * The gate's own decision procedure (runSequential, the paired sequential intervals of
 * `compare --run`) on a fixture kernel in this process: the kernel at factor 1 is the base, and
 * its twin (factor 1 again), a copy made 30 % slower and one made 30 % faster are the heads,
 * measured in rounds in a random order, each round on instances made for it. Detection works
 * when the slower one is regressed, the faster improved, and the twin neither (unchanged, or
 * inconclusive on a very busy machine).
 */
export async function detectionSelfTest(o: { threshold: number; alpha: number }): Promise<{ records: SelfTestRecord[]; rounds: number; passed: boolean }> {
  const variant = fixtureKernel();
  const problem = copyProblem({ N: 1, C: 16, H: 32, W: 32 });
  const data = makeProblemData(problem, 1);
  const session = { backend: 'cpu' as const, device: cpuDevice(), close: async () => {} };
  // Each head against the fixture at factor 1, and what the gate must decide for it.
  const heads: readonly { name: string; factor: number; expected: readonly SequentialDecision[] }[] = [
    { name: 'unchanged twin', factor: 1, expected: ['unchanged', 'inconclusive'] },
    { name: '30 % slower', factor: 1.3, expected: ['regressed'] },
    { name: '30 % faster', factor: 0.7, expected: ['improved'] },
  ];
  const kernelsMade: readonly { name: string; factor: number }[] = [{ name: 'base', factor: 1 }, ...heads];
  const rng = new Rng(1);
  // Fresh instances every round, made in a random order, as the gate runs fresh processes: an
  // instance keeps its buffers and its place in memory for its life, and identical instances differ
  // by a few per cent for that life (eight twins: medians 0.0330-0.0340 ms). Twins kept for the
  // whole test read 1.035 round after round in one CI run: a tight interval, a false regression.
  const instances = async (): Promise<Map<string, KernelInstance>> => {
    const kernels = new Map<string, KernelInstance>();
    try {
      for (const { name, factor } of rng.shuffle(kernelsMade)) {
        const kernel = await createKernel(variant, problem, { factor }, session);
        kernels.set(name, kernel);
        if (!(await prepareAndVerify(kernel, data)).ok) throw new Error(`self-test: the fixture kernel at factor ${factor} does not verify`);
        await measureKernel(kernel, { timeMs: 10, minSamples: 5, warmupMs: 10 }); // V8 optimises the loop first
      }
      return kernels;
    } catch (e) {
      await disposeAll(kernels);
      throw e;
    }
  };
  const round = async () => {
    const kernels = await instances();
    try {
      const ms = new Map<string, number>();
      for (const name of rng.shuffle([...kernels.keys()])) ms.set(name, timingFields(await measureKernel(kernels.get(name)!, { timeMs: 40, minSamples: 10, warmupMs: 0 }), DEFAULT_TARGET_REL).median_ms!);
      return new Map(heads.map((h) => [h.name, { base_ms: ms.get('base')!, head_ms: ms.get(h.name)! }]));
    } finally {
      await disposeAll(kernels);
    }
  };
  const run = await runSequential({ threshold: o.threshold, alpha: o.alpha, looks: lookSchedule(5, 40) }, round, () => true);
  const records = heads.map((h) => ({ name: h.name, expected: h.expected, verdict: run.verdicts.get(h.name)! }));
  return { records, rounds: run.rounds, passed: records.every((r) => r.expected.includes(r.verdict.decision)) };
}

async function disposeAll(kernels: Map<string, KernelInstance>): Promise<void> {
  for (const k of kernels.values()) await k.dispose();
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

export interface PairedRunOptions {
  readonly threshold: number;
  /** Suite-wide false-alarm rate. */
  readonly alpha: number;
  readonly minRounds: number;
  readonly maxRounds: number;
  /** Wall time for the rounds, ms (building both commits not included). */
  readonly timeBudgetMs: number;
  readonly suite: string;
  readonly time: number;
  readonly kernels?: string;
  /** Pinned parameters passed to bench (`threads=1` by default). */
  readonly params: string;
  readonly seed: number;
  readonly log: (s: string) => void;
  /** Aborted (Ctrl-C, SIGTERM): the run stops before its next process, removes its worktrees and throws InterruptedError. */
  readonly signal?: AbortSignal;
}

/** A paired run stopped by its signal; its temporary worktrees are removed. */
export class InterruptedError extends Error {
  constructor() {
    super('compare --run stopped before its next process; its temporary worktrees are removed');
  }
}

/** Refuses a ref that names the checked-out commit while tracked files differ from it: those changes would not be measured. */
function checkClean(field: string, ref: string, commit: string, root: string): void {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  if (commit !== head) return;
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
  if (dirty) throw new InputError(field, ref, 'a commit (uncommitted changes are not measured: commit or stash them first)', `the working tree has uncommitted changes to ${dirty.split('\n').length} tracked file(s)`);
}

/** Per CPU this process may use: idle and total jiffies so far (/proc/stat), or undefined off Linux. */
function cpuTimes(): Map<number, { idle: number; total: number }> | undefined {
  try {
    const allowed = readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)?.[1] ?? '';
    const ok = new Set(allowed.split(',').flatMap((r) => {
      const [a, b] = r.split('-').map(Number);
      return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
    }));
    const out = new Map<number, { idle: number; total: number }>();
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m || !ok.has(Number(m[1]))) continue;
      const v = m[2]!.split(/\s+/).map(Number);
      out.set(Number(m[1]), { idle: (v[3] ?? 0) + (v[4] ?? 0), total: v.reduce((s, x) => s + x, 0) });
    }
    return out.size ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CPU that was idle the most over the last `ms` (both processes of a round are pinned to it),
 * or undefined where there is no /proc/stat or no taskset. Left to the scheduler, a process's
 * threads moved between CPUs and a 16 µs kernel ran at 23 µs in 4 of 10 fresh processes, 0 of 6
 * pinned; a fixed CPU would do worse than the scheduler when something else keeps that CPU busy
 * (docs/regressions.md).
 */
async function idlestCpu(ms = 200): Promise<number | undefined> {
  const before = cpuTimes();
  if (!before) return undefined;
  await new Promise((r) => setTimeout(r, ms));
  const after = cpuTimes()!;
  let best: { cpu: number; idle: number } | undefined;
  for (const [cpu, a] of after) {
    const b = before.get(cpu);
    if (!b || a.total === b.total) continue;
    const idle = (a.idle - b.idle) / (a.total - b.total);
    if (!best || idle > best.idle) best = { cpu, idle };
  }
  return best?.cpu;
}

/** Whether `taskset` runs here (util-linux). */
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether a built CLI's bench knows an option (an older commit may not). */
function benchHas(cli: string, option: string): boolean {
  return execFileSync(process.execPath, [cli, 'bench', '--help'], { encoding: 'utf8' }).includes(option);
}

/**
 * `compare --run` in paired rounds: builds both commits, then runs rounds (each: base and head in
 * fresh processes, in a random order) until every record is decided, the schedule ends or the time
 * budget does (analysis/sequential.ts). Kernels whose records are all decided leave the later rounds.
 * The exact lane (operation counts) and the proxies come from each side's first round.
 */
export async function pairedRun(refs: readonly [string, string], o: PairedRunOptions): Promise<Comparison> {
  const root = checkoutRoot();
  const fields = ['base ref', 'head ref'] as const;
  const commits = refs.map((ref, i) => resolveRef(fields[i]!, ref, root));
  refs.forEach((ref, i) => checkClean(fields[i]!, ref, commits[i]!, root));
  const looks = lookSchedule(o.minRounds, o.maxRounds);
  const tmp = mkdtempSync(join(tmpdir(), 'neotune-ab-'));
  const dirs = [join(tmp, 'base'), join(tmp, 'head')];
  // Worktrees are removed however the process ends: by the finally below, or, where something calls
  // process.exit (a second Ctrl-C), by the exit listener (synchronous, as exit listeners must be).
  const removeWorktrees = () => {
    for (const d of dirs) if (existsSync(d)) execFileSync('git', ['worktree', 'remove', '--force', d], { cwd: root, stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', removeWorktrees);
  const stopIfAsked = () => {
    if (o.signal?.aborted) throw new InterruptedError();
  };
  try {
    const started = performance.now();
    // A Ctrl-C also ends tsc: a build it stopped is no failure of the ref.
    const build = (side: number) => {
      stopIfAsked();
      try {
        return buildRef(fields[side]!, refs[side]!, commits[side]!, dirs[side]!, root);
      } catch (e) {
        stopIfAsked();
        throw e;
      }
    };
    const clis = [build(0)];
    // The same commit on both sides (an A/A run) is built once: the processes still differ.
    clis.push(commits[1] === commits[0] ? clis[0]! : build(1));
    o.log(`built ${refs[0]} (${commits[0]!.slice(0, 10)}) and ${refs[1]} (${commits[1]!.slice(0, 10)}) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const extraFlags = clis.map((cli) => (benchHas(cli, '--no-ceilings') ? ['--no-ceilings'] : []));
    // Single-threaded kernels: both processes of a round on the CPU that was idlest just before it.
    const pinning = /(^|,)\s*threads\s*=\s*1\s*(,|$)/.test(o.params) && hasTaskset();
    if (pinning) o.log('each round pins both bench processes to the CPU idlest just before it (taskset)');
    const rng = new Rng(o.seed);
    const first: (ResultFile | undefined)[] = [undefined, undefined];
    const bench = (side: number, kernels: readonly string[] | undefined, out: string, cpu: number | undefined): ResultFile => {
      stopIfAsked();
      const pin = cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
      const args = [clis[side]!, 'bench', '--backend', 'cpu', '--suite', o.suite, '--time', String(o.time), '--params', o.params, '--quiet', '--out', out, ...extraFlags[side]!, ...(kernels ? ['--kernels', kernels.join(',')] : [])];
      try {
        // V8 flags of bin/neotune: kernels optimised on the main thread, at once (docs/regressions.md).
        const node = [process.execPath, '--no-concurrent-recompilation', ...args];
        if (pin.length) execFileSync(pin[0]!, [...pin.slice(1), ...node], { stdio: ['ignore', 'ignore', 'pipe'] });
        else execFileSync(node[0]!, node.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        // A Ctrl-C reaches the bench process too: it ends by the signal, not by the ref's failure.
        stopIfAsked();
        // Exit 3 (some kernels failed verification) still wrote the file; anything else is the ref's failure.
        if ((e as { status?: number }).status !== 3) {
          const err = String((e as { stderr?: Buffer }).stderr ?? '').trim().split('\n').slice(-3).join('; ');
          throw new InputError(fields[side]!, refs[side], 'a commit whose `neotune bench` runs the suite', `its bench failed (exit ${(e as { status?: number }).status}): ${err}`);
        }
      }
      return readResults(out);
    };
    const usable = (r: ResultRecord) => r.state === 'verified' && r.median_ms !== undefined && !r.flags?.some((f) => /impossible|faster than/i.test(f));
    // The first round runs every kernel (its records both sides have are the suite); later rounds
    // run only the kernels of open records.
    const kernelOf = new Map<string, string>();
    const roundsRun = { started: performance.now(), lastMs: 0 };
    const round = async (index: number, open: ReadonlySet<string> | undefined) => {
      const t0 = performance.now();
      const order = rng.next() < 0.5 ? [0, 1] : [1, 0];
      const cpu = pinning ? await idlestCpu() : undefined;
      const kernels = !open?.size ? (o.kernels ? o.kernels.split(',') : undefined) : [...new Set([...open].map((k) => kernelOf.get(k)!))];
      const got = new Map<string, { base_ms?: number; head_ms?: number }>();
      for (const side of order) {
        const file = bench(side, kernels, join(tmp, `${side}-${index}.json`), cpu);
        first[side] ??= file;
        for (const r of file.records) {
          if (!usable(r)) continue;
          const k = recordKey(r);
          kernelOf.set(k, r.kernel);
          const slot = got.get(k) ?? got.set(k, {}).get(k)!;
          if (side === 0) slot.base_ms = r.median_ms;
          else slot.head_ms = r.median_ms;
        }
      }
      roundsRun.lastMs = performance.now() - t0;
      o.log(`round ${index + 1}: ${order.map((s) => (s === 0 ? 'base' : 'head')).join(' then ')}${cpu !== undefined ? ` on CPU ${cpu}` : ''}, ${kernels ? kernels.length : 'all'} kernel(s), ${((performance.now() - roundsRun.started) / 1000).toFixed(0)} s`);
      return got;
    };
    const result = await runSequential(
      { threshold: o.threshold, alpha: o.alpha, looks },
      round,
      // Another round fits when it takes no longer than the last one did.
      () => performance.now() - roundsRun.started + roundsRun.lastMs <= o.timeBudgetMs,
      (n, verdicts) => {
        const decided = [...verdicts.values()].filter((v) => v.decision !== 'inconclusive').length;
        o.log(`look after ${n} rounds: ${decided} of ${verdicts.size} records decided`);
      },
    );
    const keys = result.keys;
    const base = first[0]!;
    const head = first[1]!;
    const exact = compareResults(base, head, { threshold: o.threshold, alpha: o.alpha });
    const byKey = new Map(exact.records.map((r) => [r.key, r]));
    const records: ComparedRecord[] = keys.map((key) => {
      const v = result.verdicts.get(key)!;
      const s = result.series.get(key)!;
      const e = byKey.get(key);
      return {
        key,
        base_median_ms: quantile(s.base_ms, 0.5),
        head_median_ms: quantile(s.head_ms, 0.5),
        ratio: v.ratio,
        ...(v.ci ? { ci: v.ci } : {}),
        timing: v.decision,
        rounds: v.rounds,
        rounds_ms: { base: s.base_ms, head: s.head_ms },
        ...(v.resolution !== undefined ? { resolution: v.resolution } : {}),
        proxy_changes: e?.proxy_changes ?? [],
        proxies: e?.proxies ?? 'missing',
        ...(e?.operations ? { operations: e.operations, operation_changes: e.operation_changes ?? [] } : {}),
      };
    });
    return {
      options: { threshold: o.threshold, alpha: o.alpha },
      records,
      missing: exact.missing,
      extra: exact.extra,
      paired: { base: refs[0], head: refs[1], rounds: result.rounds, stopped: result.stopped, seed: o.seed, looks, wall_s: (performance.now() - started) / 1000 },
    };
  } finally {
    process.off('exit', removeWorktrees);
    removeWorktrees();
  }
}
