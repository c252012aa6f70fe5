/**
 * Trust under load: evidence per sample and set-aside, sample shapes, stability, impossible
 * figures refused, ceilings checked, winners stable and deterministic, resumed budgets, software
 * renderers, the CI gate's exit codes, the pool's claim protocol, and a whole bench run with an
 * injected busy core.
 */
import { singleThreadCpuSession } from './helpers/cpu-session.js';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCeilings, copyBandwidthAt, flagRecords, SOFTWARE_FLAG, trusted } from '../analysis/plausibility.js';
import { copyProblem, neoCellProblem, problemRecord } from '../harness/problem.js';
import type { ResultFile, ResultRecord, VerifiedRecord } from '../harness/results.js';
import { assessTiming, disturbance, sampleShape, setAside, SLOW_KEPT_NOTE } from '../harness/stability.js';
import { softwareRenderer } from '../harness/software.js';
import { summarize } from '../analysis/summary.js';
import { reportRows } from '../reports/rows.js';
import { measureAdaptive, measureWithTinybench } from '../harness/timing.js';
import type { BackendSession, CeilingRecord, KernelVariant, SampleEvidence, SampleProbe } from '../harness/types.js';
import { claimPart, CTL } from '../kernels/cpu/wasm/pool.js';
import { emptyDb, parseDb, snapshotText } from '../tuner/db.js';
import { buildSpace, complexity, type Config, configKey } from '../tuner/space.js';
import { tieOrder, tuneProblem } from '../tuner/tune.js';
import { type Candidate, selectWinner, TIE_MARGIN } from '../tuner/winner.js';
import { acrossProcesses, finalistKeys, FRESH_PROCESSES, MIN_KEPT_ROUNDS, pairedAhead, pairedRatio, pairedTies, REVALIDATION, type SideBySideElsewhere } from '../tuner/revalidate.js';
import { sideBySideInFreshProcess } from '../tuner/fresh-process.js';
import { backendEntry, openBackend } from '../kernels/registry.js';
import { deviceFingerprint } from '../tuner/db-model.js';
import { STRATEGIES } from '../tuner/strategies/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'neotune.js');
const neotune = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const clean = (wall_ms: number): SampleEvidence => ({ switches: 0, cpu_ms: wall_ms, wall_ms });
/** Deterministic jitter around a value (no Math.random: tests repeat). */
const around = (v: number, n: number, spread = 0.004) => Array.from({ length: n }, (_, i) => v * (1 + spread * Math.sin(i * 12.9898)));

describe('evidence per sample: set-aside', () => {
  it('a sample with an involuntary switch, a CPU deficit, a worker stall or a part taken over is set aside, counted by reason', () => {
    assert.equal(disturbance(clean(0.5)), undefined);
    assert.equal(disturbance({ ...clean(0.5), switches: 1 }), 'preempted');
    assert.equal(disturbance({ switches: 0, cpu_ms: 0.1, wall_ms: 0.5 }), 'cpu_deficit');
    assert.equal(disturbance({ ...clean(5), wait_ms: 4 }), 'worker_wait');
    assert.equal(disturbance({ ...clean(0.5), wait_ms: 0.01, taken_over: 1 }), 'worker_late');
    const samples = [1, 1, 8, 1, 1.01, 4, 1];
    const evidence = [clean(1), clean(1), { ...clean(8), switches: 2 }, clean(1), clean(1), { ...clean(4), wait_ms: 3 }, clean(1)];
    const s = setAside(samples, evidence);
    assert.deepEqual(s.aside, [8, 4]);
    assert.equal(s.clean.length, 5);
    assert.deepEqual(s.counts, { preempted: 1, cpu_deficit: 0, worker_wait: 1, worker_late: 0, slow_machine: 0 });
  });

  it('too few clean samples make the timing unstable, with the reason; the set-aside ones are kept and counted', () => {
    const samples = around(1, 30);
    const evidence = samples.map((v, i) => (i < 25 ? { ...clean(v), switches: 1 } : clean(v)));
    const { quality, aside } = assessTiming(samples, evidence);
    assert.equal(quality.stable, false);
    assert.equal(quality.n_clean, 5);
    assert.equal(quality.n_total, 30);
    assert.equal(aside.length, 25);
    assert.match(quality.reasons[0]!, /only 5 clean sample\(s\) of 30 \(set aside: 25 preempted\)/);
  });
});

describe('sample shapes and stability', () => {
  it('a bimodal set (0.01 ms and 8 ms clusters, as a stalled pool gives) is flagged with both modes and is unstable', () => {
    const samples = [...around(0.01, 60), ...around(8, 20)];
    const shape = sampleShape(samples);
    assert.equal(shape.shape, 'bimodal');
    assert.ok(Math.abs(shape.modes![0] - 0.01) < 0.001 && Math.abs(shape.modes![1] - 8) < 0.1);
    const q = assessTiming(samples, undefined).quality;
    assert.equal(q.stable, false);
    assert.match(q.reasons.join(), /bimodal/);
  });

  it('a heavy tail is reported as a note, and the median still stands', () => {
    const samples = [...around(1, 70), ...around(1.5, 30, 0.2)];
    const q = assessTiming(samples, undefined, 0.05).quality;
    assert.equal(q.shape, 'heavy-tailed');
    assert.match(q.notes?.join() ?? '', /heavy-tailed/);
  });

  it('a unimodal set with a narrow median interval is stable; a wide one is unstable naming the target', () => {
    assert.equal(assessTiming(around(1, 200), undefined).quality.stable, true);
    const wide = Array.from({ length: 12 }, (_, i) => 1 + 0.1 * i);
    const q = assessTiming(wide, undefined, 0.02).quality;
    assert.equal(q.stable, false);
    assert.match(q.reasons.join(), /wider than the target ±2\.0 %/);
  });

  it('adaptive measurement records evidence per sample in order and re-measures disturbed timings up to its cap', async () => {
    let calls = 0;
    // A probe that reports a context switch on every sample: nothing is ever clean.
    const probe: SampleProbe = { read: () => ({ switches: calls++, cpu_ms: 0 }) };
    const t = await measureAdaptive({ run: () => {} }, { timeMs: 10, minSamples: 5, warmupMs: 0, adaptive: { targetRelHalfWidth: 0.02, maxMs: 1000 } }, probe);
    assert.equal(t.evidence!.length, t.samples_ms.length);
    assert.ok(t.evidence!.every((e) => (e.switches ?? 0) > 0));
    const rounds = Number(/adaptive: (\d+) round\(s\), no clean sample/.exec(t.method)?.[1]);
    assert.ok(rounds >= 2, t.method);
  });

  it("a browser's coarse clock (5 µs steps): a cold first call does not set the batch; every sample spans about 100 steps", async () => {
    const step = 0.005;
    const coarse = { now: () => Math.floor(performance.now() / step) * step, stepMs: () => step };
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    let calls = 0;
    // 4 ms on its first call (a lazy compile), 10 µs after: timed alone, the first call would pass for the kernel's time.
    const kernel = { run: () => spin(calls++ === 0 ? 4 : 0.01) };
    const t = await measureWithTinybench(kernel, { timeMs: 30, minSamples: 10, warmupMs: 0 }, undefined, coarse);
    const inner = Number(/mean of (\d+) calls/.exec(t.method)?.[1]);
    assert.match(t.method, /clock step 0\.005 ms \(±[0-2]\.\d % of a sample\)/);
    const median = [...t.samples_ms].sort((a, b) => a - b)[t.samples_ms.length >> 1]!;
    assert.ok(median * inner >= 50 * step, `a sample spans ${((median * inner) / step).toFixed(0)} clock steps (${t.method})`);
    assert.ok(median >= 0.01 && median < 0.02, `median ${median} ms for a 10 µs kernel`);
  });
});

