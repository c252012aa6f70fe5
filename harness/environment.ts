/** Environment fingerprint stored in every result file (and, per backend, in every record). */
import { cpus, release, totalmem, platform, arch } from 'node:os';

export interface Environment {
  readonly cpu: string;
  readonly cores: number;
  readonly memory_gib: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
}

export function environment(): Environment {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}
