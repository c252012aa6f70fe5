/**
 * The kernel catalogue: every variant of a backend with its role, the element types it computes,
 * and its parameters with their domains and defaults, for one problem on this machine's device
 * (domains can depend on both: thread counts, workgroup limits, block sizes).
 */
import { copyProblem, dwconvProblem, neoCellProblem } from '../harness/problem.js';
import type { Dtype, KernelRole, ParamValue, Problem } from '../harness/types.js';
import { backendEntry } from '../kernels/registry.js';

/** One variant of the catalogue. */
export interface KernelListing {
  readonly backend: string;
  readonly name: string;
  readonly op: Problem['op'];
  readonly role: KernelRole;
  readonly dtypes: readonly Dtype[];
  readonly params: readonly { readonly name: string; readonly values: readonly ParamValue[]; readonly default: ParamValue | undefined; readonly doc: string }[];
}

/**
 * The variants of `backend` and their parameter spaces for a NeoCell layer of `shape` and `spec`
 * (depthwise convs with a K×K kernel of the largest block, copies of the same tensor). Opens the
 * backend to read its device (an unavailable backend throws its reason).
 */
export async function kernelCatalog(backend: string, layer: { N: number; C: number; H: number; W: number; spec: string; shift?: number }): Promise<KernelListing[]> {
  const entry = backendEntry(backend);
  if (!entry.load) return [];
  const neocell = neoCellProblem(layer);
  const K = Math.max(...neocell.cell.groups.map((g) => Math.max(g.a.in, g.b.in)));
  const problems: Record<Problem['op'], Problem> = { neocell, dwconv: dwconvProblem({ ...layer, K }), copy: copyProblem(layer) };
  const impl = await entry.load();
  const session = await impl.open();
  try {
    return impl.variants.map((v) => {
      const problem = problems[v.op];
      const defaults = v.defaults(problem, session.device);
      return {
        backend,
        name: v.name,
        op: v.op,
        role: v.role,
        dtypes: v.dtypes ?? ['float32'],
        params: v.params(problem, session.device).map((d) => ({ name: d.name, values: d.values, default: defaults[d.name], doc: d.doc })),
      };
    });
  } finally {
    await session.close();
  }
}
