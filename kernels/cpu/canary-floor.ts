/**
 * The speed canary's speed (its fastest window's 10th percentile, wasm/canary.ts; "fastest time"
 * below), remembered across processes. A canary judges each sample against the fastest it has
 * run; a process that starts inside one of the core's slow phases
 * (they last tens of ms to seconds) would otherwise take the slow time for the machine's speed
 * and keep every slow sample, which is most of a short `bench` process. The fastest time of this
 * CPU model, thread count and Node version is kept in NEOTUNE_CACHE_DIR (default
 * $XDG_CACHE_HOME/neotune or ~/.cache/neotune), speed-canary.json, for a day after a process
 * last ran the canary about that fast: a machine that has become slower for good (a new host
 * under the same model name) is judged by its own speed again the next day.
 *
 * Best effort: an unreadable or unwritable cache changes nothing but the remembered floor.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const FILE = 'speed-canary.json';
/** A remembered fastest time older than this is not used. */
export const FLOOR_MAX_AGE_MS = 24 * 3600 * 1000;
/** A process that runs the canary within this factor of the remembered time confirms it (its age restarts). */
const CONFIRM_RATIO = 1.1;

interface FloorEntry {
  readonly ms: number;
  /** When a process last ran the canary this fast (or within CONFIRM_RATIO of it). */
  readonly at: string;
}

export function canaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEOTUNE_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'neotune');
}

function readAll(dir: string): Record<string, FloorEntry> {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, FloorEntry> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const e = v as Partial<FloorEntry> | null;
      if (e && typeof e.ms === 'number' && e.ms > 0 && Number.isFinite(e.ms) && typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at))) out[k] = { ms: e.ms, at: e.at };
    }
    return out;
  } catch {
    return {};
  }
}

/** The remembered fastest canary time for `key`, if a process confirmed it within FLOOR_MAX_AGE_MS. */
export function rememberedFloor(key: string, dir = canaryCacheDir(), now = Date.now()): number | undefined {
  const e = readAll(dir)[key];
  return e && now - Date.parse(e.at) <= FLOOR_MAX_AGE_MS ? e.ms : undefined;
}

/**
 * Records this process's fastest canary time for `key`: kept when it is faster than the remembered
 * one, or confirms it (within CONFIRM_RATIO, the age restarts). Written to a new file and renamed
 * over the old one, so a concurrent reader sees one or the other and a planted link is replaced,
 * never written through.
 */
export function rememberFloor(key: string, fastestMs: number, dir = canaryCacheDir(), now = Date.now()): void {
  if (!(fastestMs > 0) || !Number.isFinite(fastestMs)) return;
  try {
    const all = readAll(dir);
    const old = all[key];
    const fresh = old && now - Date.parse(old.at) <= FLOOR_MAX_AGE_MS ? old : undefined;
    if (fresh && fastestMs > CONFIRM_RATIO * fresh.ms) return;
    all[key] = { ms: fresh ? Math.min(fresh.ms, fastestMs) : fastestMs, at: new Date(now).toISOString() };
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    try {
      writeFileSync(tmp, JSON.stringify(all, null, 1) + '\n', { flag: 'wx' });
      renameSync(tmp, join(dir, FILE));
    } finally {
      rmSync(tmp, { force: true });
    }
  } catch {
    // A cache that cannot be written only means the next process finds its own floor.
  }
}
