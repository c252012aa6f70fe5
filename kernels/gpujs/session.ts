/**
 * The gpu.js backend session in Node: gpu.js in `headlessgl` mode on headless-gl (native `gl`),
 * which needs an X server (xvfb-run). Without one, or without the native build, opening fails with
 * "backend unavailable" and the reason; gpu.js's own CPU/WASM fallback is never used.
 */
import { createRequire } from 'node:module';
import { packWeights } from '../../core/structure.js';
import type { DeviceInfo, DeviceTiming, ExecutedCounts, KernelInstance, MeasureOptions, ProblemData } from '../../harness/types.js';
import { headlessGlFacts } from '../probes.js';
import { GpuJsKernel, type GpuJsInstance } from './runner.js';
import { type GpuJsHostSession, type GpuJsPlan, gpujsPlan } from './plan.js';

const require = createRequire(import.meta.url);

/** A runner bound to the harness lifecycle (shared by both hosts' kernel wrappers' shape). */
class NodeGpuJsKernel implements KernelInstance {
  readonly source: string;
  readonly executed: ExecutedCounts;
  constructor(
    private readonly runner: GpuJsKernel,
    private readonly plan: GpuJsPlan,
  ) {
    this.source = plan.source;
    this.executed = plan.executed;
  }
  prepare(data: ProblemData): void {
    this.runner.prepare(data.x, packWeights(this.plan.weights, data));
  }
  poisonOutput(): void {
    this.runner.poisonOutput();
  }
  run(): void {
    this.runner.run();
  }
  readOutput(): Float32Array {
    return this.runner.readOutput();
  }
  measure(opts: MeasureOptions): Promise<DeviceTiming> {
    return this.runner.measure(opts);
  }
  dispose(): void {
    this.runner.dispose();
  }
}

export async function openGpuJsSession(): Promise<GpuJsHostSession> {
  const facts = headlessGlFacts();
  if ('error' in facts) throw new Error(`gpu.js backend unavailable: ${facts.error}`);
  const { GPU } = require('gpu.js') as { GPU: new (s: Record<string, unknown>) => GpuJsInstance & { Kernel?: { name: string }; destroy(): void } };
  // An explicit mode: gpu.js throws instead of picking a CPU/WASM kernel when headless-gl fails.
  const gpu = new GPU({ mode: 'headlessgl' });
  if (gpu.Kernel?.name !== 'HeadlessGLKernel') throw new Error(`gpu.js backend unavailable: gpu.js chose ${gpu.Kernel?.name}, not HeadlessGLKernel`);
  const device: DeviceInfo = {
    backend: 'gpujs',
    description: `gpu.js headless-gl: ${facts.renderer} (${facts.version})`,
    details: { ...facts },
    limits: { maxTextureSize: facts.maxTextureSize },
    features: facts.floatTextures ? ['texture-float'] : [],
  };
  return {
    backend: 'gpujs',
    device,
    async compile(description) {
      const plan = gpujsPlan(description);
      return new NodeGpuJsKernel(new GpuJsKernel(gpu, plan.spec, 'HeadlessGLKernel'), plan);
    },
    async close() {
      gpu.destroy();
    },
  };
}
