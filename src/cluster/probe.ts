/**
 * Health probes of the control-plane endpoints, and polling until one passes.
 */
import { Agent, request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../runtime/errors.ts';

export interface ProbeOptions {
  /** PEM bundle to trust (the API server's self-signed certificate). */
  ca?: string;
  /** Skip certificate checks: for components whose serving cert we never see (loopback only). */
  insecure?: boolean;
  token?: string;
  /** Basic auth (a server behind Prometheus' `--web.config.file`). */
  basicAuth?: { username: string; password: string };
  /** @default 2000 */
  timeoutMs?: number;
}

/** The outcome of one probe: `ok` for a 2xx answer. */
export interface ProbeResult {
  ok: boolean;
  status: number;
  body: string;
}

const agents = new Map<string, Agent>();

function agentFor(options: ProbeOptions): Agent | undefined {
  if (!options.insecure && !options.ca) return undefined;
  const key = options.insecure ? 'insecure' : options.ca!;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ connect: options.insecure ? { rejectUnauthorized: false } : { ca: options.ca } });
    agents.set(key, agent);
  }
  return agent;
}

/** GETs `url` once; a connection failure is `{ ok: false, status: 0 }` with the error as body. */
export async function probe(url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 2000;
  try {
    const dispatcher = agentFor(options);
    const response = await request(url, {
      method: 'GET',
      headers: options.token
        ? { authorization: `Bearer ${options.token}` }
        : options.basicAuth
          ? {
              authorization: `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`,
            }
          : {},
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(dispatcher ? { dispatcher } : {}),
    });
    const body = await response.body.text();
    return { ok: response.statusCode >= 200 && response.statusCode < 300, status: response.statusCode, body };
  } catch (err) {
    return { ok: false, status: 0, body: errorMessage(err) };
  }
}

/**
 * Polls `check` every `intervalMs` until it resolves true; throws after `timeoutMs` with
 * `describe()` (the last thing observed) in the message.
 */
export async function pollUntil(
  what: string,
  check: () => Promise<boolean>,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    describe?: () => string;
    abortIf?: () => string | undefined;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    const abort = options.abortIf?.();
    if (abort) throw new Error(`${what}: ${abort}`);
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${what}${options.describe ? `: ${options.describe()}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** Releases the probe connections so a short-lived command can exit. */
export async function closeProbes(): Promise<void> {
  const open = [...agents.values()];
  agents.clear();
  await Promise.all(open.map((agent) => agent.close()));
}
