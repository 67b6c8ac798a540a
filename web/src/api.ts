/**
 * The page's side of the contract (src/dashboard/contract.ts): requests with the
 * person's bearer token when they gave one (the in-cluster dashboard needs it; the local
 * one acts with the kubeconfig and needs none), and the live stream.
 *
 * The stream is read with fetch, not EventSource, because EventSource cannot send an
 * Authorization header.
 */
import type { BacktestAnswer, CommandAnswer, CommandName, EventsAnswer, MetricsAnswer, StreamEvents, WhoAmIAnswer } from '../../src/dashboard/contract.ts';

const ActionHeader = 'x-codedance-request';
const TOKEN_KEY = 'codedance.token';

/** An answer that is not 2xx, with the server's message. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

const base = new URL('.', document.baseURI);
const url = (path: string): string => new URL(path.replace(/^\//, ''), base).toString();

async function json<T>(response: Response): Promise<T> {
  // Reading may fail (an aborted request): that rejects. Only a body that is not JSON is
  // tolerated, and only on an error answer, whose status then speaks for it.
  const text = await response.text();
  let body: (T & { message?: string }) | undefined;
  try {
    body = JSON.parse(text) as T & { message?: string };
  } catch {
    body = undefined;
  }
  if (!response.ok) throw new ApiError(response.status, body?.message ?? `HTTP ${response.status}`);
  if (body === undefined) throw new ApiError(response.status, 'the dashboard answered with something that is not JSON');
  return body;
}

export async function whoAmI(): Promise<WhoAmIAnswer> {
  return json<WhoAmIAnswer>(await fetch(url('/api/whoami'), { headers: authHeaders() }));
}

export async function releaseMetrics(namespace: string, name: string, signal?: AbortSignal): Promise<MetricsAnswer> {
  const path = `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/metrics`;
  return json<MetricsAnswer>(await fetch(url(path), { headers: authHeaders(), signal: signal ?? null }));
}

/** The release's policy replayed on Prometheus' history of it (docs/backtest.md). */
export async function releaseBacktest(namespace: string, name: string, signal?: AbortSignal): Promise<BacktestAnswer> {
  const path = `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/backtest`;
  return json<BacktestAnswer>(await fetch(url(path), { headers: authHeaders(), signal: signal ?? null }));
}

/** Sends a command; refusals come back as `{ ok: false }`, never thrown. */
export async function sendCommand(namespace: string, name: string, command: CommandName): Promise<CommandAnswer> {
  const path = `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${command}`;
  try {
    const response = await fetch(url(path), {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json', [ActionHeader]: '1' },
      body: '{}',
    });
    const body = (await response.json().catch(() => ({}))) as Partial<CommandAnswer>;
    return { ok: response.ok && body.ok !== false, message: body.message ?? `HTTP ${response.status}` };
  } catch (err) {
    return { ok: false, message: `the dashboard did not answer: ${(err as Error).message}` };
  }
}

/** Everything the stream can tell the page. */
export type StreamMessage = { [K in keyof StreamEvents]: { event: K; data: StreamEvents[K] } }[keyof StreamEvents];

/**
 * Follows `/api/stream` until it ends or `signal` aborts; `onMessage` gets each event.
 * Rejects with an {@link ApiError} on a refusal (401: sign in) and with any other error
 * when the connection is lost (the caller reconnects).
 */
export async function follow(onMessage: (message: StreamMessage) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch(url('/api/stream'), { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal });
  if (!response.ok || !response.body) await json(response);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended');
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = '';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (event && data) onMessage({ event, data: JSON.parse(data) } as StreamMessage);
    }
  }
}

/** The Events about a release, read as the person (the API server may refuse: an {@link ApiError}). */
export async function releaseEvents(namespace: string, name: string, signal?: AbortSignal): Promise<EventsAnswer> {
  const path = `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/events`;
  return json<EventsAnswer>(await fetch(url(path), { headers: authHeaders(), signal: signal ?? null }));
}
