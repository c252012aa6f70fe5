/**
 * `neotune tune`, `select`, `export`, `db-merge`: the tuner's commands. Tuning writes the database
 * after every candidate (atomically), so an interrupted run resumes where it stopped.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { checkOutputPath, checkOwnFile, writeFileAtomic } from '../../core/files.js';
import { neoCellProblem, problemKey } from '../../harness/problem.js';
import type { Dtype } from '../../harness/types.js';
import { backendEntry } from '../../kernels/registry.js';
import { resolveSuite } from '../../suites/suite.js';
import { type DbEntry, deviceFingerprint, emptyDb, mergeDbs, type TuningDb } from '../../tuner/db.js';
import { deviceBackend, dispatchModule, dispatchTable } from '../../tuner/dispatch.js';
import { portableModelFor } from '../../tuner/model/training.js';
import { bundleText, EXPORT_FORMATS, type ExportFormat, moduleDts, moduleText, pickDevice } from '../../tuner/export.js';
import { readJsonFile } from '../../core/validate.js';
import { select } from '../../tuner/select.js';
import { configKey } from '../../tuner/space.js';
import { STRATEGIES, STRATEGY_NAMES, strategyByName } from '../../tuner/strategies/index.js';
import { entryWinner, entryWinnerAsTuned } from '../../tuner/tune.js';
import { action, EXIT, fmt, formatTable, parseChoice, parseIntOption, parseNumberOption, UsageError } from '../cli-util.js';
import { addEffortOptions, addProblemOptions, DEFAULT_DB, type SearchFlags, addVerbosityOptions, type EffortFlags, effortSettings, examples, exampleText, verbosity } from '../options.js';
import { CommandProgress, tuneHooks, withProgress } from '../progress.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import { checkKernelNames, checkLoad, openBackends } from '../../lib/run.js';
import { openStore, type TunedProblem, tuneSuite } from '../../lib/tune.js';
import { shippedHubs } from '../../tuner/shipped-space.js';
import { modelOfEverything, sessionDeviceFeatures } from '../../tuner/model/training.js';


/** This machine's device key on `backend` (its session's fingerprint). */
async function thisDevice(backend: string): Promise<string> {
  const entry = backendEntry(backend);
  if (!entry.load) throw new InputError('backend', backend, 'a backend with kernels');
  const session = await (await entry.load()).open();
  try {
    return deviceFingerprint(session.device);
  } finally {
    await session.close();
  }
}

const dtsPath = (out: string) => out.replace(/\.(m?js|ts)$/, '') + '.d.ts';

interface TuneFlags extends EffortFlags, SearchFlags {
  json?: boolean;
}

