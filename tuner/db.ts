/**
 * The tuning database: a snapshot file (`--db`, deterministic compact JSON) plus an append-only
 * journal next to it (`<db>.journal`, one JSON line per measured candidate or chosen winner).
 *
 * - Saving a candidate appends one fsync'd line (O(1), independent of the database's size); a
 *   killed run loses at most the candidate in flight. A line half-written by a killed process is
 *   cut off by the next writer (it was that process's in-flight candidate); any other line that does
 *   not parse or has the wrong shape is corruption and is reported.
 * - Compaction folds the journal into the snapshot (atomic write) and removes the journal. It
 *   works from what is on disk, not from one process's memory, so processes tuning into one
 *   database at the same time lose nothing: appends and compactions take a lock
 *   (proper-lockfile, `<db>.lock`); a process that cannot get it in time says who holds it.
 * - What the database keeps per candidate is what selection and merging need: its state, median,
 *   quality and at most DB_SAMPLES samples (quantiles of the clean samples, 5 significant digits:
 *   the winner tests use at most as many). The full ordered samples with their evidence belong
 *   to result files (`bench --out`, `run`).
 * - Files are validated on load (tuner/db-schema.ts): valid JSON of the wrong shape is reported
 *   with the field. A database that cannot be read is copied aside once per distinct content (by
 *   commands that write it; read-only commands only report) and never replaced.
 *
 * Entries are keyed by device fingerprint, backend and problem; candidates inside an entry by
 * configuration and the hash of the generated kernel source, so a change to a generator never
 * reuses a stale timing.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, copyFileSync, lstatSync, mkdirSync, existsSync, fstatSync, fsyncSync, openSync, readSync, statSync, ftruncateSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import { InputError } from '../core/errors.js';
import { checkOutputPath, checkOwnFile, createExclusive, decodeUtf8, parseBoundedJson, readRegularFile, syncFolder, writeFileAtomic, writeTarget } from '../core/files.js';
import { validateShape } from '../core/validate.js';
import type { ProblemRecord } from '../harness/problem.js';
import type { BackendName } from '../harness/types.js';
import { journalLineSchemas, snapshotSchema } from './db-schema.js';
import { candidateKey, type CandidateRecord, DB_SAMPLES, DB_SCHEMA, DB_VERSION, type DbEntry, emptyDb, entryKey, round5, type SearchRecord, storedSamples, type TuningDb } from './db-model.js';
import type { Winner } from './winner.js';
import { dirname } from 'node:path';

export * from './db-model.js';

/** A database that cannot be used: named, with the field; invalid input for the CLI (exit 2). */
export class DbError extends InputError {
  constructor(path: string, field: string, value: unknown, allowed: string, detail?: string) {
    super(field ? `${path}: ${field}` : path, value, allowed, detail);
  }
}

function compactCandidate(c: CandidateRecord): CandidateRecord {
  return c.samples_ms && (c.samples_ms.length > DB_SAMPLES || c.samples_ms.some((v) => v !== round5(v))) ? { ...c, samples_ms: storedSamples(c.samples_ms) } : c;
}

/** Migrations from older versions, by the version they read. */
const MIGRATIONS: Record<number, (old: { entries: Record<string, DbEntry> }) => TuningDb> = {
  // 1 → 2: every sample was kept (pretty-printed, ≈170 KB per candidate); keep DB_SAMPLES quantiles.
  1: (old) => ({
    schema: DB_SCHEMA,
    version: 2,
    entries: Object.fromEntries(Object.entries(old.entries).map(([k, e]) => [k, { ...e, candidates: Object.fromEntries(Object.entries(e.candidates).map(([ck, c]) => [ck, compactCandidate(c)])) }])),
  }),
};

const SNAPSHOT_SCHEMAS: Record<number, object> = { 1: snapshotSchema(1), 2: snapshotSchema(2, DB_SAMPLES) };
const LINE_SCHEMAS = journalLineSchemas(DB_SAMPLES);

function parseJson(text: string, path: string, what: string): unknown {
  return parseBoundedJson(text, (detail) => new DbError(path, '', undefined, what, detail));
}

