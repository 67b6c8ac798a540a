/**
 * One JSON POST with a hard deadline, its outcome classified for retrying.
 *
 * Retryable: transport failures, timeouts, 408, 429 (with its Retry-After) and 5xx.
 * Not retryable: every other non-2xx (bad payload, wrong URL, revoked token).
 */
import { request, type Dispatcher } from 'undici';
import type { SendResult } from './notifier.ts';

/** The raw answer of a receiver, for receivers that read its body (DingTalk, WeCom). */
export type PostResult = { ok: true; status: number; text: string } | Extract<SendResult, { ok: false }>;

/** POSTs `body` as JSON to `url` through `dispatcher` (@default undici's global one). */
export async function postJson(
  url: string,
  body: unknown,
  signal: AbortSignal,
  headers: Record<string, string> = {},
  dispatcher?: Dispatcher,
): Promise<PostResult> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'codedance', ...headers },
      body: payload,
      signal,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const text = await response.body.text();
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { ok: true, status, text };
    const retryable = status === 408 || status === 429 || status >= 500;
    const retryAfterMs = retryAfter(response.headers['retry-after']);
    return {
      ok: false,
      retryable,
      status,
      error: `HTTP ${status}${text ? `: ${text.slice(0, 200).trim()}` : ''}`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  } catch (cause) {
    const err = cause as { name?: string; code?: string; message?: string };
    const timedOut = signal.aborted || err.name === 'TimeoutError' || /TIMEOUT/.test(err.code ?? '');
    const reason = (cause as { cause?: { code?: string; message?: string } }).cause;
    // A connection refused by the URL policy (./url-policy.ts) will not succeed on a retry.
    if (err.code === 'EINTERNALADDRESS' || reason?.code === 'EINTERNALADDRESS')
      return { ok: false, retryable: false, error: `refused: ${reason?.message ?? err.message ?? ''}` };
    return {
      ok: false,
      retryable: true,
      error: timedOut ? 'timed out' : `${err.code ?? 'error'}: ${err.message ?? String(cause)}`,
    };
  }
}

/** `Retry-After` in milliseconds (seconds or an HTTP date). */
function retryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * DingTalk and WeCom answer 200 with `{"errcode": N, "errmsg": "..."}`; 0 is success.
 * `retryableCodes` are the codes that mean "try later" (busy, rate limited).
 */
export function errcodeResult(result: PostResult, retryableCodes: readonly number[]): SendResult {
  if (!result.ok) return result;
  let body: { errcode?: unknown; errmsg?: unknown } | undefined;
  try {
    body = JSON.parse(result.text) as { errcode?: unknown; errmsg?: unknown };
  } catch {
    return {
      ok: false,
      retryable: false,
      status: result.status,
      error: `unexpected answer: ${result.text.slice(0, 200)}`,
    };
  }
  const code = typeof body?.errcode === 'number' ? body.errcode : undefined;
  if (code === 0) return { ok: true, status: result.status };
  return {
    ok: false,
    retryable: code !== undefined && retryableCodes.includes(code),
    status: result.status,
    error: `errcode ${String(body?.errcode)}: ${String(body?.errmsg ?? '')}`,
  };
}
