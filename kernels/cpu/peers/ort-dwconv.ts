/**
 * Peer: onnxruntime-node's depthwise K×K convolution (its CPU execution provider, MLAS), the
 * strongest native CPU implementation of the operator NeoCell replaces. Timed as an application
 * calls it: session.run on a resident input tensor. `threads` is intraOpNumThreads.
 */
import type { DwConvProblem, KernelInstance, KernelVariant, ProblemData } from '../../../harness/types.js';
import { threadValues } from '../wasm/variant.js';
import { depthwiseConvModel } from './onnx-model.js';

type Ort = typeof import('onnxruntime-node');

async function loadOrt(): Promise<Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new Error(`peer ort-dwconv: onnxruntime-node is not installed or does not load (${(e as Error).message}); run scripts/setup.sh`);
  }
}

class OrtDwConv implements KernelInstance {
  readonly source: string;
  private session: import('onnxruntime-node').InferenceSession | undefined;
  private feeds: Record<string, import('onnxruntime-node').Tensor> = {};
  /** Pre-allocated output: a fresh output buffer per call would time the allocator and page faults. */
  private fetches: Record<string, import('onnxruntime-node').Tensor> = {};
  private output: Float32Array = new Float32Array(0);
  /** What run() returned (a view of `output` when onnxruntime honoured the fetch). */
  private result: Float32Array = new Float32Array(0);

  constructor(
    private readonly ort: Ort,
    private readonly p: DwConvProblem,
    private readonly threads: number,
    private readonly optimization: 'all' | 'extended' | 'basic',
  ) {
    this.source = `onnxruntime-node ${ort.env.versions.node ?? ''} Conv group=${p.C} kernel ${p.K}x${p.K} intraOpNumThreads=${threads} graphOptimizationLevel=${optimization}`;
  }

  async prepare(data: ProblemData): Promise<void> {
    const { N, C, H, W, K } = this.p;
    if (!data.dwWeights) throw new Error('ort-dwconv: problem data has no depthwise weights');
    const model = depthwiseConvModel(N, C, H, W, K, data.dwWeights);
    this.session = await this.ort.InferenceSession.create(model, {
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: this.optimization,
    });
    this.feeds = { x: new this.ort.Tensor('float32', data.x, [N, C, H, W]) };
    this.output = new Float32Array(N * C * H * W);
    this.fetches = { y: new this.ort.Tensor('float32', this.output, [N, C, H, W]) };
  }

  poisonOutput(): void {
    this.output.fill(NaN);
    this.result = this.output;
  }

  async run(): Promise<void> {
    const out = await this.session!.run(this.feeds, this.fetches);
    this.result = out.y!.data as Float32Array;
  }

  readOutput(): Float32Array {
    return this.result;
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

export const ortDwConv: KernelVariant<DwConvProblem> = {
  backend: 'cpu',
  name: 'ort-dwconv',
  op: 'dwconv',
  role: 'peer',
  params: (_p, device) => [
    { name: 'threads', values: threadValues(device), doc: 'onnxruntime intraOpNumThreads' },
    // 'all' adds the NCHWc layout transform (blocked Conv plus reorders around it); for a lone
    // Conv the reorders can cost more than they save, so both are measured.
    { name: 'optimization', values: ['basic', 'extended', 'all'], doc: 'onnxruntime graphOptimizationLevel' },
  ],
  defaults: (_p, device) => ({ threads: Math.min(2, Math.max(...threadValues(device))), optimization: 'all' }),
  async create(problem, params) {
    return new OrtDwConv(await loadOrt(), problem, Number(params.threads), params.optimization as 'all' | 'extended' | 'basic');
  },
};
