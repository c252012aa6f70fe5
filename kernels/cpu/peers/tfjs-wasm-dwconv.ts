/**
 * Peer: TensorFlow.js's WebAssembly backend, tf.depthwiseConv2d K×K 'same' (NHWC, as tfjs
 * computes it). The input is converted to NHWC once in prepare() and the output back to NCHW in
 * readOutput(), outside the timed call. tfjs-backend-wasm runs single-threaded in Node.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { DwConvProblem, KernelInstance, KernelVariant, ProblemData } from '../../../harness/types.js';

type Tf = typeof import('@tensorflow/tfjs-core');

let ready: Promise<Tf> | undefined;

async function loadTfWasm(): Promise<Tf> {
  ready ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs-core');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the backend reads its .wasm files from disk: point it at the package's dist/.
      const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${dist}/`);
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
      await tf.ready();
      if (tf.getBackend() !== 'wasm') throw new Error(`tfjs chose backend ${tf.getBackend()}, not wasm`);
      return tf;
    } catch (e) {
      ready = undefined;
      throw new Error(`peer tfjs-wasm-dwconv: @tensorflow/tfjs-backend-wasm does not load (${(e as Error).message}); run scripts/setup.sh`);
    }
  })();
  return ready;
}

function nchwToNhwc(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) out[(n * H * W + i) * C + c] = x[(n * C + c) * H * W + i]!;
  return out;
}

function nhwcToNchw(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) out[(n * C + c) * H * W + i] = x[(n * H * W + i) * C + c]!;
  return out;
}

class TfjsWasmDwConv implements KernelInstance {
  readonly source: string;
  private x: import('@tensorflow/tfjs-core').Tensor4D | undefined;
  private filter: import('@tensorflow/tfjs-core').Tensor4D | undefined;
  private y: import('@tensorflow/tfjs-core').Tensor4D | undefined;

  constructor(
    private readonly tf: Tf,
    private readonly p: DwConvProblem,
  ) {
    this.source = `tfjs-core ${tf.version_core} wasm depthwiseConv2d ${p.K}x${p.K} same NHWC`;
  }

  prepare(data: ProblemData): void {
    const { N, C, H, W, K } = this.p;
    if (!data.dwWeights) throw new Error('tfjs-wasm-dwconv: problem data has no depthwise weights');
    if (K % 2 === 0) throw new Error(`tfjs 'same' padding puts the extra row of an even K=${K} at the other side than the reference; odd K only`);
    this.x = this.tf.tensor4d(nchwToNhwc(data.x, N, C, H, W), [N, H, W, C]);
    // tfjs filter layout [K, K, C, 1] from the reference's C·K·K.
    const f = new Float32Array(K * K * C);
    for (let c = 0; c < C; c++) for (let u = 0; u < K * K; u++) f[u * C + c] = data.dwWeights[c * K * K + u]!;
    this.filter = this.tf.tensor4d(f, [K, K, C, 1]);
  }

  poisonOutput(): void {
    this.y?.dispose();
    this.y = undefined;
  }

  run(): void {
    this.y?.dispose();
    this.y = this.tf.depthwiseConv2d(this.x!, this.filter!, 1, 'same');
  }

  readOutput(): Float32Array {
    if (!this.y) return new Float32Array(0);
    const { N, C, H, W } = this.p;
    return nhwcToNchw(this.y.dataSync() as Float32Array, N, C, H, W);
  }

  dispose(): void {
    for (const t of [this.x, this.filter, this.y]) t?.dispose();
  }
}

export const tfjsWasmDwConv: KernelVariant<DwConvProblem> = {
  backend: 'cpu',
  name: 'tfjs-wasm-dwconv',
  op: 'dwconv',
  role: 'peer',
  params: () => [],
  defaults: () => ({}),
  check: (problem) => (problem.K % 2 === 0 ? `K=${problem.K}: tfjs 'same' padding differs from the reference for even K; odd K only` : undefined),
  async create(problem) {
    return new TfjsWasmDwConv(await loadTfWasm(), problem);
  },
};
