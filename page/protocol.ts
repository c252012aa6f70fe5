/** What the neotune page and its tuning worker say to each other, and the choices the page offers. */
import type { TuningDb } from '../tuner/db-model.js';

export const PAGE_SUITES = ['smoke', 'neonext-t-stages', 'neonext-s-stages', 'neonext-b-stages', 'custom'] as const;
export type PageSuite = (typeof PAGE_SUITES)[number];

/** WebAssembly SIMD on this CPU; WebGPU on this browser's adapter. */
export const PAGE_BACKENDS = ['wasm', 'webgpu'] as const;
export type PageBackend = (typeof PAGE_BACKENDS)[number];

/** As the CLI's --effort with the model strategy, per problem: evaluations (quick, balanced) or the whole pruned space (full). */
export const PAGE_EFFORTS = { quick: { evaluations: 10 }, balanced: { evaluations: 30 }, full: { fraction: 1 } } as const;
export type PageEffort = keyof typeof PAGE_EFFORTS;

/** A layer typed into the page: shape and cell ("4+7" with `shift`, or the canonical text "48c:k4s1+48c:k7s1"). */
export interface CustomLayer {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly spec: string;
  readonly shift?: number;
}

export interface TuneRequest {
  readonly suite: PageSuite;
  /** The layer of suite "custom". */
  readonly custom?: CustomLayer;
  readonly effort: PageEffort;
  readonly backends: readonly PageBackend[];
  /** Tune WebGPU on a software renderer too (its times are then correctness runs, never GPU performance). */
  readonly includeSoftware?: boolean;
  /** Evaluations per problem at most (instead of the effort's share of each space). */
  readonly budget?: number;
  readonly threads: number;
  /** The browser as the database names the device ("Chromium 131"). */
  readonly browser: string;
}

/** One tuned problem: the case, the operator and the backend, its winner (verified) if any. */
export interface TunedMessage {
  readonly type: 'tuned';
  readonly case: string;
  readonly op: 'neocell' | 'dwconv';
  readonly backend: PageBackend;
  readonly device: string;
  readonly shape: string;
  readonly label: string;
  /** `unstable`: why the winner's time is not trustworthy (no speedup is computed from it). */
  readonly winner: { readonly key: string; readonly median_ms: number; readonly timing_method: string; readonly unstable?: string } | null;
  readonly evaluated: number;
  readonly failed: number;
  /** The software renderer the backend runs on: its times are not GPU performance. */
  readonly software?: string;
  /** Useful FLOPs of the problem (GFLOP/s figures). */
  readonly flops: number;
}

export type WorkerMessage =
  | { type: 'progress'; problem: string; index: number; problems: number; done: number; total: number; failed: number; best_ms: number | null }
  | TunedMessage
  | { type: 'note'; message: string }
  | { type: 'done'; db: TuningDb; devices: readonly string[] }
  | { type: 'error'; message: string };
