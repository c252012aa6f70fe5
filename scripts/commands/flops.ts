/** `neotune flops`: parameters and multiply-adds of a NeoNeXt network, every NeoCell convention side by side. */
import type { Command } from 'commander';
import { CONVENTIONS, countNetwork, type NetworkCount, parseModel, PUBLISHED } from '../../core/network.js';
import { action, fmt, formatTable, parseIntOption } from '../cli-util.js';
import { exampleText } from '../options.js';

function deviation(computed: number, published: number | undefined): string {
  if (published === undefined) return '–';
  const d = ((computed - published) / published) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(2)}%`;
}

export function flopsReport(n: NetworkCount) {
  const pub = PUBLISHED[n.model];
  const pubG = n.resolution === 224 ? pub.gmacs224 : n.resolution === 384 ? pub.gmacs384 : undefined;
  const gmacs = Object.fromEntries(CONVENTIONS.map((c) => [c, n.macs[c] / 1e9])) as Record<(typeof CONVENTIONS)[number], number>;
  const matches = CONVENTIONS.filter((c) => pubG !== undefined && Math.round(gmacs[c] * 10) / 10 === pubG);
  return {
    model: `NeoNeXt-${n.model.toUpperCase()}`,
    resolution: n.resolution,
    shifts: n.shifts,
    params_m: n.params / 1e6,
    published_params_m: pub.paramsM ?? null,
    params_deviation: deviation(n.params / 1e6, pub.paramsM),
    gmacs,
    published_gmacs: pubG ?? null,
    deviation: Object.fromEntries(CONVENTIONS.map((c) => [c, deviation(gmacs[c], pubG)])),
    conventions_matching_published: matches,
    gmacs_by_kind: Object.fromEntries(Object.entries(n.macsByKind).map(([k, v]) => [k, v / 1e9])),
    norm_gops: n.normOps / 1e9,
    with_dwconv7: { params_m: n.dwconv7.params / 1e6, gmacs: n.dwconv7.macs / 1e9, neocell_gmacs: n.dwconv7.neocellMacs / 1e9, dwconv_gmacs: n.dwconv7.dwconvMacs / 1e9 },
    conventions: {
      nominal: "paper's per-output cost, 2k MACs per output for square k (zeros of partial blocks counted)",
      useful: 'exact non-zeros of A and B, cheaper application order (zeros skipped)',
      dense: "official implementation's materialised matrices (zeros included)",
      totals: 'multiply-adds of convs, linears and NeoCells; norms, GELU, residual adds and pooling excluded (norm element-ops listed separately); classifier has a bias, other linears and 1×1 convs none',
    },
  };
}

export function registerFlops(program: Command): void {
  program
    .command('flops')
    .description('parameters and GMACs of NeoNeXt (each NeoCell convention side by side, and with depthwise 7×7 in place of NeoCell)')
    .option('-m, --model <name>', 'model: t, s, b, l, xl (comma-separated for several)', 't,s,b,l')
    .option('-r, --resolution <n>', 'input resolution: 224, 384 or any N ≥ 32 (comma-separated for several)', '224,384')
    .option('--json', 'print JSON instead of a table')
    .option('--layers', 'also list every layer with its parameters and MACs')
    .addHelpText('after', exampleText([
        ['neotune flops', 'parameters and GMACs of NeoNeXt-T/S/B/L at 224 and 384'],
        ['neotune flops -m t -r 224 --layers', 'every layer of NeoNeXt-T'],
      ]))
    .action(
      action(async (o: { model: string; resolution: string; json?: boolean; layers?: boolean }) => {
        const models = o.model.split(',').map(parseModel);
        const res = o.resolution.split(',').map(parseIntOption('resolution', 'an integer from 32 to 4096, e.g. 224 or 384', 4096, 32));
        const counts = models.flatMap((m) => res.map((r) => countNetwork(m, r)));
        const reports = counts.map(flopsReport);
        if (o.json) {
          const out = reports.map((r, i) => (o.layers ? { ...r, layers: counts[i]!.layers.map(({ cell: _cell, ...l }) => l) } : r));
          process.stdout.write(JSON.stringify(out, null, 2) + '\n');
          return;
        }
        const rows = reports.map((r) => [
          r.model,
          String(r.resolution),
          fmt(r.params_m, 2),
          r.published_params_m === null ? '–' : fmt(r.published_params_m, 1),
          r.params_deviation,
          fmt(r.gmacs.nominal),
          fmt(r.gmacs.useful),
          fmt(r.gmacs.dense),
          r.published_gmacs === null ? '–' : fmt(r.published_gmacs, 1),
          `${r.deviation.nominal} / ${r.deviation.useful} / ${r.deviation.dense}`,
          r.conventions_matching_published.join('+') || '–',
          fmt(r.with_dwconv7.gmacs),
        ]);
        process.stdout.write(
          formatTable(['model', 'res', 'params M', 'pub M', 'Δ params', 'GMACs nominal', 'useful', 'dense', 'published', 'Δ nominal / useful / dense', 'matches (0.1 G)', 'GMACs dw7×7'], rows) + '\n',
        );
        process.stdout.write(`\nConventions: ${Object.entries(reports[0]!.conventions).map(([k, v]) => `${k}: ${v}`).join('; ')}.\n`);
        if (o.layers) {
          for (const n of counts) {
            process.stdout.write(`\nNeoNeXt-${n.model.toUpperCase()} @${n.resolution} layers (per occurrence):\n`);
            process.stdout.write(
              formatTable(
                ['layer', 'kind', '×', 'C×H×W', 'params', 'MMACs', 'useful', 'dense'],
                n.layers.map((l) => [l.name, l.kind, String(l.occurrences), `${l.C}×${l.H}×${l.W}`, String(l.params), fmt(l.macs / 1e6), l.neocell ? fmt(l.neocell.useful / 1e6) : '–', l.neocell ? fmt(l.neocell.dense / 1e6) : '–']),
              ) + '\n',
            );
          }
        }
      }),
    );
}
