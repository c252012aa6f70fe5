/**
 * Worker threads that run the same WebAssembly kernel on one shared memory, each over its own
 * channel range. Threads are synchronised through a small SharedArrayBuffer of counters, never
 * through messages: a kernel call on this backend takes tens of microseconds, a message round trip
 * about as much. Workers spin while calls keep coming (waking a sleeping thread costs milliseconds
 * on a VM) and go to sleep on Atomics.wait after SPIN_MS without work.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { WasmCall } from './runtime.js';

/** Control words (Int32Array indices) shared with worker.ts. */
export const CTL = { generation: 0, pending: 1, command: 2, kernel: 3, failed: 4, sleeping: 8 } as const;
export const COMMAND = { run: 1, load: 2, drop: 3 } as const;
export const SPIN_MS = 20;
/** A worker that has not finished a call after this long is reported as hung, not waited for. */
const HUNG_MS = 60_000;

export interface LoadMessage {
  readonly id: number;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly calls: readonly WasmCall[];
}

export class WorkerPool {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL.sleeping + 64)));
  private readonly workers: { worker: Worker; port: MessagePort }[] = [];
  private readonly errors: string[] = [];
  /** Resolves when every worker has started its loop (a first command must not spin on a thread still booting). */
  private readonly ready: Promise<unknown>;
  private nextId = 1;

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

  /** Runs one command on every worker and waits for all of them (spinning: the wait is short). */
  private broadcast(command: number, kernel: number, own?: () => void): void {
    const ctl = this.ctl;
    Atomics.store(ctl, CTL.command, command);
    Atomics.store(ctl, CTL.kernel, kernel);
    Atomics.store(ctl, CTL.pending, this.size);
    Atomics.add(ctl, CTL.generation, 1);
    for (let i = 0; i < this.size; i++) if (Atomics.load(ctl, CTL.sleeping + i) === 1) Atomics.notify(ctl, CTL.generation);
    try {
      own?.();
    } finally {
      const start = performance.now();
      let spins = 0;
      while (Atomics.load(ctl, CTL.pending) > 0) {
        if (++spins % 4096 === 0 && performance.now() - start > HUNG_MS) {
          throw new Error(`worker thread did not finish within ${HUNG_MS / 1000} s${this.errors.length ? `: ${this.errors.join('; ')}` : ''}`);
        }
      }
    }
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

  /** Sends a compiled kernel and each worker's calls; resolves to the kernel's id in this pool. */
  async load(module: WebAssembly.Module, memory: WebAssembly.Memory, callsPerWorker: readonly (readonly WasmCall[])[]): Promise<number> {
    if (callsPerWorker.length !== this.size) throw new Error(`worker pool: ${callsPerWorker.length} call lists for ${this.size} workers`);
    await this.ready;
    const id = this.nextId++;
    this.workers.forEach(({ port }, i) => port.postMessage({ id, module, memory, calls: callsPerWorker[i]! } satisfies LoadMessage));
    this.broadcast(COMMAND.load, id);
    return id;
  }

  run(id: number, own: () => void): void {
    this.broadcast(COMMAND.run, id, own);
  }

  drop(id: number): void {
    this.broadcast(COMMAND.drop, id);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    this.workers.length = 0;
  }
}
