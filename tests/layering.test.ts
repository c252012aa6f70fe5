/**
 * The layering the design promises: backends never import each other (what they share is NeoCell's
 * structure in core/), commands never import each other (they wrap lib/), the runtime (what applications load) imports no Node built-in, tuner,
 * tinybench or puppeteer at the top of any module it reaches, and the tuner's search reaches no Node built-in.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const staticImports = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)\s+(?!type\b)(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
const dynamicImports = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
const resolveTs = (from: string, spec: string) => relative(ROOT, resolve(dirname(join(ROOT, from)), spec)).replace(/\.js$/, '.ts');
/** Every relative module a file names: value and type imports, re-exports, side-effect and dynamic imports, over several lines. */
const relativeImports = (file: string): string[] => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [
    ...text.matchAll(/^(?:import|export)\s[^'";]*?\sfrom\s+['"]([^'"]+)['"]/gms),
    ...text.matchAll(/^import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return [...new Set(specs.filter((s) => s.startsWith('.')).map((s) => resolveTs(file, s)))];
};

/**
 * The product's layers, lowest first: a module imports only its own folder and folders of lower
 * layers (folders of one layer are peers and never import each other). core is the operator;
 * harness the kernel contract and its measurement; browser the Chromium host and the page-kernel
 * proxy; model the cost model (the tuner searches with it, the runtime predicts with it); kernels
 * and suites what is run; runtime what applications load; analysis what results
 * mean; tuner the search and its database; reports; fleet; the library and the page; the CLI;
 * the developer benchmarks and tools (dev/: not shipped).
 */
const LAYERS: readonly (readonly string[])[] = [['core'], ['harness'], ['browser', 'model'], ['kernels', 'suites'], ['runtime'], ['analysis'], ['tuner'], ['reports'], ['fleet'], ['lib', 'page'], ['scripts'], ['dev']];
const PRODUCT = LAYERS.flat();
const layerOf = (file: string) => LAYERS.findIndex((l) => l.includes(file.split('/')[0]!));

describe('layering', () => {
  it('no module imports against the layer order (type imports included)', () => {
    const against: string[] = [];
    for (const f of PRODUCT.flatMap(sources))
      for (const target of relativeImports(f)) {
        const [from, to] = [f.split('/')[0]!, target.split('/')[0]!];
        if (from === to) continue;
        if (!PRODUCT.includes(to) || layerOf(target) >= layerOf(f)) against.push(`${f} imports ${target}`);
      }
    assert.deepEqual(against, []);
  });

  it('no import circle among the product modules (type imports included)', () => {
    const graph = new Map(PRODUCT.flatMap(sources).map((f) => [f, relativeImports(f)] as const));
    // Depth-first search: a module reached again while still on the path closes a circle.
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, path: string[]) => {
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') circles.push([...path.slice(path.indexOf(t)), t].join(' → '));
        else if (!state.has(t) && graph.has(t)) visit(t, [...path, t]);
      }
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
    assert.deepEqual(circles, []);
    assert.ok(graph.size > 150, `${graph.size} modules`);
  });

  it('no backend imports another backend', () => {
    const backends = readdirSync(join(ROOT, 'kernels'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    const crossings: string[] = [];
    for (const b of backends)
      for (const f of sources(join('kernels', b)))
        for (const spec of [...staticImports(f), ...dynamicImports(f)].filter((s) => s.startsWith('.'))) {
          const target = resolveTs(f, spec);
          const other = backends.find((o) => o !== b && target.startsWith(join('kernels', o) + '/'));
          if (other) crossings.push(`${f} imports ${target}`);
        }
    assert.deepEqual(crossings, []);
  });

  it('CLI commands are thin: no command imports another (what they share is in lib/ and scripts/)', () => {
    const crossings = sources('scripts/commands').flatMap((f) => staticImports(f).filter((s) => s.startsWith('./')).map((s) => `${f} imports ${s}`));
    assert.deepEqual(crossings, []);
  });

  it('the runtime reaches no Node built-in, tuner, tinybench or puppeteer through static imports', () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      // Dynamic imports are followed too: the bundle inlines them.
      for (const spec of [...staticImports(file), ...dynamicImports(file)]) {
        if (!spec.startsWith('.')) {
          bad.push(`${file} imports ${spec}`);
          continue;
        }
        const target = resolveTs(file, spec);
        if (target.startsWith('tuner/')) bad.push(`${file} imports ${target}`);
        // The worker pool is Node's (worker_threads): reached only through runtime/cpu-threads.ts, which bundles replace.
        if (target === 'runtime/cpu-threads.ts') continue;
        visit(target);
      }
    };
    visit('runtime/index.ts');
    assert.deepEqual(bad, []);
    assert.ok(seen.size > 20, `${seen.size} modules reached`);
  });

  it("the tuner's search (tuneProblem, strategies, winner selection) reaches no Node built-in: it can run in a page; only tinybench, jstat and ml-matrix (plain JavaScript) outside the repository", () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of staticImports(file)) {
        if (!spec.startsWith('.')) {
          if (spec !== 'tinybench' && spec !== 'jstat' && spec !== 'ml-matrix') bad.push(`${file} imports ${spec}`);
          continue;
        }
        visit(resolveTs(file, spec));
      }
    };
    for (const f of ['tuner/tune.ts', 'tuner/strategies/index.ts', 'tuner/select.ts', 'tuner/replay.ts']) visit(f);
    assert.deepEqual(bad, []);
    assert.ok(seen.has('tuner/db-model.ts') && !seen.has('tuner/db.ts'), 'the database model, not its files');
  });

  it("the runtime's CPU targets and the tuning page take their variants from the backends' own lists", async () => {
    const { cpuBackend } = await import('../kernels/cpu/backend.js');
    const { wgslVariants } = await import('../kernels/webgpu/variants.js');
    const { openCpuTarget } = await import('../runtime/cpu-target.js');
    const { pageVariants } = await import('../page/variants.js');
    const names = (vs: readonly { readonly name: string }[]) => vs.map((v) => v.name);
    const backendNeoCell = (kind: string) => names(cpuBackend.variants.filter((v) => v.role === 'neocell' && v.name.endsWith(`-${kind}`)));
    for (const kind of ['wasm', 'js'] as const) {
      const t = await openCpuTarget(kind, 1);
      await t.session.close();
      assert.deepEqual(names(t.variants), backendNeoCell(kind), `runtime ${kind}`);
    }
    assert.deepEqual(names(cpuBackend.variants.filter((v) => v.role === 'neocell')).sort(), [...backendNeoCell('wasm'), ...backendNeoCell('js')].sort(), 'every CPU NeoCell variant is JavaScript or WebAssembly');
    // The page: the backend's NeoCell variants and its own depthwise conv (no peers, no copy).
    const ownDwConv = (vs: readonly { readonly name: string; readonly role: string; readonly op: string }[]) => names(vs.filter((v) => v.role === 'neocell' || (v.role === 'baseline' && v.op === 'dwconv')));
    assert.deepEqual(names(pageVariants('wasm')), ownDwConv(cpuBackend.variants.filter((v) => v.name.endsWith('-wasm'))));
    assert.deepEqual(names(pageVariants('webgpu')), ownDwConv(wgslVariants('webgpu-browser')));
    assert.ok(pageVariants('wasm').length >= 6 && pageVariants('webgpu').length >= 5);
  });

  it('the backend registry is the one place for backend names, titles and probes', async () => {
    const { BACKENDS } = await import('../kernels/registry.js');
    for (const entry of BACKENDS) {
      const backend = await entry.load!();
      assert.equal(backend.name, entry.name);
      assert.deepEqual(Object.keys(backend).sort(), ['name', 'open', 'variants'], `${entry.name}: only its kernels and how to open its device`);
    }
  });

  it('variants only declare parameters and generate: no cast to a session or description type in a variant file; the session compiles', async () => {
    const variantFiles = sources('kernels').filter((f) => /: KernelVariant(<[^>]*>)? =|\): KernelVariant(<[^>]*>)? \{|KernelVariant(<[^>]*>)?\[\] \{/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.ok(variantFiles.length >= 25, `${variantFiles.length} variant files`);
    const casts = variantFiles.flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/\bas (?:unknown as )?(?:\w*Session|\w*Spec|\w*Plan|KernelDescription)\b|this\.generate!/g)].map((m) => `${f}: ${m[0]}`),
    );
    assert.deepEqual(casts, []);
    const { BACKENDS } = await import('../kernels/registry.js');
    for (const entry of BACKENDS)
      for (const v of (await entry.load!()).variants) {
        // Peers are a library's own kernel (onnxruntime, tfjs): nothing to describe, so they create it.
        if (v.role === 'peer') assert.ok(v.create && !v.generate, `${entry.name}/${v.name} (peer) creates its kernel`);
        else assert.ok(v.generate && !v.create, `${entry.name}/${v.name} generates, its session compiles`);
      }
  });

  it("developer benchmarks are not shipped: the package's files hold no dev/, and nothing shipped imports it", () => {
    const files = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
    assert.ok(!files.some((f) => f.startsWith('dist/dev') || f.startsWith('dev') || f.startsWith('tests')), files.join(', '));
    assert.ok(files.includes('data/recorded-space.json'), 'product data ships from data/');
    const intoDev = PRODUCT.filter((d) => d !== 'dev').flatMap(sources).flatMap((f) => relativeImports(f).filter((t) => t.startsWith('dev/')).map((t) => `${f} imports ${t}`));
    assert.deepEqual(intoDev, []);
  });
});
