/**
 * Software renderers and adapters (SwiftShader, llvmpipe, lavapipe, softpipe, WARP): they run
 * GPU code on the CPU. Kernels on them are verified like any other, but their times say nothing
 * about GPUs: by default they are not tuned, and their timings are flagged and kept out of
 * speedups, rooflines and estimates (analysis/plausibility.ts). Environment-neutral.
 */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software rasterizer|microsoft basic render|\bwarp\b/i;

/** The software renderer a device description or its details name, if any. */
export function softwareRenderer(device: { readonly description: string; readonly details?: Readonly<Record<string, unknown>> }): string | undefined {
  if (device.details?.isFallbackAdapter === true) return 'fallback adapter';
  const text = [device.description, ...Object.values(device.details ?? {}).filter((v) => typeof v === 'string')].join(' ');
  return SOFTWARE.exec(text)?.[0];
}
