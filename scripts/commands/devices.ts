/** `neotune devices`: which backends this machine has, and why the missing ones are missing. */
import type { Command } from 'commander';
import { softwareRenderer } from '../../harness/software.js';
import { BACKENDS } from '../../kernels/registry.js';
import { action, formatTable } from '../cli-util.js';
import { exampleText } from '../options.js';

export interface DeviceLine {
  backend: string;
  title: string;
  available: boolean;
  kernels: string;
  description?: string;
  details?: Readonly<Record<string, unknown>>;
  reason?: string;
  /** The software renderer this backend runs on (not a GPU), if any. */
  software?: string;
}

export async function probeAll(): Promise<DeviceLine[]> {
  const out: DeviceLine[] = [];
  for (const b of BACKENDS) {
    const a = await b.probe();
    const software = a.available && b.name !== 'cpu' ? softwareRenderer({ description: a.description, ...(a.details ? { details: a.details } : {}) }) : undefined;
    out.push({
      backend: b.name,
      title: b.title,
      available: a.available,
      kernels: b.load ? 'implemented' : 'not implemented yet',
      ...(a.available ? { description: a.description, details: a.details ?? {} } : { reason: a.reason }),
      ...(software ? { software } : {}),
    });
  }
  return out;
}

export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('list the backends this machine has (CPU, WebGPU in Node and Chromium, gpu.js in Node and Chromium) and why missing ones are missing')
    .option('--json', 'print JSON (with adapter features and limits)')
    .addHelpText('after', exampleText([
        ['neotune devices', 'which backends this machine has, and why others are missing'],
        ['neotune devices --json', 'with adapter features and limits'],
      ]))
    .action(
      action(async (o: { json?: boolean }) => {
        const list = await probeAll();
        if (o.json) {
          process.stdout.write(JSON.stringify(list, null, 2) + '\n');
          return;
        }
        const rows = list.map((d) => [d.backend, d.available ? (d.software ? 'software' : 'yes') : 'no', d.kernels, d.available ? `${d.description ?? ''}${d.software ? ` (software renderer: verified, not tuned; its times are not GPU performance)` : ''}` : `missing: ${d.reason}`]);
        process.stdout.write(formatTable(['backend', 'available', 'kernels', 'device / reason'], rows) + '\n');
        for (const d of list) {
          const f = (d.details as { features?: string[] } | undefined)?.features;
          if (d.available && f) process.stdout.write(`\n${d.backend} features: ${f.join(', ')}\n`);
        }
      }),
    );
}
