/**
 * A variant's kernel on a session: create = compile ∘ generate. The variant describes the kernel
 * (generate: pure data), the backend session compiles the description; only peers (a library's own
 * kernel, such as onnxruntime's convolution) have no description and create their kernel themselves.
 */
import type { BackendSession, KernelInstance, KernelVariant, OperationCounts, Params, Problem, ProblemData } from './types.js';

/**
 * The operations one call of the variant's kernel executes on `data`, by class (the session's
 * counting build), or undefined where the backend has no counting build or the variant describes
 * no kernel (peers).
 */
export async function countOperations(
  variant: KernelVariant,
  problem: Problem,
  params: Params,
  session: BackendSession,
  data: ProblemData,
  description = variant.generate?.(problem, params, session.device),
): Promise<OperationCounts | undefined> {
  if (!description || !session.countOperations) return undefined;
  return session.countOperations(description, data);
}

/** The kernel of `variant` for `problem` and `params` on `session`: the session compiles the variant's description (peers create theirs). Dispose it when done. */
export async function createKernel(variant: KernelVariant, problem: Problem, params: Params, session: BackendSession): Promise<KernelInstance> {
  const kernel = await instantiate(variant, problem, params, session);
  // Every kernel of a session with a speed canary is timed with one: a generated kernel with the
  // canary of its thread count (on its own worker pool); a created one (a peer: onnxruntime,
  // tfjs) with the one-thread canary, since a canary on the pool would leave its workers spinning
  // next to the peer's own threads.
  if (session.speedCanary) kernel.canary = await session.speedCanary(variant.generate ? Math.max(1, Number(params.threads ?? 1)) : 1);
  return kernel;
}

async function instantiate(variant: KernelVariant, problem: Problem, params: Params, session: BackendSession): Promise<KernelInstance> {
  if (variant.generate) {
    if (!session.compile) throw new Error(`${variant.name}: this ${session.backend} session compiles no kernel descriptions`);
    const description = variant.generate(problem, params, session.device);
    const kernel = await session.compile(description);
    kernel.description = description;
    return kernel;
  }
  if (variant.create) return variant.create(problem, params, session);
  throw new Error(`${variant.name} neither generates a kernel description nor creates a kernel`);
}
