/**
 * Calling one webhook gate (`spec.webhooks[]`, docs/webhooks.md): a JSON POST with the
 * release's context, signed like the Webhook notification (./webhook.ts), with a timeout
 * per call and retries; any 2xx is a yes.
 *
 * Addresses follow the notification rules: a URL given through `secretRef` comes from a
 * Secret labelled `deploy.codedance.io/notification: "true"`, and unless the controller
 * runs with `--allow-internal-notification-urls` a cluster-internal host is refused
 * (./url-policy.ts), by its text and again when the name resolves.
 *
 * Never throws: every failure is an answer `{ passed: false, message }` that says why.
 */
import type { WebhookGate } from '../api/experiments.ts';
import { NotificationSecretLabel } from '../api/names.ts';
import type { KubeClient, KubeObject } from '../runtime/client.ts';
import { backoffDelay, resolveBackoff } from '../runtime/backoff.ts';
import { Secret } from '../runtime/kinds.ts';
import { parseDuration } from '../strategy/duration.ts';
import type { Dispatcher } from 'undici';
import { postJson } from './http.ts';
import { notOptedInMessage } from './resolve.ts';
import { publicOnlyDispatcher, refuseNotificationUrl } from './url-policy.ts';
import { SIGNATURE_HEADER, webhookSignature } from './webhook.ts';

/** Header naming the gate type, so a receiver can route without parsing. */
export const GATE_HEADER = 'x-codedance-gate';

/** @default timeout of one call */
export const DEFAULT_GATE_TIMEOUT_MS = 10_000;
/** @default retries after a retryable failure */
export const DEFAULT_GATE_RETRIES = 2;

/** What a gate receives (JSON, in this field order). */
export interface GatePayload {
  type: WebhookGate['type'];
  name: string;
  release: { namespace: string; name: string };
  /** The canary's image. */
  version: string;
  /** The image stable runs (before promotion). */
  stableVersion?: string | undefined;
  phase?: string | undefined;
  reason?: string | undefined;
  /** 1-based step, and the number of steps. */
  step?: number | undefined;
  totalSteps?: number | undefined;
  weight?: number | undefined;
  /** The gate's own `metadata`, as written in the spec. */
  metadata?: Record<string, string> | undefined;
  time: string;
}

/** One gate's answer. */
export interface GateAnswer {
  passed: boolean;
  attempts: number;
  /** The HTTP status or error, and the start of the body, for status and Events. */
  message: string;
}

/** Where and how to call a gate, resolved from its spec. */
export interface GateCall {
  url: string;
  secret?: string | undefined;
  dispatcher?: Dispatcher | undefined;
  timeoutMs: number;
  retries: number;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/** Resolves `gate`'s URL (and signing key) in `namespace`, or says why it cannot be called. */
export async function resolveGate(
  client: Pick<KubeClient, 'get'>,
  namespace: string,
  gate: WebhookGate,
  options: { allowInternal?: boolean | undefined } = {},
): Promise<{ call: GateCall } | { error: string }> {
  let url = gate.url;
  let secret: string | undefined;
  if (gate.secretRef) {
    const ref = gate.secretRef;
    let object: SecretObject | undefined;
    try {
      object = await client.get<SecretObject>(Secret, namespace, ref.name);
    } catch (cause) {
      return {
        error: `reading Secret ${namespace}/${ref.name}: ${cause instanceof Error ? cause.message : String(cause)}`,
      };
    }
    if (!object) return { error: `Secret ${namespace}/${ref.name} not found` };
    if (object.metadata.labels?.[NotificationSecretLabel] !== 'true')
      return { error: notOptedInMessage(namespace, ref.name) };
    url = decode(object.data?.[ref.urlKey ?? 'url']);
    if (url === undefined)
      return { error: `Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.urlKey ?? 'url')}` };
    if (ref.secretKey) {
      secret = decode(object.data?.[ref.secretKey])?.trim();
      if (secret === undefined)
        return { error: `Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.secretKey)}` };
    }
  }
  url = url?.trim();
  if (!url || !/^https?:\/\//.test(url)) return { error: 'no http(s) url: set url or secretRef' };
  const refusal = options.allowInternal ? undefined : refuseNotificationUrl(url);
  if (refusal) return { error: refusal.replace('notification URLs', 'webhook gate URLs') };
  const timeoutMs = Math.min(
    30_000,
    Math.max(1, parseDuration(gate.timeout ?? '') ?? DEFAULT_GATE_TIMEOUT_MS),
  );
  return {
    call: {
      url,
      ...(secret ? { secret } : {}),
      ...(options.allowInternal ? {} : { dispatcher: publicOnlyDispatcher() }),
      timeoutMs,
      retries: gate.retries ?? DEFAULT_GATE_RETRIES,
    },
  };
}

/** Longest a call of `gate` may take, retries and their waits included. */
export function gateBudgetMs(gate: WebhookGate): number {
  const timeoutMs = Math.min(30_000, parseDuration(gate.timeout ?? '') ?? DEFAULT_GATE_TIMEOUT_MS);
  const retries = gate.retries ?? DEFAULT_GATE_RETRIES;
  return timeoutMs * (retries + 1) + BACKOFF.maxMs * retries;
}

const BACKOFF = resolveBackoff({ initialMs: 500, maxMs: 4_000, factor: 2, jitter: 0.2 });

/**
 * POSTs `payload` to the gate, retrying timeouts, transport errors, 408, 429 and 5xx up
 * to `call.retries` times; another 4xx is a firm no. Ends early when `signal` aborts.
 */
export async function callGate(
  call: GateCall,
  payload: GatePayload,
  signal?: AbortSignal,
): Promise<GateAnswer> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { [GATE_HEADER]: payload.type };
  if (call.secret) headers[SIGNATURE_HEADER] = webhookSignature(body, call.secret);
  let attempts = 0;
  let last = '';
  for (;;) {
    attempts++;
    const attemptSignal = signal
      ? AbortSignal.any([signal, AbortSignal.timeout(call.timeoutMs)])
      : AbortSignal.timeout(call.timeoutMs);
    const result = await postJson(call.url, body, attemptSignal, headers, call.dispatcher);
    if (result.ok)
      return {
        passed: true,
        attempts,
        message: `HTTP ${result.status}${result.text ? `: ${result.text.slice(0, 200).trim()}` : ''}`,
      };
    last = result.error === 'timed out' ? `timed out after ${call.timeoutMs}ms` : result.error;
    if (!result.retryable || attempts > call.retries || signal?.aborted)
      return { passed: false, attempts, message: last };
    await sleep(
      Math.max(backoffDelay(BACKOFF, attempts), Math.min(result.retryAfterMs ?? 0, BACKOFF.maxMs)),
      signal,
    );
  }
}

function decode(base64: string | undefined): string | undefined {
  return base64 === undefined ? undefined : Buffer.from(base64, 'base64').toString('utf8');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
