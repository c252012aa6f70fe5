/**
 * Node's worker threads for WebAssembly kernels (the protocol and the calling side: threads.ts).
 * Kernels and their call lists arrive on each worker's message port and are read synchronously
 * (receiveMessageOnPort), so a worker never returns to its event loop.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { COMMAND, SharedCounterPool, type WasmCall } from './threads.js';

export { claimPart, CTL, type PoolStats, type ThreadPool } from './threads.js';

export interface LoadMessage {
  readonly id: number;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly calls: readonly WasmCall[];
}

export class WorkerPool extends SharedCounterPool {
  private readonly workers: { worker: Worker; port: MessagePort }[] = [];
  /** Resolves when every worker has started its loop (a first command must not spin on a thread still booting). */
  private readonly ready: Promise<unknown>;
  private nextId = 1;

  /** `size` workers; the calling thread is thread 0 of every kernel, so size = threads − 1. */
  constructor(size: number) {
    super(size);
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

  /** Workers report their error on their port; read it synchronously (this thread never yielded). */
  protected failureReasons(): string[] {
    return this.workers.flatMap(({ port }, i) => {
      const m = receiveMessageOnPort(port)?.message as { error?: string } | undefined;
      return m?.error ? [`worker ${i}: ${m.error}`] : [];
    });
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

  drop(id: number): void {
    this.broadcast(COMMAND.drop, id);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    this.workers.length = 0;
  }
}
