/**
 * What the cost model learns from, gathered: every problem of the hubs given (the committed prior)
 * and every verified candidate of a tuning database, on every device; and the device features of
 * a device, ceilings included when a hub recorded them for it.
 */
import type { DeviceInfo } from '../../harness/types.js';
import { type DbEntry, deviceFingerprint, type TuningDb } from '../db-model.js';
import { type HubFile, hubRows } from '../hub.js';
import type { ProblemRecord } from '../../harness/problem.js';
import { type Config, configKey } from '../space.js';
import { type CostModel, type Prediction, trainCostModel, type TrainingRow } from '../../model/cost-model.js';
import type { ForestOptions } from '../../model/forest.js';
import type { PortableModel } from '../../model/portable.js';
import type { DeviceFeatures } from '../../model/features.js';

/** The device features of a database device (its fingerprint), with the ceilings a hub recorded for the same device. */
export function deviceFeaturesOf(fingerprint: string, backend: string, hubs: readonly HubFile[]): DeviceFeatures {
  const hub = hubs.find((h) => h.device.fingerprint === fingerprint);
  if (hub) return hub.device;
  const threads = Number(/\| threads=(\d+)/.exec(fingerprint)?.[1] ?? 1);
  return { backend, threads };
}

/** The device features of an opened device. */
export function sessionDeviceFeatures(device: DeviceInfo, hubs: readonly HubFile[]): DeviceFeatures {
  return deviceFeaturesOf(deviceFingerprint(device), device.backend, hubs);
}

/** Rows of a tuning database: every verified candidate with a median, on its entry's device. */
export function dbRows(db: TuningDb, hubs: readonly HubFile[], include: (e: DbEntry) => boolean = () => true): TrainingRow[] {
  return Object.values(db.entries).flatMap((e) => {
    if (!include(e)) return [];
    const device = deviceFeaturesOf(e.device, e.backend, hubs);
    return Object.values(e.candidates).flatMap((c) => (c.state === 'verified' && c.median_ms !== undefined ? [{ problem: e.problem, config: c.config, device, median_ms: c.median_ms }] : []));
  });
}

/** Every measurement known: the hubs' and the database's. */
function everythingRows(hubs: readonly HubFile[], db: TuningDb | undefined): TrainingRow[] {
  return [...hubs.flatMap((h) => hubRows(h)), ...(db ? dbRows(db, hubs) : [])];
}

/** The cost model of everything known: the hubs and the database (undefined when both are empty). */
export function modelOfEverything(hubs: readonly HubFile[], db: TuningDb | undefined, seed = 1): CostModel | undefined {
  return trainCostModel(everythingRows(hubs, db), { seed });
}

/**
 * The forest a dispatch table carries: 16 trees of at most 10 levels and leaves of 10 rows, about
 * 100 KB of JSON for the shipped hubs, against 1.7 MB for the tuner's 64 deep trees; it predicts
 * what they predict to a few per cent.
 */
export const EXPORTED_FOREST: Partial<ForestOptions> = { trees: 16, maxDepth: 10, minLeaf: 10 };

/** The cost model `neotune export` puts in the table of `device` (a database device key): trained on the hubs and the database, its predictions for that device; undefined when nothing was measured on its backend. */
export function portableModelFor(hubs: readonly HubFile[], db: TuningDb, device: string, backend: string, seed = 1): PortableModel | undefined {
  const model = trainCostModel(everythingRows(hubs, db), { ...EXPORTED_FOREST, seed });
  return model?.backends.has(backend) ? model.portable(deviceFeaturesOf(device, backend, hubs)) : undefined;
}

/** The model's prediction for every configuration of a problem on a device, by configuration key. */
export function priorFor(model: CostModel, problem: ProblemRecord, configs: readonly Config[], device: DeviceFeatures): Map<string, Prediction> {
  const p = model.predict(problem, configs, device);
  return new Map(configs.map((c, i) => [configKey(c), p[i]!]));
}
