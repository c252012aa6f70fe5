/**
 * The comparison machinery the CLI's `compare` wraps: the detection self-test on a fixture kernel,
 * and the A/B runner that builds two commits and benchmarks them alternately in one session.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ComparedRecord, compareResults, type Comparison } from '../analysis/compare.js';
import { poolRuns } from '../analysis/pool.js';
import { InputError } from '../core/errors.js';
import { evaluateCandidate } from '../harness/evaluate.js';
import { fixtureKernel } from '../harness/fixture-kernel.js';
import { copyProblem, makeProblemData } from '../harness/problem.js';
import { type ResultFile, type ResultRecord, readResults } from '../harness/results.js';
import { cpuDevice } from '../kernels/cpu/backend.js';
import { resultFile } from './run.js';

/**
 * A fixture kernel made 30 % slower and 30 % faster, measured in interleaved rounds and compared
 * with its unchanged self: detection works when the slower one is classified regressed and the
 * faster improved.
 */
export async function detectionSelfTest(o: { threshold: number; alpha: number }): Promise<{ slower: ComparedRecord; faster: ComparedRecord; passed: boolean }> {
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
  const file = (factor: string) => poolRuns(runs[factor]!.map((r) => resultFile([{ ...r, params: {} }], [], `self-test factor ${factor}`)));
  const base = file('1');
  const slower = compareResults(base, file('1.3'), o).records[0]!;
  const faster = compareResults(base, file('0.7'), o).records[0]!;
  return { slower, faster, passed: slower.timing === 'regressed' && faster.timing === 'improved' };
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

export interface AbRunOptions {
  readonly threshold: number;
  readonly alpha: number;
  readonly rounds: number;
  readonly suite: string;
  readonly time: number;
  readonly kernels?: string;
  /** A line per round (stderr). */
  readonly log: (s: string) => void;
}

/** Builds both refs, benchmarks them in alternating (ABBA) rounds on the CPU, pools each side's rounds and compares. */
export async function abRun(refs: readonly [string, string], o: AbRunOptions): Promise<Comparison> {
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
        o.log(`round ${round + 1}/${o.rounds}: ${side === 0 ? 'base' : 'head'} (${refs[side]})`);
        execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
        files[side]!.push(readResults(out));
      }
    }
    return compareResults(poolRuns(files[0]!), poolRuns(files[1]!), { threshold: o.threshold, alpha: o.alpha });
  } finally {
    for (const d of dirs) if (existsSync(d)) execFileSync('git', ['worktree', 'remove', '--force', d], { cwd: root, stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  }
}
