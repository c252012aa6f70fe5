/**
 * Threads that run the same WebAssembly kernel on one shared memory, each over its own channel
 * range ("part"), whatever makes the threads: Node's worker_threads (pool.ts) or a page's Web
 * Workers (web-pool.ts). Threads are synchronised through a small SharedArrayBuffer of counters,
 * never through messages: a kernel call on this backend takes tens of microseconds, a message round
 * trip about as much. Workers spin while calls keep coming (waking a sleeping thread costs
 * milliseconds on a VM) and go to sleep after SPIN_MS without work.
 *
 * Pre-emption: on a busy machine a worker can be descheduled for a whole scheduler slice (4–12 ms
 * on the 2-core VMs this runs on). Two things keep that from stalling every call:
 *  - parts are claimed, not assigned: a part is run by whoever claims it first for the current
 *    call (compare-and-swap of its claim word to the call's generation). The calling thread runs
 *    part 0, then claims every part no worker has started yet and runs it itself, so a
 *    descheduled or sleeping worker costs the call nothing;
 *  - the calling thread waits for parts already started with bounded spinning, then (where the
 *    thread may block: not a page's main thread) a blocking Atomics.wait, which gives its core to
 *    the worker it is waiting for.
 * Both are counted (stats()): the time spent waiting for workers and the parts taken over are
 * evidence the harness records with each timing sample.
 *
 * No Node built-in here: the runtime bundle includes this file.
 */
/** One call of an exported function over a channel range [lo, hi) with a thread's scratch. */
export type WasmCall = readonly [fn: string, lo: number, hi: number, scratch: number];

/** Control words (Int32Array indices) shared with the workers; claims[p] at CTL.claims + p, p = 0 … size. */
export const CTL = { generation: 0, pending: 1, command: 2, kernel: 3, failed: 4, sleeping: 8, claims: 8 + 64 } as const;
export const COMMAND = { run: 1, load: 2, drop: 3 } as const;
export const SPIN_MS = 20;
/** The calling thread spins this long for started parts, then blocks (gives its core away). */
export const WAIT_SPIN_MS = 0.05;
/** A worker that has not finished a call after this long is reported as hung, not waited for. */
const HUNG_MS = 60_000;
export const MAX_WORKERS = 64;

/** Counters since the pool was made: time the calling thread waited for workers, parts it took over from late ones. */
export interface PoolStats {
  wait_ms: number;
  taken_over: number;
}

/** What a multi-threaded WebAssembly kernel needs from a pool of worker threads. */
export interface ThreadPool {
  /** Number of workers (the calling thread is thread 0 of every kernel, so a kernel uses up to size + 1 threads). */
  readonly size: number;
  /** Hands a compiled kernel and the calls of parts 1 … to the workers; resolves to the kernel's id in this pool. */
  load(module: WebAssembly.Module, memory: WebAssembly.Memory, callsPerWorker: readonly (readonly WasmCall[])[]): Promise<number>;
  /** One call of kernel `id`: `own` runs part 0 on this thread; `steal(p)` runs part p on this thread when no worker has started it. */
  run(id: number, own: () => void, steal?: (part: number) => void): void;
  drop(id: number): void;
  stats(): PoolStats;
  close(): Promise<void>;
}

/**
 * Claims the claim word at `index` for generation g: true when this thread may run its part. A
 * claim word holds the last generation the part was claimed for and only moves forward (compared
 * modulo 2^32), so a worker that wakes up late for an old call can never take a part of a newer
 * one. Self-contained (no outer names): Web Workers receive it as source text.
 */
export function claimWord(ctl: Int32Array, index: number, generation: number): boolean {
  const v = Atomics.load(ctl, index);
  return ((generation - v) | 0) > 0 && Atomics.compareExchange(ctl, index, v, generation) === v;
}

/** Claims part p for generation g (see claimWord). */
export function claimPart(ctl: Int32Array, part: number, generation: number): boolean {
  return claimWord(ctl, CTL.claims + part, generation);
}

/** Whether this thread may block in Atomics.wait (a page's main thread may not). */
export function threadCanBlock(): boolean {
  try {
    // A value that differs from memory returns "not-equal" at once; where waiting is forbidden it throws first.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** The calling side every pool shares: the control words, broadcasting a command, waiting, counting. */
export abstract class SharedCounterPool implements ThreadPool {
  protected readonly ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL.claims + MAX_WORKERS + 1)));
  protected readonly errors: string[] = [];
  private readonly counters: PoolStats = { wait_ms: 0, taken_over: 0 };
  private readonly canBlock = threadCanBlock();

  constructor(readonly size: number) {
    if (size > MAX_WORKERS) throw new Error(`worker pool: at most ${MAX_WORKERS} workers, asked for ${size}`);
  }

  abstract load(module: WebAssembly.Module, memory: WebAssembly.Memory, callsPerWorker: readonly (readonly WasmCall[])[]): Promise<number>;
  abstract drop(id: number): void;
  abstract close(): Promise<void>;
  /** Why workers failed the last command (read without yielding to the event loop). */
  protected abstract failureReasons(): string[];

  /**
   * Runs one command on every worker and waits for all of them. For `run`, parts no worker has
   * claimed once the calling thread is done with its own are run by the calling thread (steal).
   */
  protected broadcast(command: number, kernel: number, own?: () => void, steal?: (part: number) => void): void {
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
      throw new Error(`worker thread failed: ${this.failureReasons().join('; ') || 'no reason given'}`);
    }
  }

  /** Bounded spin, then blocking waits on the pending counter (a worker notifies when it reaches 0); spin only where blocking is forbidden. */
  private waitForWorkers(start: number): void {
    const ctl = this.ctl;
    let spins = 0;
    for (;;) {
      const pending = Atomics.load(ctl, CTL.pending);
      if (pending === 0) return;
      const waited = performance.now() - start;
      if (waited > HUNG_MS) throw new Error(`worker thread did not finish within ${HUNG_MS / 1000} s${this.errors.length ? `: ${this.errors.join('; ')}` : ''}`);
      if (!this.canBlock || waited < WAIT_SPIN_MS || ++spins < 64) continue;
      Atomics.wait(ctl, CTL.pending, pending, 10);
    }
  }

  run(id: number, own: () => void, steal?: (part: number) => void): void {
    this.broadcast(COMMAND.run, id, own, steal);
  }

  /** Counters since the pool was made: total wait for workers, parts taken over. */
  stats(): PoolStats {
    return { ...this.counters };
  }
}
