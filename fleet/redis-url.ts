/** The Redis URL option, checked without loading BullMQ (the CLI validates it before any command runs). */
import { InputError } from '../core/errors.js';

const URL_ALLOWED = 'redis://HOST[:PORT][/DB] or rediss://… (e.g. redis://127.0.0.1:6379)';

/** `url` checked: a redis:// or rediss:// URL with a host, and a port and database number in range. */
export function checkRedisUrl(url: string, field = 'redis'): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(field, url, URL_ALLOWED, 'not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new InputError(field, url, URL_ALLOWED, `scheme ${u.protocol.replace(/:$/, '')}`);
  if (!u.hostname) throw new InputError(field, url, URL_ALLOWED, 'no host');
  if (u.port && !(Number(u.port) >= 1 && Number(u.port) <= 65535)) throw new InputError(field, url, URL_ALLOWED, `port ${u.port}`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) throw new InputError(field, url, URL_ALLOWED, `database ${u.pathname.slice(1)} (a number)`);
  return url;
}