/** `neotune tune`: a suite's problems searched into the tuning database. */
export function registerTune(program: Command): void {
  const cmd = program.command('tune').description('search each problem of a suite for its fastest verified kernel; every candidate is recorded in the tuning database');
  addEffortOptions(addProblemOptions(cmd, { suite: 'neonext-t' }), 'balanced')
    .option('--strategy <name>', `search strategy: ${STRATEGY_NAMES.join(', ')} (model: ranks configurations by the cost model learned from the shipped hub and the database)`, 'model')
    .option('--db <file>', 'tuning database (created when missing; resumed when present)', DEFAULT_DB)
    .option('--json', 'print the winners as JSON');
  addVerbosityOptions(cmd);
  examples(cmd, [
    ['neotune tune -b cpu', 'tune NeoNeXt-T on the CPU into neotune-out/tuning-db.json'],
    ['neotune tune -b webgpu --effort quick', 'a first tuning of the GPU in minutes'],
    ['neotune tune -b cpu --strategy exhaustive -s smoke', 'every configuration of the smoke suite'],
    ['neotune tune -b cpu --budget 40 --time-budget 10m', '40 evaluations per problem, 10 minutes in all'],
  ]).action(
    action(async (o: TuneFlags) => {
      const strategy = strategyByName(o.strategy);
      const suite = resolveSuite(o.suite, { batch: o.batch, dtype: o.dtype as Dtype });
      const effort = effortSettings(o, strategy.name);
      const progress = new CommandProgress('tune', verbosity(o));
      const store = await openStore(resolve(o.db), true);
      const load = await checkLoad(progress.log);
      const runs = await openBackends(o.backend, progress.log, { tuning: true });
      const kernels = o.kernels?.split(',').map((s) => s.trim());
      const signal = gracefulInterrupts(progress.log);
      let results: TunedProblem[];
      try {
        checkKernelNames(kernels, runs);
        results = await withProgress(progress, () =>
          tuneSuite(store, suite, runs, {
            strategy,
            seed: o.seed,
            budget: effort.budget,
            ...(effort.timeBudgetMs !== undefined ? { deadline: performance.now() + effort.timeBudgetMs } : {}),
            ...(kernels ? { kernels } : {}),
            ...tuneHooks(progress, signal, load, o.includeSoftware),
          }),
        );
      } finally {
        for (const r of runs) await r.session.close();
      }
      // Problems whose every configuration a constraint rules out (e.g. float16 without
      // shader-f16) are said, with the reasons, instead of vanishing from the table.
      for (const { run, c, problem, result: r } of results) {
        if (r.space.configs.length > 0 || r.space.pruned.length === 0) continue;
        const reasons = [...new Set(r.space.pruned.map((x) => x.reason))];
        process.stderr.write(`${c.name} ${problem.op} on ${run.entry.name}: nothing to tune, all ${r.space.pruned.length} configurations ruled out:\n${reasons.map((x) => `  ${x}\n`).join('')}`);
      }
      if (results.length === 0 && !signal.aborted) throw new UsageError('nothing to tune: every backend asked for is a software renderer (pass --include-software to tune it anyway)');
      if (results.length > 0 && results.every(({ result: r }) => r.space.configs.length === 0)) throw new UsageError('nothing to tune: no configuration of any variant can run these problems on these backends (reasons above)');
      const rows = results
        .filter(({ result: r }) => r.space.configs.length > 0)
        .map(({ run, c, problem, result: r }) => ({
          case: c.name,
          op: problem.op,
          backend: run.entry.name,
          problem: problemKey(problem),
          space: r.space.configs.length,
          pruned: r.space.pruned.length,
          evaluated: r.evaluated,
          reused: r.reused,
          failed: Object.values(r.entry.candidates).filter((x) => x.state !== 'verified').length,
          winner: r.winner ? configKey(r.winner.config) : null,
          median_ms: r.winner?.median_ms ?? null,
          tied: r.winner?.confidence.tied.length ?? 0,
          p_vs_next: r.winner?.confidence.p_vs_next ?? null,
          /** No candidate had a stable timing: the winner is the best of unstable ones. */
          unstable: r.winner?.confidence.unstable ?? false,
          revalidated: r.winner?.confidence.revalidated ?? null,
        }));
      if (o.json) process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
      else {
        process.stdout.write(
          formatTable(
            ['case', 'op', 'backend', 'evaluated', 'winner', 'median ms', 'side by side'],
            rows.map((r) => [
              String(r.case),
              String(r.op),
              String(r.backend),
              `${r.evaluated + r.reused}/${r.space}${r.failed ? ` (${r.failed} failed)` : ''}`,
              String(r.winner ?? 'none verified'),
              `${fmt((r.median_ms as number) ?? undefined, 4)}${r.unstable ? ' !' : ''}`,
              r.revalidated ? `${r.revalidated.candidates.length} finalists${r.revalidated.changed ? ', winner changed' : ''}` : '–',
            ]),
          ) +
            (rows.some((r) => r.unstable) ? '\n\n"!": no candidate of that problem had a stable timing (the machine was too busy); its winner is the best unstable one: re-tune on a quieter machine.' : '') +
            `\n\ndatabase: ${store.path}\n`,
        );
      }
      if (signal.aborted) {
        progress.log(`neotune: stopped by Ctrl-C; every candidate measured is in ${store.path}: run the same command again to resume (stored candidates are reused, not measured again)`);
        return INTERRUPTED_EXIT;
      }
      return rows.some((r) => r.winner === null) ? EXIT.KERNEL_FAILURES : EXIT.OK;
    }),
  );
}

