/** CLI plumbing shared by subcommands: exit codes, error reporting, tables, progress bars. */
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { InputError } from '../core/errors.js';
import { type ResultFile, readResults, ResultFileError } from '../harness/results.js';

/** Exit codes scripts can rely on (also listed in `neotune --help` and README). */
export const EXIT = {
  OK: 0,
  /** Unexpected internal error. */
  INTERNAL: 1,
  /** Invalid input: bad option, spec, file. */
  USAGE: 2,
  /** The run completed but some kernels failed verification or crashed (results still written). */
  KERNEL_FAILURES: 3,
  /** A backend that was asked for explicitly is unavailable. */
  UNAVAILABLE: 4,
  /** compare / history: a regression was found (distinct from an internal error). */
  REGRESSION: 5,
  /** compare: nothing could be compared (no matched record, an empty file, only unstable timings): a gate that compared nothing must not pass. */
  NOTHING_COMPARED: 6,
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** Runs a command action, mapping errors to messages and exit codes. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.OK;
    } catch (e) {
      if (e instanceof InputError || e instanceof UsageError) {
        process.stderr.write(`neotune: ${e.message}\n`);
        process.exitCode = EXIT.USAGE;
      } else if (e instanceof UnavailableError) {
        process.stderr.write(`neotune: ${e.message}\n`);
        process.exitCode = EXIT.UNAVAILABLE;
      } else {
        process.stderr.write(`neotune: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = EXIT.INTERNAL;
      }
    }
  };
}

export function parseIntOption(field: string, allowed = 'a positive integer'): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    // commander reports InvalidArgumentError as a usage error (exit 2); the text names field and allowed values.
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(new InputError(field, v, allowed).message);
    return n;
  };
}

/** Plain-text table with right-aligned numeric columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+[×%x]?$|^–$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Markdown table (README, PR comments). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v.toFixed(digits);
}

/** A progress bar on stderr, shown only on a terminal (scripts and CI get clean output). */
export function progressBar(title: string): { update(done: number, total: number, failed: number, current: string): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {value}/{total} | failed {failed} | {current}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, failed, current) {
      if (!started) {
        bar.start(total, done, { failed, current });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { failed, current });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Reads a result file given on the command line; a bad file is invalid input (exit 2), named. */
export function loadResultFile(path: string): ResultFile {
  try {
    return readResults(path);
  } catch (e) {
    if (e instanceof ResultFileError) throw new UsageError(e.message);
    throw e;
  }
}
