/**
 * The client's transport: one pooled undici Agent with the kubeconfig's TLS material,
 * the Authorization header resolved per request (rotating tokens keep working), the
 * client-side rate limit, per-resource request counts, and JSON in and out. A non-2xx
 * answer is a {@link KubeApiError} with the server's Status; a transport failure one
 * with `statusCode` 0.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { KubeApiError } from './api-error.ts';
import { realClock, sleep } from './clock.ts';
import type { ResolvedKubeConfig } from './kubeconfig.ts';
import type { KubeStatus } from './object.ts';
import { createTokenBucket } from './rate-limit.ts';
import { errorMessage } from './errors.ts';

/** What {@link createTransport} needs besides the kubeconfig (the client resolves the defaults). */
export interface TransportOptions {
  /** Timeout of each non-watch request, in milliseconds. */
  requestTimeoutMs: number;
  /** Requests per second on average; 0 or Infinity: no limit. */
  qps: number;
  /** Requests at once above the average. */
  burst: number;
  /** Told of each request that waited for the rate limit. */
  onThrottle?: ((waitedMs: number, request: string) => void) | undefined;
  /** The User-Agent header: what the API server's audit log and metrics name this client. */
  userAgent: string;
}

/** Requests to one API server. */
export interface Transport {
  /** One request; resolves with the parsed JSON body (undefined when empty). `accept` defaults to JSON. */
  send<T>(method: string, path: string, body?: unknown, contentType?: string, accept?: string): Promise<T>;
  /** A streaming GET (a watch): yields its non-empty lines until the server ends it or `signal` aborts. */
  stream(path: string, signal?: AbortSignal, accept?: string): AsyncIterable<string>;
  /** Requests made so far, keyed `VERB resource` (e.g. `PATCH deployments`). */
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

/** A transport to the server `kc` points at. */
export function createTransport(kc: ResolvedKubeConfig, options: TransportOptions): Transport {
  // TLS material is fixed for the client's life; the Authorization header is resolved per
  // request, so rotating tokens (token files, exec plugins) keep working.
  const agent: Dispatcher = new Agent({
    connect: {
      ca: kc.tls.ca,
      cert: kc.tls.cert,
      key: kc.tls.key,
      rejectUnauthorized: kc.tls.rejectUnauthorized,
      servername: kc.tls.servername,
    },
    keepAliveTimeout: 30_000,
    connections: 64,
  });
  const counts: Record<string, number> = {};
  const limiter = createTokenBucket({ qps: options.qps, burst: options.burst });

  /** Waits for the rate limit (at once when `signal` aborts). */
  async function throttle(method: string, path: string, signal?: AbortSignal): Promise<void> {
    const wait = limiter.reserve();
    if (wait <= 0) return;
    await sleep(realClock, wait, signal);
    options.onThrottle?.(wait, `${method} ${path.split('?')[0]}`);
  }

  async function headers(contentType?: string, accept = 'application/json'): Promise<Record<string, string>> {
    const result: Record<string, string> = { accept, 'user-agent': options.userAgent };
    const authorization = await kc.authorization();
    if (authorization) result.authorization = authorization;
    if (contentType) result['content-type'] = contentType;
    return result;
  }

  function count(method: string, path: string): void {
    // `/apis/g/v/namespaces/ns/plural/name/sub` -> plural; good enough for per-resource counts.
    const parts = path.split('?')[0]!.split('/').filter(Boolean);
    const nsIndex = parts.indexOf('namespaces');
    const resource =
      nsIndex >= 0 && parts.length > nsIndex + 2 ? parts[nsIndex + 2] : parts[parts[0] === 'api' ? 2 : 3];
    const key = `${method} ${resource ?? path}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }

  async function send<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
    accept?: string,
  ): Promise<T> {
    count(method, path);
    await throttle(method, path);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${kc.server}${path}`, {
        method: method as Dispatcher.HttpMethod,
        headers: await headers(body === undefined ? undefined : (contentType ?? 'application/json'), accept),
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        dispatcher: agent,
        headersTimeout: options.requestTimeoutMs,
        bodyTimeout: options.requestTimeoutMs,
      });
    } catch (cause) {
      throw new KubeApiError(0, `${method} ${path}: ${errorMessage(cause)}`, undefined, { cause });
    }
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return (text ? JSON.parse(text) : undefined) as T;
    }
    const status = statusOf(text);
    throw new KubeApiError(
      response.statusCode,
      status.message || `${method} ${path}: HTTP ${response.statusCode}`,
      status,
    );
  }

  async function* stream(path: string, signal?: AbortSignal, accept?: string): AsyncIterable<string> {
    count('WATCH', path);
    await throttle('WATCH', path, signal);
    if (signal?.aborted) return;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${kc.server}${path}`, {
        method: 'GET',
        headers: await headers(undefined, accept),
        dispatcher: agent,
        signal,
        headersTimeout: options.requestTimeoutMs,
        // The body of a watch is open-ended; liveness is the watcher's job (bookmarks + stall timer).
        bodyTimeout: 0,
      });
    } catch (cause) {
      throw new KubeApiError(0, `WATCH ${path}: ${errorMessage(cause)}`, undefined, { cause });
    }
    if (response.statusCode !== 200) {
      const status = statusOf(await response.body.text());
      throw new KubeApiError(
        response.statusCode,
        status.message || `WATCH ${path}: HTTP ${response.statusCode}`,
        status,
      );
    }
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) yield line;
          newline = buffered.indexOf('\n');
        }
      }
    } catch (cause) {
      if (signal?.aborted) return;
      throw new KubeApiError(0, `WATCH ${path}: stream failed: ${errorMessage(cause)}`, undefined, {
        cause,
      });
    } finally {
      response.body.destroy();
    }
  }

  return {
    send,
    stream,
    requestCounts: () => ({ ...counts }),
    close: () => agent.close(),
  };
}

/** The Status in an error body, or the body as its message when it is not JSON. */
function statusOf(text: string): KubeStatus {
  try {
    return JSON.parse(text) as KubeStatus;
  } catch {
    return { message: text };
  }
}
