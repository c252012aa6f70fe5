/**
 * CPU timing through tinybench. Kernels faster than the timer's useful resolution are batched: one
 * sample is the mean of `inner` back-to-back calls, reported through tinybench's
 * `overriddenDuration` so its statistics stay per call.
 */
import { Bench } from 'tinybench';
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
