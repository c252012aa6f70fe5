/**
 * Files that are never lost and never written where they should not be.
 *
 * - Writes are atomic (exclusive temp file with a random name in the target's folder, fsync,
 *   rename), so a killed run never leaves half a file, and a pre-planted file or symlink at a
 *   predictable temp name cannot redirect the write.
 * - A symlinked target is written through to the file it points to (the link stays a link), with
 *   the target's mode (and owner, when running as root) preserved.
 * - Outputs are checked up front (`checkOutputPath`): a folder, a read-only file or a read-only
 *   folder is refused before any work is done, naming the option.
 * - Files neotune names itself beside a user's path (a lock's owner file, a report's files in an
 *   output folder, a module's .d.ts) are never written through a link: a link planted at such a
 *   name is refused up front (`checkOwnFile`) and, should one appear later, replaced by the
 *   rename rather than followed (`writeFileAtomic(…, { followLink: false })`); small side files
 *   are created exclusively without following links (`createExclusive`).
 * - Inputs are read strictly (`readTextFile`, `readRegularFile`): a missing path, a folder, a
 *   FIFO, socket or device (opened without blocking, refused before a byte is read), bytes that are
 *   not UTF-8 text or a file beyond a size limit are invalid input naming the option.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync, renameSync, type Stats, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from './errors.js';

/** The file a write to `path` lands in: symlinks followed (also dangling ones, whose target is created). */
export function writeTarget(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return realpathSync(p);
    const link = readlinkSync(p);
    p = isAbsolute(link) ? link : resolve(dirname(p), link);
  }
  throw new InputError('path', path, 'a file path without a symlink loop', 'too many levels of symbolic links');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Whether the current user may write into an existing file or folder (mode bits too: root ignores them otherwise). */
function writable(path: string, mode: number): boolean {
  if ((mode & 0o222) === 0) return false;
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses, before any work, an output path that cannot be written: a folder, a read-only file, a
 * file under a read-only folder or under a path that is a file. `field` is the option (e.g. "--db").
 */
export function checkOutputPath(field: string, path: string): void {
  const target = writeTarget(path);
  let st;
  try {
    st = statSync(target);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new InputError(field, path, 'a file path (not a folder)', 'is a folder');
  if (st && !st.isFile()) throw new InputError(field, path, 'a regular file path', kindOf(st));
  if (st && !writable(target, st.mode)) throw new InputError(field, path, 'a writable file', 'the file is read-only');
  // The nearest existing folder above decides whether the file (and its temp file) can be created.
  let dir = dirname(target);
  for (;;) {
    let d;
    try {
      d = statSync(dir);
    } catch {
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
      continue;
    }
    if (!d.isDirectory()) throw new InputError(field, path, 'a path whose folders are folders', `${dir} is a file`);
    if (!writable(dir, d.mode)) throw new InputError(field, path, 'a path in a writable folder', `the folder ${dir} is read-only`);
    break;
  }
}

export interface WriteOptions {
  /**
   * false for a file neotune names itself (beside or inside a user's path): a link at `path` is
   * replaced, never followed. Default true: the path the user named is written through its links.
   */
  readonly followLink?: boolean;
}

/** Writes `data` to `path` atomically, through symlinks unless told not to, keeping the target's mode (see the module comment). */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: WriteOptions = {}): void {
  const target = o.followLink === false ? resolve(path) : writeTarget(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  let existing;
  try {
    existing = o.followLink === false ? lstatSync(target) : statSync(target);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isFile()) existing = undefined;
  const tmp = join(dir, `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
  // 'wx': O_CREAT | O_EXCL: never opens a file (or follows a link) someone else put there.
  const fd = openSync(tmp, 'wx', existing ? existing.mode & 0o7777 : 0o666);
  try {
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (existing) {
        fchmodSync(fd, existing.mode & 0o7777);
        if (isRoot()) fchownSync(fd, existing.uid, existing.gid);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw e;
  }
  syncFolder(dir);
}

/** fsync of a folder, so a rename survives a power loss (best effort: not every file system allows it). */
export function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

export interface ReadTextOptions {
  /** Largest file accepted, bytes (default 256 MiB). */
  readonly maxBytes?: number;
  /** What the file should be, for the message (e.g. "a result file written by neotune bench --json"). */
  readonly what?: string;
}

/**
 * Reads a UTF-8 text file named by option `field`; a missing path, a folder, a file that is too
 * large or not UTF-8 is an InputError naming the field.
 */
export function readTextFile(field: string, path: string, o: ReadTextOptions = {}): string {
  const what = o.what ?? 'a readable UTF-8 text file';
  const text = decodeUtf8(readRegularFile(field, path, { what, ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}) }));
  if (text === undefined) throw new InputError(field, path, what, 'not UTF-8 text');
  return text;
}

/** What a path is, in words, for a message ("is a FIFO"). */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'is a folder';
  if (st.isFIFO()) return 'is a FIFO (named pipe)';
  if (st.isSocket()) return 'is a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device';
  if (st.isSymbolicLink()) return 'is a symbolic link';
  return 'is not a regular file';
}

/**
 * The bytes of the regular file at `path` (option `field`). The file is opened without blocking
 * (O_NONBLOCK: a FIFO with no writer would otherwise hang the command) and checked by fstat on
 * the open descriptor, so what is read is what was checked: a folder, FIFO, socket or device,
 * a missing path or a file over `maxBytes` (default 256 MiB) is an InputError naming the field.
 */
export function readRegularFile(field: string, path: string, o: ReadTextOptions = {}): Buffer {
  const what = o.what ?? 'a readable regular file';
  const max = o.maxBytes ?? 256 * 2 ** 20;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A socket cannot be opened (ENXIO); say what it is rather than the errno.
    let kind: string | undefined;
    try {
      kind = kindOf(statSync(path));
    } catch {
      kind = undefined;
    }
    throw new InputError(field, path, what, code === 'ENOENT' ? 'no such file' : code === 'ENXIO' && kind ? kind : (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(field, path, what, kindOf(st));
    if (st.size > max) throw new InputError(field, path, what, `${st.size} bytes, more than the ${max} accepted`);
    try {
      return readFileSync(fd);
    } catch (e) {
      throw new InputError(field, path, what, (e as Error).message);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses, before any work, a path where neotune will write a file of its own naming (beside or
 * inside a user's path) when something other than a regular file is there: a link planted there
 * would otherwise redirect the write.
 */
export function checkOwnFile(field: string, path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isFile()) throw new InputError(field, path, `a path where neotune may write its own file ${basename(path)} (a regular file or nothing)`, kindOf(st));
}

/**
 * Creates `path` with `data`, exclusively and without following a link (O_CREAT | O_EXCL: an
 * existing file or link at the name fails with EEXIST, nothing is written through it).
 */
export function createExclusive(path: string, data: string, mode = 0o644): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** The UTF-8 text of `bytes`, or undefined when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Deepest nesting of brackets in JSON (or YAML flow) text outside strings: checked before parsing, so a hostile file cannot overflow the stack. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Nesting deeper than this in an input file is refused (neotune's own files nest less than 10 deep). */
export const MAX_NESTING = 64;

/** JSON.parse with the nesting bounded (a hostile file cannot overflow the stack); `fail(detail)` makes the error. */
export function parseBoundedJson(text: string, fail: (detail: string) => Error): unknown {
  const depth = nestingDepth(text);
  if (depth > MAX_NESTING) throw fail(`nested ${depth} levels deep, more than ${MAX_NESTING}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail(`not valid JSON: ${(e as Error).message}`);
  }
}

/** JSON.parse of an input file with its nesting bounded; errors are InputErrors naming the field. */
export function parseJsonInput(field: string, path: string, text: string, what: string): unknown {
  return parseBoundedJson(text, (detail) => new InputError(field, path, what, detail));
}

/** Refuses, before any work, an output folder that is a file or cannot be written (checked through a file in it). */
export function checkOutputFolder(field: string, dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) throw new InputError(field, dir, 'a folder path (not a file)', 'is a file');
  checkOutputPath(field, join(dir, '.neotune-probe'));
}

/**
 * Writes finished results to `path`; when that fails (the path became a folder, the disk is
 * read-only…), the data is written next to it (or in the current or temp folder) and the error
 * says where: finished work is never lost because an output path is bad.
 */
export function writeOrRescue(field: string, path: string, data: string): void {
  try {
    writeFileAtomic(path, data);
    return;
  } catch (e) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `neotune-rescued-${stamp}-${basename(path) || 'output'}`;
    for (const dir of [dirname(resolve(path)), process.cwd(), tmpdir()]) {
      try {
        writeFileAtomic(join(dir, name), data, { followLink: false });
        throw new InputError(field, path, 'a writable file path', `${(e as Error).message}; the results were written to ${join(dir, name)} instead`);
      } catch (again) {
        if (again instanceof InputError) throw again;
      }
    }
    throw e;
  }
}

