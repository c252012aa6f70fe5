/**
 * Recording the hub (`neotune hub record`): every configuration of every hub problem tuned
 * exhaustively on this device (through the tuning database, so an interrupted recording resumes),
 * then each problem's leaders re-timed side by side, then the problem written into the hub file
 * (compact: medians and spreads, no samples) beside the problems of earlier recordings; last, the
 * suspects (times the rest of their space contradicts) re-timed side by side.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import { makeProblemData, problemFromRecord, problemRecord } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import type { BackendRun } from '../kernels/registry.js';
import type { Suite } from '../suites/suite.js';
import { deviceFingerprint } from '../tuner/db-model.js';
import type { TuningStore } from '../tuner/db.js';
import { type HubFile, type HubProblem, type HubSpace, hubSpaces, hubSuspects, leaderTimes } from '../tuner/hub.js';
import { problemId } from '../model/cost-model.js';
import { measureSideBySide } from '../tuner/revalidate.js';
import { type Config, configKey } from '../tuner/space.js';
import { exhaustive } from '../tuner/strategies/exhaustive.js';
import { readHub } from '../tuner/shipped-space.js';
import { tuneSuite } from './tune.js';

/** Leaders: the configurations within this margin of the fastest search-time median (at most maxLeaders), re-timed in `rounds` interleaved rounds. */
export const HUB_LEADERS = { margin: 0.1, maxLeaders: 8, rounds: 10, roundMs: 40 } as const;

export interface HubRecordOptions {
  readonly out: string;
  readonly command: string;
  readonly signal?: AbortSignal;
  readonly log: (s: string) => void;
  readonly progress?: (p: { done: number; total: number; failed: number; current: string }) => void;
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
  const peak = ((await session.ceilings?.()) ?? []).filter((c) => c.name.endsWith('peak') && Number(c.params.threads ?? 1) === 1).map((c) => c.gflops);
  const device = {
    fingerprint: deviceFingerprint(session.device),
    description: session.device.description,
    backend: session.backend,
    threads: Number(session.device.details.threads ?? 1),
    ...(peak.length ? { peak_gflops: Number(Math.max(...peak).toPrecision(4)) } : {}),
  };
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
    const close = ranked.filter((x) => x.median_ms! <= ranked[0]!.median_ms! * (1 + HUB_LEADERS.margin));
    const leaders = (close.length >= 2 ? close : ranked.slice(0, 2)).slice(0, HUB_LEADERS.maxLeaders);
    o.progress?.({ done: recorded.length, total: tuned.length, failed: 0, current: `${c.name}: ${leaders.length} leaders side by side` });
    const side = await measureSideBySide(leaders, run.backend.variants, session, problem, makeProblemData(problem, 1), HUB_LEADERS);
    // Each leader against the fastest of them, round by round (drift hits both alike): the median
    // ratio, put on the scale of the search medians (leaderTimes).
    const roundMedian = (r: readonly number[]) => quantile(r, 0.5);
    const ref = side.reduce((a, b) => (roundMedian(b.rounds) < roundMedian(a.rounds) ? b : a), side[0]!);
    const ratios = side.map((f) => ({ key: f.key, config: f.config, ratio: roundRatio(f.rounds, ref!.rounds) }));
    const ms = leaderTimes(ratios, new Map(leaders.map((l) => [l.key, l.median_ms])));
    const leaderRows = ratios.map((l) => [indexOf(l.config), ms.get(l.key)!, l.ratio] as const).sort((a, b) => a[1] - b[1]);
    recorded.push({ name: c.name, problem: problemRecord(problem), times, leaders: side.length >= 2 ? leaderRows : [] });
    o.log(`hub: ${c.name}: ${times.length} configurations, ${times.filter((t) => t[1] === null).length} failed; ${leaderRows.length} leaders side by side, fastest ${configs[leaderRows[0]?.[0] ?? 0] ? configKey(configs[leaderRows[0]![0]]!) : '–'}`);
  }
  // Problems of an earlier recording on this device that this one did not measure are kept.
  const kept = before && before.device.fingerprint === device.fingerprint ? before.problems.filter((p) => !recorded.some((r) => problemId(r.problem) === problemId(p.problem))) : [];
  const problems = [
    ...kept.map((p) => ({ ...p, times: p.times.map(([i, ms, s]) => [indexOf(before!.configs[i]!), ms, s] as const), leaders: p.leaders.map(([i, ms, r]) => [indexOf(before!.configs[i]!), ms, r] as const) })),
    ...recorded,
  ];
  const hub: HubFile = { schema: 'neotune-hub', version: 1, device, recorded: new Date().toISOString().slice(0, 10), command: o.command, configs, problems };
  if (problems.length === 0) return hub;
  writeFileAtomic(o.out, hubText(hub));
  // Times the rest of their space contradicts (hubSuspects) are timed again before the hub is done.
  return o.signal?.aborted ? hub : (await retimeHubSuspects(hub, run, o)).hub;
}

/** Suspects are re-timed in groups of at most this many, each with the problem's fastest configuration (the reference). */
export const HUB_RETIME_GROUP = 24;

/** Passes of `retimeHubSuspects` at most: a suspect re-timed faster can make its twin a suspect. */
export const HUB_RETIME_PASSES = 3;

