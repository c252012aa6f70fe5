/** The CPU backend: always available; its device is the host CPU. */
import { availableParallelism, cpus } from 'node:os';
import type { Backend, BackendSession, DeviceInfo } from '../../harness/types.js';
import { copyCpu } from './copy.js';
import { denseJs } from './dense-js.js';
import { fusedJs } from './fused-js.js';
import { winogradJs } from './winograd-js.js';
import { dwconvJs } from './dwconv-js.js';
import { sparseJs } from './sparse-js.js';

export function cpuDevice(): DeviceInfo {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const threads = availableParallelism();
  return {
    backend: 'cpu',
    description: `${model} (${threads} threads)`,
    details: { model, threads, node: process.version },
    limits: { threads },
    features: [],
  };
}

export const cpuBackend: Backend = {
  name: 'cpu',
  title: 'CPU (JavaScript)',
  async probe() {
    return { available: true, description: cpuDevice().description };
  },
  async open(): Promise<BackendSession> {
    return { backend: 'cpu', device: cpuDevice(), close: async () => {} };
  },
  variants: [sparseJs, fusedJs, winogradJs, denseJs, dwconvJs, copyCpu],
};
