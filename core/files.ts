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
 * - Inputs are read strictly (`readTextFile`): a missing path, a folder, bytes that are not UTF-8
 *   text or a file beyond a size limit are invalid input naming the option.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
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
  if (st && !st.isFile()) throw new InputError(field, path, 'a regular file path', 'is not a regular file');
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

/** Writes `data` to `path` atomically, through symlinks, keeping the target's mode (see the module comment). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const target = writeTarget(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  let existing;
  try {
    existing = statSync(target);
  } catch {
    existing = undefined;
  }
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
  const max = o.maxBytes ?? 256 * 2 ** 20;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new InputError(field, path, what, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  if (st.isDirectory()) throw new InputError(field, path, what, 'is a folder');
  if (st.size > max) throw new InputError(field, path, what, `${st.size} bytes, more than the ${max} accepted`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(field, path, what, (e as Error).message);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new InputError(field, path, what, 'not UTF-8 text');
  return text;
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
        writeFileAtomic(join(dir, name), data);
        throw new InputError(field, path, 'a writable file path', `${(e as Error).message}; the results were written to ${join(dir, name)} instead`);
      } catch (again) {
        if (again instanceof InputError) throw again;
      }
    }
    throw e;
  }
}