/** `neotune select`: the kernel for a problem on this device, from the database. */
export function registerSelect(program: Command): void {
  program
    .command('select')
    .description('which kernel for this problem on this device: the tuned winner, or for an untuned problem the cost model\'s prediction (flagged untuned, with its expected time)')
    .option('-b, --backend <name>', 'backend', 'cpu')
    .requiredOption('--shape <NxCxHxW>', 'input shape, e.g. 1x96x56x56')
    .option('--spec <spec>', 'cell spec, e.g. 4+7 or 7', '7')
    .option('--shift <n>', 'shift', parseIntOption('shift', undefined, 1024, 0), 0)
    .option('--db <file>', 'tuning database', DEFAULT_DB)
    .option('--json', 'print JSON')
    .addHelpText('after', exampleText([
        ['neotune select --shape 1x96x56x56 --spec 4+7', 'which CPU kernel for NeoNeXt-T stage 1, from the database'],
        ['neotune select -b webgpu --shape 1x768x7x7 --spec 7 --json', 'the WebGPU choice as JSON'],
      ]))
    .action(
      action(async (o: { backend: string; shape: string; spec: string; shift: number; db: string; json?: boolean }) => {
        const m = /^(\d+)x(\d+)x(\d+)x(\d+)$/.exec(o.shape);
        if (!m) throw new InputError('shape', o.shape, 'NxCxHxW with positive integers, e.g. 1x96x56x56');
        const [N, C, H, W] = m.slice(1).map(Number) as [number, number, number, number];
        const problem = neoCellProblem({ N, C, H, W, spec: o.spec, shift: o.shift });
        const { db } = await openStore(resolve(o.db), false);
        const [run] = await openBackends(o.backend, () => {});
        try {
          const s = select(db, problem, run!.session.device, run!.backend.variants, () => {
            const hubs = shippedHubs();
            const model = modelOfEverything(hubs, db);
            return model && { model, device: sessionDeviceFeatures(run!.session.device, hubs) };
          });
          if (o.json) process.stdout.write(JSON.stringify({ problem: problemKey(problem), device: deviceFingerprint(run!.session.device), ...s, distance: Number.isFinite(s.distance) ? s.distance : null }, null, 1) + '\n');
          else {
            const why = s.tuned
              ? 'tuned'
              : s.predicted
                ? `UNTUNED: predicted by the ${s.basis}: expected ${fmt(s.predicted.expected_ms, 3)} ms (${fmt(s.predicted.range_ms[0], 3)}–${fmt(s.predicted.range_ms[1], 3)}), the fastest of ${s.predicted.candidates} configurations by the model; \`neotune tune\` measures it`
                : `UNTUNED: from ${s.basis}${Number.isFinite(s.distance) ? ` (distance ${fmt(s.distance, 2)})` : ''}`;
            process.stdout.write(`${s.variant} ${JSON.stringify(s.params)}\n${why}\n`);
          }
        } finally {
          await run!.session.close();
        }
      }),
    );
}

