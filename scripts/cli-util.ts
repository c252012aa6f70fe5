/** CLI plumbing shared by subcommands: exit codes, error reporting, option parsers, tables. */
import { type Command, InvalidArgumentError } from 'commander';
import { InputError, UnavailableError } from '../core/errors.js';
import { type ResultFile, readResults } from '../harness/results.js';

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
export { UnavailableError } from '../core/errors.js';

/**
 * Every option and argument given with an empty value is refused (exit 2 naming it) before a
 * command runs: `--out ""` would write into the current folder, `--device ""` match every device.
 * Runs as commander's preAction hook, so it covers every command and option, now and to come.
 */
export function refuseEmptyValues(command: Command): void {
  const empty = (v: unknown): boolean => (typeof v === 'string' ? v.trim() === '' : Array.isArray(v) && v.some(empty));
  for (const opt of command.options) {
    const key = opt.attributeName();
    if (command.getOptionValueSource(key) === 'default') continue;
    if (empty(command.getOptionValue(key))) failUsage(new InputError(opt.long?.replace(/^--/, '') ?? key, command.getOptionValue(key), `a non-empty value for ${opt.flags}`));
  }
  command.registeredArguments.forEach((arg, i) => {
    const value: unknown = command.processedArgs[i];
    // A variadic argument names the empty element, not the whole list.
    if (empty(value)) failUsage(new InputError(arg.name(), Array.isArray(value) ? '' : value, `a non-empty value for each of <${arg.name()}${arg.variadic ? '...' : ''}> (${arg.description || arg.name()})`));
  });
}

function failUsage(e: InputError): never {
  process.stderr.write(`neotune: ${e.message}\n`);
  process.exit(EXIT.USAGE);
}

/**
 * Text bound for a terminal with its control characters made visible (\u001b…): a suite's case
 * name, a database's device key or a result file's text cannot move the cursor, recolour the
 * terminal or retitle its window. Newlines and tabs stay. JSON stays valid JSON with the same
 * meaning (control characters only occur inside its strings, where \u00XX is their escape).
 */
export function neutraliseControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type Write = (chunk: unknown, ...rest: unknown[]) => boolean;
let rawStderrWrite: Write | undefined;

/**
 * Makes every text this process writes to stdout and stderr neutralise control characters (the
 * CLI calls it first thing). Bytes (a Buffer) pass as they are: they are data, not messages.
 */
export function guardTerminalOutput(): void {
  const guard = (stream: NodeJS.WriteStream): Write => {
    const write = stream.write.bind(stream) as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? neutraliseControls(chunk) : chunk, ...rest)) as typeof stream.write;
    return write;
  };
  guard(process.stdout);
  rawStderrWrite = guard(process.stderr);
}

/**
 * stderr for the progress bar alone: its own cursor movements pass unfiltered (what it shows of
 * the input, the status line, is neutralised by the bar's owner).
 */
export function progressStream(): NodeJS.WriteStream {
  const raw = rawStderrWrite;
  return raw ? (Object.create(process.stderr, { write: { value: (chunk: unknown, ...rest: unknown[]) => raw(chunk, ...rest) } }) as NodeJS.WriteStream) : process.stderr;
}

/** A message line for the user on stderr (library callbacks' `log`). */
export const stderrLine = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** The command line as typed (recorded in result files). */
export const commandLine = (): string => `neotune ${process.argv.slice(2).join(' ')}`.trim();

/** Runs a command action, mapping errors to messages and exit codes. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.OK;
    } catch (e) {
      if (e instanceof InputError || e instanceof UsageError || e instanceof InvalidArgumentError) {
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

/**
 * An option parser for commander: an InputError (naming the field and the allowed values) becomes
 * commander's InvalidArgumentError, which it reports as a usage error (exit 2, no stack trace).
 */
export function optionParser<T>(parse: (v: string) => T): (v: string) => T {
  return (v: string) => {
    try {
      return parse(v);
    } catch (e) {
      if (e instanceof InputError) throw new InvalidArgumentError(e.message);
      throw e;
    }
  };
}

/** An integer option from `min` to `max`. */
export function parseIntOption(field: string, allowed?: string, max = Number.MAX_SAFE_INTEGER, min = 1): (v: string) => number {
  const what = allowed ?? (max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer ≥ ${min}`) : `an integer from ${min} to ${max}`);
  return optionParser((v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InputError(field, v, what);
    return n;
  });
}

/** A number option in a range (`open`: the bounds themselves are excluded). */
export function parseNumberOption(field: string, min: number, max: number, o: { open?: boolean; scale?: number; unit?: string } = {}): (v: string) => number {
  const what = `a number ${o.open ? 'between' : 'from'} ${min} ${o.open ? 'and' : 'to'} ${max}${o.unit ? ` (${o.unit})` : ''}${o.open ? ', exclusive' : ''}`;
  return optionParser((v) => {
    const n = Number(v);
    const inside = o.open ? n > min && n < max : n >= min && n <= max;
    if (v.trim() === '' || !Number.isFinite(n) || !inside) throw new InputError(field, v, what);
    return n * (o.scale ?? 1);
  });
}

/** One of a fixed list of words. */
export function parseChoice<T extends string>(field: string, choices: readonly T[]): (v: string) => T {
  return optionParser((v) => {
    if (!choices.includes(v as T)) throw new InputError(field, v, choices.join(', '));
    return v as T;
  });
}

/** Largest --time per candidate (ms): longer would hold one kernel for minutes. */
export const MAX_TIME_MS = 60_000;

/** Plain-text table with right-aligned numeric columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+[×%x]?$|^–$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Prose for the terminal: words wrapped at `width` columns (120, or the terminal's if narrower); continuation lines indented. */
export function wrapText(text: string, indent = '', width = Math.min(120, process.stdout.columns || 120)): string {
  const out: string[] = [];
  let line = /^\s*/.exec(text)![0];
  let fresh = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!fresh && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = fresh ? line + word : `${line} ${word}`;
    fresh = false;
  }
  if (line) out.push(line);
  return out.join('\n');
}

/** Markdown table (README, PR comments). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v.toFixed(digits);
}

/** Reads a result file given on the command line; a bad file is invalid input (exit 2), named. */
export function loadResultFile(path: string, field = 'results'): ResultFile {
  return readResults(path, field);
}
