/**
 * The README's pictures of the tuning page from a real run: serves the page with a collection
 * database, lets headless Chromium tune the smoke suite (quick, WebAssembly and WebGPU, the
 * software renderer included so that its flagging shows) and submit, then captures the page and
 * the leaderboard.
 *
 *   node dist/dev/page-images.js DOCS_FOLDER
 *
 * Writes DOCS_FOLDER/page-run.png and DOCS_FOLDER/leaderboard.png; prints the run's wall time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { launchBrowser } from '../browser/chromium.js';
import { servePage } from '../lib/page.js';

const [docs] = process.argv.slice(2);
if (!docs) {
  process.stderr.write('usage: node dist/dev/page-images.js DOCS_FOLDER\n');
  process.exit(2);
}

const collected = join(mkdtempSync(join(tmpdir(), 'neotune-page-images-')), 'collected.json');
const served = await servePage('127.0.0.1', 0, { collect: collected, log: () => {} });
const b = await launchBrowser({});
try {
  const page = await b.browser.newPage();
  await page.setViewport({ width: 1100, height: 900, deviceScaleFactor: 1 });
  const started = Date.now();
  await page.goto(`${served.url}/?suite=smoke&backends=wasm,webgpu&effort=quick&include-software=1&autorun=1&submit=1`);
  await page.waitForFunction(() => (globalThis as { neotune?: { done: boolean } }).neotune?.done === true, { timeout: 600_000, polling: 500 });
  const state = await page.evaluate(() => (globalThis as unknown as { neotune: { error?: string; submitted?: { status: number } } }).neotune);
  if (state.error) throw new Error(`the page's run failed: ${state.error}`);
  if (state.submitted?.status !== 200) throw new Error(`the submission was not merged: ${JSON.stringify(state.submitted)}`);
  const wall = (Date.now() - started) / 1000;
  writeFileAtomic(join(docs, 'page-run.png'), Buffer.from(await page.screenshot({ type: 'png', fullPage: true })));
  await page.goto(`${served.url}/leaderboard`);
  writeFileAtomic(join(docs, 'leaderboard.png'), Buffer.from(await page.screenshot({ type: 'png', fullPage: true })));
  process.stdout.write(`page run ${wall.toFixed(0)} s; wrote ${join(docs, 'page-run.png')} and ${join(docs, 'leaderboard.png')}\n`);
} finally {
  await b.close();
  served.server.close();
}
