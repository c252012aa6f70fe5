/**
 * Is the machine busy right now? A short calibration: one spinning thread per core for CAL_MS of
 * wall time; the process CPU time they obtained, over that time, is the number of cores this
 * process can get now (2.0 on an idle 2-core machine, about 1.3 with one other busy process, 1.0
 * with two). The load average is recorded next to it. Run before and after a benchmark; the result
 * goes into the result file's environment, a busy machine is said at the top of the output, and
 * tuning leaves out thread counts the machine cannot give now.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Wall time each calibration thread spins. */
const CAL_MS = 120;

export interface MachineLoad {
  /** Logical cores of the machine. */
  readonly cores: number;
  /** Cores this process obtained with one spinning thread per core, just now. */
  readonly available_cores: number;
  /** 1-minute load average (other processes' demand, smoothed over a minute). */
  readonly load_average: number;
  readonly busy: boolean;
  /** Thread counts above this are not tuned now (at least 1). */
  readonly usable_threads: number;
  readonly measured_at: string;
}

const SPINNER = `
const { workerData } = require('node:worker_threads');
const ctl = new Int32Array(workerData.ctl);
Atomics.wait(ctl, 0, 0);
const end = performance.now() + workerData.ms;
let x = 0;
while (performance.now() < end) x++;
Atomics.add(ctl, 1, 1);
Atomics.notify(ctl, 1);
Atomics.wait(ctl, 2, 0);
`;

export async function measureLoad(cores = availableParallelism()): Promise<MachineLoad> {
  const ctl = new Int32Array(new SharedArrayBuffer(12));
  const workers = Array.from({ length: cores }, () => new Worker(SPINNER, { eval: true, workerData: { ctl: ctl.buffer, ms: CAL_MS } }));
  try {
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => (w.once('online', resolve), w.once('error', reject)))));
    const before = process.cpuUsage();
    const t0 = performance.now();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    // Blocked, not spinning: this thread must not take a core from the calibration.
    for (let done = Atomics.load(ctl, 1); done < cores; done = Atomics.load(ctl, 1)) {
      Atomics.wait(ctl, 1, done, 5_000);
      if (performance.now() - t0 > 10_000) break;
    }
    // The spinners are blocked now, so their CPU time is final (Linux adds a running thread's time at its ticks).
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    const available = Math.min(cores, cpuMs / CAL_MS);
    const rounded = Math.round(available * 100) / 100;
    // A thread count is usable when about that many cores are free (a quarter core of slack).
    const usable = Math.max(1, Math.min(cores, Math.floor(available + 0.25)));
    return {
      cores,
      available_cores: rounded,
      load_average: Math.round(loadavg()[0]! * 100) / 100,
      busy: usable < cores,
      usable_threads: usable,
      measured_at: new Date().toISOString(),
    };
  } finally {
    Atomics.store(ctl, 2, 1);
    Atomics.notify(ctl, 2);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One line for the top of the output; undefined when the machine is not busy. */
export function busyWarning(load: MachineLoad): string | undefined {
  if (!load.busy) return undefined;
  return `machine busy: this process could get ${load.available_cores.toFixed(1)} of ${load.cores} cores just now (1-minute load average ${load.load_average.toFixed(2)}); disturbed samples are set aside and unstable timings are flagged, but expect fewer clean samples and more "?"`;
}
