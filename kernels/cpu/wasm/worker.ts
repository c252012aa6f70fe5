/**
 * A WebAssembly kernel thread in Node (see pool.ts, threads.ts): waits on the shared control words, claims its part of
 * the requested call (the calling thread may have taken it over already), runs its channel range,
 * counts itself done. Kernels and their call lists arrive on a message port and are read
 * synchronously, so the thread never returns to its event loop.
 */
import v8 from 'node:v8';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { LoadMessage } from './pool.js';
import { callSequence } from './call-sequence.js';
import { claimPart, COMMAND, CTL, SPIN_MS } from './threads.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const { ctl: buffer, port, index } = workerData as { ctl: SharedArrayBuffer; port: MessagePort; index: number };
const ctl = new Int32Array(buffer);
const part = index + 1;
/** Each loaded kernel's part, compiled into a function of its own (call-sequence.ts says why). */
const kernels = new Map<number, () => void>();

function waitForGeneration(seen: number): number {
  let start = performance.now();
  let spins = 0;
  for (;;) {
    const g = Atomics.load(ctl, CTL.generation);
    if (g !== seen) return g;
    if (++spins % 1024 === 0 && performance.now() - start > SPIN_MS) {
      Atomics.store(ctl, CTL.sleeping + index, 1);
      Atomics.wait(ctl, CTL.generation, seen);
      Atomics.store(ctl, CTL.sleeping + index, 0);
      start = performance.now();
    }
  }
}

function execute(command: number, id: number): void {
  if (command === COMMAND.load) {
    const msg = receiveMessageOnPort(port)?.message as LoadMessage | undefined;
    if (!msg || msg.id !== id) throw new Error(`expected kernel ${id}, got ${msg?.id ?? 'no message'}`);
    const instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } });
    kernels.set(id, callSequence(instance.exports, msg.calls));
  } else if (command === COMMAND.drop) {
    kernels.delete(id);
  } else if (command === COMMAND.run) {
    const runPart = kernels.get(id);
    if (!runPart) throw new Error(`kernel ${id} is not loaded`);
    runPart();
  }
}

// The pool bumps the generation only after this message, so nothing is missed.
let seen = Atomics.load(ctl, CTL.generation);
port.postMessage({ ready: true });
for (;;) {
  seen = waitForGeneration(seen);
  // Claimed before the command is read: while this part is unfinished the call cannot end, so
  // the command and kernel read next are this generation's. A part the calling thread took over
  // is skipped (it counted the part done itself).
  if (!claimPart(ctl, part, seen)) continue;
  try {
    execute(Atomics.load(ctl, CTL.command), Atomics.load(ctl, CTL.kernel));
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    Atomics.store(ctl, CTL.failed, 1);
  } finally {
    if (Atomics.sub(ctl, CTL.pending, 1) === 1) Atomics.notify(ctl, CTL.pending);
  }
}
