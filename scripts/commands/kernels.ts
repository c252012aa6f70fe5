/** `neotune kernels`: the variants of each backend, with their parameters, domains and defaults. */
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { kernelCatalog, type KernelListing } from '../../lib/kernels.js';
import { BACKEND_NAMES } from '../../kernels/registry.js';
import { action, formatTable, wrapText } from '../cli-util.js';
import { examples } from '../options.js';

export function registerKernels(program: Command): void {
  const cmd = program
    .command('kernels')
    .description('list the kernel variants of each backend with their parameters (domain and default) for a layer')
    .option('-b, --backend <list>', `backends, comma-separated: ${BACKEND_NAMES.join(', ')}`, 'cpu')
    .option('--shape <NxCxHxW>', 'the layer the domains are for', '1x96x56x56')
    .option('--spec <spec>', 'its cell, e.g. 4+7 or 7', '4+7')
    .option('--json', 'print JSON');
  examples(cmd, [
    ['neotune kernels', 'CPU kernels and their parameters'],
    ['neotune kernels -b webgpu --shape 1x768x7x7 --spec 7', 'WebGPU kernels for NeoNeXt-T stage 4'],
  ]).action(
    action(async (o: { backend: string; shape: string; spec: string; json?: boolean }) => {
      const m = /^(\d+)x(\d+)x(\d+)x(\d+)$/.exec(o.shape);
      if (!m) throw new InputError('shape', o.shape, 'NxCxHxW with positive integers, e.g. 1x96x56x56');
      const [N, C, H, W] = m.slice(1).map(Number) as [number, number, number, number];
      const list: KernelListing[] = [];
      for (const b of o.backend.split(',').map((s) => s.trim())) {
        if (!BACKEND_NAMES.includes(b as never)) throw new InputError('backend', b, BACKEND_NAMES.join(', '));
        list.push(...(await kernelCatalog(b, { N, C, H, W, spec: o.spec })));
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(list, null, 1) + '\n');
        return;
      }
      process.stdout.write(
        formatTable(
          ['backend', 'kernel', 'op', 'role', 'parameters (default first: other values)'],
          list.map((k) => [k.backend, k.name, k.op, k.role, k.params.map((p) => `${p.name}=${p.default ?? '?'}${p.values.length > 1 ? `: ${p.values.filter((v) => v !== p.default).join('|')}` : ''}`).join('  ') || '–']),
        ) + '\n',
      );
      // A parameter name means one thing per kernel family; the first kernel's wording is shown.
      const docs = new Map<string, string>();
      for (const p of list.flatMap((k) => k.params)) if (!docs.has(p.name)) docs.set(p.name, p.doc);
      process.stdout.write(`\nParameters:\n${[...docs].map(([n, d]) => wrapText(`  ${n}: ${d}`, '    ')).join('\n')}\n`);
    }),
  );
}