/**
 * `neotune hub check --retime`: every suspect of a hub recorded on this device (hubSuspects: a
 * recorded time the rest of its space contradicts) opened again, verified again and timed side by
 * side with its problem's fastest configuration, as the leaders were (interleaved rounds, each
 * turn waiting out a core's slow phase); each one's ratio to that reference (the median of the
 * rounds' ratios) goes into the problem's `retimed` rows. The recorded medians are kept; hubSpaces
 * gives a suspect the faster of its two times. A suspect that no longer opens or verifies keeps
 * its time. Once re-timed, a configuration is no longer a suspect; its twins may become ones, so
 * the check runs again, up to HUB_RETIME_PASSES times.
 */
export async function retimeHubSuspects(hub: HubFile, run: BackendRun, o: HubRecordOptions, field = 'hub'): Promise<{ hub: HubFile; retimed: number; suspects: number }> {
  const fingerprint = deviceFingerprint(run.session.device);
  if (hub.device.fingerprint !== fingerprint) throw new InputError(field, hub.device.fingerprint, `a hub recorded on this device (${fingerprint})`);
  let out: HubFile = { ...hub, command: hub.command === o.command ? hub.command : `${hub.command}; ${o.command}` };
  let retimed = 0;
  let suspects = 0;
  for (let pass = 1; pass <= HUB_RETIME_PASSES && !o.signal?.aborted; pass++) {
    const spaces = hubSpaces(out);
    const found = hubSuspects(out, spaces);
    if (found.length === 0) break;
    suspects += found.length;
    const problems: HubProblem[] = [];
    for (const [pi, p] of out.problems.entries()) {
      const mine = found.filter((x) => x.problem === pi);
      if (mine.length === 0 || o.signal?.aborted) problems.push(p);
      else {
        const rows = await retimeProblem(out, pi, spaces[pi]!, mine.map((x) => x.config), run, o);
        retimed += rows.length - (p.retimed?.length ?? 0);
        problems.push({ ...p, retimed: rows });
        const after = hubSpaces({ ...out, problems: [{ ...p, retimed: rows }] })[0]!;
        const was = (i: number) => spaces[pi]!.truth.get(configKey(out.configs[i]!))!;
        const faster = mine.filter((x) => after.truth.get(configKey(out.configs[x.config]!))! < was(x.config) / (1 + HUB_LEADERS.margin)).length;
        o.log(`hub: ${p.name}: ${mine.length} suspects re-timed side by side with ${spaces[pi]!.bestKey} (pass ${pass}); ${faster} came out over ${100 * HUB_LEADERS.margin} % faster than recorded`);
      }
    }
    out = { ...out, problems };
    writeFileAtomic(o.out, hubText(out));
  }
  return { hub: out, retimed, suspects };
}

/** One problem's suspects timed side by side with its fastest configuration, in groups: its `retimed` rows with theirs added. */
async function retimeProblem(hub: HubFile, pi: number, space: HubSpace, suspects: readonly number[], run: BackendRun, o: HubRecordOptions): Promise<(readonly [number, number, number])[]> {
  const p = hub.problems[pi]!;
  const indexOf = new Map(hub.configs.map((c, i) => [configKey(c), i]));
  const problem = problemFromRecord(p.problem);
  const data = makeProblemData(problem, 1);
  const ref = { key: space.bestKey, config: hub.configs[indexOf.get(space.bestKey)!]! };
  // The suspects nearest the best first: an interrupted run has re-timed those that matter most.
  const queue = suspects.map((i) => ({ key: configKey(hub.configs[i]!), config: hub.configs[i]! })).sort((a, b) => space.truth.get(a.key)! - space.truth.get(b.key)!);
  const rows = [...(p.retimed ?? [])];
  for (let start = 0; start < queue.length && !o.signal?.aborted; start += HUB_RETIME_GROUP - 1) {
    const group = queue.slice(start, start + HUB_RETIME_GROUP - 1);
    o.progress?.({ done: pi, total: hub.problems.length, failed: 0, current: `${p.name}: ${start + group.length} of ${queue.length} suspects side by side` });
    const side = await measureSideBySide([ref, ...group], run.backend.variants, run.session, problem, data, HUB_LEADERS);
    const refRounds = side.find((f) => f.key === ref.key)?.rounds;
    if (!refRounds) break; // the reference no longer opens or verifies: nothing to re-time against
    for (const f of side)
      if (f.key !== ref.key) rows.push([indexOf.get(f.key)!, roundRatio(f.rounds, refRounds), indexOf.get(ref.key)!]);
  }
  return rows;
}

/**
 * A configuration's time over the reference's, from rounds in which both ran back to back: the
 * median of the rounds' ratios (drift between rounds hits both alike), to 4 digits.
 */
function roundRatio(rounds: readonly number[], refRounds: readonly number[]): number {
  return Number(Math.exp(quantile(rounds.map((m, r) => Math.log(m / refRounds[r]!)), 0.5)).toPrecision(4));
}

/** One problem per line, so two recordings diff by problem. */
export function hubText(hub: HubFile): string {
  const { problems, configs, ...head } = hub;
  return `{${Object.entries(head).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')},\n"configs":[\n${configs.map((c) => JSON.stringify(c)).join(',\n')}\n],\n"problems":[\n${problems.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`;
}
