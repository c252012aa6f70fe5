/**
 * Progress of a whole command on stderr, for people planning around it: one bar over every phase
 * (tuning, then measuring), with what runs now, failures, elapsed time and an estimate of the time
 * left. On a terminal it is a live bar (cli-progress) with messages printed above it; elsewhere
 * (CI logs, pipes) a plain line every few seconds. `--quiet` prints nothing but errors and
 * warnings; `--verbose` adds a line per finished unit of work (and, off a terminal, a progress
 * line per update).
 */
import cliProgress from 'cli-progress';
import type { MachineLoad } from '../harness/load.js';
import { threadCap } from '../lib/tune.js';
import { neutraliseControls, progressStream } from './cli-util.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** Progress as the library reports it (lib/run.ts, lib/tune.ts): units done (may be fractional) of total. */
export interface ProgressUpdate {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly current: string;
}

/** Seconds between two plain progress lines when stderr is not a terminal. */
const PLAIN_EVERY_MS = 5000;

/** "1h02m", "3m05s", "42s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class CommandProgress {
  private readonly started = performance.now();
  private readonly weights: Map<string, number>;
  private readonly order: string[];
  private phase = '';
  private fraction = 0;
  private status = '';
  private lastPlain = -Infinity;
  private readonly tty = Boolean(process.stderr.isTTY);
  private multibar?: cliProgress.MultiBar;
  private bar?: cliProgress.SingleBar;

  /** `phases`: name → share of the whole run's time (normalised). */
  constructor(
    private readonly title: string,
    private readonly verbosity: Verbosity,
    phases: Record<string, number> = { [title]: 1 },
  ) {
    const sum = Object.values(phases).reduce((a, b) => a + b, 0) || 1;
    this.weights = new Map(Object.entries(phases).map(([k, v]) => [k, v / sum]));
    this.order = Object.keys(phases);
  }

  /** The callback the library reports a phase's progress to. */
  reporter(phase: string): (p: ProgressUpdate) => void {
    return (p) => this.update(phase, p);
  }

  /** A message for the user (a warning, a note): printed above the bar; kept even with --quiet. */
  readonly log = (line: string): void => {
    if (this.multibar) this.multibar.log(`${neutraliseControls(line)}\n`);
    else process.stderr.write(`${line}\n`);
  };

  /** A line only --verbose prints. */
  readonly detail = (line: string): void => {
    if (this.verbosity === 'verbose') this.log(line);
  };

  update(phase: string, p: ProgressUpdate): void {
    if (this.verbosity === 'quiet') return;
    if (phase !== this.phase) {
      this.phase = phase;
      this.lastPlain = -Infinity;
    }
    const before = this.order.slice(0, this.order.indexOf(phase)).reduce((a, k) => a + (this.weights.get(k) ?? 0), 0);
    const within = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    this.fraction = Math.max(this.fraction, before + (this.weights.get(phase) ?? 1) * within);
    const unit = Number.isInteger(p.done) ? `${p.done}/${p.total}` : `${Math.floor(p.done)}/${p.total}`;
    this.status = `${phase} ${unit}${p.failed ? ` | ${p.failed} failed` : ''} | ${p.current}`;
    this.render();
  }

  private timing(): { elapsed: string; eta: string } {
    const ms = performance.now() - this.started;
    // The estimate needs a few percent of the run behind it.
    const eta = this.fraction >= 0.03 && this.fraction < 1 ? formatDuration((ms * (1 - this.fraction)) / this.fraction) : this.fraction >= 1 ? '0s' : '…';
    return { elapsed: formatDuration(ms), eta };
  }

  private render(): void {
    const { elapsed, eta } = this.timing();
    if (this.tty) {
      if (!this.multibar) {
        this.multibar = new cliProgress.MultiBar(
          { format: `${this.title} [{bar}] {percentage}% | {elapsed_text} elapsed, ETA {eta_text} | {status}`, hideCursor: true, clearOnComplete: true, stream: progressStream(), barsize: 20, autopadding: true },
          cliProgress.Presets.shades_classic,
        );
        this.bar = this.multibar.create(1000, 0, {});
      }
      const width = (process.stderr.columns ?? 120) - 60;
      const status = neutraliseControls(this.status);
      this.bar!.update(Math.round(this.fraction * 1000), { status: status.length > width ? `${status.slice(0, Math.max(10, width - 1))}…` : status, elapsed_text: elapsed, eta_text: eta });
      return;
    }
    const now = performance.now();
    // --verbose: every update is a line (a log to follow, or a script to watch).
    if (this.verbosity !== 'verbose' && now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = now;
    process.stderr.write(`neotune: ${this.title} ${Math.floor(this.fraction * 100)} % | ${elapsed} elapsed, ETA ${eta} | ${this.status}\n`);
  }

  stop(): void {
    this.multibar?.stop();
    this.multibar = undefined;
  }
}

/** What tuneSuite reports to and stops by in a CLI command (tune, run): messages, progress, Ctrl-C, the busy-machine thread cap. */
export function tuneHooks(progress: CommandProgress, signal: AbortSignal, load: MachineLoad, includeSoftware: boolean | undefined) {
  return { ...threadCap(load, progress.log), includeSoftware: includeSoftware ?? false, signal, log: progress.log, detail: progress.detail, progress: progress.reporter('tune') };
}

/** Runs `fn` with the progress of a whole command; the bar is stopped however `fn` ends. */
export async function withProgress<T>(progress: CommandProgress, fn: (progress: CommandProgress) => Promise<T>): Promise<T> {
  try {
    return await fn(progress);
  } finally {
    progress.stop();
  }
}
