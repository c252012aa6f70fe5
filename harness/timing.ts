/**
 * CPU timing through tinybench. Kernels faster than the timer's useful resolution are batched: one
 * sample is the mean of `inner` back-to-back calls, reported through tinybench's
 * `overriddenDuration` so its statistics stay per call.
 */
import { Bench } from 'tinybench';
import { medianInterval } from './stats.js';
import type { DeviceTiming, KernelInstance, MeasureOptions } from './types.js';

/** Samples shorter than this are batched (performance.now() granularity and call overhead). */
const MIN_SAMPLE_MS = 0.05;

export async function measureWithTinybench(kernel: Pick<KernelInstance, 'run'>, opts: MeasureOptions): Promise<DeviceTiming> {
  // Estimate one call to choose the batch size.
  const t0 = performance.now();
  await kernel.run();
  const once = Math.max(performance.now() - t0, 1e-4);
  const inner = Math.max(1, Math.min(1000, Math.ceil(MIN_SAMPLE_MS / once)));
  const bench = new Bench({
    time: opts.timeMs,
    iterations: opts.minSamples,
    warmupTime: opts.warmupMs,
    // Generated JS needs a few calls before V8 optimises it (OSR, then TurboFan).
    warmupIterations: 16,
    retainSamples: true,
    throws: true,
  });
  const run = kernel.run.bind(kernel);
  const isAsync = run() instanceof Promise;
  if (isAsync) {
    bench.add('kernel', async () => {
      const s = bench.now();
      for (let i = 0; i < inner; i++) await run();
      const d = bench.now() - s;
      return { overriddenDuration: d / inner, overriddenIterationCost: d };
    });
  } else {
    bench.add('kernel', () => {
      const s = bench.now();
      for (let i = 0; i < inner; i++) run();
      const d = bench.now() - s;
      return { overriddenDuration: d / inner, overriddenIterationCost: d };
    });
  }
  await bench.run();
  const task = bench.tasks[0]!;
  const r = task.result;
  if (r.state !== 'completed') {
    throw new Error(`tinybench task ended in state ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
  }
  return { samples_ms: [...(r.latency.samples ?? [])], method: inner > 1 ? `tinybench (mean of ${inner} calls per sample)` : 'tinybench' };
}

/**
 * Adaptive sampling around measureWithTinybench: rounds of opts.timeMs (warm-up only before the
 * first) until the median's confidence interval is narrow enough or the time cap is reached. The
 * method string records how many rounds it took and the interval reached.
 */
export async function measureAdaptive(kernel: Pick<KernelInstance, 'run'>, opts: MeasureOptions): Promise<DeviceTiming> {
  const target = opts.adaptive?.targetRelHalfWidth ?? 0.02;
  const cap = opts.adaptive?.maxMs ?? 4 * opts.timeMs;
  const start = performance.now();
  const samples: number[] = [];
  let method = '';
  let rounds = 0;
  let rel = Infinity;
  do {
    const t = await measureWithTinybench(kernel, rounds === 0 ? opts : { ...opts, warmupMs: 0 });
    samples.push(...t.samples_ms);
    method = t.method;
    rounds++;
    const ci = medianInterval(samples);
    rel = Math.max(ci.hi - ci.median, ci.median - ci.lo) / ci.median;
  } while (rel > target && performance.now() - start < cap);
  return { samples_ms: samples, method: `${method}, adaptive: ${rounds} round(s), median CI ±${(100 * rel).toFixed(1)} %` };
}

/** Host-clock timing of run() as the options ask: adaptive rounds when opts.adaptive is set, else one tinybench task. */
export function measureHostClock(kernel: Pick<KernelInstance, 'run'>, opts: MeasureOptions): Promise<DeviceTiming> {
  return opts.adaptive ? measureAdaptive(kernel, opts) : measureWithTinybench(kernel, opts);
}
