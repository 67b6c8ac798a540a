/**
 * The interface every receiver implements, and the outcome of one delivery attempt.
 */
import type { NotificationSpec } from '../api/canary-deployment.ts';
import type { Dispatcher } from 'undici';
import type { NotificationMessage } from './message.ts';

export type NotificationType = NotificationSpec['type'];

/**
 * One delivery attempt's outcome, as a value. `retryable` says whether trying again
 * can help (a timeout, a 5xx, a rate limit) or not (a 4xx, a rejected signature).
 */
export type SendResult = { ok: true; status: number } | { ok: false; retryable: boolean; error: string; status?: number; retryAfterMs?: number };

export interface Notifier {
  /** The receiver's name (spec `name`, or its type), for logs and reports. */
  readonly name: string;
  readonly type: NotificationType;
  /** One delivery attempt. Never throws; ends when `signal` aborts. */
  send(message: NotificationMessage, signal: AbortSignal): Promise<SendResult>;
}

/** What a receiver factory needs, resolved from the spec and its Secret. */
export interface ReceiverOptions {
  /** @default the receiver type */
  name?: string;
  /** The webhook URL, credentials included (Slack, DingTalk `access_token`, WeCom `key`). */
  url: string;
  /**
   * Signing secret: DingTalk's "加签" secret, or the generic webhook's HMAC key.
   * For WeCom, the robot `key` when the URL does not carry it. @default none
   */
  secret?: string;
  /** Clock for signatures (tests). @default Date.now */
  now?: () => number;
  /** Sends through this dispatcher (the URL policy's public-only one). @default undici's global dispatcher */
  dispatcher?: Dispatcher;
}

export type NotifierFactory = (options: ReceiverOptions) => Notifier;
