/**
 * Browser safety: Chromium is driven over a pipe (no DevTools port another local process could
 * attach to), and neither Chromium nor its profile folder outlives neotune: not after SIGINT or
 * SIGTERM, and (through the watchdog) not after a SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMissingReason, launchBrowser } from '../browser/chromium.js';

const HOLDER = join(import.meta.dirname, 'helpers', 'browser-holder.js');
const skip = chromiumMissingReason();

/** Processes in a process group (Chromium and its helpers). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is the state (Z: a zombie waiting for its parent to reap it holds nothing).
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Inodes of the TCP sockets listening on this machine. */
function listeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function socketInodes(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m ? [m[1]!] : [];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

async function gone(pgid: number, dir: string, withinMs: number): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end; await sleep(100)) if (groupMembers(pgid).length === 0 && !existsSync(dir)) return true;
  return false;
}

describe('browser safety', { skip }, () => {
  it('Chromium listens on no TCP port: puppeteer drives it over a pipe', async () => {
    const b = await launchBrowser({ '/index.html': ['text/html', '<p>x</p>'] });
    try {
      const page = await b.browser.newPage();
      await page.goto(`${b.origin}/index.html`);
      const pid = b.browser.process()!.pid!;
      const args = b.browser.process()!.spawnargs.join(' ');
      assert.match(args, /--remote-debugging-pipe/);
      assert.doesNotMatch(args, /--remote-debugging-port/);
      const listening = listeningInodes();
      const members = groupMembers(pid);
      assert.ok(members.length > 1, 'Chromium and its helpers are found');
      const open = members.flatMap(socketInodes).filter((i) => listening.has(i));
      assert.deepEqual(open, [], 'no Chromium process holds a listening socket');
    } finally {
      await b.close();
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`after ${signal} to neotune, no Chromium process and no profile folder is left`, async () => {
      const child = spawn(process.execPath, [HOLDER], { stdio: ['ignore', 'pipe', 'pipe'] });
      const ready = await new Promise<string>((ok, fail) => {
        let text = '';
        child.stdout.on('data', (d: Buffer) => {
          text += String(d);
          if (/ready \d+ \S+\n/.test(text)) ok(text);
        });
        child.on('exit', (code) => fail(new Error(`holder exited with ${code} before it was ready`)));
      });
      const [, pid, dir] = /ready (\d+) (\S+)/.exec(ready)!;
      assert.ok(groupMembers(Number(pid)).length > 0 && existsSync(dir!));
      const exited = new Promise((ok) => child.on('exit', ok));
      child.kill(signal);
      await exited;
      // SIGKILL leaves it to the watchdog, which checks every second.
      assert.ok(await gone(Number(pid), dir!, signal === 'SIGKILL' ? 5000 : 2000), `Chromium group ${pid}: ${groupMembers(Number(pid)).join(', ') || 'gone'}; profile ${existsSync(dir!) ? 'left' : 'removed'}`);
    });
  }
});
