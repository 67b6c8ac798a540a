/**
 * Prometheus range queries (`/api/v1/query_range`), for charts: the same PromQL the
 * analysis evaluates once, evaluated at every step of a time range. Errors are values,
 * described the way the instant client describes them, never thrown.
 */
import { request } from 'undici';
import { sanitizeReason } from './sanitize.ts';

/** One range query. */
export interface RangeQuery {
  /** Base URL of the Prometheus (a path prefix is kept). */
  address: string;
  promql: string;
  /** ms since the epoch */
  start: number;
  end: number;
  stepSeconds: number;
  /** @default 5000 */
  timeoutMs?: number;
}

/** Points of a one-series answer, or why there are none. */
export type RangeResult =
  | { ok: true; points: [number, number][] }
  /** `unreachable`: no answer at all (refused, reset, timed out), as opposed to an answer refusing the query. */
  | { ok: false; message: string; unreachable?: true };

/** Largest answer read (4 MiB: 11,000 points of one series is about 300 KB). */
const MAX_BYTES = 4 << 20;

/** Runs `q`; a result with several series is refused (the analysis queries aggregate to one). */
export async function queryRange(q: RangeQuery): Promise<RangeResult> {
  const endpoint = `${q.address.replace(/\/+$/, '')}/api/v1/query_range`;
  const timeoutMs = q.timeoutMs ?? 5000;
  const form = new URLSearchParams({
    query: q.promql,
    start: (q.start / 1000).toFixed(3),
    end: (q.end / 1000).toFixed(3),
    step: `${q.stepSeconds}`,
    timeout: `${timeoutMs}ms`,
  });
  let status: number;
  let text: string;
  try {
    const response = await request(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    status = response.statusCode;
    text = await response.body.text();
    if (text.length > MAX_BYTES)
      return { ok: false, message: `the answer is larger than ${MAX_BYTES} bytes` };
  } catch (cause) {
    const err = cause as {
      name?: string;
      code?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    if (err.name === 'TimeoutError')
      return { ok: false, unreachable: true, message: `no answer from Prometheus within ${timeoutMs}ms` };
    return {
      ok: false,
      unreachable: true,
      message:
        `Prometheus unreachable: ${err.code ?? err.cause?.code ?? ''} ${err.cause?.message ?? err.message ?? String(cause)}`.trim(),
    };
  }
  return parseRange(status, text);
}

/** Reads a `query_range` answer. Exported for tests. */
export function parseRange(status: number, text: string): RangeResult {
  let body:
    | {
        status?: string;
        error?: string;
        errorType?: string;
        data?: { resultType?: string; result?: unknown };
      }
    | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (body?.status === 'error')
    return {
      ok: false,
      message: `${sanitizeReason(String(body.errorType ?? 'error'), 32)}: ${sanitizeReason(String(body.error ?? `HTTP ${status}`))}`,
    };
  if (
    status < 200 ||
    status >= 300 ||
    body?.status !== 'success' ||
    body.data?.resultType !== 'matrix' ||
    !Array.isArray(body.data.result)
  ) {
    return { ok: false, message: `HTTP ${status}: not a Prometheus range answer (body not shown)` };
  }
  const result = body.data.result as { values?: unknown }[];
  if (result.length > 1)
    return {
      ok: false,
      message: `the query returned ${result.length} series; aggregate it to one (e.g. sum(...))`,
    };
  const points: [number, number][] = [];
  for (const pair of (result[0]?.values ?? []) as unknown[]) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'number' || typeof pair[1] !== 'string') continue;
    const value = pair[1] === '+Inf' ? Infinity : pair[1] === '-Inf' ? -Infinity : Number(pair[1]);
    // NaN (no requests in the window) is a gap, not a point; +Inf latency is real and kept.
    if (!Number.isNaN(value)) points.push([Math.round(pair[0] * 1000), value]);
  }
  return { ok: true, points };
}
