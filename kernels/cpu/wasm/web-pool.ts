/**
 * Web Workers for WebAssembly kernels, in a page (the protocol and the calling side: threads.ts).
 *
 * A Web Worker cannot read a message synchronously, so kernels arrive by message while the worker
 * is idle and are acknowledged by message (load() is asynchronous anyway); only kernel calls go
 * through the shared control words. An idle worker sleeps in Atomics.waitAsync, which leaves its
 * event loop free for those messages (where waitAsync is missing: short Atomics.wait slices
 * between event-loop turns). The worker's code is a self-contained function sent as source text
 * (a Blob URL), so a single-file bundle needs no second file. The page must be cross-origin
 * isolated: a shared WebAssembly.Memory can only be posted to a worker there.
 */
import { claimWord, COMMAND, CTL, SharedCounterPool, SPIN_MS, type WasmCall } from './threads.js';

/** Bytes per worker for the text of its last error (4 bytes of length, then UTF-8). */
const ERROR_SLOT = 512;

type Reply = { ready: true } | { loaded: number } | { loadError: string; id: number };

export class WebWorkerPool extends SharedCounterPool {
  private readonly workers: Worker[] = [];
  private readonly errorText: Uint8Array;
  private readonly ready: Promise<unknown>;
  private nextId = 1;

  constructor(size: number) {
    super(size);
    const errorBuffer = new SharedArrayBuffer(ERROR_SLOT * Math.max(1, size));
    this.errorText = new Uint8Array(errorBuffer);
    const url = URL.createObjectURL(new Blob([workerSource()], { type: 'text/javascript' }));
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.addEventListener('error', (e) => this.errors.push(`worker ${i}: ${e.message}`));
      worker.postMessage({ init: { ctl: this.ctl.buffer, errorText: errorBuffer, index: i, slot: ERROR_SLOT } });
      this.workers.push(worker);
    }
    this.ready = Promise.all(this.workers.map((w) => reply(w, (m) => 'ready' in m))).finally(() => URL.revokeObjectURL(url));
  }

  protected failureReasons(): string[] {
    const reasons: string[] = [];
    for (let i = 0; i < this.size; i++) {
      const slot = this.errorText.subarray(i * ERROR_SLOT, (i + 1) * ERROR_SLOT);
      const length = new DataView(slot.buffer, slot.byteOffset, 4).getUint32(0, true);
      if (length === 0) continue;
      // TextDecoder refuses views of shared memory: slice() copies into an ordinary buffer.
      reasons.push(`worker ${i}: ${new TextDecoder().decode(slot.slice(4, 4 + length))}`);
      new DataView(slot.buffer, slot.byteOffset, 4).setUint32(0, 0, true);
    }
    return reasons;
  }

  async load(module: WebAssembly.Module, memory: WebAssembly.Memory, callsPerWorker: readonly (readonly WasmCall[])[]): Promise<number> {
    if (callsPerWorker.length > this.size) throw new Error(`worker pool: ${callsPerWorker.length} call lists for ${this.size} workers`);
    await this.ready;
    const id = this.nextId++;
    const replies = this.workers.map((w) => reply(w, (m) => ('loaded' in m && m.loaded === id) || ('loadError' in m && m.id === id)));
    this.workers.forEach((w, i) => w.postMessage({ load: id, module, memory, calls: callsPerWorker[i] ?? [] }));
    const failed = (await Promise.all(replies)).flatMap((m, i) => ('loadError' in m ? [`worker ${i}: ${m.loadError}`] : []));
    if (failed.length) throw new Error(`worker thread failed to load the kernel: ${failed.join('; ')}`);
    return id;
  }

  drop(id: number): void {
    for (const w of this.workers) w.postMessage({ drop: id });
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

/** The first message of `worker` that `match` accepts; rejects when the worker fails to start or run. */
function reply(worker: Worker, match: (m: Reply) => boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (e: MessageEvent) => {
      if (!match(e.data as Reply)) return;
      done();
      resolve(e.data as Reply);
    };
    const onError = (e: ErrorEvent) => {
      done();
      reject(new Error(`worker thread: ${e.message || 'failed to start'}`));
    };
    const done = () => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
  });
}

