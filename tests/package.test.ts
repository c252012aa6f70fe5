/**
 * neotune as an installable, typed library: `npm pack` makes a tarball that is installed into an
 * empty project (npm, scripts off), and a TypeScript file using both entry points (`neotune` and
 * `neotune/runtime`) is type-checked with tsc and then run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000 });

const APP = `import { createNeoCell, type NeoCell } from 'neotune/runtime';
import { neoCellProblem, resolveSuite, formatCell, InputError } from 'neotune';

const suite = resolveSuite('smoke');
const p = neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '3' });
const cell: NeoCell = await createNeoCell({ backend: 'wasm' }, { N: 1, C: 8, H: 8, W: 8, spec: '3' });
cell.setWeights([new Float32Array(8 * 3 * 3).fill(1)], [new Float32Array(8 * 3 * 3).fill(1)]);
const y: Float32Array = await cell.run(new Float32Array(8 * 8 * 8).fill(1));
let named = '';
try {
  cell.setWeights([], []);
} catch (e) {
  if (e instanceof InputError) named = e.field;
}
await cell.dispose();
console.log(JSON.stringify({ cases: suite.cases.length, cell: formatCell(p.cell), y: y.length, corner: y[0], middle: y[3 * 8 + 3], variant: cell.choice.variant, named }));
`;

describe('the packed package', () => {
  it('installs into an empty project; both entry points type-check and run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-pack-'));
    const pack = run('npm', ['pack', '--pack-destination', dir], ROOT);
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Install scripts off: no native build or download is needed by either entry point.
    const install = run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(dir, tarball)], app);
    assert.equal(install.status, 0, install.stderr);
    writeFileSync(join(app, 'main.ts'), APP);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [], outDir: 'out' }, files: ['main.ts'] }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const check = run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const main = run(process.execPath, ['out/main.js'], app);
    assert.equal(main.status, 0, main.stderr);
    const r = JSON.parse(main.stdout) as { cases: number; cell: string; y: number; corner: number; middle: number; named: string };
    // All-ones 3×3 blocks on all-ones input: every output is 3·3 = 9 (8 outputs per axis, whole blocks but the last).
    assert.deepEqual([r.cases > 0, r.cell, r.y, r.middle, r.named], [true, '8c:k3', 512, 9, 'weightA']);
    // The installed command: the shell launcher (glibc settings for the onnxruntime peer) running the CLI.
    const cli = run(join(app, 'node_modules', '.bin', 'neotune'), ['flops', '--json'], app);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { model: string }[])[0]!.model, 'NeoNeXt-T');
  });
});

describe('the public API', () => {
  it('every symbol of both entry points (neotune, neotune/runtime) has TSDoc at its declaration', async () => {
    const ts = (await import('typescript')).default;
    const entries = ['lib/index.ts', 'runtime/index.ts'].map((f) => join(ROOT, f));
    const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: ['@webgpu/types', 'node'], strict: true, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    let count = 0;
    for (const entry of entries) {
      for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)) {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        count++;
        if (!ts.displayPartsToString(target.getDocumentationComment(checker)).trim()) undocumented.push(symbol.name);
      }
    }
    assert.ok(count > 60, `${count} public symbols`);
    assert.deepEqual(undocumented, []);
  });
});
