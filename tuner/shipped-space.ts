/** The recorded data neotune ships: the exhaustive space of one problem (data/recorded-space.json) and the hub (data/hub/). */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonFile } from '../core/validate.js';
import { HUB_SCHEMA, type HubFile } from './hub.js';
import type { CostModel } from '../model/cost-model.js';
import { modelOfEverything } from './model/training.js';

/** Found from this module (dist/tuner/), whatever the working folder. */
export const SHIPPED_SPACE = fileURLToPath(new URL('../../data/recorded-space.json', import.meta.url));

/** The hub of exhaustive spaces recorded on this project's CPU machine: `neotune replay --hub`'s default and the cost model's prior. */
export const SHIPPED_HUB = fileURLToPath(new URL('../../data/hub/cpu.json', import.meta.url));

/** Reads a hub file (checked against its schema; exit 2 naming the field when it is not one). */
export function readHub(path: string, field = 'hub'): HubFile {
  return readJsonFile<HubFile>(field, path, HUB_SCHEMA, 'a hub of exhaustive spaces (neotune-hub)');
}

/** The files of every hub shipped with neotune (data/hub/*.json), sorted. */
export function shippedHubPaths(): string[] {
  const dir = dirname(SHIPPED_HUB);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** Every hub shipped with neotune: the cost model's prior. */
export function shippedHubs(): HubFile[] {
  return shippedHubPaths().map((f) => readHub(f));
}

/**
 * The hubs `replay --hub` trains its model on besides the scored one: the files `--with` names
 * (comma-separated; 'none': no other); by default, when the shipped hub is scored, the other shipped
 * hubs, as `tune`'s model learns from all of them; for any other hub, none.
 */
export function replayTrainingHubs(shippedScored: boolean, withOption: string | undefined): string[] {
  if (withOption === 'none') return [];
  if (withOption !== undefined) return withOption.split(',').filter(Boolean).map((f) => resolve(f));
  return shippedScored ? shippedHubPaths().filter((f) => f !== SHIPPED_HUB) : [];
}

let shipped: { readonly hubs: HubFile[]; readonly model: CostModel | undefined } | undefined;

/**
 * The shipped hubs and the cost model of them alone, read and trained once per process (a few
 * seconds): the model a fleet worker and the tuning page tune with, and the tie order of a winner
 * recomputed from their candidates.
 */
export function shippedModel(): { readonly hubs: HubFile[]; readonly model: CostModel | undefined } {
  if (!shipped) {
    const hubs = shippedHubs();
    shipped = { hubs, model: modelOfEverything(hubs, undefined) };
  }
  return shipped;
}
