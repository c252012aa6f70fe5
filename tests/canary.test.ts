/**
 * The speed canary: samples taken while it runs slow are set aside, the CPU backend attaches one
 * per thread count to every kernel it times, its fastest time is remembered across processes (for
 * a day, never written through a planted link).
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createKernel } from '../harness/compile.js';
import { measureKernel } from '../harness/evaluate.js';
import { dwconvProblem, makeProblemData, neoCellProblem } from '../harness/problem.js';
import { assessTiming, CANARY_UNRELATED_NOTE, disturbance, SLOW_MACHINE_RATIO } from '../harness/stability.js';
import type { SampleEvidence, SampleProbe } from '../harness/types.js';
import { measureAdaptive, waitForFastPhase } from '../harness/timing.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { FLOOR_MAX_AGE_MS, rememberedFloor, rememberFloor } from '../kernels/cpu/canary-floor.js';
import { judgingSpeed, OWN_LEVEL_AFTER_MS, type WasmSpeedCanary, WindowedSpeed } from '../kernels/cpu/wasm/canary.js';

const clean = (wall_ms: number, canary?: number): SampleEvidence => ({ switches: 0, cpu_ms: wall_ms, wall_ms, ...(canary !== undefined ? { canary } : {}) });

describe('speed canary: slow phases set aside', () => {
  it('a sample after which the canary ran more than SLOW_MACHINE_RATIO times its fastest is set aside as slow_machine', () => {
    assert.equal(disturbance(clean(0.5, 1)), undefined);
    assert.equal(disturbance(clean(0.5, SLOW_MACHINE_RATIO - 0.01)), undefined);
    assert.equal(disturbance(clean(0.5, 1.45)), 'slow_machine');
    // A slow phase: 20 samples at 1.6x with the canary at 1.5x, 30 at the kernel's speed.
    const samples = [...Array.from({ length: 20 }, () => 1.6), ...Array.from({ length: 30 }, (_, i) => 1 + 0.001 * (i % 3))];
    const evidence = samples.map((s) => clean(s, s > 1.5 ? 1.5 : 1.02));
    const { quality, clean: kept } = assessTiming(samples, evidence);
    assert.equal(quality.set_aside.slow_machine, 20);
    assert.equal(quality.n_clean, 30);
    assert.ok(Math.max(...kept) < 1.01);
    // Without the canary's evidence the same samples read as two modes.
    assert.equal(assessTiming(samples, samples.map((s) => clean(s))).quality.shape, 'bimodal');
  });

  it('marks the kernel ran no slower in are kept and said; marks of a slower kernel are set aside; a few marks are set aside as marked', () => {
    // The canary over 1.2x after every third sample, the kernel at the same speed throughout (on the
    // Xeon VM: the canary slower in one process for a reason of its own).
    const samples = Array.from({ length: 60 }, (_, i) => 1 + 0.001 * (i % 7));
    const unrelated = assessTiming(samples, samples.map((s, i) => clean(s, i % 3 === 0 ? 1.3 : 1.05)));
    assert.equal(unrelated.quality.n_clean, 60);
    assert.equal(unrelated.quality.set_aside.slow_machine, 0);
    assert.match(unrelated.quality.notes?.join(' ') ?? '', new RegExp(`20 sample\\(s\\) ${CANARY_UNRELATED_NOTE.replace(/[()]/g, '\\$&')}`));
    // The same marks on samples 5 % slower: a slow phase; set aside.
    const slower = samples.map((s, i) => (i % 3 === 0 ? 1.05 * s : s));
    const related = assessTiming(slower, slower.map((s, i) => clean(s, i % 3 === 0 ? 1.3 : 1.05)));
    assert.equal(related.quality.set_aside.slow_machine, 20);
    assert.equal(related.quality.n_clean, 40);
    // Four marks are too few to weigh: set aside as marked, however fast.
    const few = assessTiming(samples, samples.map((s, i) => clean(s, i < 4 ? 1.3 : 1.05)));
    assert.equal(few.quality.set_aside.slow_machine, 4);
  });

  it('a measurement taken wholly in a slow phase keeps its samples (nothing faster to judge them by) and says so', () => {
    const samples = Array.from({ length: 40 }, (_, i) => 1.5 + 0.001 * (i % 4));
    const evidence = samples.map((s, i) => clean(s, i < 35 ? 1.4 : 1.05));
    const { quality, clean: kept } = assessTiming(samples, evidence);
    assert.equal(kept.length, 40);
    assert.equal(quality.set_aside.slow_machine, 0);
    assert.equal(quality.stable, true);
    assert.match(quality.notes?.join(' ') ?? '', /35 sample\(s\) taken while the speed canary ran over 1\.2x its fastest kept/);
  });

  it('adaptive measurement: samples all taken in a slow phase are measured again once the canary reads fast, and then set aside', async () => {
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    // The core is "slow" (the canary at 1.5x, the kernel at 0.04 ms) for the first 80 ms, then fast (1.0x, 0.02 ms).
    const start = performance.now();
    const slow = () => performance.now() - start < 80;
    const probe: SampleProbe = { read: () => ({ switches: 0, cpu_ms: performance.now() }), canary: { ratio: () => (slow() ? 1.5 : 1) } };
    const t = await measureAdaptive({ run: () => spin(slow() ? 0.04 : 0.02) }, { timeMs: 20, minSamples: 5, warmupMs: 0, adaptive: { targetRelHalfWidth: 0.05, maxMs: 400 } }, probe);
    const { quality, clean: kept } = assessTiming(t.samples_ms, t.evidence, 0.05);
    assert.ok(Number(/adaptive: (\d+) round/.exec(t.method)?.[1]) >= 2, t.method);
    assert.ok(quality.set_aside.slow_machine > 0, JSON.stringify(quality));
    const median = [...kept].sort((a, b) => a - b)[kept.length >> 1]!;
    assert.ok(quality.n_clean >= 10 && median < 0.03, `${quality.n_clean} clean, median ${median} ms`);
  });

  it('the CPU backend times every kernel with the canary of its thread count (a peer with the one-thread canary), and each sample carries its reading', async () => {
    const session = await cpuBackend.open();
    try {
      const problem = neoCellProblem({ N: 1, C: 64, H: 14, W: 14, spec: '4+7' });
      const variant = cpuBackend.variants.find((v) => v.name === 'fused-wasm')!;
      const kernel = await createKernel(variant, problem, { ...variant.defaults(problem, session.device), threads: 1 }, session);
      try {
        assert.ok(kernel.canary, 'the kernel has a canary');
        assert.equal(kernel.canary, await session.speedCanary!(1), 'one canary per thread count and session');
        await kernel.prepare(makeProblemData(problem, 1));
        const t = await measureKernel(kernel, { timeMs: 30, minSamples: 10, warmupMs: 5 });
        assert.equal(t.evidence?.length, t.samples_ms.length);
        for (const e of t.evidence!) assert.ok(e.canary !== undefined && e.canary >= 1, `canary reading ${e.canary}`);
      } finally {
        await kernel.dispose();
      }
      // A peer brings its own threads: it gets the one-thread canary (no worker pool spinning next to them).
      const ort = cpuBackend.variants.find((v) => v.name === 'ort-dwconv')!;
      const dw = dwconvProblem({ N: 1, C: 32, H: 14, W: 14, K: 7 });
      const peer = await createKernel(ort, dw, { ...ort.defaults(dw, session.device), threads: 2 }, session);
      try {
        assert.equal(peer.canary, await session.speedCanary!(1));
      } finally {
        await peer.dispose();
      }
    } finally {
      await session.close();
    }
  });
});

describe("speed canary: the canary's own speed", () => {
  it('is the fastest 10th percentile of a window of 32 readings: one lucky reading does not set it, a faster window does', () => {
    const speed = new WindowedSpeed();
    for (let i = 0; i < 31; i++) speed.add(2 + 0.01 * i);
    assert.equal(speed.fastestMs, Infinity, 'no full window yet');
    speed.add(1.5);
    assert.equal(speed.fastestMs, 2.02, "the window's 4th fastest, not its 1.5");
    for (let i = 0; i < 32; i++) speed.add(i < 3 ? 1.5 : 2.2);
    assert.equal(speed.fastestMs, 2.02, 'a window with only 3 fast readings does not move it');
    for (let i = 0; i < 32; i++) speed.add(1.9);
    assert.equal(speed.fastestMs, 1.9);
  });

  it("is judged against the remembered speed, unless the process has watched it run well above that for OWN_LEVEL_AFTER_MS (the machine's level, not a phase)", () => {
    const remembered = 1.78;
    assert.equal(judgingSpeed(2.25, remembered, 1000), remembered, 'a young process may have started in a slow phase');
    assert.equal(judgingSpeed(2.25, remembered, OWN_LEVEL_AFTER_MS), 2.25, 'slower than the remembered speed for that long: its own');
    assert.equal(judgingSpeed(2.0, remembered, 60_000), remembered, 'within SLOW_MACHINE_RATIO of it: still the remembered one');
    assert.equal(judgingSpeed(1.7, remembered, 60_000), 1.7, 'faster than remembered: its own');
  });

  it('a wait for a fast phase that ran out is not repeated at once on the same canary; one that reads fast ends the backoff', async () => {
    let slow = true;
    const canary = { ratio: () => (slow ? 1.5 : 1) };
    let t = performance.now();
    await waitForFastPhase(canary, t + 60);
    assert.ok(performance.now() - t >= 45, 'the first wait runs to its deadline');
    t = performance.now();
    await waitForFastPhase(canary, t + 60);
    assert.ok(performance.now() - t < 30, 'the next, right after, does not wait');
    const other = { ratio: () => 1.5 };
    t = performance.now();
    await waitForFastPhase(other, t + 60);
    assert.ok(performance.now() - t >= 45, 'another canary waits');
    slow = false;
    await waitForFastPhase(canary, performance.now() + 60);
    slow = true;
    t = performance.now();
    await waitForFastPhase(canary, t + 60);
    assert.ok(performance.now() - t >= 45, 'read fast once: it is waited on again');
  });

  it('a fresh CPU session has its canary speed before the first sample is judged', async () => {
    const before = process.env.NEOTUNE_CACHE_DIR;
    process.env.NEOTUNE_CACHE_DIR = mkdtempSync(join(tmpdir(), 'neotune-canary-'));
    const session = await cpuBackend.open();
    try {
      const canary = (await session.speedCanary!(1)) as WasmSpeedCanary;
      assert.ok(canary.ownFastestMs > 0 && Number.isFinite(canary.ownFastestMs), String(canary.ownFastestMs));
      assert.ok(canary.ratio() > 0.5, 'the first reading is judged against a settled speed, not against itself');
    } finally {
      await session.close();
      if (before === undefined) delete process.env.NEOTUNE_CACHE_DIR;
      else process.env.NEOTUNE_CACHE_DIR = before;
    }
  });
});

describe('speed canary: the fastest time remembered across processes', () => {
  it('keeps the fastest, a day after it was last confirmed; a slower time within 10 % confirms it, a much slower one changes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-canary-'));
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    assert.equal(rememberedFloor('cpu t1', dir, t0), undefined);
    rememberFloor('cpu t1', 0.002, dir, t0);
    assert.equal(rememberedFloor('cpu t1', dir, t0 + 1000), 0.002);
    rememberFloor('cpu t1', 0.003, dir, t0 + FLOOR_MAX_AGE_MS / 2);
    assert.equal(rememberedFloor('cpu t1', dir, t0 + FLOOR_MAX_AGE_MS + 1), undefined, 'a slow process does not renew it');
    rememberFloor('cpu t1', 0.00215, dir, t0 + FLOOR_MAX_AGE_MS / 2);
    assert.equal(rememberedFloor('cpu t1', dir, t0 + FLOOR_MAX_AGE_MS + 1), 0.002, 'within 10 %: confirmed, the day starts again');
    rememberFloor('cpu t1', 0.0018, dir, t0 + FLOOR_MAX_AGE_MS);
    assert.equal(rememberedFloor('cpu t1', dir, t0 + FLOOR_MAX_AGE_MS), 0.0018);
    // Another thread count is its own entry; an expired entry is replaced by whatever runs next.
    rememberFloor('cpu t2', 0.0025, dir, t0);
    assert.equal(rememberedFloor('cpu t1', dir, t0 + FLOOR_MAX_AGE_MS), 0.0018);
    rememberFloor('cpu t2', 0.004, dir, t0 + 3 * FLOOR_MAX_AGE_MS);
    assert.equal(rememberedFloor('cpu t2', dir, t0 + 3 * FLOOR_MAX_AGE_MS), 0.004);
  });

  it('a corrupt cache reads as empty; a link planted at the cache file is replaced, its target untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-canary-'));
    writeFileSync(join(dir, 'speed-canary.json'), '{"cpu t1": {"ms": "fast"}, "x": [');
    assert.equal(rememberedFloor('cpu t1', dir), undefined);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me\n');
    const linkDir = mkdtempSync(join(tmpdir(), 'neotune-canary-'));
    symlinkSync(victim, join(linkDir, 'speed-canary.json'));
    rememberFloor('cpu t1', 0.002, linkDir);
    assert.equal(readFileSync(victim, 'utf8'), 'keep me\n');
    assert.ok(lstatSync(join(linkDir, 'speed-canary.json')).isFile());
    assert.equal(rememberedFloor('cpu t1', linkDir), 0.002);
  });

  it("a session remembers its canary's fastest time as soon as the canary is made, before the session closes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-canary-'));
    const before = process.env.NEOTUNE_CACHE_DIR;
    process.env.NEOTUNE_CACHE_DIR = dir;
    const session = await cpuBackend.open();
    try {
      const canary = await session.speedCanary!(1);
      canary.ratio();
      const saved = JSON.parse(readFileSync(join(dir, 'speed-canary.json'), 'utf8')) as Record<string, { ms: number }>;
      const [key, entry] = Object.entries(saved).find(([k]) => k.includes('threads=1'))!;
      assert.ok(entry.ms > 0 && rememberedFloor(key, dir) === entry.ms, key);
    } finally {
      await session.close();
      if (before === undefined) delete process.env.NEOTUNE_CACHE_DIR;
      else process.env.NEOTUNE_CACHE_DIR = before;
    }
  });
});