/** The worker's source: workerMain applied to the claim function and the protocol's constants. */
export function workerSource(): string {
  return `(${workerMain.toString()})(${claimWord.toString()}, ${JSON.stringify({ CTL, COMMAND, SPIN_MS })});`;
}

/**
 * A worker's whole program. It must not refer to anything outside itself: it runs from its source
 * text in a Worker of its own (workerSource).
 */
function workerMain(claim: typeof claimWord, k: { CTL: typeof CTL; COMMAND: typeof COMMAND; SPIN_MS: number }): void {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
  const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<unknown> | string } }).waitAsync;
  const kernels = new Map<number, { exports: Record<string, (...a: number[]) => void>; calls: readonly (readonly [string, number, number, number])[] }>();
  let ctl: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let errorText: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  let index = 0;
  let seen = 0;

  const fail = (e: unknown) => {
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, errorText.length - 4);
    errorText.set(text, 4);
    new DataView(errorText.buffer, errorText.byteOffset, 4).setUint32(0, text.length, true);
    Atomics.store(ctl, k.CTL.failed, 1);
  };

  const runPart = () => {
    // Claimed before the kernel is read: while this part is unfinished the call cannot end. A part
    // the calling thread took over is skipped (it counted the part done itself).
    if (!claim(ctl, k.CTL.claims + index + 1, seen)) return;
    try {
      const id = Atomics.load(ctl, k.CTL.kernel);
      const kernel = kernels.get(id);
      if (!kernel) throw new Error(`kernel ${id} is not loaded`);
      for (const [fn, lo, hi, scratch] of kernel.calls) kernel.exports[fn]!(lo, hi, scratch);
    } catch (e) {
      fail(e);
    } finally {
      if (Atomics.sub(ctl, k.CTL.pending, 1) === 1) Atomics.notify(ctl, k.CTL.pending);
    }
  };

  // Spins while calls keep coming; after SPIN_MS without one, sleeps with the event loop free.
  const loop = (): void => {
    Atomics.store(ctl, k.CTL.sleeping + index, 0);
    let start = performance.now();
    for (let spins = 1; ; spins++) {
      const g = Atomics.load(ctl, k.CTL.generation);
      if (g !== seen) {
        seen = g;
        if (Atomics.load(ctl, k.CTL.command) === k.COMMAND.run) runPart();
        start = performance.now();
      } else if (spins % 1024 === 0 && performance.now() - start > k.SPIN_MS) {
        break;
      }
    }
    Atomics.store(ctl, k.CTL.sleeping + index, 1);
    if (waitAsync) {
      const w = waitAsync(ctl, k.CTL.generation, seen);
      if (w.async) (w.value as Promise<unknown>).then(loop);
      else setTimeout(loop, 0);
    } else {
      Atomics.wait(ctl, k.CTL.generation, seen, 5);
      setTimeout(loop, 0);
    }
  };

  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as { init?: { ctl: SharedArrayBuffer; errorText: SharedArrayBuffer; index: number; slot: number }; load?: number; module?: WebAssembly.Module; memory?: WebAssembly.Memory; calls?: never; drop?: number };
    if (m.init) {
      ctl = new Int32Array(m.init.ctl);
      index = m.init.index;
      errorText = new Uint8Array(m.init.errorText, index * m.init.slot, m.init.slot);
      // The pool makes no call before this reply, so nothing is missed.
      seen = Atomics.load(ctl, k.CTL.generation);
      scope.postMessage({ ready: true });
      loop();
    } else if (m.load !== undefined) {
      try {
        const instance = new WebAssembly.Instance(m.module!, { env: { memory: m.memory! } });
        kernels.set(m.load, { exports: instance.exports as never, calls: m.calls ?? [] });
        scope.postMessage({ loaded: m.load });
      } catch (err) {
        scope.postMessage({ loadError: err instanceof Error ? err.message : String(err), id: m.load });
      }
    } else if (m.drop !== undefined) {
      kernels.delete(m.drop);
    }
  };
}
