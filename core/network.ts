/**
 * NeoNeXt network model: layer list, parameters and multiply-adds per layer type, for any input
 * resolution. Used by `neotune flops`, by suites (the distinct NeoCell problems of a network) and
 * by the network-level estimates of reports.
 *
 * Conventions (stated in every output):
 *  - MACs are multiply-adds; norms, GELU, residual adds and pooling are not MACs: norms are listed
 *    as separate element-op counts and left out of the totals (BatchNorm folds into the preceding
 *    layer at inference).
 *  - Parameters are learnable weights (BatchNorm running statistics are buffers, not parameters).
 *  - Linears and 1×1 convs have no bias, except the classifier (1000 biases).
 */
import { InputError, positiveInt } from './errors.js';
import type { CellSpec } from './spec.js';
import { buildCell, describeCell } from './spec.js';
import { cellCost } from './flops.js';

export type ModelName = 't' | 's' | 'b' | 'l' | 'xl';
export const MODEL_NAMES: readonly ModelName[] = ['t', 's', 'b', 'l', 'xl'];

export const NEONEXT: Record<ModelName, { depths: readonly number[]; dims: readonly number[] }> = {
  t: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768] },
  s: { depths: [3, 3, 27, 3], dims: [96, 192, 384, 768] },
  b: { depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024] },
  l: { depths: [3, 3, 27, 3], dims: [192, 384, 768, 1536] },
  xl: { depths: [3, 3, 27, 3], dims: [256, 512, 1024, 2048] },
};

/** Published figures (official README; "GFLOPs" there are multiply-adds). */
export const PUBLISHED: Record<ModelName, { paramsM?: number; gmacs224?: number; gmacs384?: number }> = {
  t: { paramsM: 27.5, gmacs224: 4.4, gmacs384: 13.3 },
  s: { paramsM: 49.3, gmacs224: 8.6, gmacs384: 25.7 },
  b: { paramsM: 86.8, gmacs224: 15.2, gmacs384: 45.2 },
  l: { paramsM: 193.5 },
  xl: {},
};

export const STAGE_SPECS = ['4+7', '4+7', '7', '7'] as const;

/** Shifts per stage: (1, 1, 1, 0) at 224, (1, 1, 1, 1) at 384; other resolutions use 384's from 384 up. */
export function stageShifts(resolution: number): number[] {
  return resolution >= 384 ? [1, 1, 1, 1] : [1, 1, 1, 0];
}

export type LayerKind = 'stem-conv' | 'conv1x1' | 'linear' | 'neocell' | 'neocell-down' | 'classifier' | 'batchnorm' | 'layernorm';

/** One layer of the network, with how many times it occurs (identical blocks of a stage). */
export interface Layer {
  readonly name: string;
  readonly kind: LayerKind;
  readonly stage: number;
  readonly occurrences: number;
  /** Input shape of this layer (channels, spatial). */
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly params: number;
  /** MACs of one occurrence (for NeoCells: nominal convention). */
  readonly macs: number;
  /** NeoCells only: the cell and its MACs under each convention, per occurrence. */
  readonly cell?: CellSpec;
  readonly neocell?: { readonly nominal: number; readonly useful: number; readonly dense: number };
  /** Norm layers only: element operations per occurrence (not MACs, not in totals). */
  readonly normOps?: number;
}

export function parseModel(v: string): ModelName {
  const m = v.toLowerCase().replace(/^neonext-?/, '');
  if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new InputError('model', v, MODEL_NAMES.join(', '));
  return m as ModelName;
}

/** The layer list of NeoNeXt-`model` at `resolution` × `resolution`, batch 1. */
export function neonextLayers(model: ModelName, resolution: number): Layer[] {
  positiveInt('resolution', resolution);
  if (resolution < 32) throw new InputError('resolution', resolution, 'an integer ≥ 32 (the network down-samples by 32)');
  const { depths, dims } = NEONEXT[model];
  const shifts = stageShifts(resolution);
  const layers: Layer[] = [];
  let H = Math.floor(resolution / 4);
  let W = H;
  const C0 = dims[0]!;
  // Stem: 4×4 patchify (a reshape to 48 channels) → 1×1 conv 48 → C1 → BatchNorm.
  layers.push({ name: 'stem.conv1x1', kind: 'stem-conv', stage: 0, occurrences: 1, C: 48, H, W, params: 48 * C0, macs: 48 * C0 * H * W });
  layers.push(norm('stem.bn', 'batchnorm', 0, 1, C0, H, W));
  for (let s = 0; s < 4; s++) {
    const C = dims[s]!;
    if (s > 0) {
      const Cp = dims[s - 1]!;
      layers.push({ name: `down${s}.conv1x1`, kind: 'conv1x1', stage: s, occurrences: 1, C: Cp, H, W, params: Cp * C, macs: Cp * C * H * W });
      const down = buildCell(C, { h_in: 2, h_out: 1, w_in: 2, w_out: 1 });
      layers.push(neocellLayer(`down${s}.neocell`, 'neocell-down', s, 1, down, H, W));
      H = Math.floor(H / 2);
      W = Math.floor(W / 2);
      layers.push(norm(`down${s}.bn`, 'batchnorm', s, 1, C, H, W));
    }
    const d = depths[s]!;
    const cell = buildCell(C, STAGE_SPECS[s]!, { shift: shifts[s]! });
    layers.push(neocellLayer(`stage${s + 1}.neocell`, 'neocell', s + 1, d, cell, H, W));
    layers.push(norm(`stage${s + 1}.bn`, 'batchnorm', s + 1, d, C, H, W));
    layers.push({ name: `stage${s + 1}.linear1`, kind: 'linear', stage: s + 1, occurrences: d, C, H, W, params: C * 4 * C, macs: C * 4 * C * H * W });
    layers.push({ name: `stage${s + 1}.linear2`, kind: 'linear', stage: s + 1, occurrences: d, C: 4 * C, H, W, params: 4 * C * C, macs: 4 * C * C * H * W });
  }
  const C4 = dims[3]!;
  layers.push(norm('head.ln', 'layernorm', 5, 1, C4, 1, 1));
  layers.push({ name: 'head.classifier', kind: 'classifier', stage: 5, occurrences: 1, C: C4, H: 1, W: 1, params: C4 * 1000 + 1000, macs: C4 * 1000 });
  return layers;
}