function record(kernel: string, op: 'neocell' | 'dwconv' | 'copy', median_ms: number, extra: Partial<VerifiedRecord> = {}): VerifiedRecord {
  const p = op === 'copy' ? copyProblem({ N: 1, C: 64, H: 14, W: 14 }) : neoCellProblem({ N: 1, C: 64, H: 14, W: 14, spec: '7' });
  const rec = op === 'dwconv' ? { ...problemRecord(p), op: 'dwconv' as const } : problemRecord(p);
  return {
    backend: 'cpu',
    kernel,
    role: op === 'neocell' ? 'neocell' : op === 'dwconv' ? 'baseline' : 'ceiling',
    params: { threads: 2 },
    problem: rec,
    state: 'verified',
    max_rel_err: 0,
    median_ms,
    samples_ms: around(median_ms, 50),
    flops: { useful: 1e6, executed: 1e6, dwconv7_equivalent: 5e6 },
    bytes: 1e5,
    device: 'test CPU',
    case: '7',
    ...extra,
  };
}
const peak = (threads: number, gflops: number, extra: Partial<CeilingRecord> = {}): CeilingRecord => ({ backend: 'cpu', name: 'wasm-simd-peak', params: { threads, madd: 'relaxed' }, gflops, method: 'test', ...extra });

