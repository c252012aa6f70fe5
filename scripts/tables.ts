/** The CLI's presentation of results: summary tables, withheld figures, ceilings, failures, exit status. */
import type { ResultRecord } from '../harness/results.js';
import { dwconvNames, peerNames, summarize, type SummaryRow, summarizeVariants, trustedRatio } from '../analysis/summary.js';
import { fastestBaseline, trusted } from '../analysis/plausibility.js';
import { softwareRenderer } from '../harness/software.js';
import type { CeilingRecord } from '../harness/types.js';
import { EXIT, fmt, formatTable, wrapText } from './cli-util.js';

function paramText(r: ResultRecord): string {
  const kv = Object.entries(r.params).map(([k, v]) => `${k}=${v}`);
  return kv.length ? ` ${kv.join(',')}` : '';
}

/** Clean samples / all samples of a timing (disturbed ones set aside). */
function samplesCell(r: ResultRecord | undefined): string {
  if (!r?.quality) return r?.samples_ms ? String(r.samples_ms.length) : '–';
  return `${r.quality.n_clean}/${r.quality.n_total}`;
}

/**
 * The summary as header + string cells: fastest NeoCell kernel, its spread (p10–p90, clean/all
 * samples), useful GFLOP/s, % of the compute peak at the same thread count, time / copy, and the
 * speedup over every depthwise conv kernel. A figure that cannot be trusted is never printed:
 * "?" stands in its place and withheldLines() says why; a flagged time carries "!".
 */
export function summaryCells(rows: readonly SummaryRow[], withParams: boolean): { header: string[]; cells: string[][] } {
  const dws = dwconvNames(rows);
  const peers = peerNames(rows);
  const header = ['case', 'backend', 'N×C×H×W', 'cell', 'NeoCell kernel', 'median ms', 'p10–p90 ms', 'clean/all', 'GFLOP/s', '% peak', 'of roofline', 'time/copy', ...[...dws, ...peers].map((d) => `vs ${d}`), 'failed'];
  const cells = rows.map((s) => {
    const ok = s.best !== undefined && trusted(s.best);
    const refused = (v: number | undefined, text: string) => (v !== undefined ? text : s.best?.median_ms !== undefined ? '?' : '–');
    return [
      s.case,
      s.backend,
      s.shape,
      s.label,
      s.best ? `${s.best.kernel}${withParams ? paramText(s.best) : ''}` : 'none verified',
      s.best?.median_ms !== undefined ? `${fmt(s.best.median_ms, 4)}${ok ? '' : ' !'}` : '–',
      s.best?.p10_ms !== undefined ? `${fmt(s.best.p10_ms, 4)}–${fmt(s.best.p90_ms, 4)}` : '–',
      samplesCell(s.best),
      refused(s.gflops, fmt(s.gflops, 1)),
      refused(s.peakFraction, `${fmt(100 * (s.peakFraction ?? 0), 0)} %`),
      refused(s.rooflineFraction, `${fmt(100 * (s.rooflineFraction ?? 0), 0)} %`),
      refused(s.xCopy, `${fmt(s.xCopy, 1)}×`),
      ...[...dws.map((d) => s.dwconvs.get(d)), ...peers.map((d) => s.peers.get(d))].map((r) => {
        if (r?.median_ms === undefined || s.best?.median_ms === undefined) return '–';
        const ratio = trustedRatio(r, s.best);
        return ratio !== undefined ? `${fmt(ratio, 2)}×` : '?';
      }),
      String(s.failed),
    ];
  });
  return { header, cells };
}

/** Why figures were withheld ("?" and "!" in the tables), one line each, without repeats. */
export function withheldLines(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => r.withheld.map((w) => `${r.case} ${r.backend}: ${w}`)))];
}

export function ceilingLines(ceilings: readonly CeilingRecord[]): string[] {
  return ceilings.map((c) => {
    const params = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(',');
    const q = c.quality ? `, ${c.quality.n_clean}/${c.quality.n_total} clean samples` : '';
    const runs = c.measurements && c.measurements.length > 1 ? ` (measured ${c.measurements.map((m) => fmt(m, 1)).join(' and ')})` : '';
    return `${c.backend} ${c.name} ${params}: ${fmt(c.gflops, 1)} GFLOP/s${runs}${q}${c.flags?.length ? ` — NOT USED: ${c.flags.join('; ')}` : ''}`;
  });
}

const percent = (f: number | undefined) => (f === undefined ? '–' : fmt(100 * f, 0));

/**
 * The compact summary (fits 120 columns): per problem and backend, the fastest NeoCell kernel, its
 * median with the p10–p90 spread and clean samples, the speedup over the fastest depthwise conv
 * (named), % of the peak at the kernel's thread count and of the roofline bound. Withheld figures
 * are "?" as in the wide table.
 */
