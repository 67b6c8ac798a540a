/**
 * Release notifications: Slack, DingTalk, WeCom and a generic webhook.
 *
 * ```ts
 * const send = releaseNotifier(client, { onReport: (r) => log.info(r, 'notified') });
 * void send('RolledBack', cd, 'errorRate 5% breached <= 1%');   // fire and forget; never rejects
 * ```
 * or, piece by piece, `resolveReceivers(client, namespace, cd.spec.notifications)` then
 * `notify(event, cd, receivers)`.
 * Payloads are documented in docs/notifications.md.
 */
export {
  notify,
  deliver,
  type Delivery,
  type NotifyOptions,
  type NotifyReport,
  type Receiver,
} from './notify.ts';
export {
  notOptedInMessage,
  resolveReceivers,
  type ReceiverProblem,
  type ReceiverProblemReason,
  type ResolveOptions,
} from './resolve.ts';
export {
  refuseNotificationUrl,
  internalHost,
  internalAddress,
  guardedLookup,
  publicOnlyDispatcher,
  ALLOW_INTERNAL_FLAG,
} from './url-policy.ts';
export {
  releaseNotifier,
  type ReleaseNotifierOptions,
  type ReleaseNotifyReport,
} from './release-notifier.ts';
export { notifiers } from './registry.ts';
export { messageOf, type NotificationMessage } from './message.ts';
export type { Notifier, NotifierFactory, NotificationType, ReceiverOptions, SendResult } from './notifier.ts';
export { SLACK, slack, slackPayload } from './slack.ts';
export { DINGTALK, dingtalk, dingtalkPayload, dingtalkSign, signedUrl } from './dingtalk.ts';
export { WECOM, WECOM_WEBHOOK_URL, wecom, wecomPayload, wecomUrl } from './wecom.ts';
export {
  WEBHOOK,
  webhook,
  webhookPayload,
  webhookSignature,
  EVENT_HEADER,
  SIGNATURE_HEADER,
} from './webhook.ts';