/** `neotune export`: the tuned choices of a device as a table, a module or a bundle. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export the tuned choices of a device: a dispatch table (table), an ES module using neotune/runtime (module), or one self-contained runtime bundle (bundle)')
    .option('--db <file>', 'tuning database', DEFAULT_DB)
    .option('--format <format>', `${EXPORT_FORMATS.join(', ')}`, parseChoice('format', EXPORT_FORMATS), 'table')
    .option('-b, --backend <name>', 'backend whose device on this machine to export (when --device is not given)', 'cpu')
    .option('--device <key>', 'any device of the database: its key, or a unique part of it (the Node patch version is ignored)')
    .requiredOption('-o, --out <file>', 'file to write, e.g. src/neocell-dispatch.ts (table), neocell.js (module, with neocell.d.ts), neocell.bundle.js (bundle)')
    .option('--no-model', 'module and bundle: leave the cost model out (about 100 KB); problems the table lacks then get the nearest tuned problem\'s choice')
    .addHelpText('after', exampleText([
        ['neotune export --format bundle -o web/neocell.bundle.js', 'one self-contained file for a page or Node'],
        ['neotune export --format module -o src/neocell.js', 'an ES module (+ .d.ts) on neotune/runtime'],
        ['neotune export --device h200 --format table -o src/dispatch.ts', 'another device of the database'],
      ]))
    .action(
      action(async (o: { db: string; format: ExportFormat; backend: string; device?: string; out: string; model: boolean }) => {
        checkOutputPath('out', o.out);
        // The .d.ts is neotune's name beside the user's --out: never written through a link.
        if (o.format === 'module') {
          checkOutputPath('out', dtsPath(o.out));
          checkOwnFile('out', resolve(dtsPath(o.out)));
        }
        const { db } = await openStore(resolve(o.db), false);
        const device = pickDevice(db, o.device ?? (await thisDevice(o.backend)), o.device ? 'device' : 'db');
        const n = Object.values(db.entries).filter((e) => e.device === device && e.winner).length;
        // Problems the table lacks get the cost model's prediction in the runtime (not in the standalone TypeScript table).
        const model = o.model && o.format !== 'table' ? portableModelFor(shippedHubs(), db, device, deviceBackend(db, device)) : undefined;
        const table = dispatchTable(db, device, model);
        if (o.format === 'table') writeFileAtomic(resolve(o.out), dispatchModule(db, device));
        else if (o.format === 'module') {
          writeFileAtomic(resolve(o.out), moduleText(table));
          writeFileAtomic(resolve(dtsPath(o.out)), moduleDts(), { followLink: false });
        } else writeFileAtomic(resolve(o.out), await bundleText(table));
        process.stdout.write(`wrote ${o.out}${o.format === 'module' ? ` and ${dtsPath(o.out)}` : ''}: ${n} tuned problems for ${device}${model ? `, and the cost model for the others (${model.basis.rows} measurements of ${model.basis.problems} problems)` : ''}\n`);
      }),
    );
}

/** `neotune db-merge`: tuning databases merged deterministically. */
export function registerDbMerge(program: Command): void {
  program
    .command('db-merge')
    .description('merge tuning databases (e.g. from two machines) deterministically; winners are recomputed')
    .argument('<files...>', 'databases to merge')
    .requiredOption('-o, --out <file>', 'merged database to write')
    .addHelpText('after', exampleText([
        ['neotune db-merge laptop.json server.json -o merged.json', 'one database from two machines'],
      ]))
    .action(
      action(async (files: string[], o: { out: string }) => {
        // Every input must exist and be valid before the output is touched (a typo is not an empty database).
        const inputs: TuningDb[] = [];
        for (const f of files) {
          inputs.push((await openStore(resolve(f), false, 'files')).db);
        }
        const out = await openStore(resolve(o.out), true, 'out');
        // An entry in several inputs gets its winner recomputed with the variants of its own backend.
        const variantsOf = new Map<string, readonly { readonly name: string }[]>();
        for (const b of new Set(inputs.flatMap((d) => Object.values(d.entries).map((e) => e.backend)))) {
          const entry = backendEntry(b);
          variantsOf.set(b, entry.load ? (await entry.load()).variants : []);
        }
        // Ties broken as a tune breaks them: by the favourite of a model of everything known, the
        // shipped hubs and the inputs. It learns from the inputs merged once by simplicity (merging
        // takes milliseconds, training seconds): merged, they are the same whatever their order,
        // and so is the model, and the output's bytes with it.
        const mergeAll = (rewin: (e: DbEntry) => ReturnType<typeof entryWinner>) => {
          let merged = inputs[0]!;
          for (const d of inputs.slice(1)) merged = mergeDbs(merged, d, rewin);
          return inputs.length === 1 ? mergeDbs(merged, emptyDb(), rewin) : merged;
        };
        const hubs = shippedHubs();
        const model = { hubs, model: modelOfEverything(hubs, mergeAll((e) => entryWinner(e, variantsOf.get(e.backend) ?? []))) };
        const merged = mergeAll((e) => entryWinnerAsTuned(e, variantsOf.get(e.backend) ?? [], model));
        await out.replaceWith(merged);
        process.stdout.write(`wrote ${o.out}: ${Object.keys(merged.entries).length} entries\n`);
      }),
    );
}
