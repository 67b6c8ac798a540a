/**
 * Slack incoming webhooks: `POST <hook URL>` with `text` (the line shown in
 * notifications and where blocks cannot be) and Block Kit `blocks` (header, message,
 * facts, time). Text is mrkdwn, so `&`, `<` and `>` are escaped as Slack asks. Slack answers
 * 200 `ok`; 4xx bodies name the problem (`invalid_payload`, `no_service`), 429 is a
 * rate limit with Retry-After.
 */
import { postJson } from './http.ts';
import { facts, headline, type NotificationMessage } from './message.ts';
import type { Notifier, ReceiverOptions } from './notifier.ts';

export const SLACK = 'Slack' as const;

export function slack(options: ReceiverOptions): Notifier {
  return {
    name: options.name ?? SLACK,
    type: SLACK,
    send: async (message, signal) => {
      const result = await postJson(options.url, slackPayload(message), signal, {}, options.dispatcher);
      return result.ok ? { ok: true, status: result.status } : result;
    },
  };
}

/** The JSON body sent to Slack. */
export function slackPayload(m: NotificationMessage): { text: string; blocks: unknown[] } {
  const title = headline(m);
  const fields = [['Version', m.version] as [string, string], ...facts(m)].map(([label, value]) => ({
    type: 'mrkdwn',
    text: `*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`,
  }));
  const blocks: unknown[] = [
    // Header text is plain text, at most 150 characters.
    { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: false } },
    {
      type: 'section',
      ...(m.message ? { text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(m.message), 3000) } } : {}),
      fields: fields.slice(0, 10),
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `codedance · ${escapeMrkdwn(m.time)}` }] },
  ];
  return { text: escapeMrkdwn(m.message ? `${title}: ${m.message}` : title), blocks };
}

/** Slack's mrkdwn needs only these three escaped. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
