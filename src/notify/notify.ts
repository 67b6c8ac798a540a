/**
 * Sending one release event to every receiver: in parallel, each with bounded
 * retries and exponential backoff, all under one deadline.
 *
 * Guarantees:
 * - never throws and never rejects: failures are reported in the result;
 * - bounded: every attempt has its own timeout and the whole send a deadline
 *   (@default 20s), after which whatever is still pending is abandoned;
 * - one slow or failing receiver never delays another.
 *
 * The reconciler does not wait: `void notify(...)` (or keep the promise to log the
 * report). Tests await the promise to see what was delivered.
 */
import type { CanaryDeployment, NotificationEvent } from '../api/canary-deployment.ts';
import { backoffDelay, resolveBackoff, type BackoffOptions } from '../runtime/backoff.ts';
import { messageOf, type NotificationMessage } from './message.ts';
import type { Notifier, NotificationType, SendResult } from './notifier.ts';

/** A notifier with the events it wants. */
export interface Receiver {
  notifier: Notifier;
  /** Events to send. @default every event */
  events?: readonly NotificationEvent[] | undefined;
}

export interface NotifyOptions {
  /** Attempts per receiver, the first included. @default 4 */
  attempts?: number;
  /** Delays between attempts. @default { initialMs: 500, maxMs: 5000, factor: 2, jitter: 0.2 } */
  backoff?: BackoffOptions;
  /** Timeout of one attempt, in milliseconds. @default 5000 */
  attemptTimeoutMs?: number;
  /** Budget of the whole send, retries included, in milliseconds. @default 20000 */
  deadlineMs?: number;
  /** @default () => new Date() */
  now?: () => Date;
  /** The sentence to send, when the caller has a fresher one than `status.message`. @default status.message */
  message?: string | undefined;
}

/** What happened to one receiver. */
export interface Delivery {
  receiver: string;
  type: NotificationType;
  ok: boolean;
  attempts: number;
  /** The last error, when not delivered. */
  error?: string;
}

export interface NotifyReport {
  event: NotificationEvent;
  /** One per receiver that wanted the event. */
  deliveries: Delivery[];
}

const DEFAULTS = {
  attempts: 4,
  backoff: { initialMs: 500, maxMs: 5000, factor: 2, jitter: 0.2 },
  attemptTimeoutMs: 5000,
  deadlineMs: 20_000,
} as const;

/** Sends `event` about `release` to the `receivers` that want it. */
export function notify(
  event: NotificationEvent,
  release: CanaryDeployment,
  receivers: readonly Receiver[],
  options: NotifyOptions = {},
): Promise<NotifyReport> {
  const now = options.now ?? (() => new Date());
  let message: NotificationMessage;
  try {
    message = messageOf(event, release, now());
    if (options.message) message.message = options.message;
  } catch (cause) {
    // A malformed object must not turn into an unhandled rejection in a fire-and-forget call.
    return Promise.resolve({
      event,
      deliveries: receivers.map((r) => failed(r.notifier, 0, `cannot build message: ${String(cause)}`)),
    });
  }
  return deliver(message, receivers, options);
}

/** Sends an already built `message` (for callers that compose their own). */
export async function deliver(
  message: NotificationMessage,
  receivers: readonly Receiver[],
  options: NotifyOptions = {},
): Promise<NotifyReport> {
  const wanted = receivers.filter(
    (r) => !r.events || r.events.length === 0 || r.events.includes(message.event),
  );
  const deadline = AbortSignal.timeout(options.deadlineMs ?? DEFAULTS.deadlineMs);
  // sendWithRetry does not reject; the catch only keeps that promise even for a broken notifier.
  const deliveries = await Promise.all(
    wanted.map((r) =>
      sendWithRetry(r.notifier, message, deadline, options).catch((cause: unknown) =>
        failed(r.notifier, 0, String(cause)),
      ),
    ),
  );
  return { event: message.event, deliveries };
}

async function sendWithRetry(
  notifier: Notifier,
  message: NotificationMessage,
  deadline: AbortSignal,
  options: NotifyOptions,
): Promise<Delivery> {
  const attempts = Math.max(1, options.attempts ?? DEFAULTS.attempts);
  const backoff = resolveBackoff({ ...DEFAULTS.backoff, ...options.backoff });
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs;
  let last: SendResult | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (deadline.aborted)
      return failed(notifier, attempt - 1, `gave up at the deadline; last error: ${errorOf(last) ?? 'none'}`);
    const signal = AbortSignal.any([deadline, AbortSignal.timeout(attemptTimeoutMs)]);
    try {
      last = await notifier.send(message, signal);
    } catch (cause) {
      // Notifiers do not throw, but a third-party one might: treat it as a retryable failure.
      last = { ok: false, retryable: true, error: String(cause) };
    }
    if (last.ok) return { receiver: notifier.name, type: notifier.type, ok: true, attempts: attempt };
    if (!last.retryable || attempt === attempts) return failed(notifier, attempt, last.error);
    const delay = Math.max(backoffDelay(backoff, attempt), Math.min(last.retryAfterMs ?? 0, backoff.maxMs));
    await sleep(delay, deadline);
  }
  return failed(notifier, attempts, errorOf(last) ?? 'not sent');
}

function failed(notifier: Notifier, attempts: number, error: string): Delivery {
  return { receiver: notifier.name, type: notifier.type, ok: false, attempts, error };
}

function errorOf(result: SendResult | undefined): string | undefined {
  return result && !result.ok ? result.error : undefined;
}

/** Resolves after `ms`, or at once when `signal` aborts; its timer never keeps the process alive. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
