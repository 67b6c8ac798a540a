/**
 * A small client for the Prometheus HTTP API: instant queries that must come back
 * as one number.
 *
 * Guarantees:
 * - never throws: every failure is a {@link QueryError} value the decision engine
 *   weighs (see ./errors.ts for what each kind means);
 * - every query ends within `timeoutMs`: the same budget is sent to Prometheus as its
 *   `timeout` parameter (so it stops evaluating) and enforced on our side;
 * - queries are POSTed form-encoded, as the API allows, so long PromQL never hits a
 *   URL length limit;
 * - nothing the server says is repeated as it came: an error message keeps only a
 *   short, sanitised excerpt of Prometheus' own JSON `error` field (./sanitize.ts), and
 *   an answer larger than {@link MAX_ANSWER_BYTES} is dropped unread, so a release
 *   pointed at a hostile or broken server can put neither its text into status and
 *   Events nor its size into the controller's memory.
 *
 * What counts as "one number": a scalar, or a vector with exactly one sample. An
 * empty vector or NaN is `no-data` (no requests in the window); several samples is a
 * `bad-query` (the PromQL needs an aggregation such as `sum()`). `+Inf`/`-Inf` are
 * values: `histogram_quantile` returns `+Inf` when the quantile lies beyond the
 * highest bucket, which is a real, very bad latency.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { QueryError } from './errors.ts';
import type { MetricSource, QueryOptions, QueryResult } from './source.ts';
import { sanitizeReason } from './sanitize.ts';

export interface PrometheusOptions {
  /** Base URL, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  address: string;
  /** Budget of one query, in milliseconds, connect to last byte. @default 5000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization`, `x-scope-orgid`; see ./credentials.ts). @default none */
  headers?: Record<string, string>;
  /** PEM CA bundle the server's certificate must chain to, instead of the system's (only for the client's own dispatcher). */
  ca?: string;
  /** Dispatcher to send through. @default a keep-alive Agent owned by the client */
  dispatcher?: Dispatcher;
}

/** The metric source interface this client implements, where it is declared (./source.ts). */
export type { QueryOptions, QueryResult } from './source.ts';

/** A client of the Prometheus HTTP API: the Prometheus {@link MetricSource}. */
export type PrometheusClient = MetricSource;

/** Mirrors the API default of `metrics.provider.timeout`. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5000;

/** Largest answer read (1 MiB): an instant query for one number is a few hundred bytes. */
export const MAX_ANSWER_BYTES = 1 << 20;

