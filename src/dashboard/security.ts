/**
 * Browser safety of the dashboard's HTTP side, as small pure checks the handler runs
 * before anything else.
 *
 * - Every response carries a Content-Security-Policy (scripts, styles and connections to
 *   this origin only; `frame-ancestors 'none'`; the page also admits `<style>` elements
 *   with its per-load nonce, see {@link pageHeaders}), `X-Content-Type-Options: nosniff`,
 *   `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`.
 * - An action is a non-simple request: `POST` with `Content-Type: application/json`, a
 *   JSON object body and the header {@link ActionHeader}. A cross-site HTML form can send
 *   none of these, and a cross-site `fetch` that sets them needs a CORS preflight this
 *   server never answers; the Origin check refuses the rest (a browser always sends
 *   `Origin` on a POST).
 * - With {@link SecurityOptions.allowedHosts} set (the local dashboard, which acts with the
 *   user's kubeconfig and so needs no token), a request whose `Host` is not one of them is
 *   refused: a DNS-rebinding page cannot reach 127.0.0.1 under its own name.
 */
import type { IncomingMessage } from 'node:http';

/** The custom header every action must carry (any non-empty value). */
export const ActionHeader = 'x-codedance-request';

const policy = (styleSrc: string): string =>
  `default-src 'none'; script-src 'self'; style-src ${styleSrc}; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** Headers on every dashboard response. */
export const SecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': policy("'self'"),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The headers of the page itself (index.html), whose `<style>` elements may carry
 * `nonce`. Ant Design writes its theme's CSS variables into `<style>` elements at run
 * time even in its zero-runtime mode (the same values its prebuilt stylesheet has); a
 * fresh random nonce per page load admits exactly the elements the page's own script
 * makes, and still no `style` attribute in markup and no `<style>` an attacker could
 * get into the document. Scripts stay `'self'` only: no inline script runs.
 */
export function pageHeaders(nonce: string): Record<string, string> {
  // 'report-sample': a refused element's first characters go with the violation event, so
  // a refusal can be told apart (the browser tests read it).
  return { ...SecurityHeaders, 'content-security-policy': policy(`'self' 'nonce-${nonce}' 'report-sample'`) };
}

/** What the handler accepts besides its own origin. */
export interface SecurityOptions {
  /**
   * `Host` header values (`host:port`) the server answers; undefined accepts any (the
   * in-cluster dashboard, reached through Services and Ingresses under many names, where
   * every request carries a bearer token anyway).
   */
  allowedHosts?: string[];
  /** Further origins (`https://dash.example.com`) allowed to send actions, e.g. behind a proxy that rewrites Host. */
  allowedOrigins?: string[];
}

/** A refusal: the status and a message for the person. */
export interface Refusal {
  status: number;
  message: string;
}

/** Refuses a request whose Host is not served (DNS rebinding); undefined when fine. */
export function checkHost(req: IncomingMessage, options: SecurityOptions): Refusal | undefined {
  if (!options.allowedHosts) return undefined;
  const host = (req.headers.host ?? '').toLowerCase();
  if (options.allowedHosts.includes(host)) return undefined;
  return {
    status: 421,
    message: `this dashboard answers only as ${options.allowedHosts.join(' or ')}, not '${host}'`,
  };
}

/**
 * Refuses an action that a cross-site page could have sent: wrong method, no custom
 * header, not JSON, or an Origin other than this server's own.
 */
export function checkAction(req: IncomingMessage, options: SecurityOptions): Refusal | undefined {
  if (!req.headers[ActionHeader])
    return { status: 403, message: `actions need the ${ActionHeader} header (the dashboard page sends it)` };
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return { status: 415, message: 'actions need a JSON body (Content-Type: application/json)' };
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, req) && !(options.allowedOrigins ?? []).includes(origin)) {
    return { status: 403, message: `cross-origin action refused (Origin ${origin})` };
  }
  // Fetch metadata, where the browser sends it, says the same thing independently of Host.
  const site = req.headers['sec-fetch-site'];
  if (
    site !== undefined &&
    site !== 'same-origin' &&
    site !== 'none' &&
    !(origin && (options.allowedOrigins ?? []).includes(origin))
  ) {
    return { status: 403, message: `cross-site action refused (Sec-Fetch-Site ${String(site)})` };
  }
  return undefined;
}

function sameOrigin(origin: string, req: IncomingMessage): boolean {
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** Reads a small JSON object body; a refusal when it is too big, not JSON, or not an object. */
export async function readJsonObject(
  req: IncomingMessage,
  limitBytes = 4096,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; refusal: Refusal }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes)
      return { ok: false, refusal: { status: 413, message: `the body is larger than ${limitBytes} bytes` } };
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    return { ok: false, refusal: { status: 400, message: 'the body is not JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, refusal: { status: 400, message: 'the body must be a JSON object, e.g. {}' } };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** The `Host` values a server bound to `address:port` is reached by from this machine. */
export function loopbackHosts(address: string, port: number): string[] | undefined {
  const loopback = ['127.0.0.1', 'localhost', '::1', '[::1]'];
  if (!loopback.includes(address) && !address.startsWith('127.')) return undefined;
  return [...new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${address}:${port}`])];
}