/** The list, in an output folder, of the files neotune wrote there (so a later run may replace them, and nothing else). */
export const OWN_FILES_LIST = '.neotune-files';

/** The names neotune recorded as its own in `dir` (none when the list is missing or unreadable). */
function ownFiles(dir: string): string[] {
  try {
    const list = JSON.parse(readRegularFile(OWN_FILES_LIST, join(dir, OWN_FILES_LIST), { maxBytes: 1 << 20 }).toString('utf8')) as unknown;
    return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Refuses, before any work, to write the files `names` into the output folder `dir` (option
 * `field`) when that would replace a file of the user's: each name that exists there must be one
 * neotune wrote (listed in OWN_FILES_LIST), unless `force`. Links or other non-files at those
 * names are refused even with `force`; so is a folder that cannot be written.
 */
export function checkOutputFiles(field: string, dir: string, names: readonly string[], force = false): void {
  checkOutputFolder(field, dir);
  const own = new Set(ownFiles(dir));
  const foreign: string[] = [];
  for (const name of [...names, OWN_FILES_LIST]) {
    const path = join(dir, name);
    checkOwnFile(field, path);
    if (name !== OWN_FILES_LIST && !own.has(name) && existsSync(path)) foreign.push(name);
  }
  if (foreign.length && !force) {
    throw new InputError(field, dir, 'a new or empty folder, or one neotune wrote before (pass --force to replace the files named)', `it holds ${foreign.join(', ')}, not written by neotune: nothing was written`);
  }
}

/** Adds `names` to the folder's list of neotune's own files (after writing them). */
export function recordOutputFiles(dir: string, names: readonly string[]): void {
  const all = [...new Set([...ownFiles(dir), ...names])].sort();
  writeFileAtomic(join(dir, OWN_FILES_LIST), JSON.stringify(all) + '\n', { followLink: false });
}
