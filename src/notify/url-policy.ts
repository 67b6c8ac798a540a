/**
 * Which notification URLs the controller will call.
 *
 * A release names its own receivers, and the controller POSTs to them from inside the
 * cluster, with the controller's network position. Unless the process runs with
 * `--allow-internal-notification-urls`, a URL is refused when its host is
 * cluster-internal:
 * - loopback: `127.0.0.0/8`, `::1`, `localhost`, `*.localhost`;
 * - link-local: `169.254.0.0/16` (cloud metadata services), `fe80::/10`;
 * - private and shared ranges: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`,
 *   `100.64.0.0/10`, `fc00::/7`, and `0.0.0.0/8`, `::` (this host);
 * - cluster names: single-label names (resolved through the pod's search domains to a
 *   Service), and names ending in `.svc`, `.cluster.local`, `.local`, `.internal`, or
 *   holding `.svc.` (a Service under a custom cluster domain).
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are judged by their IPv4 address.
 *
 * A public name that resolves to an internal address is refused when the connection is
 * made ({@link guardedLookup}), so a DNS record cannot smuggle an internal target past
 * the check of the URL's text.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

/** The flag that lets notification URLs reach internal addresses. */
export const ALLOW_INTERNAL_FLAG = '--allow-internal-notification-urls';

const INTERNAL_NAME_SUFFIXES = ['.svc', '.cluster.local', '.local', '.internal', '.localhost'];

/** IPv4 ranges refused, as [first octets as a number, prefix length]. */
const INTERNAL_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
];

/** Why `url` may not be called, or undefined when it may. Judges the URL's text only (see {@link guardedLookup}). */
export function refuseNotificationUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  const host = parsed.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  const why = internalHost(host);
  return why === undefined
    ? undefined
    : `${host} is ${why}; notification URLs to cluster-internal addresses are refused (the controller's ${ALLOW_INTERNAL_FLAG} allows them)`;
}

/** What kind of internal host `host` (a hostname or IP literal, no brackets) is, or undefined. */
export function internalHost(host: string): string | undefined {
  if (isIP(host)) return internalAddress(host);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a loopback name';
  if (!host.includes('.')) return 'a single-label name (resolved inside the cluster)';
  if (host.includes('.svc.') || INTERNAL_NAME_SUFFIXES.some((suffix) => host.endsWith(suffix)))
    return 'a cluster-internal name';
  return undefined;
}

/** What kind of internal address `address` (an IP literal) is, or undefined for a public one. */
export function internalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) {
    const value = v4(address);
    for (const [base, bits] of INTERNAL_V4) {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if ((value & mask) >>> 0 === (v4(base) & mask) >>> 0) return kindOfV4(base);
    }
    return undefined;
  }
  if (family === 6) {
    const words = v6(address);
    if (words.every((w) => w === 0)) return 'the unspecified address';
    if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return 'a loopback address';
    // ::ffff:a.b.c.d: an IPv4 address in IPv6 clothes.
    if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
      const mapped = `${(words[6]! >> 8) & 255}.${words[6]! & 255}.${(words[7]! >> 8) & 255}.${words[7]! & 255}`;
      return internalAddress(mapped);
    }
    if ((words[0]! & 0xffc0) === 0xfe80) return 'a link-local address';
    if ((words[0]! & 0xfe00) === 0xfc00) return 'a private (unique local) address';
    return undefined;
  }
  return undefined;
}

function kindOfV4(base: string): string {
  if (base === '127.0.0.0') return 'a loopback address';
  if (base === '169.254.0.0') return 'a link-local address';
  if (base === '0.0.0.0') return 'a "this host" address';
  return 'a private address';
}

function v4(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** The eight 16-bit words of an IPv6 address (an embedded IPv4 tail included). */
function v6(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = v4(tail[1]!);
    text = `${text.slice(0, -tail[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((w) => parseInt(w || '0', 16));
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for sockets (net/tls `connect`) that resolves as usual and fails when any
 * address of the name is internal, so the connection is never made.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const bad = addresses.find((a) => internalAddress(a.address) !== undefined);
    if (bad) {
      const refused: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${bad.address}, ${internalAddress(bad.address)}; notification URLs to cluster-internal addresses are refused (the controller's ${ALLOW_INTERNAL_FLAG} allows them)`,
      );
      refused.code = 'EINTERNALADDRESS';
      return callback(refused, '');
    }
    const first = addresses[0];
    if (options.all) return callback(null, addresses);
    if (!first)
      return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '');
    callback(null, first.address, first.family);
  });
}

let guarded: Dispatcher | undefined;

/** The shared HTTP dispatcher whose connections go only to public addresses (see {@link guardedLookup}). */
export function publicOnlyDispatcher(): Dispatcher {
  guarded ??= new Agent({ connect: { lookup: guardedLookup }, keepAliveTimeout: 10_000 });
  return guarded;
}
