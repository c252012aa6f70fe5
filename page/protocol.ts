/** What the neotune page and its tuning worker say to each other, and the choices the page offers. */
import type { TuningDb } from '../tuner/db-model.js';

export const PAGE_SUITES = ['smoke', 'neonext-t-stages', 'neonext-s-stages', 'neonext-b-stages'] as const;
export type PageSuite = (typeof PAGE_SUITES)[number];

/** As the CLI's --effort, per problem: the share of the pruned space searched (at least 16 configurations). */
export const PAGE_EFFORTS = { quick: { fraction: 0.1 }, balanced: { fraction: 0.25 }, full: { fraction: 1 } } as const;
export type PageEffort = keyof typeof PAGE_EFFORTS;

export interface TuneRequest {
  readonly suite: PageSuite;
  readonly effort: PageEffort;
  /** Evaluations per problem at most (instead of the effort's share of each space). */
  readonly budget?: number;
  readonly threads: number;
  /** The browser as the database names the device ("Chromium 131"). */
  readonly browser: string;
}

export type WorkerMessage =
  | { type: 'progress'; problem: string; index: number; problems: number; done: number; total: number; failed: number; best_ms: number | null }
  | { type: 'tuned'; problem: string; key: string; winner: { key: string; median_ms: number } | null; evaluated: number; failed: number }
  | { type: 'done'; db: TuningDb; device: string }
  | { type: 'error'; message: string };
