/**
 * Finalists timed side by side in a fresh Node process (tuner/revalidate.ts FRESH_PROCESSES): the
 * process tuner/side-by-side-process.js opens the same backend, checks that it is the same device,
 * builds the problem's data from the same seed, verifies every finalist against the reference
 * again, and measures them in interleaved rounds. Anything that goes wrong there (no such file,
 * as in the one-file bundle of scripts/gpu-bundle.sh; another device; a crash; a timeout) gives
 * no rounds, and the tune decides on its own rounds.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { problemRecord, type ProblemRecord } from '../harness/problem.js';
import type { BackendName, Problem } from '../harness/types.js';
import type { BackendRun } from '../kernels/registry.js';
import { deviceFingerprint } from './db-model.js';
import type { FinalistEntry, RoundsElsewhere, SideBySideElsewhere, SideBySideOptions } from './revalidate.js';

/** What the process is asked: the backend, its device's fingerprint, the problem and data seed, the finalists and rounds. */
export interface SideBySideRequest {
  readonly backend: BackendName;
  readonly device: string;
  readonly problem: ProblemRecord;
  readonly seed: number;
  readonly entries: readonly FinalistEntry[];
  readonly options: SideBySideOptions;
}

/** What it answers on stdout. */
export interface SideBySideReply {
  readonly finalists: readonly RoundsElsewhere[];
}

/** Backends that open in a new process in well under a second (the browser ones start Chromium). */
const OPENS_FAST: ReadonlySet<BackendName> = new Set(['cpu', 'webgpu']);

/** A process that takes longer than this (compiling, verifying and timing a few finalists takes 1-3 s) is stopped. */
const TIMEOUT_MS = 120_000;

const CHILD = fileURLToPath(new URL('./side-by-side-process.js', import.meta.url));

/** The fresh-process measurer for a problem on a backend's device, or undefined where this backend or this build cannot start one. */
export function sideBySideInFreshProcess(backend: BackendName, device: string, problem: Problem, seed: number): SideBySideElsewhere | undefined {
  if (!OPENS_FAST.has(backend) || !existsSync(CHILD)) return undefined;
  return (entries, options) => runChild({ backend, device, problem: problemRecord(problem), seed, entries, options });
}

/** tuneProblem's `elsewhere` for a problem on an opened backend, where its backend can start a fresh process (empty otherwise). */
export function freshProcessOption(run: BackendRun, problem: Problem, seed: number): { elsewhere?: SideBySideElsewhere } {
  const elsewhere = sideBySideInFreshProcess(run.entry.name, deviceFingerprint(run.session.device), problem, seed);
  return elsewhere ? { elsewhere } : {};
}

function runChild(request: SideBySideRequest): Promise<RoundsElsewhere[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', () => {
      clearTimeout(timer);
      resolve([]);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return resolve([]);
      try {
        resolve([...(JSON.parse(Buffer.concat(out).toString('utf8')) as SideBySideReply).finalists]);
      } catch {
        resolve([]);
      }
    });
    // A child that died before reading its request: 'close' answers.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(request));
  });
}
