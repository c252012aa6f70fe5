/**
 * Export for applications: a database tuned here is exported as `module` and as `bundle`; the
 * bundle, copied into an empty folder with no neotune source, runs every case of the case table
 * through createNeoCell on WebAssembly, JavaScript and WebGPU (Dawn) in Node, and on WebGPU,
 * WebAssembly and JavaScript in Chromium from a page served on 127.0.0.1; the module runs through
 * `neotune/runtime`, with weights in the official layout,
 * verified against the float64 reference.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { neoCellReference } from '../core/reference.js';
import { Rng } from '../core/rng.js';
import { randomWeights } from '../core/weights.js';
import { chromiumMissingReason, launchBrowser } from '../browser/chromium.js';
import { base64ToFloat32, float32ToBase64 } from '../browser/page-kernel.js';
import type { NeoCellProblem } from '../harness/types.js';
import { verifyOutput } from '../harness/verify.js';
import { webgpuBackend } from '../kernels/webgpu/backend.js';
import type { WebGpuSession } from '../kernels/webgpu/session.js';
import type { NeoCell, NeoCellLayer, NeoCellTarget } from '../runtime/neocell.js';
import type { TuningDb } from '../tuner/db.js';
import { deviceFamily, pickDevice } from '../tuner/export.js';
import { CELL_CASES, layerOf } from './cases.js';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const neotune = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'neotune-export-'));
const app = mkdtempSync(join(tmpdir(), 'neotune-app-'));

type Bundle = { createNeoCell(t: NeoCellTarget, l: NeoCellLayer): Promise<NeoCell>; TABLE: { device: string; rows: unknown[] } };
let bundle: Bundle;

const inputs = (p: NeoCellProblem) => {
  const w = randomWeights(p.cell, 3);
  const x = new Rng(4).float32Array(p.N * p.C * p.H * p.W);
  return { w, x, a: w.a.map((v) => Float32Array.from(v)), b: w.b.map((v) => Float32Array.from(v)), ref: neoCellReference(x, p, p.cell, w) };
};

before(() => {
  const db = join(dir, 'db.json');
  const tune = neotune('tune', '--backend', 'cpu', '--suite', 'smoke', '--kernels', 'sparse-js,fused-js', '--budget', '2', '--db', db, '--json');
  assert.equal(tune.status, 0, tune.stderr);
  for (const [format, out, ...extra] of [
    ['bundle', join(dir, 'neocell.bundle.js')],
    ['module', join(dir, 'neocell.js')],
    ['bundle', join(dir, 'no-model.bundle.js'), '--no-model'],
    ['module', join(dir, 'no-model.js'), '--no-model'],
    ['table', join(dir, 'dispatch.ts')],
  ] as const) {
    const r = neotune('export', '--db', db, '--format', format, '--out', out, ...extra);
    assert.equal(r.status, 0, r.stderr);
  }
  copyFileSync(join(dir, 'neocell.bundle.js'), join(app, 'neocell.bundle.js'));
});

describe('export formats', () => {
  it('module: an ES module with the table importing neotune/runtime, and its .d.ts', () => {
    const text = readFileSync(join(dir, 'neocell.js'), 'utf8');
    assert.match(text, /from 'neotune\/runtime'/);
    assert.match(text, /export const TABLE = \{/);
    assert.match(readFileSync(join(dir, 'neocell.d.ts'), 'utf8'), /createNeoCell\(target: NeoCellTarget, layer: NeoCellLayer/);
  });

  it('module: runs through neotune/runtime (resolved as the installed package resolves it)', async () => {
    // Inside this package, Node resolves "neotune/runtime" through package.json "exports" (self-reference).
    const inPackage = mkdtempSync(join(import.meta.dirname, 'export-app-'));
    try {
      copyFileSync(join(dir, 'neocell.js'), join(inPackage, 'neocell.js'));
      const m = (await import(pathToFileURL(join(inPackage, 'neocell.js')).href)) as Bundle;
      const c = CELL_CASES[1]!;
      const cell = await m.createNeoCell({ backend: 'wasm' }, layerOf(c.problem));
      const { a, b, x, ref } = inputs(c.problem);
      cell.setWeights(a, b);
      assert.ok(verifyOutput(await cell.run(x), ref, 'float32').ok);
      await cell.dispose();
    } finally {
      rmSync(inPackage, { recursive: true, force: true });
    }
  });

  it('bundle: self-contained (no import at all), at most 150 KB, 260 KB with the cost model', () => {
    const text = readFileSync(join(app, 'neocell.bundle.js'), 'utf8');
    // Static imports (`import x from "…"`, `import{…}from"…"`) and dynamic imports of a package or built-in.
    assert.ok(!/(^|[;}])\s*import\s*[{*\w][^;]*from\s*["']|\bimport\(\s*["'][^.]/.test(text.replace(/^\/\/[^\n]*\n/, '')), 'no import of a package or built-in');
    assert.ok(text.length < 260_000, `${text.length} bytes`);
    assert.ok(readFileSync(join(dir, 'no-model.bundle.js'), 'utf8').length < 150_000);
  });

  it('module and bundle carry the cost model for the problems the table lacks (not with --no-model, nor the standalone TypeScript table)', () => {
    // The model's data (its trees), as a literal in the module and inside the bundle's JSON text.
    const trees = /\\?"trees\\?":\[\{\\?"c\\?":\[/;
    assert.match(readFileSync(join(dir, 'neocell.js'), 'utf8'), /\n "model": \{"format":"neotune-cost-model","version":1,/);
    assert.match(readFileSync(join(dir, 'neocell.bundle.js'), 'utf8'), trees);
    for (const f of ['no-model.js', 'no-model.bundle.js', 'dispatch.ts']) assert.doesNotMatch(readFileSync(join(dir, f), 'utf8'), trees, f);
  });

  it('devices are picked by key, ignoring the Node patch version, or by a unique part', () => {
    const db = { schema: 'neotune-tuning-db', version: 2, entries: {} } as unknown as TuningDb;
    const win = { key: 'k', config: { variant: 'v', params: {} }, median_ms: 1, confidence: { fastest: 'k', tied: [], p_value: 1, ratio_ci: [1, 1], p_vs_next: null } };
    for (const d of ['cpu | EPYC (2 threads) | threads=2 | node=v20.20.1', 'webgpu | nvidia h200']) (db.entries as Record<string, unknown>)[d] = { device: d, backend: 'cpu', problem: {}, candidates: {}, winner: win };
    assert.equal(pickDevice(db, 'cpu | EPYC (2 threads) | threads=2 | node=v20.20.2'), 'cpu | EPYC (2 threads) | threads=2 | node=v20.20.1');
    assert.equal(deviceFamily('cpu | x | node=v20.20.2'), 'cpu | x | node=v20.20');
    assert.equal(pickDevice(db, 'h200'), 'webgpu | nvidia h200');
    assert.throws(() => pickDevice(db, 'rtx'), /invalid device: "rtx".*allowed: "cpu \| EPYC/);
  });

  it('an unknown device is an error listing the database\'s devices', () => {
    const r = neotune('export', '--db', join(dir, 'db.json'), '--device', 'no such gpu', '--format', 'bundle', '--out', join(dir, 'x.js'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid device: "no such gpu".*allowed: "cpu \| /);
  });
});

describe('the bundle in an application folder (Node)', () => {
  let gpu: WebGpuSession;
  before(async () => {
    bundle = (await import(pathToFileURL(join(app, 'neocell.bundle.js')).href)) as Bundle;
    gpu = (await webgpuBackend.open()) as WebGpuSession;
  });
  after(() => gpu.close());

  for (const backend of ['wasm', 'js', 'webgpu'] as const) {
    it(`${backend}: every case verified; the tuned smoke problem runs its tuned choice`, async () => {
      const target = (backend === 'webgpu' ? { backend, device: gpu.gpu.device } : { backend }) as NeoCellTarget;
      for (const c of CELL_CASES) {
        const cell = await bundle.createNeoCell(target, layerOf(c.problem));
        try {
          const { a, b, x, ref } = inputs(c.problem);
          cell.setWeights(a, b);
          const v = verifyOutput(await cell.run(x), ref, 'float32');
          assert.ok(v.ok, `${c.name} on ${backend} (${cell.choice.variant}): ${'reason' in v ? v.reason : ''}`);
          assert.equal(cell.choice.tuned, false);
        } finally {
          await cell.dispose();
        }
      }
      if (backend === 'js') {
        const cell = await bundle.createNeoCell(target, { N: 1, C: 64, H: 14, W: 14, spec: '7' });
        assert.equal(cell.choice.tuned, true, cell.choice.reason);
        await cell.dispose();
      }
    });
  }

  it('wasm threads: Web Workers only, so in Node the bundle says to use neotune/runtime', async () => {
    await assert.rejects(
      () => bundle.createNeoCell({ backend: 'wasm', threads: 2 }, layerOf(CELL_CASES[0]!.problem)),
      (e: Error) => e.name === 'InputError' && /^invalid target\.threads: 2; allowed: 1 here: this JavaScript engine has no Web Workers \(in Node, import createNeoCell from neotune\/runtime/.test(e.message),
    );
  });
});

describe('the bundle in a page (Chromium, 127.0.0.1)', { skip: chromiumMissingReason() }, () => {
  it('examples/web/index.html runs the NeoNeXt-T layers with the bundle on WebGPU, and on WebAssembly threads', async () => {
    const html = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'web', 'index.html'), 'utf8');
    const b = await launchBrowser({ '/index.html': ['text/html', html], '/neocell.bundle.js': ['text/javascript', readFileSync(join(app, 'neocell.bundle.js'), 'utf8')] });
    try {
      for (const query of ['', '?backend=wasm']) {
        const p = await b.browser.newPage();
        const errors: string[] = [];
        p.on('pageerror', (e) => errors.push(String(e)));
        await p.goto(`${b.origin}/index.html${query}`);
        await p.waitForFunction('document.querySelectorAll("#rows tr").length === 7', { timeout: 120_000 }).catch(() => assert.fail(`the example${query} did not finish: ${errors.join('; ')}`));
        const rows = (await p.$$eval('#rows tr', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)))) as string[][];
        assert.deepEqual(rows.map((r) => r[0]), ['stage1', 'down1', 'stage2', 'down2', 'stage3', 'down3', 'stage4']);
        assert.ok(rows.every((r) => Number(r[4]) > 0), JSON.stringify(rows));
        const cores = (await p.evaluate('navigator.hardwareConcurrency')) as number;
        const threads = Math.min(4, cores);
        assert.equal(await p.$eval('#target', (e) => e.textContent), query ? `WebAssembly, ${threads} thread${threads > 1 ? 's' : ''}` : 'WebGPU');
        await p.close();
      }
    } finally {
      await b.close();
    }
  });

  it('WebGPU, WebAssembly and JavaScript: every case verified', async () => {
    const page = `<!doctype html><script type="module">import * as rt from './neocell.bundle.js'; window.rt = rt; window.ready = true;</script>`;
    const b = await launchBrowser({ '/index.html': ['text/html', page], '/neocell.bundle.js': ['text/javascript', readFileSync(join(app, 'neocell.bundle.js'), 'utf8')] });
    try {
      const p = await b.browser.newPage();
      await p.goto(`${b.origin}/index.html`);
      await p.waitForFunction('window.ready === true', { timeout: 20_000 });
      assert.equal(await p.evaluate('crossOriginIsolated'), true, 'the test server isolates its pages (WebAssembly threads need it)');
      // wasm with 2 threads: Web Workers on a shared memory, the page's main thread being thread 0.
      for (const [backend, threads] of [['webgpu', 1], ['js', 1], ['wasm', 1], ['wasm', 2]] as const) {
        for (const c of CELL_CASES) {
          const { a, b: wb, x, ref } = inputs(c.problem);
          const out = (await p.evaluate(
            async (backend: string, threads: number, layer: unknown, xs: string, as: string[], bs: string[]) => {
              const f32 = (s: string) => {
                const bin = atob(s);
                const u = new Uint8Array(bin.length);
                for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
                return new Float32Array(u.buffer);
              };
              const rt = (window as never as { rt: Bundle }).rt;
              const target = backend === 'webgpu' ? { backend, device: await (await navigator.gpu.requestAdapter())!.requestDevice() } : threads > 1 ? { backend, threads } : { backend };
              const cell = await rt.createNeoCell(target as NeoCellTarget, layer as NeoCellLayer);
              cell.setWeights(as.map(f32), bs.map(f32));
              const y = await cell.run(f32(xs));
              await cell.dispose();
              const u = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
              let s = '';
              for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
              return btoa(s);
            },
            backend,
            threads,
            layerOf(c.problem) as never,
            float32ToBase64(x),
            a.map(float32ToBase64),
            wb.map(float32ToBase64),
          )) as string;
          const v = verifyOutput(base64ToFloat32(out), ref, 'float32');
          assert.ok(v.ok, `${c.name} on ${backend} (${threads} thread${threads > 1 ? 's' : ''}) in Chromium: ${'reason' in v ? v.reason : ''}`);
        }
      }
    } finally {
      await b.close();
    }
  });
});

