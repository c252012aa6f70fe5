/**
 * `neotune page --out DIR` and `neotune serve`: the page that tunes NeoCell kernels in a visitor's
 * own browser, as a static site or served here (lib/page.ts).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { gracefulInterrupts } from '../../harness/interrupt.js';
import { ISOLATION_HEADERS, servePage, writePage } from '../../lib/page.js';
import { action, optionParser, parseIntOption, stderrLine } from '../cli-util.js';
import { examples } from '../options.js';
import { InputError } from '../../core/errors.js';
import { TuningStore } from '../../tuner/db.js';

const hostOption = optionParser((v: string) => {
  if (!/^[A-Za-z0-9.:-]+$/.test(v)) throw new InputError('host', v, 'a host name or IP address to listen on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)');
  return v;
});

export function registerPage(program: Command): void {
  const page = program
    .command('page')
    .description('write the tuning page as a static site: any static host serves it (see the README for the headers WebAssembly threads need)')
    .requiredOption('-o, --out <dir>', 'folder to write index.html, app.js and tune-worker.js into (a new or empty folder, or one neotune wrote the page into)')
    .option('--force', 'replace files of the same names in --out that neotune did not write');
  examples(page, [['neotune page --out site/', 'the page, for any static host']]).action(
    action(async (o: { out: string; force?: boolean }) => {
      const files = await writePage(resolve(o.out), { force: o.force ?? false });
      process.stdout.write(`wrote ${files.map((f) => f.slice(1)).join(', ')} into ${o.out}\nserve it with the headers ${Object.entries(ISOLATION_HEADERS).map(([k, v]) => `${k}: ${v}`).join(' and ')} for WebAssembly threads (without them the page tunes on one thread)\n`);
    }),
  );

  const serve = program
    .command('serve')
    .description('serve the tuning page (with the cross-origin isolation headers WebAssembly threads need) until Ctrl-C')
    .option('--host <host>', 'address to listen on (127.0.0.1: this machine only)', hostOption, '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', parseIntOption('port', 'an integer from 0 to 65535', 65535, 0), 8080)
    .option('--collect <db>', 'take the results pages submit into this tuning database (checked, merged atomically, marked as measured in a visitor\'s browser) and serve the leaderboard at /leaderboard');
  examples(serve, [
    ['neotune serve', 'open http://127.0.0.1:8080 on this machine'],
    ['neotune serve --collect collected.json', 'pages may submit their results; the leaderboard is at /leaderboard'],
    ['neotune serve --host 0.0.0.0 --port 9000', 'reachable from other machines of the network'],
  ]).action(
    action(async (o: { host: string; port: number; collect?: string }) => {
      const signal = gracefulInterrupts(stderrLine);
      // The database is read (and checked writable) before anything is served: a bad one is exit 2.
      if (o.collect !== undefined) await TuningStore.open(o.collect, { write: true, field: 'collect' });
      let served;
      try {
        served = await servePage(o.host, o.port, { ...(o.collect !== undefined ? { collect: o.collect } : {}), log: stderrLine });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new InputError(code === 'EADDRINUSE' || code === 'EACCES' ? 'port' : 'host', code === 'EADDRINUSE' || code === 'EACCES' ? o.port : o.host, code === 'EADDRINUSE' ? 'a free port (or 0 for any free one)' : code === 'EACCES' ? 'a port this user may open (1024 or above)' : 'an address of this machine', code);
        throw e;
      }
      process.stdout.write(`listening on ${served.url}\n${o.collect !== undefined ? `collecting submitted results into ${o.collect}; leaderboard at ${served.url}/leaderboard\n` : ''}`);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      served.server.close();
    }),
  );
}
