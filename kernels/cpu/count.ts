/**
 * The CPU backend's exact lane: a kernel description's counting build (WebAssembly: counters in
 * the module, wasm/count.ts; JavaScript: counters in the source, count-js.ts), run once on the
 * problem's data, gives the operations one call executes, by class. What is counted is the code
 * that is timed, so a change to the generator that adds work shows here whatever the machine does.
 */
import type { KernelDescription, OperationCounts, ProblemData } from '../../harness/types.js';
import { COUNTER_ARG, countingPart, jsCounts } from './count-js.js';
import { JsKernel, type JsKernelSpec } from './instance.js';
import { countingBuild, readCounts } from './wasm/count.js';
import { base64ToBytes, bytesToBase64, WasmKernel, type WasmKernelSpec } from './wasm/runtime.js';

export async function countCpuKernel(description: KernelDescription, data: ProblemData): Promise<OperationCounts> {
  if (description.kind === 'wasm') {
    const spec = description as WasmKernelSpec;
    const build = countingBuild(base64ToBytes(spec.module));
    // Every thread's calls on this thread: the same calls, so the same work, in one instance.
    const kernel = await WasmKernel.create({ ...spec, module: bytesToBase64(build.bytes) }, undefined, { serial: true });
    try {
      kernel.prepare(data);
      kernel.run();
      return readCounts(build, kernel.instanceExports);
    } finally {
      kernel.dispose();
    }
  }
  if (description.kind === 'js') {
    const spec = description as JsKernelSpec;
    const parts: string[] = [];
    const regions: Readonly<Record<string, number>>[] = [];
    for (const part of spec.parts) {
      const p = countingPart(part, regions.length);
      parts.push(p.source);
      regions.push(...p.regions);
    }
    const counters = new Float64Array(regions.length);
    const kernel = JsKernel.compileCounting(spec, parts, { arg: COUNTER_ARG, array: counters });
    kernel.prepare(data);
    kernel.run();
    return jsCounts(regions, counters);
  }
  throw new Error(`the CPU backend counts js and wasm kernels, not ${description.kind} (${description.name})`);
}
