/**
 * Recording the hub (`neotune hub record`): every configuration of every hub problem tuned
 * exhaustively on this device (through the tuning database, so an interrupted recording resumes),
 * then each problem's leaders re-timed side by side, then the problem written into the hub file
 * (compact: medians and spreads, no samples) beside the problems of earlier recordings.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../core/files.js';
import { makeProblemData, problemRecord } from '../harness/problem.js';
import type { BackendSession, Problem } from '../harness/types.js';
import { quantile } from '../harness/stats.js';
import type { BackendRun } from '../kernels/registry.js';
import type { Suite } from '../suites/suite.js';
import { deviceFingerprint } from '../tuner/db-model.js';
import type { TuningStore } from '../tuner/db.js';
import { type HubFile, type HubProblem, leaderTimes } from '../tuner/hub.js';
import { problemId } from '../model/cost-model.js';
import { measureSideBySide } from '../tuner/revalidate.js';
import { type Config, configKey } from '../tuner/space.js';
import { exhaustive } from '../tuner/strategies/exhaustive.js';
import { readHub } from '../tuner/shipped-space.js';
import { tuneSuite } from './tune.js';

/** Leaders: the configurations within this margin of the fastest (at most maxLeaders), re-timed in `rounds` interleaved rounds. */
export const HUB_LEADERS = { margin: 0.1, maxLeaders: 8, rounds: 10, roundMs: 40 } as const;

interface LeaderCandidate {
  readonly key: string;
  readonly config: Config;
  readonly ms: number;
}

/** The leaders of a problem: its configurations within the margin of the fastest (at least two), fastest first. */
function pickLeaders(ranked: readonly LeaderCandidate[]): LeaderCandidate[] {
  const sorted = [...ranked].sort((a, b) => a.ms - b.ms);
  const close = sorted.filter((x) => x.ms <= sorted[0]!.ms * (1 + HUB_LEADERS.margin));
  return (close.length >= 2 ? close : sorted.slice(0, 2)).slice(0, HUB_LEADERS.maxLeaders);
}

/**
 * The leaders re-timed side by side: each one's ratio to the fastest of them (the median over the
 * rounds: drift hits both alike), and its time on the scale of the search medians (leaderTimes);
 * [config, ms, ratio], fastest first. Empty when fewer than two still open and verify.
 */
async function timeLeaders(run: BackendRun, problem: Problem, leaders: readonly LeaderCandidate[], searchMedians: ReadonlyMap<string, number | undefined>): Promise<(readonly [Config, number, number])[]> {
  const side = await measureSideBySide(leaders, run.backend.variants, run.session, problem, makeProblemData(problem, 1), HUB_LEADERS);
  if (side.length < 2) return [];
  const roundMedian = (r: readonly number[]) => quantile(r, 0.5);
  const ref = side.reduce((a, b) => (roundMedian(b.rounds) < roundMedian(a.rounds) ? b : a), side[0]!);
  const ratios = side.map((f) => ({ key: f.key, config: f.config, ratio: Number(Math.exp(quantile(f.rounds.map((m, r) => Math.log(m / ref.rounds[r]!)), 0.5)).toPrecision(4)) }));
  const ms = leaderTimes(ratios, searchMedians);
  return ratios.map((l) => [l.config, ms.get(l.key)!, l.ratio] as const).sort((a, b) => a[1] - b[1]);
}

export interface HubRecordOptions {
  readonly out: string;
  readonly command: string;
  readonly signal?: AbortSignal;
  readonly log: (s: string) => void;
  readonly progress?: (p: { done: number; total: number; failed: number; current: string }) => void;
}

async function hubDevice(session: BackendSession): Promise<HubFile['device']> {
  const peak = ((await session.ceilings?.()) ?? []).filter((c) => c.name.endsWith('peak') && Number(c.params.threads ?? 1) === 1).map((c) => c.gflops);
  return {
    fingerprint: deviceFingerprint(session.device),
    description: session.device.description,
    backend: session.backend,
    threads: Number(session.device.details.threads ?? 1),
    ...(peak.length ? { peak_gflops: Number(Math.max(...peak).toPrecision(4)) } : {}),
  };
}

