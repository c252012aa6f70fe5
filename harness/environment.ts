/** Environment fingerprint stored in every result file (and, per backend, in every record). */
import { cpus, release, totalmem, platform, arch } from 'node:os';
import type { MachineLoad } from './load.js';

export interface Environment {
  readonly cpu: string;
  readonly cores: number;
  readonly memory_gib: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  /** How busy the machine was before and after the run (harness/load.ts). */
  readonly load?: { readonly before: MachineLoad; readonly after?: MachineLoad };
}

export function environment(load?: Environment['load']): Environment {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    v8: process.versions.v8,
    ...(load ? { load } : {}),
  };
}
