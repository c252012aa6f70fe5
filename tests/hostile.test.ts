/**
 * Hostile conditions, class by class: a link planted at every path neotune writes beside a
 * database or inside an output folder, a FIFO at every input option, commands that fail leaving
 * the folder as it was, escape sequences in case names, empty option values, bad refs, options
 * checked before a service is contacted, and the runtime's table and weights. Each must exit 2
 * (4 for an unreachable service) naming the field, with nothing written and nothing followed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { neutraliseControls } from '../scripts/cli-util.js';
import { createNeoCell } from '../runtime/index.js';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const REPO = join(import.meta.dirname, '..', '..');

function neotune(args: string[], o: { cwd?: string; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: o.timeout ?? 60_000, cwd: o.cwd ?? REPO, env: { ...process.env, NEOTUNE_LOCK_WAIT_MS: '2000' } });
  return { code: r.status, out: r.stdout, err: r.stderr, timedOut: r.error !== undefined };
}

/** Every path under `dir` with its kind and content (links by their target), to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[p] = 'link';
      else if (st.isFIFO()) out[p] = 'fifo';
      else if (!st.isDirectory()) out[p] = readFileSync(p, 'utf8');
      else {
        out[p] = 'dir';
        walk(p);
      }
    }
  };
  walk(dir);
  return out;
}

const clean = (err: string) => !/internal error|\n\s+at \S+ \(/.test(err);
const EMPTY_DB = JSON.stringify({ schema: 'neotune-tuning-db', version: 2, entries: {} });
const RESULTS = JSON.stringify({ schema: 'neotune-results', version: 1, created: 'x', command: 'x', environment: { cpu: 'x', cores: 1, node: 'v20' }, records: [] });

describe('hostile input: links planted where neotune writes its own files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neotune-links-'));
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'the user\'s file\n');
  const db = join(dir, 'db.json');
  writeFileSync(db, EMPTY_DB);
  const results = join(dir, 'results.json');
  writeFileSync(results, RESULTS);

  const cases: { name: string; plant: string; args: string[] }[] = [
    { name: 'select, a link at the lock owner', plant: `${db}.lock-owner`, args: ['select', '--db', db, '--shape', '1x8x8x8', '--spec', '7'] },
    { name: 'tune, a link at the lock owner', plant: `${db}.lock-owner`, args: ['tune', '-b', 'cpu', '-s', 'smoke', '-k', 'fused-js', '--db', db] },
    { name: 'db-merge, a link at the output\'s lock owner', plant: join(dir, 'merged.json.lock-owner'), args: ['db-merge', db, '--out', join(dir, 'merged.json')] },
    { name: 'select, a link at the lock folder', plant: `${db}.lock`, args: ['select', '--db', db, '--shape', '1x8x8x8', '--spec', '7'] },
    { name: 'tune, a link at the journal', plant: `${db}.journal`, args: ['tune', '-b', 'cpu', '-s', 'smoke', '-k', 'fused-js', '--db', db] },
    { name: 'report, a link at report.html', plant: join(dir, 'report-out', 'report.html'), args: ['report', results, '--no-images', '--out', join(dir, 'report-out')] },
    { name: 'report --force, a link at report.csv', plant: join(dir, 'report-out2', 'report.csv'), args: ['report', results, '--no-images', '--force', '--out', join(dir, 'report-out2')] },
    { name: 'page, a link at app.js', plant: join(dir, 'site', 'app.js'), args: ['page', '--out', join(dir, 'site')] },
    { name: 'page, a link at its list of files', plant: join(dir, 'site2', '.neotune-files'), args: ['page', '--out', join(dir, 'site2')] },
    { name: 'run, a link at summary.md', plant: join(dir, 'run-out', 'summary.md'), args: ['run', '-b', 'cpu', '-s', 'smoke', '--out', join(dir, 'run-out')] },
    { name: 'export --format module, a link at the .d.ts', plant: join(dir, 'neocell.d.ts'), args: ['export', '--db', db, '--device', 'nothing-matches', '--format', 'module', '--out', join(dir, 'neocell.js')] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      mkdirSync(join(c.plant, '..'), { recursive: true });
      symlinkSync(victim, c.plant);
      try {
        const before = snapshot(dir);
        const r = neotune(c.args);
        assert.equal(r.code, 2, `${r.code}: ${r.err}`);
        assert.ok(r.err.includes(c.plant) || r.err.includes(join(c.plant, '..')), r.err);
        assert.ok(clean(r.err), r.err);
        assert.equal(readFileSync(victim, 'utf8'), 'the user\'s file\n');
        assert.deepEqual(snapshot(dir), before, 'nothing written, created or removed');
        assert.ok(lstatSync(c.plant).isSymbolicLink(), 'the link is left as it was');
      } finally {
        execFileSync('rm', ['-f', c.plant]);
      }
    });
  }

  it('a file where the lock folder goes is refused, naming it', () => {
    writeFileSync(`${db}.lock`, 'not a lock');
    try {
      const r = neotune(['select', '--db', db, '--shape', '1x8x8x8', '--spec', '7']);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /db\.json\.lock.*is a file/);
      assert.ok(clean(r.err), r.err);
    } finally {
      execFileSync('rm', ['-f', `${db}.lock`]);
    }
  });

  it('a stale owner file of a killed holder is replaced and removed (a regular file, not a link)', () => {
    writeFileSync(`${db}.lock-owner`, JSON.stringify({ pid: 1, host: 'gone', command: 'neotune tune', since: '2026-01-01T00:00:00Z' }));
    const r = neotune(['select', '--db', db, '--shape', '1x8x8x8', '--spec', '7']);
    assert.ok(r.code === 0 || r.code === 4, r.err);
    assert.equal(existsSync(`${db}.lock-owner`), false);
  });
});

describe('hostile input: a FIFO at every input option never hangs a command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neotune-fifo-'));
  const fifo = join(dir, 'pipe.json');
  execFileSync('mkfifo', [fifo]);
  const yamlFifo = join(dir, 'suite.yaml');
  execFileSync('mkfifo', [yamlFifo]);
  const results = join(dir, 'results.json');
  writeFileSync(results, RESULTS);
  const slots: [string, string[]][] = [
    ['select --db', ['select', '--db', fifo, '--shape', '1x8x8x8', '--spec', '7']],
    ['tune --db', ['tune', '-b', 'cpu', '-s', 'smoke', '--db', fifo]],
    ['export --db', ['export', '--db', fifo, '--out', join(dir, 'x.js')]],
    ['db-merge <db>', ['db-merge', fifo, '--out', join(dir, 'merged.json')]],
    ['compare <base>', ['compare', fifo, results]],
    ['compare <head>', ['compare', results, fifo]],
    ['compare --noise', ['compare', results, results, '--noise', fifo]],
    ['bench --suite (JSON)', ['bench', '--suite', fifo]],
    ['bench --suite (YAML)', ['bench', '--suite', yamlFifo]],
    ['history check --file', ['history', 'check', '--file', fifo]],
    ['history append <results>', ['history', 'append', fifo, '--file', join(dir, 'h.jsonl')]],
    ['summary <results>', ['summary', fifo]],
    ['report <results>', ['report', fifo, '--no-images', '--out', join(dir, 'r')]],
    ['report --history', ['report', results, '--no-images', '--history', fifo, '--out', join(dir, 'r')]],
    ['replay --space', ['replay', '--space', fifo]],
    ['worker --replay', ['worker', '--replay', fifo, '--redis', 'redis://127.0.0.1:1']],
    ['serve --collect', ['serve', '--port', '0', '--collect', fifo]],
    ['fleet collect --db', ['fleet', 'collect', '--redis', 'redis://127.0.0.1:1', '--run', 'r1', '--db', fifo]],
  ];
  for (const [name, args] of slots) {
    it(name, () => {
      const r = neotune(args, { timeout: 20_000 });
      assert.equal(r.timedOut, false, `${name} hung on a FIFO`);
      assert.equal(r.code, 2, `${r.code}: ${r.err}`);
      assert.match(r.err, /FIFO/, r.err);
      assert.ok(clean(r.err), r.err);
    });
  }
  it('no lock owner file is left beside the FIFO', () => {
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('lock')), []);
  });
});

describe('hostile input: a command that fails writes and creates nothing', () => {
  it('fleet collect with an unreachable Redis (exit 4) and an unknown run id do not create the database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-failed-'));
    const r = neotune(['fleet', 'collect', '--redis', 'redis://127.0.0.1:1', '--run', 'r1', '--db', join(dir, 'new', 'db.json')]);
    assert.equal(r.code, 4, r.err);
    assert.deepEqual(snapshot(dir), {});
  });

  it('page --out into a folder with the user\'s index.html: refused, folder unchanged; --force replaces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-site-'));
    writeFileSync(join(dir, 'index.html'), '<p>mine</p>');
    writeFileSync(join(dir, 'notes.txt'), 'mine too');
    const before = snapshot(dir);
    const r = neotune(['page', '--out', dir]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /invalid out: .*index\.html, not written by neotune.*--force/);
    assert.deepEqual(snapshot(dir), before);
    // A folder neotune wrote the page into is rewritten without --force; the user's other files stay.
    assert.equal(neotune(['page', '--out', dir, '--force']).code, 0);
    assert.equal(neotune(['page', '--out', dir]).code, 0);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine too');
    assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), /<html/i);
  });

  it('report --out into a folder with the user\'s report.csv: refused, folder unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-report-'));
    const results = join(dir, 'results.json');
    writeFileSync(results, RESULTS);
    writeFileSync(join(dir, 'report.csv'), 'mine');
    const before = snapshot(dir);
    const r = neotune(['report', results, '--no-images', '--out', dir]);
    assert.equal(r.code, 2, r.err);
    assert.deepEqual(snapshot(dir), before);
  });

  it('empty option values are refused, naming the option, and nothing is written in the current folder', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'neotune-empty-'));
    for (const args of [
      ['page', '--out', ''],
      ['export', '--db', join(cwd, 'missing.json'), '--device', '', '--out', 'x.js'],
      ['tune', '-b', 'cpu', '-s', 'smoke', '--db', ''],
      ['bench', '--kernels', ''],
      ['select', '--shape', '1x8x8x8', '--spec', ''],
      ['serve', '--collect', ''],
      ['fleet', 'collect', '--run', '', '--redis', 'redis://127.0.0.1:1'],
      ['compare', '', 'x.json'],
    ]) {
      const r = neotune(args, { cwd });
      const flag = args[args.indexOf('') - 1]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.ok(r.err.includes(`invalid ${flag.startsWith('-') ? flag.replace(/^-+/, '') : 'files'}: ""`), `${args.join(' ')}: ${r.err}`);
    }
    assert.deepEqual(readdirSync(cwd), []);
  });
});

describe('hostile input: options are checked before a service is contacted', () => {
  for (const [args, field] of [
    [['worker', '--redis', 'redis://127.0.0.1:1', '--replay', '/nonexistent/space.json'], 'replay'],
    [['worker', '--redis', 'redis://127.0.0.1:1', '-b', 'nope'], 'backend'],
    [['fleet', 'collect', '--redis', 'redis://127.0.0.1:1', '--run', 'not a run!'], 'run'],
  ] as const) {
    it(`${args.join(' ')}: exit 2 naming ${field}, not 4`, () => {
      const r = neotune([...args]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, new RegExp(`invalid ${field}`));
    });
  }
});

describe('hostile input: compare --run refs', () => {
  it('a ref that does not exist, one starting with "-", and a commit that does not build: exit 2 naming the ref', () => {
    assert.match(neotune(['compare', '--run', 'no-such-ref-xyz', 'HEAD']).err, /invalid base ref: "no-such-ref-xyz" \(no such commit\)/);
    assert.match(neotune(['compare', '--run', 'HEAD', '--', '--upload-pack=x']).err, /invalid head ref/);
    // A commit whose tsconfig.json is broken, made with git plumbing (no branch, no work tree change).
    const index = join(mkdtempSync(join(tmpdir(), 'neotune-index-')), 'index');
    const git = (args: string[], input?: string) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', env: { ...process.env, GIT_INDEX_FILE: index, GIT_AUTHOR_NAME: 'neotune test', GIT_AUTHOR_EMAIL: 'test@neotune.invalid', GIT_COMMITTER_NAME: 'neotune test', GIT_COMMITTER_EMAIL: 'test@neotune.invalid' }, ...(input !== undefined ? { input } : {}) }).trim();
    git(['read-tree', 'HEAD']);
    const blob = git(['hash-object', '-w', '--stdin'], '{ not json');
    git(['update-index', '--cacheinfo', `100644,${blob},tsconfig.json`]);
    const commit = git(['commit-tree', git(['write-tree']), '-p', 'HEAD', '-m', 'broken build'], '');
    // The broken commit on both sides: neither is the checked-out commit, so the tree's state does not matter.
    const r = neotune(['compare', '--run', commit, commit], { timeout: 120_000 });
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`invalid base ref: "${commit}" \\(it does not build`));
    assert.ok(clean(r.err), r.err);
    assert.doesNotMatch(git(['worktree', 'list']), /neotune-ab-/, 'the temporary worktrees are removed');
  });

  it('compare --run stopped by SIGTERM (a cancelled CI job) while it runs: exit 130 and its temporary worktrees removed', async () => {
    // A commit of HEAD's tree that is not the checked-out one (uncommitted changes do not matter then).
    const git = (args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'neotune test', GIT_AUTHOR_EMAIL: 'test@neotune.invalid', GIT_COMMITTER_NAME: 'neotune test', GIT_COMMITTER_EMAIL: 'test@neotune.invalid' } }).trim();
    const commit = git(['commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'same tree']);
    const child = spawn(process.execPath, [CLI, 'compare', '--run', commit, commit, '--suite', 'smoke', '-k', 'copy', '--time', '20'], { cwd: REPO });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "built" line within 120 s: ${err}`)), 120_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/^built /m.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.match(git(['worktree', 'list']), /neotune-ab-/, 'the run has its worktree while it runs');
    child.kill('SIGTERM');
    assert.equal(await exited, 130, err);
    assert.match(err, /stopped before its next process; its temporary worktrees are removed/);
    assert.ok(clean(err), err);
    assert.doesNotMatch(git(['worktree', 'list']), /neotune-ab-/, 'the temporary worktrees are removed');
  });

  it('compare --run refuses to name the checked-out commit while tracked files have uncommitted changes (they would not be measured)', () => {
    const clone = join(mkdtempSync(join(tmpdir(), 'neotune-dirty-')), 'repo');
    execFileSync('git', ['clone', '-q', '--shared', REPO, clone]);
    writeFileSync(join(clone, 'README.md'), readFileSync(join(clone, 'README.md'), 'utf8') + '\nan uncommitted line\n');
    const r = neotune(['compare', '--run', 'HEAD~1', 'HEAD'], { cwd: clone });
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /invalid head ref: "HEAD" \(the working tree has uncommitted changes to 1 tracked file\(s\)\)/);
    assert.ok(clean(r.err), r.err);
    // Nothing was built: no worktree was added to the clone.
    assert.doesNotMatch(execFileSync('git', ['worktree', 'list'], { cwd: clone, encoding: 'utf8' }), /neotune-ab-/);
  });
});

describe('hostile input: text bound for the terminal', () => {
  it('escape sequences in a suite\'s case names reach neither stdout nor stderr raw', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-escapes-'));
    const suite = join(dir, 'evil.json');
    writeFileSync(suite, JSON.stringify({ name: 'evil', cases: [{ name: 'a\u001b]0;pwned\u0007\u001b[31mred\u009b2J', C: 8, H: 8, W: 8, spec: '7' }] }));
    const r = neotune(['bench', '-b', 'cpu', '--suite', suite, '-k', 'fused-js', '--time', '5', '--verbose'], { timeout: 120_000 });
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out + r.err, /[\u001b\u0007\u009b]/);
    assert.ok(r.out.includes('a\\u001b]0;pwned\\u0007'), r.out);
  });

  it('neutraliseControls: control characters become \\u escapes, JSON keeps its meaning', () => {
    const value = { name: 'x\u001b[2J\u0007\u009b\u007fy', ok: 'tab\tand\nnewline' };
    const text = neutraliseControls(JSON.stringify(value));
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.deepEqual(JSON.parse(text), value);
    assert.equal(neutraliseControls('a\nb\tc'), 'a\nb\tc');
  });
});

describe('hostile input: the runtime', () => {
  const layer = { N: 1, C: 4, H: 8, W: 8, spec: '4' } as const;
  const row = { op: 'neocell', N: 1, C: 4, H: 8, W: 8, spec: '4c:k4', dtype: 'float32', variant: 'fused-js', params: {}, median_ms: 0.01 };
  for (const [table, field] of [
    [null, 'table'],
    [[], 'table'],
    [{ device: 'd', backend: 'cpu' }, 'table.rows'],
    [{ device: 1, backend: 'cpu', rows: [] }, 'table.device'],
    [{ device: 'd', backend: 'cpu', rows: [null] }, 'table.rows[0]'],
    [{ device: 'd', backend: 'cpu', rows: [{ ...row, N: '1' }] }, 'table.rows[0].N'],
    [{ device: 'd', backend: 'cpu', rows: [{ ...row, params: { threads: Infinity } }] }, 'table.rows[0].params.threads'],
    [{ device: 'd', backend: 'cpu', rows: [{ ...row, median_ms: NaN }] }, 'table.rows[0].median_ms'],
    [{ device: 'd', backend: 'cpu', rows: [{ ...row, fewer_threads: [{ variant: '', params: {}, median_ms: 1 }] }] }, 'table.rows[0].fewer_threads[0].variant'],
  ] as const) {
    it(`a malformed table is refused naming ${field}`, async () => {
      await assert.rejects(createNeoCell({ backend: 'js' }, layer, { table: table as never }), (e: unknown) => e instanceof InputError && e.field === field);
    });
  }

  it('non-finite weights are refused naming the array and the index', async () => {
    const cell = await createNeoCell({ backend: 'js' }, layer);
    try {
      const a = new Float32Array(4 * 4 * 4).fill(0.5);
      const b = new Float32Array(4 * 4 * 4).fill(0.5);
      for (const [bad, field] of [[NaN, 'weightA[0][17]'], [Infinity, 'weightA[0][17]'], [-Infinity, 'weightA[0][17]']] as const) {
        const w = a.slice();
        w[17] = bad;
        assert.throws(() => cell.setWeights([w], [b]), (e: unknown) => e instanceof InputError && e.field === field);
      }
      const wb = b.slice();
      wb[3] = NaN;
      assert.throws(() => cell.setWeights([a], [wb]), (e: unknown) => e instanceof InputError && e.field === 'weightB[0][3]');
      cell.setWeights([a], [b]);
      const y = await cell.run(new Float32Array(256).fill(1));
      assert.ok(y.every(Number.isFinite));
    } finally {
      await cell.dispose();
    }
  });
});