/** Keys must match what they key (a hand-edited or damaged file could pair a key with another entry). */
function checkKeys(db: TuningDb, path: string): void {
  for (const [k, e] of Object.entries(db.entries)) {
    const expected = entryKey(e.device, e.problem);
    if (k !== expected) throw new DbError(path, `entries[${JSON.stringify(k)}]`, k, `the key of its device and problem: ${JSON.stringify(expected)}`);
    for (const [ck, c] of Object.entries(e.candidates)) {
      const want = candidateKey(c.key, c.source_hash);
      if (ck !== want) throw new DbError(path, `entries[${JSON.stringify(k)}].candidates[${JSON.stringify(ck)}]`, ck, `the key of its configuration and source: ${JSON.stringify(want)}`);
    }
    if (e.winner && !Object.values(e.candidates).some((c) => c.key === e.winner!.key)) {
      throw new DbError(path, `entries[${JSON.stringify(k)}].winner.key`, e.winner.key, 'the key of one of the entry\'s candidates');
    }
  }
}

/** Parses and validates a snapshot (any supported version), migrating it to the current one. */
export function parseDb(text: string, path: string): TuningDb {
  const what = `a tuning database written by neotune (schema "${DB_SCHEMA}")`;
  const data = parseJson(text, path, what);
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new DbError(path, '', undefined, what, 'not a JSON object');
  const head = data as Record<string, unknown>;
  if (head.schema !== DB_SCHEMA) throw new DbError(path, 'schema', head.schema, JSON.stringify(DB_SCHEMA));
  const version = head.version;
  if (typeof version === 'number' && version > DB_VERSION) {
    throw new DbError(path, 'version', version, `${DB_VERSION} or older`, 'written by a newer neotune');
  }
  const schema = typeof version === 'number' ? SNAPSHOT_SCHEMAS[version] : undefined;
  if (!schema) throw new DbError(path, 'version', version, `one of ${Object.keys(SNAPSHOT_SCHEMAS).join(', ')}`, 're-tune into a new file');
  let db = validateShape<TuningDb & { sha256?: string }>(schema, data, path);
  // A damaged byte that leaves valid JSON of the right shape (a digit of a median) is caught here.
  if (db.sha256 !== undefined && db.sha256 !== contentSum(db.entries)) {
    throw new DbError(path, 'sha256', db.sha256, 'the checksum of the entries as written', 'the entries were changed or damaged after they were written');
  }
  delete db.sha256;
  for (let v = version as number; v < DB_VERSION; v++) db = MIGRATIONS[v]!(db);
  checkKeys(db, path);
  return db;
}

/** Deterministic serialisation: sorted keys, compact (the snapshot is data, not a document). */
export function stableStringify(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** sha256 (prefix) of a value's deterministic serialisation: the checksum of snapshot entries and journal lines. */
export function contentSum(v: unknown): string {
  return createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 16);
}

/**
 * The snapshot text: one entry per line, so a diff of two databases shows which problems changed,
 * with the checksum of the entries (a hand edit must drop the `sha256` field).
 */
export function snapshotText(db: TuningDb): string {
  const keys = Object.keys(db.entries).sort();
  const body = keys.map((k) => `${JSON.stringify(k)}:${stableStringify(db.entries[k])}`).join(',\n');
  return `{"schema":${JSON.stringify(DB_SCHEMA)},"version":${DB_VERSION},"sha256":"${contentSum(db.entries)}","entries":{${keys.length ? `\n${body}\n` : ''}}}\n`;
}

/** Of two records of the same candidate, the one with more samples (then lower median, then text order). */
function preferred(a: CandidateRecord, b: CandidateRecord): CandidateRecord {
  const na = a.quality?.n_clean ?? a.samples_ms?.length ?? 0;
  const nb = b.quality?.n_clean ?? b.samples_ms?.length ?? 0;
  if (na !== nb) return na > nb ? a : b;
  const ma = a.median_ms ?? Infinity;
  const mb = b.median_ms ?? Infinity;
  if (ma !== mb) return ma < mb ? a : b;
  return stableStringify(a) <= stableStringify(b) ? a : b;
}

