/**
 * The fresh process of tuner/fresh-process.ts: reads one SideBySideRequest on stdin, answers one
 * SideBySideReply on stdout, exit 0; exit 1 where it cannot measure what was asked on the same
 * device (the tune then decides without this process).
 */
import { text } from 'node:stream/consumers';
import { makeProblemData, problemFromRecord } from '../harness/problem.js';
import { backendEntry, openBackend } from '../kernels/registry.js';
import { deviceFingerprint } from './db-model.js';
import { measureSideBySide } from './revalidate.js';
import type { SideBySideReply, SideBySideRequest } from './fresh-process.js';

async function main(): Promise<number> {
  const request = JSON.parse(await text(process.stdin)) as SideBySideRequest;
  const run = await openBackend(backendEntry(request.backend));
  try {
    if (deviceFingerprint(run.session.device) !== request.device) return 1;
    const problem = problemFromRecord(request.problem);
    const measured = await measureSideBySide(request.entries, run.backend.variants, run.session, problem, makeProblemData(problem, request.seed), request.options);
    const reply: SideBySideReply = { finalists: measured.map((f) => ({ key: f.key, rounds: f.rounds, slow: f.slowRounds })) };
    process.stdout.write(JSON.stringify(reply));
    return 0;
  } finally {
    await run.session.close();
  }
}

main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