function norm(name: string, kind: 'batchnorm' | 'layernorm', stage: number, occurrences: number, C: number, H: number, W: number): Layer {
  return { name, kind, stage, occurrences, C, H, W, params: 2 * C, macs: 0, normOps: C * H * W };
}

function neocellLayer(name: string, kind: 'neocell' | 'neocell-down', stage: number, occurrences: number, cell: CellSpec, H: number, W: number): Layer {
  const cost = cellCost(cell, 1, H, W);
  return {
    name,
    kind,
    stage,
    occurrences,
    C: cell.C,
    H,
    W,
    params: cost.params,
    macs: cost.nominalAFirst,
    cell,
    neocell: { nominal: cost.nominalAFirst, useful: cost.useful, dense: cost.dense },
  };
}

export type NeoCellConvention = 'nominal' | 'useful' | 'dense';
export const CONVENTIONS: readonly NeoCellConvention[] = ['nominal', 'useful', 'dense'];

export interface NetworkCount {
  readonly model: ModelName;
  readonly resolution: number;
  readonly params: number;
  /** Total MACs with NeoCells counted by each convention. */
  readonly macs: Record<NeoCellConvention, number>;
  /** MACs by layer kind (NeoCells: nominal). */
  readonly macsByKind: Partial<Record<LayerKind, number>>;
  readonly normOps: number;
  /** The same network with a depthwise 7×7 conv (no bias) in place of each square NeoCell. */
  readonly dwconv7: { readonly params: number; readonly macs: number; readonly neocellMacs: number; readonly dwconvMacs: number };
  readonly layers: readonly Layer[];
  readonly shifts: readonly number[];
}

export function countNetwork(model: ModelName, resolution: number): NetworkCount {
  const layers = neonextLayers(model, resolution);
  let params = 0;
  let other = 0;
  let normOps = 0;
  const neo: Record<NeoCellConvention, number> = { nominal: 0, useful: 0, dense: 0 };
  const byKind: Partial<Record<LayerKind, number>> = {};
  let dwParams = 0;
  let dwMacs = 0;
  let squareNeoMacs = 0;
  for (const l of layers) {
    params += l.params * l.occurrences;
    normOps += (l.normOps ?? 0) * l.occurrences;
    byKind[l.kind] = (byKind[l.kind] ?? 0) + l.macs * l.occurrences;
    if (l.neocell) {
      for (const c of CONVENTIONS) neo[c] += l.neocell[c] * l.occurrences;
    } else {
      other += l.macs * l.occurrences;
    }
    if (l.kind === 'neocell') {
      dwParams += 49 * l.C * l.occurrences;
      dwMacs += 49 * l.C * l.H * l.W * l.occurrences;
      squareNeoMacs += l.macs * l.occurrences;
    }
  }
  const squareNeoParams = layers.filter((l) => l.kind === 'neocell').reduce((s, l) => s + l.params * l.occurrences, 0);
  const macs = { nominal: other + neo.nominal, useful: other + neo.useful, dense: other + neo.dense };
  return {
    model,
    resolution,
    params,
    macs,
    macsByKind: byKind,
    normOps,
    dwconv7: {
      params: params - squareNeoParams + dwParams,
      macs: macs.nominal - squareNeoMacs + dwMacs,
      neocellMacs: squareNeoMacs,
      dwconvMacs: dwMacs,
    },
    layers,
    shifts: stageShifts(resolution),
  };
}

/** The distinct NeoCell problems of a network (batch 1) with how often each occurs per forward pass. */
export function networkCells(model: ModelName, resolution: number): { name: string; cell: CellSpec; H: number; W: number; occurrences: number; label: string }[] {
  return neonextLayers(model, resolution)
    .filter((l) => l.cell)
    .map((l) => ({ name: l.name, cell: l.cell!, H: l.H, W: l.W, occurrences: l.occurrences, label: describeCell(l.cell!) }));
}