/**
 * Merges two databases (e.g. from two machines, or two runs): the union of entries and candidates;
 * for a candidate in both, the better-measured record. An entry on one side only keeps its winner
 * (when that is one of its verified candidates); an entry on both sides gets its winner recomputed
 * by `rewin` from the merged candidates (with the entry's own backend's variants). Commutative and deterministic:
 * merge(a, b) and merge(b, a) serialise the same.
 */
export function mergeDbs(a: TuningDb, b: TuningDb, rewin: (e: DbEntry) => Winner | undefined): TuningDb {
  const out = emptyDb();
  for (const key of [...new Set([...Object.keys(a.entries), ...Object.keys(b.entries)])].sort()) {
    const ea = a.entries[key];
    const eb = b.entries[key];
    const base = (ea ?? eb)!;
    const candidates: Record<string, CandidateRecord> = {};
    for (const ck of [...new Set([...Object.keys(ea?.candidates ?? {}), ...Object.keys(eb?.candidates ?? {})])].sort()) {
      const ca = ea?.candidates[ck];
      const cb = eb?.candidates[ck];
      candidates[ck] = ca && cb ? preferred(ca, cb) : (ca ?? cb)!;
    }
    const entry: DbEntry = { device: base.device, backend: base.backend, problem: base.problem, candidates };
    if (ea?.measured_in ?? eb?.measured_in) entry.measured_in = (ea?.measured_in ?? eb?.measured_in)!;
    // An entry from one side keeps its winner, which was re-validated side by side when it was
    // tuned (re-choosing it from the search timings alone would undo that); an entry on both sides
    // gets one chosen over the union of candidates.
    const kept = ea && eb ? undefined : base.winner;
    const w = kept && Object.values(candidates).some((c) => c.key === kept.key && c.state === 'verified') ? kept : rewin(entry);
    if (w) entry.winner = w;
    out.entries[key] = entry;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Journal

type JournalLine =
  | { op: 'candidate'; entry: string; device: string; backend: BackendName; problem: ProblemRecord; candidate: CandidateRecord }
  | { op: 'winner'; entry: string; device: string; backend: BackendName; problem: ProblemRecord; winner: Winner | null; search: SearchRecord };

function applyLine(db: TuningDb, l: JournalLine): void {
  const e = (db.entries[l.entry] ??= { device: l.device, backend: l.backend, problem: l.problem, candidates: {} });
  if (l.op === 'candidate') e.candidates[candidateKey(l.candidate.key, l.candidate.source_hash)] = l.candidate;
  else {
    if (l.winner) e.winner = l.winner;
    else delete e.winner;
    e.search = l.search;
  }
}

/**
 * Journal text → lines, validated. An unterminated last line is a write cut short by a kill: kept
 * when it is whole (only its newline is missing), otherwise ignored (it was that process's
 * candidate in flight).
 */
function parseJournal(text: string, path: string): JournalLine[] {
  const lines = text.split('\n');
  const tail = lines.pop()!;
  const parsed = lines.map((t, i) => parseJournalLine(t, `${path}:${i + 1}`));
  if (tail) {
    try {
      parsed.push(parseJournalLine(tail, `${path}:${lines.length + 1}`));
    } catch {
      /* unfinished */
    }
  }
  return parsed;
}

function parseJournalLine(t: string, at: string): JournalLine {
  const data = parseJson(t, at, 'a journal line written by neotune');
  const op = (data as { op?: unknown } | null)?.op;
  if (op !== 'candidate' && op !== 'winner') throw new DbError(at, 'op', op, '"candidate" or "winner"');
  const { sum, ...line } = validateShape<JournalLine & { sum?: string }>(op === 'candidate' ? LINE_SCHEMAS.candidate : LINE_SCHEMAS.winner, data, at);
  if (sum !== undefined && sum !== contentSum(line)) throw new DbError(at, 'sum', sum, 'the checksum of the line as written', 'the line was changed or damaged after it was written');
  if (line.entry !== entryKey(line.device, line.problem)) throw new DbError(at, 'entry', line.entry, `the key of its device and problem: ${JSON.stringify(entryKey(line.device, line.problem))}`);
  return line;
}

/** How long a process waits for the database's lock (every holder keeps it for one append or one compaction). */
const lockWaitMs = () => Number(process.env.NEOTUNE_LOCK_WAIT_MS) || 30_000;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly since: string;
}

/**
 * A tuning database on disk (snapshot + journal). `open` reads and validates both; with
 * `write`, the paths are checked writable before any work and appends/compaction are allowed.
 */
export class TuningStore {
  private constructor(
    /** The snapshot's real path (symlinks followed: the link stays, the file it points to is written). */
    readonly path: string,
    readonly db: TuningDb,
    private readonly writable: boolean,
    /** Journal lines read at open (a compaction is due when there are any). */
    private journalLines: number,
    /** The option that named the database, for messages. */
    private readonly field: string,
  ) {}

  get journalPath(): string {
    return `${this.path}.journal`;
  }
  private get lockPath(): string {
    return `${this.path}.lock`;
  }

  /**
   * Opens the database at `path` (a missing file is an empty database). `field` names the option
   * in errors. A database that cannot be read is reported (exit 2); with `write` it is first
   * copied aside once per distinct content, and nothing is ever replaced.
   */
  static async open(path: string, o: { write: boolean; field?: string }): Promise<TuningStore> {
    const field = o.field ?? 'db';
    const real = writeTarget(path);
    const journal = `${real}.journal`;
    if (o.write) {
      checkOutputPath(field, path);
      if (existsSync(journal) && lstatSync(journal).isSymbolicLink()) throw new InputError(field, path, 'a database whose journal is a regular file', `${journal} is a symbolic link`);
      checkOutputPath(field, journal);
    } else {
      // Reading a database that is not there is a typo or a missing `tune` step, not an empty result.
      if (!existsSync(path) && !existsSync(journal)) throw new InputError(field, path, 'an existing tuning database (neotune tune writes one)', 'no such file');
      if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(field, path, 'a tuning database file (not a folder)', 'is a folder');
    }
    TuningStore.checkLockPaths(field, real);
    const store = new TuningStore(real, emptyDb(), o.write, 0, field);
    // A database in a folder that does not exist yet is empty: nothing is created before the first write.
    if (!existsSync(dirname(real))) return store;
    const { db, lines } = await store.withLock(() => store.readDisk(o.write), !o.write);
    store.db.entries = db.entries;
    store.journalLines = lines;
    return store;
  }

  /**
   * The lock is a folder neotune creates (`<db>.lock`) and its owner a file beside it: a link or a
   * file where the lock's folder goes, or a link or non-file at the owner's name, is refused (exit
   * 2 naming the path) rather than followed, taken over or written through.
   */
  private static checkLockPaths(field: string, db: string): void {
    const lock = `${db}.lock`;
    let st;
    try {
      st = lstatSync(lock);
    } catch {
      st = undefined;
    }
    if (st && !st.isDirectory()) throw new InputError(field, lock, `a database whose lock path ${lock} is free or a lock folder neotune left (remove what is there)`, st.isSymbolicLink() ? 'is a symbolic link' : 'is a file, not a lock folder');
    try {
      checkOwnFile(field, `${db}.lock-owner`);
    } catch (e) {
      throw new InputError(field, `${db}.lock-owner`, 'a database whose lock owner file is a regular file or absent (remove what is there)', (e as InputError).detail);
    }
  }

  /** Snapshot + journal as on disk now. */
  private readDisk(backup: boolean): { db: TuningDb; lines: number } {
    let db = emptyDb();
    let lines = 0;
    // Opened without blocking and refused unless a regular file: a FIFO planted at either name never hangs a command.
    const read = (p: string) => (existsSync(p) ? readRegularFile(this.field, p, { what: 'a tuning database file (a regular file)' }) : undefined);
    const snap = read(this.path);
    const journal = read(this.journalPath);
    try {
      if (snap) db = parseDb(utf8(snap, this.path), this.path);
      if (journal) {
        const parsed = parseJournal(utf8(journal, this.journalPath), this.journalPath);
        for (const l of parsed) applyLine(db, l);
        lines = parsed.length;
      }
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const kept = backup ? [snap && keepCopy(this.path, snap), journal && keepCopy(this.journalPath, journal)].filter(Boolean) : [];
      const what = [e.detail, kept.length ? `a copy is kept at ${kept.join(' and ')}` : '', 'nothing was changed: repair it, move it away or pass another --db'];
      throw new InputError(e.field, e.value, e.allowed, what.filter(Boolean).join('; '));
    }
    return { db, lines };
  }

  /** Appends one candidate (fsync'd) and records it in memory. */
  async recordCandidate(entry: DbEntry, key: string, candidate: CandidateRecord): Promise<void> {
    const c = compactCandidate(candidate);
    entry.candidates[key] = c;
    await this.append({ op: 'candidate', entry: entryKey(entry.device, entry.problem), device: entry.device, backend: entry.backend, problem: entry.problem, candidate: c });
  }

  /** Appends an entry's winner and search record. */
  async recordWinner(entry: DbEntry): Promise<void> {
    await this.append({ op: 'winner', entry: entryKey(entry.device, entry.problem), device: entry.device, backend: entry.backend, problem: entry.problem, winner: entry.winner ?? null, search: entry.search! });
  }

  /**
   * Candidates other processes recorded for this entry since it was read are merged into it (those
   * this process measured itself stay as they are); returns the keys added.
   */
  async refreshEntry(entry: DbEntry): Promise<string[]> {
    const { db } = await this.withLock(() => this.readDisk(false), true);
    const disk = db.entries[entryKey(entry.device, entry.problem)];
    const added: string[] = [];
    for (const [k, c] of Object.entries(disk?.candidates ?? {})) {
      if (entry.candidates[k]) continue;
      entry.candidates[k] = c;
      added.push(k);
    }
    return added;
  }

  private async append(line: JournalLine): Promise<void> {
    if (!this.writable) throw new Error('tuning database opened read-only');
    const text = JSON.stringify({ ...line, sum: contentSum(line) }) + '\n';
    await this.withLock(() => {
      const mode = existsSync(this.path) ? statSync(this.path).mode & 0o7777 : 0o666;
      // O_NOFOLLOW: a symlink planted at the journal's name is refused, not followed.
      const fd = openSync(this.journalPath, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, mode);
      try {
        cutUnfinishedLine(fd);
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
    this.journalLines++;
  }

  /**
   * Folds the journal into the snapshot: from what is on disk (other processes' candidates
   * included), atomically, then removes the journal. Safe to interrupt at any point.
   */
  async compact(): Promise<void> {
    // Nothing recorded: nothing to fold, and no empty database is created (a command that failed creates nothing).
    if (!this.writable || this.journalLines === 0) return;
    await this.withLock(() => {
      const { db } = this.readDisk(true);
      writeFileAtomic(this.path, snapshotText(db));
      // Killed here: the journal is folded again next time, to the same result (replay is idempotent).
      if (existsSync(this.journalPath)) unlinkSync(this.journalPath);
      syncFolder(dirname(this.path));
    });
    this.journalLines = 0;
  }

  /**
   * Replaces the database by `fn` of what is on disk now (journal folded in), in one step under
   * the lock: the snapshot is written atomically or not at all (a throwing `fn` writes nothing).
   */
  async update(fn: (db: TuningDb) => TuningDb): Promise<TuningDb> {
    if (!this.writable) throw new Error('tuning database opened read-only');
    const next = await this.withLock(() => {
      const next = fn(this.readDisk(true).db);
      writeFileAtomic(this.path, snapshotText(next));
      if (existsSync(this.journalPath)) unlinkSync(this.journalPath);
      syncFolder(dirname(this.path));
      return next;
    });
    this.db.entries = next.entries;
    this.journalLines = 0;
    return next;
  }

  /** Writes a whole database as this store's snapshot (db-merge's output), dropping any journal. */
  async replaceWith(db: TuningDb): Promise<void> {
    await this.withLock(() => {
      writeFileAtomic(this.path, snapshotText(db));
      if (existsSync(this.journalPath)) unlinkSync(this.journalPath);
    });
    this.db.entries = db.entries;
    this.journalLines = 0;
  }

  /**
   * Runs `fn` holding the database's lock. `optional`: a folder where the lock cannot be created
   * (read-only) reads without it.
   */
  private async withLock<T>(fn: () => T, optional = false): Promise<T> {
    // The folder of a new database is made by its first write (the lock lives beside the file).
    if (!optional) mkdirSync(dirname(this.path), { recursive: true });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.path, {
        realpath: false,
        lockfilePath: this.lockPath,
        // A holder killed with SIGKILL stops refreshing its lock: after `stale` ms it is taken over.
        stale: 10_000,
        update: 2_000,
        retries: { retries: Math.ceil(lockWaitMs() / 250), minTimeout: 20, maxTimeout: 250, factor: 1.5 },
        onCompromised: (e) => process.stderr.write(`neotune: the lock of ${this.path} was taken over (${e.message}); the journal keeps every line either way\n`),
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (optional && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOENT')) return fn();
      if (code === 'ELOCKED') throw new InputError('db', this.path, 'a database no other process holds for long', `locked for more than ${lockWaitMs() / 1000} s by ${describeOwner(this.ownerPath)}`);
      throw e;
    }
    // The owner file says who holds the lock (for a process that waits): created exclusively,
    // never through a link; one left by a killed holder is removed first (we hold the lock now).
    let wroteOwner = false;
    try {
      const owner: LockOwner = { pid: process.pid, host: hostname(), command: process.argv.slice(1).join(' '), since: new Date().toISOString() };
      const text = JSON.stringify(owner) + '\n';
      try {
        createExclusive(this.ownerPath, text);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !lstatSync(this.ownerPath).isFile()) throw e;
        unlinkSync(this.ownerPath);
        createExclusive(this.ownerPath, text);
      }
      wroteOwner = true;
    } catch {
      /* informational only */
    }
    try {
      return fn();
    } finally {
      if (wroteOwner) rmSync(this.ownerPath, { force: true });
      await release();
    }
  }

  private get ownerPath(): string {
    return `${this.path}.lock-owner`;
  }
}

function describeOwner(path: string): string {
  try {
    const o = JSON.parse(readRegularFile('lock-owner', path, { maxBytes: 1 << 16 }).toString('utf8')) as LockOwner;
    return `process ${o.pid} on ${o.host} (${o.command}, since ${o.since})`;
  } catch {
    return 'another process';
  }
}

function utf8(bytes: Buffer, path: string): string {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new DbError(path, '', undefined, 'a tuning database (UTF-8 JSON)', 'not UTF-8 text');
  return text;
}

/** A copy of unreadable content next to it, once per distinct content (the name carries its hash). */
function keepCopy(path: string, bytes: Buffer): string {
  const copy = `${path}.corrupt-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
  // lstat, not exists: a link planted at the copy's (predictable) name is not taken for the copy.
  let there = false;
  try {
    there = lstatSync(copy).isFile();
  } catch {
    there = false;
  }
  if (!there) {
    try {
      // COPYFILE_EXCL: never written through whatever sits at the name.
      copyFileSync(path, copy, constants.COPYFILE_EXCL);
    } catch {
      /* copied meanwhile by another process */
    }
  }
  return copy;
}

/**
 * A journal whose last line has no newline ends with a killed writer's line: an unfinished one is
 * cut off, a whole one (only the newline missing) gets its newline.
 */
function cutUnfinishedLine(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  // Find the last newline (the unfinished line is short: one candidate).
  const chunk = Math.min(size, 1 << 20);
  const buf = Buffer.alloc(chunk);
  readSync(fd, buf, 0, chunk, size - chunk);
  const nl = buf.lastIndexOf(0x0a);
  try {
    JSON.parse(buf.subarray(nl + 1).toString('utf8'));
    writeSync(fd, '\n');
  } catch {
    ftruncateSync(fd, nl < 0 ? size - chunk : size - chunk + nl + 1);
  }
}
