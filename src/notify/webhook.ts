/**
 * A generic webhook: `POST <url>` with the notification as JSON (the payload is
 * documented in docs/notifications.md). Any 2xx is success.
 *
 * With a secret, the body is signed as GitHub does its webhooks:
 * `X-Codedance-Signature: sha256=<hex HMAC-SHA256(key = secret, message = raw body)>`,
 * so the receiver can check the sender and that the body was not altered.
 */
import { createHmac } from 'node:crypto';
import { postJson } from './http.ts';
import type { NotificationMessage } from './message.ts';
import type { Notifier, ReceiverOptions } from './notifier.ts';

export const WEBHOOK = 'Webhook' as const;

/** Header carrying the body signature, when a secret is set. */
export const SIGNATURE_HEADER = 'x-codedance-signature';
/** Header carrying the event name, so a receiver can route without parsing. */
export const EVENT_HEADER = 'x-codedance-event';

export function webhook(options: ReceiverOptions): Notifier {
  return {
    name: options.name ?? WEBHOOK,
    type: WEBHOOK,
    send: async (message, signal) => {
      const body = JSON.stringify(webhookPayload(message));
      const headers: Record<string, string> = { [EVENT_HEADER]: message.event };
      if (options.secret) headers[SIGNATURE_HEADER] = webhookSignature(body, options.secret);
      const result = await postJson(options.url, body, signal, headers, options.dispatcher);
      return result.ok ? { ok: true, status: result.status } : result;
    },
  };
}

/** The JSON body: the message's fields, in a fixed order. */
export function webhookPayload(m: NotificationMessage): NotificationMessage {
  return {
    event: m.event,
    release: { name: m.release.name, namespace: m.release.namespace },
    version: m.version,
    ...(m.step === undefined ? {} : { step: m.step }),
    ...(m.totalSteps === undefined ? {} : { totalSteps: m.totalSteps }),
    ...(m.weight === undefined ? {} : { weight: m.weight }),
    ...(m.phase === undefined ? {} : { phase: m.phase }),
    ...(m.reason === undefined ? {} : { reason: m.reason }),
    ...(m.message === undefined ? {} : { message: m.message }),
    time: m.time,
  };
}

/** `sha256=<hex>` of `body` keyed by `secret`. */
export function webhookSignature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
