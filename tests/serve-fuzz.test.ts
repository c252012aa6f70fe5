/**
 * `neotune serve --collect` never dies of a request: fast-check generates thousands of malformed
 * requests (request lines whose target is not a URL, unknown and empty methods, broken versions,
 * header lines with bad characters, lying or duplicated content lengths, broken chunked bodies,
 * huge headers, random bytes, bodies of any content type to the submission route), each sent on
 * its own raw connection; then a good request must be answered, the process must still run and
 * the collection database must be untouched.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const dir = mkdtempSync(join(tmpdir(), 'neotune-serve-fuzz-'));
const db = join(dir, 'collected.json');
const DB_TEXT = JSON.stringify({ schema: 'neotune-tuning-db', version: 2, entries: {} });

let server: ChildProcess;
let port = 0;
let stderr = '';

before(async () => {
  writeFileSync(db, DB_TEXT);
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--collect', db], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  port = await new Promise<number>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    server.once('exit', (code) => fail(new Error(`serve exited ${code}: ${stderr}`)));
  });
});

after(() => {
  server.kill('SIGKILL');
});

/** Sends raw bytes on a new connection; resolves with what came back (or '' when the server closed it) within 3 s. */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      ok(got);
    };
    const timer = setTimeout(done, 3000);
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.end(bytes));
  });
}

const TARGETS = ['http://[', '//[', '//[::1', 'http://[::1', '/%', '/%zz', '/%00', '*', '', ' ', '/\u0000', '/\u001b[31m', '/__proto__', '/constructor', '/..%2f..%2fetc%2fpasswd', '//', '/?', 'http://', 'http://a b/', 'mailto:x', '/api/results', '/leaderboard', '/leaderboard.json', '/api/collect', '/' + 'a'.repeat(20_000)];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'BREW', '', 'G ET', 'get', '\u0000', 'POST\u001b'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/9.9', 'HTTP/1.1 extra', 'http/1.1', '', 'XYZ'];
const HEADER_LINES = [
  'Host: x',
  'Content-Type: application/json',
  'Content-Type: text/plain',
  'Content-Type: application/json; charset=latin1',
  'Content-Length: 5',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: abc',
  'Content-Length: 3\r\nContent-Length: 4',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked\r\nContent-Length: 3',
  'Expect: 100-continue',
  'Connection: keep-alive',
  'Connection: upgrade\r\nUpgrade: websocket',
  'X-Bad\u0000: y',
  'Bad Header: y',
  ': no name',
  'no-colon',
  'X-Long: ' + 'x'.repeat(100_000),
  'Host: [',
];
const BODIES = fc.oneof(
  fc.constantFrom('', '{', '[]', 'null', '{"schema":"neotune-tuning-db","version":2,"entries":{"a":1}}', '0\r\n\r\n', 'zz\r\nxx\r\n', '5\r\nabc\r\n0\r\n\r\n', '{"entries":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}'),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

const request = fc
  .record({
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })),
    target: fc.oneof(fc.constantFrom(...TARGETS), fc.string({ maxLength: 40 }), fc.webUrl()),
    version: fc.constantFrom(...VERSIONS),
    headers: fc.array(fc.oneof(fc.constantFrom(...HEADER_LINES), fc.string({ maxLength: 40 })), { maxLength: 5 }),
    body: BODIES,
    lineEnd: fc.constantFrom('\r\n', '\n', '\r'),
  })
  .map((r) => Buffer.from(`${r.method} ${r.target} ${r.version}${r.lineEnd}${r.headers.join(r.lineEnd)}${r.lineEnd}${r.lineEnd}${r.body}`, 'latin1'));
const garbage = fc.uint8Array({ minLength: 1, maxLength: 500 }).map((b) => Buffer.from(b));

/** Requests per run: CI sends this many, 16 connections at a time. */
const REQUESTS = 2400;

describe('serve: no request ends the process', () => {
  it(`${REQUESTS} malformed requests, then a good one is answered`, async () => {
    const cases = [...fc.sample(request, { numRuns: REQUESTS - 200, seed: 34 }), ...fc.sample(garbage, { numRuns: 200, seed: 35 })];
    // The two targets that used to throw out of the handler, on every method.
    for (const m of ['GET', 'POST', 'HEAD']) for (const t of ['http://[', '//[']) cases.push(Buffer.from(`${m} ${t} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let next = 0;
    let answered = 0;
    const worker = async () => {
      while (next < cases.length) {
        const reply = await raw(cases[next++]!);
        if (/^HTTP\/1\.1 \d{3}/.test(reply)) answered++;
        assert.equal(server.exitCode, null, `serve exited after request ${next}: ${stderr.slice(-500)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.equal(server.exitCode, null, `serve exited: ${stderr.slice(-500)}`);
    assert.ok(answered > cases.length / 2, `${answered} of ${cases.length} requests got an HTTP answer`);
    // The targets that are not URL paths get a 400, not a dropped connection.
    assert.match(await raw(Buffer.from('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), /^HTTP\/1\.1 400 /);
    assert.match(await raw(Buffer.from('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), /^HTTP\/1\.1 400 /);
    // A good request after all that.
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const board = await fetch(`http://127.0.0.1:${port}/leaderboard.json`);
    assert.equal(board.status, 200);
    assert.deepEqual(await board.json(), []);
    assert.doesNotMatch(stderr, /internal error|\n\s+at \S+ \(/);
    // Nothing malformed reached the database.
    assert.equal(readFileSync(db, 'utf8'), DB_TEXT);
    assert.equal(existsSync(`${db}.journal`), false);
  });
});