describe('impossible figures are refused', () => {
  it('a 2-thread ceiling measured under contention (0.2 GFLOP/s) is flagged and never used for % of peak', () => {
    const ceilings = checkCeilings([peak(1, 58), peak(2, 0.2)]);
    const two = ceilings.find((c) => c.params.threads === 2)!;
    assert.match(two.flags!.join(), /reach only 0\.00× the 1-thread peak: cores were busy/);
    const rows = summarize(flagRecords([record('fused-wasm', 'neocell', 0.01), record('copy', 'copy', 0.001)], ceilings), ceilings);
    assert.equal(rows[0]!.peakFraction, undefined);
    assert.match(rows[0]!.withheld.join(), /% peak: ceiling wasm-simd-peak/);
  });

  it('the best of two measurements counts; a ceiling unstable in every measurement is flagged', () => {
    const q = { stable: false, reasons: ['only 2 clean sample(s) of 40'], n_clean: 2, n_total: 40, set_aside: { preempted: 38, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: null, target_rel: 0.02 };
    const merged = checkCeilings([peak(1, 50), peak(1, 58), peak(2, 110, { quality: q }), peak(2, 100, { quality: q })]);
    assert.equal(merged.find((c) => c.params.threads === 1)!.gflops, 58);
    assert.deepEqual(merged.find((c) => c.params.threads === 1)!.measurements, [50, 58]);
    assert.match(merged.find((c) => c.params.threads === 2)!.flags!.join(), /unstable in every measurement/);
  });

  it('a kernel above the compute peak or faster than the copy of its tensor is flagged impossible and never the best', () => {
    const ceilings = checkCeilings([peak(1, 50), peak(2, 100)]);
    // 1e6 FLOP in 0.001 ms = 1000 GFLOP/s: ten times the 2-thread peak.
    const records = flagRecords([record('fast-liar', 'neocell', 0.001), record('honest', 'neocell', 0.05), record('copy', 'copy', 0.02)], ceilings);
    const liar = records.find((r) => r.kernel === 'fast-liar')!;
    assert.ok(liar.flags!.some((f) => /impossible: 1000\.0 GFLOP\/s executed, above the 100\.0 GFLOP\/s peak/.test(f)));
    assert.ok(liar.flags!.some((f) => /impossible: moves .* the copy of the same tensor/.test(f)));
    const row = summarize(records, ceilings)[0]!;
    assert.equal(row.best!.kernel, 'honest');
    assert.ok(row.peakFraction! <= 1);
  });

  it('the roofline fraction divides by whichever bound binds: the copy bandwidth × FLOP/byte or the best peak at any thread count', () => {
    const ceilings = checkCeilings([peak(1, 50), peak(2, 100)]);
    // 1e6 useful FLOP over 1e5 bytes (10 FLOP/byte) in 0.05 ms = 20 GFLOP/s.
    const memoryBound = summarize(flagRecords([record('k', 'neocell', 0.05, { params: { threads: 1 } }), record('copy', 'copy', 0.02)], ceilings), ceilings)[0]!;
    // The copy moves 1e5 bytes in 0.02 ms = 5 GB/s: the bound is 50 GFLOP/s, below the 100 GFLOP/s peak.
    assert.ok(Math.abs(memoryBound.rooflineFraction! - 20 / 50) < 1e-9, String(memoryBound.rooflineFraction));
    // The same kernel at 1 thread: % of the 1-thread peak (50), roofline from the device's best (100).
    assert.ok(Math.abs(memoryBound.peakFraction! - 20 / 50) < 1e-9);
    const computeBound = summarize(flagRecords([record('k', 'neocell', 0.05), record('copy', 'copy', 0.0025)], ceilings), ceilings)[0]!;
    assert.ok(Math.abs(computeBound.rooflineFraction! - 20 / 100) < 1e-9, String(computeBound.rooflineFraction));
    const unstable = { stable: false, reasons: ['too few clean samples'], n_clean: 2, n_total: 40, set_aside: { preempted: 38, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: null, target_rel: 0.02 };
    const untrustedCopy = summarize(flagRecords([record('k', 'neocell', 0.05), record('copy', 'copy', 0.02, { quality: unstable })], ceilings), ceilings)[0]!;
    assert.equal(untrustedCopy.rooflineFraction, undefined);
  });

  it('a speedup from an unstable timing is not computed; the row says why', () => {
    const unstable = { stable: false, reasons: ['bimodal samples: clusters at 0.010 and 8.000 ms'], n_clean: 40, n_total: 60, set_aside: { preempted: 20, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'bimodal' as const, ci_rel: 0.5, target_rel: 0.02 };
    const records = flagRecords([record('fused-wasm', 'neocell', 0.01), record('dwconv-wasm', 'dwconv', 8, { quality: unstable }), record('copy', 'copy', 0.002)], []);
    const row = summarize(records, [])[0]!;
    assert.equal(row.speedupVsDwconv, undefined);
    assert.match(row.withheld.join(), /dwconv-wasm: unstable timing: bimodal/);
    assert.ok(row.xCopy !== undefined);
  });

  it("the roofline's bandwidth is the copies' at the kernel's own traffic: interpolated in log(bytes), the nearest outside their range", () => {
    // 1e5 bytes in 0.01 ms = 10 GB/s; 4e5 bytes in 0.08 ms = 5 GB/s (and a slower copy of the same size, ignored).
    const copies = [record('copy', 'copy', 0.01), record('copy', 'copy', 0.08, { bytes: 4e5 }), record('copy', 'copy', 0.16, { bytes: 4e5 })];
    assert.ok(Math.abs(copyBandwidthAt(2e5, copies)! - 7.5) < 1e-9);
    assert.equal(copyBandwidthAt(5e4, copies), 10);
    assert.equal(copyBandwidthAt(1e6, copies), 5);
    const unstable = { stable: false, reasons: ['too few clean samples'], n_clean: 2, n_total: 40, set_aside: { preempted: 38, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: null, target_rel: 0.02 };
    assert.equal(copyBandwidthAt(2e5, flagRecords([record('copy', 'copy', 0.01, { quality: unstable })], [])), undefined, 'a flagged copy is no bound');
  });

  it('a fraction of the roofline beyond its tolerance is withheld with the reason (table and report), one within it is printed', () => {
    const ceilings = checkCeilings([peak(2, 100)]);
    // The kernel: 20 GFLOP/s at 10 FLOP/byte. The copies are of another case, so the kernel is not
    // flagged against a copy of its own tensor; only the roofline bound comes from them.
    const run = (copyMs: number) => {
      const records = flagRecords([record('fused-wasm', 'neocell', 0.05), record('copy', 'copy', copyMs, { bytes: 2e5, case: 'other' })], ceilings);
      const row = summarize(records, ceilings).find((r) => r.case === '7')!;
      const rep = reportRows({ records, ceilings } as unknown as ResultFile).find((r) => r.kernel === 'fused-wasm')!;
      return { row, rep };
    };
    // 2e5 bytes in 0.2 ms = 1 GB/s: a bound of 10 GFLOP/s, the kernel at 200 % of it.
    const over = run(0.2);
    assert.equal(over.row.rooflineFraction, undefined);
    assert.equal(over.rep.roofline_fraction, null);
    assert.match(over.row.withheld.join(), /of roofline: fused-wasm measured 200 % of its bound/);
    // 2e5 bytes in 0.105 ms: a bound of 19.05 GFLOP/s, the kernel at 105 %, within measurement noise.
    const near = run(0.105);
    assert.ok(Math.abs(near.row.rooflineFraction! - 1.05) < 1e-9 && Math.abs(near.rep.roofline_fraction! - 1.05) < 1e-9);
  });

  it('a faster baseline whose timing is flagged withholds the speedup instead of a slower trusted one flattering NeoCell (table and report agree)', () => {
    const unstable = { stable: false, reasons: ['median CI ±4.0 % is wider than the target ±2.0 %'], n_clean: 40, n_total: 40, set_aside: { preempted: 0, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: 0.04, target_rel: 0.02 };
    const ceilings = checkCeilings([peak(2, 100)]);
    const records = flagRecords(
      [record('fused-wasm', 'neocell', 0.05), record('ort-dwconv', 'dwconv', 0.2, { quality: unstable, role: 'peer' }), record('dwconv-js', 'dwconv', 8), record('copy', 'copy', 0.02)],
      ceilings,
    );
    const row = summarize(records, ceilings)[0]!;
    assert.equal(row.speedupVsDwconv, undefined, 'not 160× against the slow trusted dwconv-js');
    const file = { records, ceilings } as unknown as ResultFile; // reportRows reads only these
    const neo = reportRows(file).find((r) => r.kernel === 'fused-wasm')!;
    assert.equal(neo.speedup_vs_dwconv, null);
    // The same roofline fraction in both: 20 GFLOP/s over min(100, 10 FLOP/byte × 5 GB/s).
    assert.ok(Math.abs(neo.roofline_fraction! - row.rooflineFraction!) < 1e-12 && Math.abs(row.rooflineFraction! - 0.4) < 1e-9, `${neo.roofline_fraction} ${row.rooflineFraction}`);
    // Once the fast baseline is trusted, the speedup is against it.
    const steady = flagRecords([record('fused-wasm', 'neocell', 0.05), record('ort-dwconv', 'dwconv', 0.2, { role: 'peer' }), record('dwconv-js', 'dwconv', 8), record('copy', 'copy', 0.02)], ceilings);
    assert.ok(Math.abs(summarize(steady, ceilings)[0]!.speedupVsDwconv! - 4) < 1e-9);
  });
});

describe('software renderers', () => {
  it('SwiftShader, llvmpipe, lavapipe and fallback adapters are recognised; a hardware GPU is not', () => {
    assert.equal(softwareRenderer({ description: 'google swiftshader (SwiftShader Device (Subzero))' }), 'swiftshader');
    assert.equal(softwareRenderer({ description: 'gpu.js headless-gl: llvmpipe (LLVM 15.0.6, 256 bits)' }), 'llvmpipe');
    assert.equal(softwareRenderer({ description: 'x', details: { renderer: 'lavapipe' } }), 'lavapipe');
    assert.equal(softwareRenderer({ description: 'x', details: { isFallbackAdapter: true } }), 'fallback adapter');
    assert.equal(softwareRenderer({ description: 'nvidia hopper (NVIDIA H200)' }), undefined);
  });

  it("a software renderer's timings are flagged (unless included) and never a best time or a speedup", () => {
    const sw = record('fused-wgsl', 'neocell', 0.5, { backend: 'webgpu', software: true, params: {} });
    const [flagged] = flagRecords([sw], []);
    assert.deepEqual(flagged!.flags, [SOFTWARE_FLAG]);
    assert.equal(trusted(flagged!), false);
    assert.equal(flagRecords([sw], [], { includeSoftware: true })[0]!.flags, undefined);
  });
});

/** A CPU variant whose kernels take `ms[params.variant]` per call, for tuner tests without real kernels. */
function timedVariant(name: string, values: readonly (string | number)[], ms: (v: string | number) => number, made: string[] = []): KernelVariant {
  return {
    backend: 'cpu',
    name,
    op: 'copy',
    role: 'ceiling',
    params: () => [{ name: 'mode', values, doc: '' }],
    defaults: () => ({ mode: values[0]! }),
    async create(_p, params) {
      made.push(`${name} ${params.mode}`);
      const cost = ms(params.mode as string | number);
      let x = new Float32Array(0);
      let y = new Float32Array(0);
      return {
        source: `${name} ${params.mode}`,
        prepare(d) {
          x = d.x;
          y = new Float32Array(x.length);
        },
        poisonOutput() {
          y.fill(NaN);
        },
        run() {
          y.set(x);
          const end = performance.now() + cost;
          while (performance.now() < end);
        },
        readOutput: () => y,
        dispose() {},
      };
    },
  };
}

describe('winners: stable, deterministic, re-validated; budgets', () => {
  const session: BackendSession = singleThreadCpuSession();

  it('an unstable timing is chosen over a stable one only when it is surely faster even in its slower runs', () => {
    const pick = (unstable: number[]) =>
      selectWinner(
        [
          { key: 'unstable', config: { variant: 'a', params: {} }, samples_ms: unstable, stable: false },
          { key: 'stable', config: { variant: 'b', params: {} }, samples_ms: around(1, 50), stable: true },
        ],
        () => [0],
      )!;
    // Fast half of the time, slow the other half: set aside, however fast its fast runs.
    const twoSpeeds = pick([...around(0.5, 25), ...around(1.5, 25)]);
    assert.equal(twoSpeeds.key, 'stable');
    assert.equal(twoSpeeds.confidence.unstable, undefined);
    // A little faster, imprecisely: not surely faster.
    assert.equal(pick(around(0.98, 50, 0.04)).key, 'stable');
    // 30 % faster with a median's interval wider than the target: faster whatever its imprecision.
    assert.equal(pick(around(0.7, 50, 0.04)).key, 'unstable');
  });

  it('the tie order chooses only among the tied candidates within 3 % of the fastest; one tied by an imprecise timing stays tied', () => {
    // Six imprecise samples each (±20 %): a 1-thread kernel 2 % or 10 % slower by its median.
    const fast = [0.8, 1.2, 0.9, 1.1, 1.0, 1.05];
    const pick = (oneThread: number[]) =>
      selectWinner(
        [
          { key: 'two threads', config: { variant: 'v', params: { threads: 2 } }, samples_ms: fast },
          { key: 'one thread', config: { variant: 'v', params: { threads: 1 } }, samples_ms: oneThread },
        ],
        (c) => complexity([{ name: 'v' }], c),
      )!;
    const close = pick(fast.map((x) => x * 1.02));
    assert.equal(close.key, 'one thread', 'within 3 %: the fewest threads');
    const imprecise = pick([0.85, 1.3, 1.0, 1.25, 1.1, 1.15]);
    assert.deepEqual(new Set(imprecise.confidence.tied), new Set(['two threads', 'one thread']), 'the data cannot tell them apart');
    assert.equal(imprecise.key, 'two threads', '10 % slower by its median: not chosen on the tie order');
  });

  it('after the side-by-side rounds, a finalist tied only by an imprecise paired interval does not win on the tie order', () => {
    assert.ok(Math.abs(pairedRatio([1, 1, 1], [1.1, 1.2, 1.0]) - Math.cbrt(1.1 * 1.2)) < 1e-12);
    const fastest = [1, 1.02, 0.98, 1.01, 0.99, 1];
    const noisy = [1.02, 1.25, 1.0, 1.22, 1.03, 1.15];
    assert.ok(pairedTies(fastest, new Map([['noisy', noisy]])).has('noisy'), 'tied: its interval reaches 1.03');
    assert.ok(pairedRatio(fastest, noisy) > 1 + TIE_MARGIN, 'but its rounds put it 11 % behind');
  });

  it('an imprecise finalist that its paired rounds put surely ahead of the fastest stable one is judged with the stable ones', () => {
    // The machine drifts from round to round (a noisy spell): each round times the finalists back to back.
    const drift = [1, 1.3, 1.05, 1.6, 1.1, 1.4];
    const stableSlow = { key: 'stable', rounds: drift.map((x) => 0.03 * x) };
    const stableSlower = { key: 'slower', rounds: drift.map((x) => 0.033 * x) };
    // 13 % ahead in every round, give or take 2 %; its pooled samples spread over the drift.
    const ahead = { key: 'ahead', rounds: drift.map((x, r) => 0.0261 * x * (r % 2 ? 1.02 : 0.98)) };
    // Ahead in most rounds but level in two: its interval reaches 0.97.
    const unsure = { key: 'unsure', rounds: drift.map((x, r) => 0.03 * x * (r < 2 ? 1 : 0.87)) };
    const samples = (m: number) => around(m, 60);
    const candidates: Candidate[] = [
      { key: 'stable', config: { variant: 'v', params: {} }, samples_ms: samples(0.03) },
      { key: 'slower', config: { variant: 'v', params: {} }, samples_ms: samples(0.033) },
      { key: 'ahead', config: { variant: 'v', params: {} }, samples_ms: samples(0.03), stable: false },
      { key: 'unsure', config: { variant: 'v', params: {} }, samples_ms: samples(0.03), stable: false },
    ];
    const finalists = [stableSlow, stableSlower, ahead, unsure];
    assert.deepEqual([...pairedAhead([ahead, unsure], finalists, candidates)], ['ahead']);
    // Judged against the fastest stable finalist, not any stable one: 'unsure' is 13 % ahead of 'slower' in every round but two.
    assert.deepEqual([...pairedAhead([unsure], finalists, candidates.filter((c) => c.key !== 'stable'))], ['unsure']);
    assert.deepEqual([...pairedAhead([ahead], finalists, candidates.filter((c) => c.stable === false))], [], 'no stable finalist: nothing to be ahead of');
  });

  it('ties are broken over every parameter, strings included: the same winner whatever the order of candidates', () => {
    const cands = ['order=BA', 'order=AB', 'order=CA'].map((k) => ({ key: `v ${k}`, config: { variant: 'v', params: { order: k.slice(6) } }, samples_ms: around(1, 60) }));
    const winners = [cands, [...cands].reverse(), [cands[1]!, cands[2]!, cands[0]!]].map((c) => selectWinner(c, (cfg) => complexity([{ name: 'v' }], cfg))!.key);
    assert.deepEqual(winners, ['v order=AB', 'v order=AB', 'v order=AB']);
  });

  it("with a cost model, ties go to the fewest threads, then to the model's favourite, whatever the order of candidates", () => {
    const variants = [{ name: 'v' }];
    const cfg = (order: string, threads: number) => ({ variant: 'v', params: { order, threads } });
    const cands = [cfg('AB', 2), cfg('BA', 2), cfg('CA', 2), cfg('CA', 1)].map((c) => ({ key: `v order=${c.params.order},threads=${c.params.threads}`, config: c, samples_ms: around(1, 60) }));
    const prior = new Map([
      ['v order=AB,threads=2', { mean: -1, sd: 0.1 }],
      ['v order=BA,threads=2', { mean: -3, sd: 0.1 }],
      ['v order=CA,threads=2', { mean: -2, sd: 0.1 }],
    ]);
    const pick = (cs: typeof cands) => selectWinner(cs, tieOrder(variants, prior))!.key;
    const twoThreads = cands.slice(0, 3);
    assert.deepEqual([pick(twoThreads), pick([...twoThreads].reverse())], ['v order=BA,threads=2', 'v order=BA,threads=2']);
    assert.equal(pick(cands), 'v order=CA,threads=1', 'fewer threads first, even against the favourite');
    // Without a model: the simplest, then the key.
    assert.equal(selectWinner(twoThreads, tieOrder(variants))!.key, 'v order=AB,threads=2');
  });

  it('a resumed tune counts the evaluations already in the database against the budget', async () => {
    const made: string[] = [];
    const v = timedVariant('spin', [1, 2, 3, 4, 5, 6], (m) => 0.02 * Number(m), made);
    const db = emptyDb();
    const problem = copyProblem({ N: 1, C: 4, H: 8, W: 8 });
    const measure = { timeMs: 10, minSamples: 5, warmupMs: 0 };
    const opts = { strategy: STRATEGIES.find((s) => s.name === 'random')!, seed: 3, budget: { evaluations: 3 }, measure, revalidate: false };
    const first = await tuneProblem(db, problem, [v], session, opts);
    assert.equal(first.evaluated, 3);
    const second = await tuneProblem(db, problem, [v], session, opts);
    assert.equal(second.reused, 3);
    assert.equal(second.evaluated, 0, 'the budget of 3 was spent by the first run');
    const more = await tuneProblem(db, problem, [v], session, { ...opts, budget: { evaluations: 5 } });
    assert.equal(more.evaluated, 2);
  });

  it('before it is stored, the winner and its close runners-up are re-measured side by side', async () => {
    const v = timedVariant('spin', ['a', 'b', 'c'], (m) => (m === 'c' ? 0.3 : 0.1));
    const db = emptyDb();
    const r = await tuneProblem(db, copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, {
      strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!,
      seed: 1,
      budget: {},
      measure: { timeMs: 20, minSamples: 5, warmupMs: 0 },
    });
    const re = r.winner!.confidence.revalidated!;
    assert.ok(re, 'revalidated');
    assert.ok(re.candidates.length >= 2 && re.candidates.every((k) => !k.startsWith('spin mode=c')), re.candidates.join());
    assert.ok(['spin mode=a', 'spin mode=b'].includes(r.winner!.key));
    // The same problem again with nothing new to measure (a suite where two layers share a
    // problem, or a resumed run): the re-validated winner is kept, not recomputed from the search.
    const again = await tuneProblem(db, copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, { strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!, seed: 1, budget: {} });
    assert.equal(again.evaluated, 0);
    assert.deepEqual(again.winner, r.winner);
  });

  it("under a time limit the side-by-side re-timing fits in what the search left of the problem's share, and the winner's record says what was cut", async () => {
    // Eight configurations within 15 % of one another: all are finalists, and contenders for fresh processes.
    const v = timedVariant('spin', [1, 2, 3, 4, 5, 6, 7, 8], (m) => 0.05 + 0.001 * Number(m));
    const asked: number[] = [];
    const elsewhere: SideBySideElsewhere = async (entries) => (asked.push(entries.length), []);
    const opts = { strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!, seed: 1, budget: {}, measure: { timeMs: 10, minSamples: 5, warmupMs: 0 }, elsewhere };
    const free = (await tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, opts)).winner!.confidence.revalidated!;
    assert.ok(free.candidates.length >= 4, free.candidates.join());
    assert.equal(free.rounds, REVALIDATION.rounds);
    assert.equal(free.time_limited, undefined);
    assert.equal(asked.length, FRESH_PROCESSES.count, 'fresh processes asked');
    asked.length = 0;
    // The share already spent by the search: the shortest re-timing, said.
    // (Processes that answer: each times a configuration as its parameter says.)
    const answering: SideBySideElsewhere = async (entries) => (asked.push(entries.length), entries.map((e) => ({ key: e.key, rounds: [1, 2, 3, 4].map(() => 0.05 + 0.001 * Number(e.config.params.mode)) })));
    const db = emptyDb();
    const r = await tuneProblem(db, copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, { ...opts, elsewhere: answering, deadline: performance.now() });
    const limited = r.winner!.confidence.revalidated!;
    assert.equal(limited.candidates.length, 3);
    assert.equal(limited.rounds, MIN_KEPT_ROUNDS);
    assert.ok(limited.candidates.includes(r.winner!.key));
    assert.match(limited.time_limited ?? '', /^this problem's share of the time limit: 3 of \d+ finalists, 3 of 6 rounds, no fresh processes$/);
    assert.equal(asked.length, 0, 'no fresh process asked');
    assert.equal(parseDb(snapshotText(db), 'db.json').entries[Object.keys(db.entries)[0]!]!.winner?.confidence.revalidated?.time_limited, limited.time_limited, 'a valid database keeps it');
    // Once the other problems are tuned: still no time left, nothing runs; time left, the
    // processes decide, and the database's winner says so.
    assert.ok(r.freshProcessesLater, 'the fresh processes can run later');
    assert.equal(await r.freshProcessesLater(performance.now()), undefined);
    assert.equal(asked.length, 0, 'no fresh process asked without time');
    const later = await r.freshProcessesLater(performance.now() + 60_000);
    assert.equal(asked.length, FRESH_PROCESSES.count, 'fresh processes asked');
    const across = later!.winner!.confidence.revalidated!;
    assert.equal(across.median_from, 'processes');
    assert.equal(across.processes, FRESH_PROCESSES.count + 1);
    assert.match(across.time_limited ?? '', /^this problem's share of the time limit: 3 of \d+ finalists, 3 of 6 rounds, fresh processes after the other problems$/);
    assert.deepEqual(parseDb(snapshotText(db), 'db.json').entries[Object.keys(db.entries)[0]!]!.winner, later!.winner, 'the database holds the later winner');
  });

  it('a finalist whose side-by-side timing is unstable cannot win, and the winner records why', async () => {
    // Mode b takes 0.085 ms a call in one side-by-side turn and 0.12 ms in its next (a pause of
    // 20 ms, the other finalist's turn, starts a new one): pooled, its samples form two clusters,
    // each turn's whole, so its median may fall in the faster one and beat mode a's 0.1 ms, but its
    // timing is unstable (two modes, or a median interval spanning both). (Switching on a clock
    // instead, samples spanning a switch fill the gap, and with enough of them the pooled samples
    // read as one heavy-tailed mode with a narrow median interval: stable, and faster than a.)
    const base = timedVariant('spin', ['a', 'b'], (m) => (m === 'a' ? 0.1 : 0.085));
    const v: KernelVariant = {
      ...base,
      async create(p, params, s) {
        const k = await base.create!(p, params, s);
        const run = k.run.bind(k);
        let slow = false;
        let lastCall = -Infinity;
        return {
          ...k,
          run(...args: Parameters<typeof k.run>) {
            const now = performance.now();
            if (now - lastCall > 20) slow = !slow;
            const r = run(...args);
            if (params.mode === 'b' && slow) {
              const end = performance.now() + 0.035;
              while (performance.now() < end);
            }
            lastCall = performance.now();
            return r;
          },
        };
      },
    };
    const r = await tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, {
      strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!,
      seed: 1,
      budget: {},
      measure: { timeMs: 20, minSamples: 5, warmupMs: 0 },
    });
    const re = r.winner!.confidence.revalidated!;
    assert.deepEqual([...re.candidates].sort(), ['spin mode=a', 'spin mode=b']);
    assert.equal(r.winner!.key, 'spin mode=a', JSON.stringify({ re, candidates: r.entry.candidates }));
    assert.match(re.unstable?.['spin mode=b'] ?? '', /bimodal|wider than the target|clean sample/, JSON.stringify(re));
    assert.equal(re.unstable?.['spin mode=a'], undefined);
  });

  it("side-by-side rounds that time the winner slow (a core's slow phase, or a disturbance no canary saw, by 50 % or by 6 %) still compare the finalists, and the winner keeps the lower of its two medians, its search's", async () => {
    let slow = false;
    let factor = 1.5;
    const v = timedVariant('spin', ['a', 'b'], (m) => (m === 'a' ? 0.1 : 0.104) * (slow ? factor : 1));
    // The disturbance starts with the side-by-side rounds: the finalists are made again in it.
    const tuneWith = (canary: (slowNow: boolean) => number) => {
      slow = false;
      return tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], { ...session, speedCanary: async () => ({ ratio: () => canary(slow) }) }, {
        strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!,
        seed: 1,
        budget: {},
        measure: { timeMs: 20, minSamples: 5, warmupMs: 0 },
        progress: (p) => void (p.current === 'finalists side by side' && (slow = true)),
      });
    };
    for (const [what, canary, by] of [
      ['a slow phase the canary sees', (slowNow: boolean) => (slowNow ? 1.5 : 1), 1.5],
      ['a disturbance no canary sees', () => 1, 1.5],
      ['rounds a few per cent slower', () => 1, 1.06],
      ['a slow phase the canary saw through the search too (its median kept as taken in one)', () => 1.5, 1.5],
    ] as const) {
      factor = by;
      const r = await tuneWith(canary);
      const w = r.winner!;
      assert.equal(w.confidence.revalidated?.median_from, 'search', what);
      const searched = Object.values(r.entry.candidates).find((c) => c.key === w.key)!;
      assert.equal(w.median_ms, searched.median_ms, what);
      if (canary(false) > 1) assert.match(searched.quality?.notes?.join(' ') ?? '', /taken while the speed canary ran over/, what);
      assert.ok(w.median_ms < 0.1 * Math.min(1.025, by), `${what}: ${w.median_ms}`);
    }
    // Rounds faster than the search: their median stands.
    factor = 0.9;
    const r = await tuneWith(() => 1);
    assert.equal(r.winner!.confidence.revalidated?.median_from, undefined);
    assert.ok(r.winner!.median_ms < 0.095, String(r.winner!.median_ms));
  });

  it('finalists: the winner, its ties and candidates within 25 % of the fastest, then up to two timed wholly in a slow phase within 2x', () => {
    const cand = (mode: string, median_ms: number, slow = false) => ({
      key: `spin mode=${mode}`,
      config: { variant: 'spin', params: { mode } },
      source_hash: null,
      state: 'verified' as const,
      median_ms,
      samples_ms: [median_ms],
      timing_method: 'tinybench',
      executed_flops: 1,
      quality: { stable: true, reasons: [], n_clean: 10, n_total: 10, set_aside: { preempted: 0, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: 0.01, target_rel: 0.02, ...(slow ? { notes: [`10 sample(s) ${SLOW_KEPT_NOTE} 1.2x its fastest kept: too few others to judge them against`] } : {}) },
    });
    const cands = [cand('a', 1), cand('b', 1.1), cand('c', 1.5, true), cand('d', 1.5), cand('e', 1.9, true), cand('f', 1.95, true), cand('g', 2.5, true)];
    const entry = { device: 'd', backend: 'cpu' as const, problem: problemRecord(copyProblem({ N: 1, C: 4, H: 8, W: 8 })), candidates: Object.fromEntries(cands.map((c) => [c.key, c])) };
    const winner = { key: 'spin mode=a', config: cands[0]!.config, median_ms: 1, confidence: { fastest: 'spin mode=a', tied: ['spin mode=a'], p_value: 1, ratio_ci: [1, 1] as const, p_vs_next: 0.01 } };
    const keys = finalistKeys(winner, entry, new Set(cands.map((c) => c.key)));
    assert.deepEqual(keys, ['spin mode=a', 'spin mode=b', 'spin mode=c', 'spin mode=e']);
    // With a cost model, its favourites among those timed in a slow phase come first (those it has no prediction for last).
    const predicted = (c: Config) => ({ f: 0.5, e: 0.9 })[c.params.mode as string];
    assert.deepEqual(finalistKeys(winner, entry, new Set(cands.map((c) => c.key)), predicted), ['spin mode=a', 'spin mode=b', 'spin mode=f', 'spin mode=e']);
  });

  it('across processes: a contender slower in every process is not tied; one whose ratio moves with the process is tied; one process decides nothing', () => {
    const rounds = (x: number) => [0.1, 0.102, 0.099, 0.101].map((t) => t * x);
    // b is 8 % slower than a in every process; c is 0.95x, 1.10x and 1.02x of a, process by process.
    const processes = [
      new Map([['a', rounds(1)], ['b', rounds(1.08)], ['c', rounds(0.95)]]),
      new Map([['a', rounds(1)], ['b', rounds(1.081)], ['c', rounds(1.1)]]),
      new Map([['a', rounds(1)], ['b', rounds(1.079)], ['c', rounds(1.02)]]),
    ];
    const v = acrossProcesses(processes, ['a', 'b', 'c'])!;
    assert.equal(v.fastest, 'a');
    assert.ok(Math.abs(v.ratio.get('b')! - 1.08) < 0.002, String(v.ratio.get('b')));
    assert.equal(v.tied.has('b'), false);
    assert.ok(v.tied.has('c') && v.tied.get('c')![0] < 1 && v.tied.get('c')![1] > 1.1, JSON.stringify([...v.tied]));
    // c is a's fastest rival in one process; over three, a is faster (geometric mean 1.02).
    assert.ok(Math.abs(v.ratio.get('c')! - Math.cbrt(0.95 * 1.1 * 1.02)) < 1e-9);
    assert.equal(acrossProcesses(processes.slice(0, 1), ['a', 'b', 'c']), undefined);
    // A process that did not measure the reference (the tune's fastest) is left out.
    assert.equal(acrossProcesses([processes[0]!, new Map([['b', rounds(1)], ['c', rounds(1)]])], ['a', 'b', 'c']), undefined);
  });

  it('contenders re-timed in fresh processes: the verdict across processes chooses the winner and its median; without answers the tune decides on its own rounds', async () => {
    const v = timedVariant('spin', ['a', 'b'], (m) => (m === 'a' ? 0.1 : 0.102));
    const asked: { keys: string[]; rounds: number }[] = [];
    // Every other process times b 10 % faster than a: the tune's own process is the odd one out.
    const elsewhere: SideBySideElsewhere = async (entries, o) => {
      asked.push({ keys: entries.map((e) => e.key), rounds: o.rounds });
      return entries.map((e) => ({ key: e.key, rounds: Array.from({ length: o.rounds }, () => (e.key.endsWith('=b') ? 0.09 : 0.1)) }));
    };
    const tune = (o: { elsewhere?: SideBySideElsewhere }) =>
      tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, { strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!, seed: 1, budget: {}, measure: { timeMs: 20, minSamples: 5, warmupMs: 0 }, ...o });
    const r = await tune({ elsewhere });
    assert.equal(asked.length, FRESH_PROCESSES.count);
    assert.deepEqual(asked[0]!.keys.sort(), ['spin mode=a', 'spin mode=b']);
    assert.equal(asked[0]!.rounds, FRESH_PROCESSES.rounds);
    const w = r.winner!;
    assert.equal(w.key, 'spin mode=b');
    assert.equal(w.confidence.fastest, 'spin mode=b');
    const re = w.confidence.revalidated!;
    assert.equal(re.processes, 1 + FRESH_PROCESSES.count);
    assert.equal(re.median_from, 'processes');
    // The median over the processes: this one's (about 0.102, first) and the others' 0.09, each recorded.
    assert.ok(Math.abs(w.median_ms - 0.09) < 1e-12, String(w.median_ms));
    assert.equal(re.process_medians_ms?.length, 1 + FRESH_PROCESSES.count);
    assert.ok(re.process_medians_ms![0]! > 0.095 && re.process_medians_ms!.slice(1).every((m) => m === 0.09), JSON.stringify(re.process_medians_ms));
    // a: 1.11x of b in the fresh processes, about 0.98x in this one: the processes cannot exclude a tie, but it is not within 3 %.
    assert.ok(w.confidence.tied.includes('spin mode=a'), JSON.stringify(w.confidence));
    assert.ok(re.process_ratio_ci?.['spin mode=a'], JSON.stringify(re));
    // No other process answered: this one's rounds decide, as without fresh processes.
    const alone = await tune({ elsewhere: async () => [] });
    assert.equal(alone.winner!.confidence.revalidated!.processes, undefined);
    assert.notEqual(alone.winner!.confidence.revalidated!.median_from, 'processes');
  });

  it("processes that timed the winner only in a core's slow phase are left out of its median, and counted", async () => {
    const v = timedVariant('spin', ['a', 'b'], (m) => (m === 'a' ? 0.1 : 0.11));
    // Every fresh process runs in a slow phase: the same ratio of b to a, both 1.8x slow, the speed canary saying so (all rounds or one).
    const slowly = (flag: (round: number) => boolean): SideBySideElsewhere => async (entries, o) =>
      entries.map((e) => ({ key: e.key, rounds: Array.from({ length: o.rounds }, () => 1.8 * (e.key.endsWith('=b') ? 0.11 : 0.1)), slow: Array.from({ length: o.rounds }, (_, r) => flag(r)) }));
    const tune = (elsewhere: SideBySideElsewhere) =>
      tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, { strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!, seed: 1, budget: {}, measure: { timeMs: 20, minSamples: 5, warmupMs: 0 }, elsewhere });
    const r = await tune(slowly(() => true));
    const w = r.winner!;
    const re = w.confidence.revalidated!;
    assert.equal(w.key, 'spin mode=a');
    assert.equal(re.processes, 1 + FRESH_PROCESSES.count);
    // This process's rounds (about 0.1 ms) alone give the median; the two slow ones are counted, not used.
    assert.equal(re.slow_phase_processes, FRESH_PROCESSES.count, JSON.stringify(re));
    assert.equal(re.process_medians_ms?.length, 1, JSON.stringify(re));
    assert.ok(w.median_ms < 0.12, String(w.median_ms));
    // A process with one slow round keeps its other rounds: none is left out.
    const partly = (await tune(slowly((round) => round === 0))).winner!;
    assert.equal(partly.confidence.revalidated!.slow_phase_processes, undefined);
    assert.equal(partly.confidence.revalidated!.process_medians_ms?.length, 1 + FRESH_PROCESSES.count);
    assert.ok(partly.confidence.revalidated!.process_medians_ms!.slice(1).every((m) => Math.abs(m - 0.18) < 1e-9), JSON.stringify(partly.confidence.revalidated));
    // Their median, 0.18 ms, is over the search's stable 0.1 ms: a slowdown the canary missed only adds time, and the search's is kept.
    assert.equal(partly.confidence.revalidated!.median_from, 'search');
    assert.ok(partly.median_ms < 0.12, String(partly.median_ms));
  });

  it('a fresh process verifies and times real CPU finalists side by side, and measures nothing on another device', async () => {
    const run = await openBackend(backendEntry('cpu'));
    try {
      const problem = neoCellProblem({ N: 1, C: 8, H: 14, W: 14, spec: '7' });
      const configs = buildSpace(problem, run.backend.variants, run.session).configs.slice(0, 2);
      const entries = configs.map((config) => ({ key: configKey(config), config }));
      const measure = sideBySideInFreshProcess('cpu', deviceFingerprint(run.session.device), problem, 1)!;
      const got = await measure(entries, { rounds: 2, roundMs: 5, discardRounds: 1 });
      assert.deepEqual(got.map((f) => f.key).sort(), entries.map((e) => e.key).sort());
      for (const f of got) assert.ok(f.rounds.length === 2 && f.rounds.every((t) => t > 0), JSON.stringify(f));
      assert.deepEqual(await sideBySideInFreshProcess('cpu', 'another device', problem, 1)!(entries, { rounds: 2, roundMs: 5 }), []);
      assert.equal(sideBySideInFreshProcess('webgpu-browser', deviceFingerprint(run.session.device), problem, 1), undefined, 'a backend that starts Chromium is not re-opened per problem');
    } finally {
      await run.session.close();
    }
  });

  it('a busy machine prunes thread counts it cannot give now, with the reason', async () => {
    const v: KernelVariant = { ...timedVariant('spin', [1], () => 0.01), params: () => [{ name: 'threads', values: [1, 2], doc: '' }], defaults: () => ({ threads: 1 }) };
    const r = await tuneProblem(emptyDb(), copyProblem({ N: 1, C: 4, H: 8, W: 8 }), [v], session, {
      strategy: STRATEGIES.find((s) => s.name === 'exhaustive')!,
      seed: 1,
      budget: {},
      measure: { timeMs: 5, minSamples: 5, warmupMs: 0 },
      maxThreads: 1,
      threadsReason: 'busy (1.2 of 2 cores free)',
      revalidate: false,
    });
    assert.equal(r.space.configs.length, 1);
    assert.match(r.space.pruned[0]!.reason, /threads=2: busy \(1\.2 of 2 cores free\)/);
  });
});

describe('the pool claim protocol', () => {
  it('a part is claimed once per call, and a worker late for an old call cannot take a part of a newer one', () => {
    const ctl = new Int32Array(CTL.claims + 4);
    assert.equal(claimPart(ctl, 1, 1), true);
    assert.equal(claimPart(ctl, 1, 1), false, 'already claimed for call 1');
    assert.equal(claimPart(ctl, 1, 3), true, 'the caller took it over for call 3');
    assert.equal(claimPart(ctl, 1, 2), false, 'a worker that slept through call 2 finds nothing to do');
    assert.equal(Atomics.load(ctl, CTL.claims + 1), 3, 'claims never move back');
  });
});

describe('the CI gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neotune-gate-'));
  const file = (name: string, records: ResultRecord[]) => {
    const path = join(dir, name);
    const f: ResultFile = { schema: 'neotune-results', version: 2, created: '', command: 'test', environment: { cpu: '', cores: 2, memory_gib: 1, os: '', node: '', v8: '' }, records };
    writeFileSync(path, JSON.stringify(f));
    return path;
  };
  const unstable = { stable: false, reasons: ['x'], n_clean: 3, n_total: 60, set_aside: { preempted: 57, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal' as const, ci_rel: null, target_rel: 0.02 };

  it('nothing matched, an empty head, or only unstable timings: exit 6 with the reason (a gate that compared nothing must not pass)', () => {
    const base = file('base.json', [record('fused-wasm', 'neocell', 1)]);
    const other = file('other.json', [record('sparse-wasm', 'neocell', 1)]);
    const empty = file('empty.json', []);
    const shaky = file('shaky.json', [record('fused-wasm', 'neocell', 2, { quality: unstable })]);
    for (const head of [other, empty, shaky]) {
      const r = neotune('compare', base, head);
      assert.equal(r.code, 6, `${head}: ${r.out}${r.err}`);
      assert.match(r.err, /nothing was compared: (no record of the head file matches|none of the 1 matched records has a usable timing)/);
    }
  });

  it('a regression exits 5, distinct from an internal error (1)', () => {
    const base = file('b.json', [record('fused-wasm', 'neocell', 1, { samples_ms: around(1, 80) })]);
    const head = file('h.json', [record('fused-wasm', 'neocell', 1.5, { samples_ms: around(1.5, 80) })]);
    const r = neotune('compare', base, head);
    assert.equal(r.code, 5, r.out + r.err);
    assert.equal(neotune('compare', base, base).code, 0);
  });
});

/** Resolves once process `pid` has run on a CPU for 50 ms (/proc/PID/stat utime), or after 3 s where that cannot be read. */
async function spinning(pid: number): Promise<void> {
  const ticksPerSecond = 100;
  const end = performance.now() + 3000;
  while (performance.now() < end) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[11]) >= 0.05 * ticksPerSecond) return;
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a bench run with an injected busy core', () => {
  // One busy process per core but one: this process can get clearly fewer cores than the machine has.
  const burners: ChildProcess[] = [];
  before(async () => {
    for (let i = 0; i < Math.max(1, availableParallelism() - 1); i++) burners.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    // The bench starts once every burner is seen spinning (its CPU time in /proc has grown).
    await Promise.all(burners.map((b) => spinning(b.pid!)));
  });
  after(() => {
    for (const b of burners) b.kill('SIGKILL');
  });

  it('says the machine is busy; no % of peak above 100, no speedup from a flagged timing; the 2-thread ceiling is right or marked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-busy-'));
    const json = join(dir, 'r.json');
    const r = neotune('bench', '--backend', 'cpu', '--suite', 'smoke', '-k', 'fused-wasm,sparse-wasm,dwconv-wasm,copy', '--params', 'threads=2', '--time', '60', '--out', json);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err + r.out, /machine busy: this process could get \d\.\d of \d+ cores/);
    const f = JSON.parse(readFileSync(json, 'utf8')) as ResultFile;
    assert.equal(f.environment.load?.before.busy, true);
    for (const row of summarize(f.records, f.ceilings ?? [])) {
      if (row.peakFraction !== undefined) assert.ok(row.peakFraction <= 1, `${row.case}: ${row.peakFraction}`);
      if (row.speedupVsDwconv !== undefined) assert.ok(trusted(row.best!) && [...row.dwconvs.values()].some(trusted));
    }
    for (const m of r.out.matchAll(/(\d+) %/g)) assert.ok(Number(m[1]) <= 100, `table shows ${m[0]}`);
    const ceilings = f.ceilings ?? [];
    for (const two of ceilings.filter((c) => c.params.threads === 2)) {
      const one = ceilings.find((c) => c.params.threads === 1 && c.params.madd === two.params.madd)!;
      assert.ok(two.flags!.length > 0 || two.gflops >= 1.3 * one.gflops, `2-thread ${two.gflops} vs 1-thread ${one.gflops}, unflagged`);
    }
    // Every timed record carries its evidence summary: clean/total samples and what was set aside.
    for (const rec of f.records.filter((x) => x.median_ms !== undefined)) assert.ok(rec.quality && rec.quality.n_total >= rec.quality.n_clean);
  });
});
