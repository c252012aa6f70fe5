/**
 * Worker threads that run the same WebAssembly kernel on one shared memory, each over its own
 * channel range ("part"). Threads are synchronised through a small SharedArrayBuffer of counters,
 * never through messages: a kernel call on this backend takes tens of microseconds, a message round
 * trip about as much. Workers spin while calls keep coming (waking a sleeping thread costs
 * milliseconds on a VM) and go to sleep on Atomics.wait after SPIN_MS without work.
 *
 * Pre-emption: on a busy machine a worker can be descheduled for a whole scheduler slice (4–12 ms
 * on the 2-core VMs this runs on). Two things keep that from stalling every call:
 *  - parts are claimed, not assigned: a part is run by whoever claims it first for the current
 *    call (compare-and-swap of its claim word to the call's generation). The calling thread runs
 *    part 0, then claims every part no worker has started yet and runs it itself, so a
 *    descheduled or sleeping worker costs the call nothing;
 *  - the calling thread waits for parts already started with bounded spinning, then a blocking
 *    Atomics.wait, which gives its core to the worker it is waiting for.
 * Both are counted (stats()): the time spent waiting for workers and the parts taken over are
 * evidence the harness records with each timing sample.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { WasmCall } from './runtime.js';

/** Control words (Int32Array indices) shared with worker.ts; claims[p] at CTL.claims + p, p = 0 … size. */
export const CTL = { generation: 0, pending: 1, command: 2, kernel: 3, failed: 4, sleeping: 8, claims: 8 + 64 } as const;
export const COMMAND = { run: 1, load: 2, drop: 3 } as const;
export const SPIN_MS = 20;
/** The calling thread spins this long for started parts, then blocks (gives its core away). */
export const WAIT_SPIN_MS = 0.05;
/** A worker that has not finished a call after this long is reported as hung, not waited for. */
const HUNG_MS = 60_000;

export interface LoadMessage {
  readonly id: number;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly calls: readonly WasmCall[];
}

/** Counters since the pool was made: time the calling thread waited for workers, parts it took over from late ones. */
export interface PoolStats {
  wait_ms: number;
  taken_over: number;
}

/**
 * Claims part p for generation g: true when this thread may run it. A claim word holds the last
 * generation the part was claimed for and only moves forward (compared modulo 2^32), so a worker
 * that wakes up late for an old call can never take a part of a newer one.
 */
export function claimPart(ctl: Int32Array, part: number, generation: number): boolean {
  const i = CTL.claims + part;
  const v = Atomics.load(ctl, i);
  return ((generation - v) | 0) > 0 && Atomics.compareExchange(ctl, i, v, generation) === v;
}

export class WorkerPool {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL.claims + 65)));
  private readonly workers: { worker: Worker; port: MessagePort }[] = [];
  private readonly errors: string[] = [];
  /** Resolves when every worker has started its loop (a first command must not spin on a thread still booting). */
  private readonly ready: Promise<unknown>;
  private nextId = 1;
  private readonly counters: PoolStats = { wait_ms: 0, taken_over: 0 };

  /** `size` workers; the calling thread is thread 0 of every kernel, so size = threads − 1. */
  constructor(readonly size: number) {
    if (size > 64) throw new Error(`worker pool: at most 64 workers, asked for ${size}`);
    for (let i = 0; i < size; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { ctl: this.ctl.buffer, port: port2, index: i },
        transferList: [port2],
      });
      worker.on('error', (e) => this.errors.push(`worker ${i}: ${e.message}`));
      worker.unref();
      this.workers.push({ worker, port: port1 });
    }
    this.ready = Promise.all(
      this.workers.map(async ({ worker, port }) => {
        const failed = once(worker, 'error').then(([e]) => Promise.reject(e instanceof Error ? e : new Error(String(e))));
        await Promise.race([once(port, 'message'), failed]);
        port.unref();
      }),
    );
  }

  /**
   * Runs one command on every worker and waits for all of them. For `run`, parts no worker has
   * claimed once the calling thread is done with its own are run by the calling thread (steal).
   */
  private broadcast(command: number, kernel: number, own?: () => void, steal?: (part: number) => void): void {
    const ctl = this.ctl;
    Atomics.store(ctl, CTL.command, command);
    Atomics.store(ctl, CTL.kernel, kernel);
    Atomics.store(ctl, CTL.pending, this.size);
    const generation = Atomics.add(ctl, CTL.generation, 1) + 1;
    for (let i = 0; i < this.size; i++) if (Atomics.load(ctl, CTL.sleeping + i) === 1) Atomics.notify(ctl, CTL.generation);
    let waitStart = 0;
    try {
      own?.();
      if (steal) {
        for (let p = 1; p <= this.size; p++) {
          if (!claimPart(ctl, p, generation)) continue;
          try {
            steal(p);
          } finally {
            this.counters.taken_over++;
            Atomics.sub(ctl, CTL.pending, 1);
          }
        }
      }
    } finally {
      waitStart = performance.now();
      this.waitForWorkers(waitStart);
    }
    if (command === COMMAND.run) this.counters.wait_ms += performance.now() - waitStart;
    if (Atomics.load(ctl, CTL.failed) !== 0) {
      Atomics.store(ctl, CTL.failed, 0);
      // Workers report their error on their port; read it synchronously (this thread never yielded).
      const reasons = this.workers.map(({ port }, i) => {
        const m = receiveMessageOnPort(port)?.message as { error?: string } | undefined;
        return m?.error ? `worker ${i}: ${m.error}` : undefined;
      });
      throw new Error(`worker thread failed: ${reasons.filter(Boolean).join('; ') || 'no reason given'}`);
    }
  }

  /** Bounded spin, then blocking waits on the pending counter (a worker notifies when it reaches 0). */
  private waitForWorkers(start: number): void {
    const ctl = this.ctl;
    let spins = 0;
    for (;;) {
      const pending = Atomics.load(ctl, CTL.pending);
      if (pending === 0) return;
      const waited = performance.now() - start;
      if (waited > HUNG_MS) throw new Error(`worker thread did not finish within ${HUNG_MS / 1000} s${this.errors.length ? `: ${this.errors.join('; ')}` : ''}`);
      if (waited < WAIT_SPIN_MS || ++spins < 64) continue;
      Atomics.wait(ctl, CTL.pending, pending, 10);
    }
  }

  /**
   * Sends a compiled kernel and the calls of parts 1 … (part 0 is the calling thread's); resolves
   * to the kernel's id in this pool. Workers beyond the parts given get none.
   */
  async load(module: WebAssembly.Module, memory: WebAssembly.Memory, callsPerWorker: readonly (readonly WasmCall[])[]): Promise<number> {
    if (callsPerWorker.length > this.size) throw new Error(`worker pool: ${callsPerWorker.length} call lists for ${this.size} workers`);
    await this.ready;
    const id = this.nextId++;
    this.workers.forEach(({ port }, i) => port.postMessage({ id, module, memory, calls: callsPerWorker[i] ?? [] } satisfies LoadMessage));
    this.broadcast(COMMAND.load, id);
    return id;
  }

  /**
   * One call of kernel `id`: `own` runs part 0 on this thread; `steal(p)` runs part p (1 … size)
   * on this thread when no worker has started it (same calls, same scratch as the worker would use).
   */
  run(id: number, own: () => void, steal?: (part: number) => void): void {
    this.broadcast(COMMAND.run, id, own, steal);
  }

  drop(id: number): void {
    this.broadcast(COMMAND.drop, id);
  }

  /** Counters since the pool was made: total wait for workers, parts taken over. */
  stats(): PoolStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    this.workers.length = 0;
  }
}