/** A client for the Prometheus at `options.address`. */
export function createPrometheusClient(options: PrometheusOptions): PrometheusClient {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const endpoint = `${options.address.replace(/\/+$/, '')}/api/v1/query`;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      connections: 16,
      ...(options.ca ? { connect: { ca: options.ca } } : {}),
    });

  async function query(promql: string, opts: QueryOptions = {}): Promise<QueryResult> {
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    const form = new URLSearchParams({ query: promql, timeout: `${Math.max(1, Math.floor(timeoutMs))}ms` });
    if (opts.time) form.set('time', (opts.time.getTime() / 1000).toFixed(3));
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    let status: number;
    let text: string;
    try {
      const response = await request(endpoint, {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      const body = await readCapped(response.body, MAX_ANSWER_BYTES);
      if (body === undefined)
        return fail(
          'http',
          `HTTP ${status}: the answer is larger than ${MAX_ANSWER_BYTES} bytes; not a Prometheus instant query answer`,
          status,
        );
      text = body;
    } catch (cause) {
      return { ok: false, error: transportError(cause, deadline.aborted, endpoint, timeoutMs) };
    }
    return parseResponse(status, text);
  }

  return {
    address: options.address,
    query,
    close: async () => {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

/** The API's JSON envelope, as far as we read it. */
interface Envelope {
  status?: string;
  data?: { resultType?: string; result?: unknown };
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** Turns one HTTP answer into a number or a typed error. Exported for tests. */
export function parseResponse(status: number, text: string): QueryResult {
  let body: Envelope | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Envelope;
  } catch {
    body = undefined;
  }
  if (body?.status === 'error' || (status >= 400 && body?.error)) {
    // Prometheus' own words (useful for a broken custom query), shortened and made safe.
    const errorType = typeof body?.errorType === 'string' ? sanitizeReason(body.errorType, 32) : 'error';
    const message = `${errorType}: ${typeof body?.error === 'string' ? sanitizeReason(body.error) : `HTTP ${status}`}`;
    // 400: bad parameters, 422: expression cannot be executed, 503: timed out or aborted.
    if (status === 503 || body?.errorType === 'timeout' || body?.errorType === 'canceled')
      return fail('timeout', message, status);
    if (status === 400 || status === 422 || body?.errorType === 'bad_data' || body?.errorType === 'execution')
      return fail('bad-query', message, status);
    return fail('http', message, status);
  }
  // Credentials refused, by Prometheus' own --web.config.file or a proxy in front of it.
  if (status === 401 || status === 403) {
    return fail(
      'http',
      `HTTP ${status}: the server ${status === 401 ? 'wants other credentials' : 'refused these credentials'}; check the Secret of metrics.provider.secretRef (token, or username and password)`,
      status,
    );
  }
  // Not the Prometheus API (a proxy's page, a wrong address): described, never quoted.
  if (status < 200 || status >= 300)
    return fail(
      'http',
      `HTTP ${status}: ${text.trim() ? 'not a Prometheus API answer (body not shown)' : 'no body'}`,
      status,
    );
  if (body?.status !== 'success' || !body.data)
    return fail('http', `HTTP ${status}: not a Prometheus API answer (body not shown)`, status);

  const warnings =
    Array.isArray(body.warnings) && body.warnings.length > 0
      ? { warnings: body.warnings.slice(0, 5).map((w) => sanitizeReason(String(w))) }
      : {};
  const { resultType, result } = body.data;
  let sample: unknown;
  if (resultType === 'scalar') {
    sample = result;
  } else if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length === 0)
      return fail('no-data', 'the query returned an empty vector (no matching series in the window)');
    if (result.length > 1)
      return fail(
        'bad-query',
        `the query returned ${result.length} series; aggregate it to one number (e.g. sum(...))`,
      );
    sample = (result[0] as { value?: unknown } | undefined)?.value;
  } else {
    return fail(
      'bad-query',
      `the query returned a ${typeof resultType === 'string' ? sanitizeReason(resultType, 32) : 'missing'} result; an instant vector or scalar is needed`,
    );
  }
  const value = sampleValue(sample);
  if (value === undefined) return fail('http', 'the answer holds an unreadable sample (not [time, "value"])');
  if (Number.isNaN(value)) return fail('no-data', 'the query returned NaN (no requests in the window)');
  return { ok: true, value, ...warnings };
}

/** `[ <unix time>, "<value>" ]` → number (Prometheus sends values as strings: "NaN", "+Inf"). */
function sampleValue(sample: unknown): number | undefined {
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== 'string') return undefined;
  const text = sample[1];
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return text.trim() === '' || Number.isNaN(value) ? undefined : value;
}

/** The body as text, or undefined (and the stream destroyed) once it passes `max` bytes. */
async function readCapped(
  body: AsyncIterable<unknown> & { destroy(): unknown },
  max: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportError(cause: unknown, timedOut: boolean, endpoint: string, timeoutMs: number): QueryError {
  const err = cause as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  const code = err.code ?? err.cause?.code ?? '';
  if (timedOut || err.name === 'TimeoutError' || /TIMEOUT/.test(code)) {
    return { kind: 'timeout', message: `no answer from ${endpoint} within ${timeoutMs}ms` };
  }
  const detail = err.cause?.message ?? err.message ?? String(cause);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS/.test(code)) {
    return {
      kind: 'unreachable',
      message: `${endpoint}: TLS: ${code} ${detail}; the server's certificate is not trusted: put its CA bundle in key ca.crt of the Secret of metrics.provider.secretRef`,
    };
  }
  return { kind: 'unreachable', message: `${endpoint}: ${code ? `${code} ` : ''}${detail}`.trim() };
}

function fail(kind: QueryError['kind'], message: string, status?: number): QueryResult {
  return { ok: false, error: status === undefined ? { kind, message } : { kind, message, status } };
}
