/**
 * What every gpu.js variant shares: the common parameters (output layout, precision, loop unrolling, pipeline mode for chains) and a
 * factory that turns a variant's stage generator into a harness KernelVariant for either host.
 */
import type { DeviceInfo, KernelRole, KernelVariant, ParamDecl, Params, Problem } from '../../harness/types.js';
import type { GpuJsPlan, GpuJsPlanParts } from './plan.js';
import type { GpuJsKernelSpec, GpuJsLayout, GpuJsPrecision } from './runner.js';
import { checkGpuJsProblem, LAYOUTS, type Plane } from './source.js';

export type GpuJsBackendName = 'gpujs' | 'gpujs-browser';

/** Precisions this context can run: 'single' needs float textures (OES_texture_float / WebGL2). */
export function precisions(device: DeviceInfo): GpuJsPrecision[] {
  return device.features.includes('texture-float') ? ['single', 'unsigned'] : ['unsigned'];
}

export interface GpuJsVariantDef<P extends Problem = Problem> {
  readonly name: string;
  readonly op: P['op'];
  readonly role: KernelRole;
  /** `chain`: more than one stage, so `pipeline` (intermediates as textures) applies. */
  readonly chain: boolean;
  /** `terms`: the kernel has k-term sums that can be unrolled. */
  readonly terms: boolean;
  /** Variant-specific parameters (e.g. axis order). */
  readonly extraParams?: (problem: P) => readonly ParamDecl[];
  readonly extraDefaults?: (problem: P) => Params;
  /** Output plane and the largest extra array, for the size limits. */
  readonly sizes: (problem: P) => { readonly out: Plane; readonly extraElements?: number };
  readonly plan: (problem: P, params: Params, common: CommonParams) => GpuJsPlanParts;
}

export interface CommonParams {
  readonly layout: GpuJsLayout;
  readonly precision: GpuJsPrecision;
  readonly unroll: boolean;
  readonly pipeline: boolean;
}

export function gpujsVariant<P extends Problem>(backend: GpuJsBackendName, def: GpuJsVariantDef<P>): KernelVariant<P> {
  return {
    backend,
    name: def.name,
    op: def.op,
    role: def.role,
    params: (problem, device) => [
      ...(def.extraParams?.(problem) ?? []),
      { name: 'layout', values: LAYOUTS, doc: 'output as one 2D plane per (batch, channel) image (3d) or one flattened array (flat)' },
      { name: 'precision', values: precisions(device), doc: 'gpu.js texture precision: float textures (single) or floats packed in RGBA8 (unsigned)' },
      ...(def.terms ? [{ name: 'unroll', values: [false, true], doc: 'k-term sums as constant-bound loops or unrolled with literal indices' }] : []),
      ...(def.chain ? [{ name: 'pipeline', values: [true, false], doc: 'intermediates stay in GPU textures (pipeline mode) or are read back and re-uploaded' }] : []),
    ],
    defaults: (problem, device) => ({
      ...(def.extraDefaults?.(problem) ?? {}),
      layout: '3d',
      precision: precisions(device)[0]!,
      ...(def.terms ? { unroll: false } : {}),
      ...(def.chain ? { pipeline: true } : {}),
    }),
    check(problem, _params, device) {
      const s = def.sizes(problem);
      return checkGpuJsProblem(problem, device, s.out, s.extraElements);
    },
    generate(problem, params): GpuJsPlan {
      const common: CommonParams = {
        layout: params.layout as GpuJsLayout,
        precision: params.precision as GpuJsPrecision,
        unroll: params.unroll === true,
        pipeline: params.pipeline !== false,
      };
      const parts = def.plan(problem, params, common);
      return { kind: 'gpujs', name: parts.spec.name, source: planSource(parts.spec), ...parts };
    },
  };
}

/** The text hashed and shown as the kernel's source: every stage, in order. */
export function planSource(spec: GpuJsKernelSpec): string {
  const head = `// ${spec.name}: precision ${spec.precision}, pipeline ${spec.pipeline}`;
  return [head, ...spec.stages.map((s, i) => `// stage ${i}: output [${s.output.join(', ')}], args (${s.args.join(', ')})\n${s.source}`)].join('\n\n');
}