export function compactCells(rows: readonly SummaryRow[]): { header: string[]; cells: string[][] } {
  const header = ['case', 'backend', 'cell', 'NeoCell kernel', 'median ms', 'p10–p90 ms', 'clean', 'vs fastest dw conv', '% peak/roof'];
  const cells = rows.map((s) => {
    const ok = s.best !== undefined && trusted(s.best);
    // The fastest depthwise conv: "?" when its timing cannot be trusted (a slower trusted one
    // would flatter NeoCell).
    const dw = fastestBaseline([...s.dwconvs.values()]);
    const ratio = s.speedupVsDwconv;
    const short = (n: number | undefined) => fmt(n, n !== undefined && n < 1 ? 4 : 3);
    return [
      s.case,
      s.backend,
      s.label,
      s.best ? s.best.kernel : 'none verified',
      s.best?.median_ms !== undefined ? `${short(s.best.median_ms)}${ok ? '' : ' !'}` : '–',
      s.best?.p10_ms !== undefined ? `${short(s.best.p10_ms)}–${short(s.best.p90_ms)}` : '–',
      samplesCell(s.best),
      dw && s.best?.median_ms !== undefined ? (ratio !== undefined ? `${fmt(ratio, 2)}× ${dw.kernel}` : '?') : '–',
      s.peakFraction === undefined && s.rooflineFraction === undefined ? '–' : `${percent(s.peakFraction)}/${percent(s.rooflineFraction)} %`,
    ];
  });
  return { header, cells };
}

/** The summary of a run: compact (120 columns) by default, every column and every variant with `wide`. */
export function summaryTable(records: readonly ResultRecord[], ceilings: readonly CeilingRecord[] = [], o: { wide?: boolean } = {}): string {
  const rows = summarize(records, ceilings);
  if (!o.wide) {
    // A backend that was only verified (a software renderer by default) has no figure to show:
    // one line for it instead of a row of dashes per problem.
    const untimed = [...new Set(rows.map((r) => r.backend))].filter((b) => rows.every((r) => r.backend !== b || r.best?.median_ms === undefined));
    const shown = rows.filter((r) => !untimed.includes(r.backend));
    const compact = compactCells(shown);
    const withheld = withheldLines(shown);
    return [
      'Fastest NeoCell kernel per problem (vs: depthwise conv time / NeoCell time, side by side in this run)',
      ...(shown.length ? [formatTable(compact.header, compact.cells)] : []),
      ...untimed.map((b) => {
        const own = rows.filter((r) => r.backend === b);
        const device = own.find((r) => r.best)?.best?.device;
        const sw = device ? softwareRenderer({ description: device }) : undefined;
        return wrapText(`${b}: ${own.filter((r) => r.best?.state === 'verified').length} of ${own.length} problems verified, not timed${sw ? ` (${sw} is a software renderer: its times are not GPU performance; --include-software times it)` : ''}`, '  ');
      }),
      ...(withheld.length ? ['', 'Withheld figures ("?": not printed; "!": a time that cannot be used as a result):', ...withheld.map((w) => wrapText(`  ${w}`, '    '))] : []),
      '',
      '--wide: parameters, GFLOP/s, time/copy, every depthwise conv and peer, each variant, the ceilings.',
    ].join('\n');
  }
  const best = summaryCells(rows, true);
  const variantRows = summarizeVariants(records, ceilings);
  const variants = summaryCells(variantRows, false);
  const withheld = withheldLines([...rows, ...variantRows]);
  const peaks = ceilingLines(ceilings);
  return [
    'Fastest NeoCell kernel per problem (speedups: depthwise conv time / NeoCell time, measured in this run)',
    formatTable(best.header, best.cells),
    '',
    'Each NeoCell variant at its fastest parameter point',
    formatTable(variants.header, variants.cells),
    ...(withheld.length ? ['', 'Withheld figures ("?": not printed; "!": a time that cannot be used as a result):', ...withheld.map((w) => wrapText(`  ${w}`, '    '))] : []),
    ...(peaks.length ? ['', 'Ceilings measured in this run:', ...peaks.map((p) => wrapText(`  ${p}`, '    '))] : []),
  ].join('\n');
}

/**
 * Exit status of a bench-like run: 3 when a kernel failed verification or crashed; 2 when every
 * candidate of some backend/case was rejected (the pinned parameters are invalid there); else 0.
 */
export function runExitCode(records: readonly ResultRecord[]): number {
  if (records.some((r) => r.state === 'mismatch' || r.state === 'failed')) return EXIT.KERNEL_FAILURES;
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const key = `${r.case}\u0000${r.backend}\u0000${r.problem.op}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].some((g) => g.every((r) => r.state === 'rejected')) ? EXIT.USAGE : EXIT.OK;
}

export function failureLines(records: readonly ResultRecord[]): string[] {
  return records.filter((r) => r.state !== 'verified').map((r) => `${r.state}: ${r.backend}/${r.kernel} ${JSON.stringify(r.params)} on ${r.case ?? r.problem.label}: ${r.error}`);
}
