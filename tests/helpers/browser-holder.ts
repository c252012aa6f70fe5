/** Launches a browser the way neotune does, prints "ready <chromium pid> <profile folder>", then waits to be killed. */
import { launchBrowser } from '../../browser/chromium.js';

const b = await launchBrowser({ '/index.html': ['text/html', '<p>held</p>'] });
const page = await b.browser.newPage();
await page.goto(`${b.origin}/index.html`);
const pid = b.browser.process()!.pid;
const dir = /--user-data-dir=(\S+)/.exec(b.browser.process()!.spawnargs.join(' '))![1];
process.stdout.write(`ready ${pid} ${dir}\n`);
setInterval(() => {}, 1000);