export async function recordHub(store: TuningStore, suite: Suite, run: BackendRun, o: HubRecordOptions): Promise<HubFile> {
  const session = run.session;
  const neocell = run.backend.variants.filter((v) => v.op === 'neocell').map((v) => v.name);
  const tuned = await tuneSuite(store, suite, [run], {
    strategy: exhaustive,
    seed: 1,
    budget: {},
    kernels: neocell,
    ...(o.signal ? { signal: o.signal } : {}),
    log: o.log,
    ...(o.progress ? { progress: o.progress } : {}),
  });
  const device = await hubDevice(session);
  const before = existsSync(o.out) ? readHub(o.out, 'out') : undefined;
  const configs: Config[] = [];
  const configIndex = new Map<string, number>();
  const indexOf = (c: Config) => {
    const k = configKey(c);
    if (!configIndex.has(k)) configIndex.set(k, configs.push(c) - 1);
    return configIndex.get(k)!;
  };
  const recorded: HubProblem[] = [];
  for (const { c, problem, result } of tuned) {
    if (problem.op !== 'neocell' || result.space.configs.length === 0 || o.signal?.aborted) continue;
    const byKey = new Map([...result.current].map((k) => [result.entry.candidates[k]!.key, result.entry.candidates[k]!]));
    if (result.space.configs.some((x) => !byKey.has(configKey(x)))) continue; // not every configuration measured (interrupted)
    const times = result.space.configs.map((x) => {
      const cand = byKey.get(configKey(x))!;
      const ok = cand.state === 'verified' && cand.median_ms !== undefined;
      const s = cand.samples_ms ?? [];
      const spread = ok && s.length >= 4 ? Number(((quantile(s, 0.75) - quantile(s, 0.25)) / cand.median_ms!).toPrecision(3)) : null;
      return [indexOf(x), ok ? Number(cand.median_ms!.toPrecision(5)) : null, spread] as const;
    });
    const ranked = [...byKey.values()].filter((x) => x.state === 'verified' && x.median_ms !== undefined && x.quality?.stable !== false).sort((a, b) => a.median_ms! - b.median_ms!);
    const leaders = pickLeaders(ranked.map((x) => ({ key: x.key, config: x.config, ms: x.median_ms! })));
    o.progress?.({ done: recorded.length, total: tuned.length, failed: 0, current: `${c.name}: ${leaders.length} leaders side by side` });
    const leaderRows = (await timeLeaders(run, problem, leaders, new Map([...byKey].map(([k, cand]) => [k, cand.median_ms])))).map(([config, ms, ratio]) => [indexOf(config), ms, ratio] as const);
    recorded.push({ name: c.name, problem: problemRecord(problem), times, leaders: leaderRows });
    o.log(`hub: ${c.name}: ${times.length} configurations, ${times.filter((t) => t[1] === null).length} failed; ${leaderRows.length} leaders side by side, fastest ${configs[leaderRows[0]?.[0] ?? 0] ? configKey(configs[leaderRows[0]![0]]!) : '–'}`);
  }
  // Problems of an earlier recording on this device that this one did not measure are kept.
  const kept = before && before.device.fingerprint === device.fingerprint ? before.problems.filter((p) => !recorded.some((r) => problemId(r.problem) === problemId(p.problem))) : [];
  const problems = [
    ...kept.map((p) => ({ ...p, times: p.times.map(([i, ms, s]) => [indexOf(before!.configs[i]!), ms, s] as const), leaders: p.leaders.map(([i, ms, r]) => [indexOf(before!.configs[i]!), ms, r] as const) })),
    ...recorded,
  ];
  const hub: HubFile = { schema: 'neotune-hub', version: 1, device, recorded: new Date().toISOString().slice(0, 10), command: o.command, configs, problems };
  if (problems.length > 0) writeFileAtomic(o.out, hubText(hub));
  return hub;
}

/** One problem per line, so two recordings diff by problem. */
export function hubText(hub: HubFile): string {
  const { problems, configs, ...head } = hub;
  return `{${Object.entries(head).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')},\n"configs":[\n${configs.map((c) => JSON.stringify(c)).join(',\n')}\n],\n"problems":[\n${problems.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`;
}
