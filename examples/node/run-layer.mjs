// One NeoCell layer in a Node service with the tuned choice of this machine.
//   neotune tune --backend cpu                      # tune (writes neotune-out/tuning-db.json)
//   neotune export --format bundle --out examples/node/neocell.bundle.js
//   node examples/node/run-layer.mjs
// With neotune installed as a package, import { createNeoCell } from 'neotune/runtime' instead
// (and pass { table } from `neotune export --format module`): that build also has worker threads.
import { createNeoCell } from './neocell.bundle.js';

const layer = { N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }; // NeoNeXt-T stage 1
const cell = await createNeoCell({ backend: 'wasm' }, layer);
console.log(`kernel: ${cell.choice.variant} ${JSON.stringify(cell.choice.params)} (${cell.choice.reason})`);

// Trained weights go here: per group, weight_a [channels, h_out, h_in], weight_b [channels, w_in, w_out].
const random = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
cell.setWeights([random(48 * 4 * 4), random(48 * 7 * 7)], [random(48 * 4 * 4), random(48 * 7 * 7)]);

const x = random(layer.N * layer.C * layer.H * layer.W);
const y = await cell.run(x);
const t0 = performance.now();
for (let i = 0; i < 100; i++) await cell.run(x, y);
console.log(`y: ${y.length} floats, ${((performance.now() - t0) / 100).toFixed(3)} ms per call`);
await cell.dispose();
