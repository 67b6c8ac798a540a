/**
 * DingTalk custom robots: `POST https://oapi.dingtalk.com/robot/send?access_token=…`
 * with `{"msgtype": "markdown", "markdown": {"title", "text"}}`.
 *
 * Signing ("加签" security setting): with a secret, each request carries
 * `&timestamp=<ms>&sign=<s>` where `s` is the URL-encoded base64 of
 * HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`); DingTalk rejects a
 * timestamp more than an hour off. A robot protected by keywords instead needs one
 * of its keywords in the text: the headline always contains the event title and the
 * release name, so pick a keyword such as "codedance" (in every message's footer).
 *
 * DingTalk answers 200 with `errcode` 0 on success; `-1` (busy) and `130101` (sending
 * too fast, 20 messages a minute) are worth a retry, other codes (`310000`: bad
 * signature, keyword or IP) are not.
 */
import { createHmac } from 'node:crypto';
import { errcodeResult, postJson } from './http.ts';
import { facts, headline, type NotificationMessage } from './message.ts';
import type { Notifier, ReceiverOptions } from './notifier.ts';

export const DINGTALK = 'DingTalk' as const;

const RETRYABLE_ERRCODES = [-1, 130101] as const;

export function dingtalk(options: ReceiverOptions): Notifier {
  const now = options.now ?? Date.now;
  return {
    name: options.name ?? DINGTALK,
    type: DINGTALK,
    send: async (message, signal) => {
      // Signed per attempt: a retry an hour later must not reuse a stale timestamp.
      const url = options.secret ? signedUrl(options.url, options.secret, now()) : options.url;
      return errcodeResult(
        await postJson(url, dingtalkPayload(message), signal, {}, options.dispatcher),
        RETRYABLE_ERRCODES,
      );
    },
  };
}

/** `sign` for `timestamp` (ms): base64 HMAC-SHA256 of `${timestamp}\n${secret}` keyed by the secret, not yet URL-encoded. */
export function dingtalkSign(timestamp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** `url` with `timestamp` and `sign` appended. */
export function signedUrl(url: string, secret: string, timestamp: number): string {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}timestamp=${timestamp}&sign=${encodeURIComponent(dingtalkSign(timestamp, secret))}`;
}

/** The JSON body sent to DingTalk. */
export function dingtalkPayload(m: NotificationMessage): {
  msgtype: 'markdown';
  markdown: { title: string; text: string };
} {
  const title = headline(m);
  const lines = [`### ${title}`, ''];
  lines.push(`- **Version**: ${m.version}`);
  for (const [label, value] of facts(m)) lines.push(`- **${label}**: ${value}`);
  if (m.message) lines.push('', `> ${m.message.replace(/\n/g, '\n> ')}`);
  lines.push('', `###### codedance · ${m.time}`);
  // `title` is what the chat list and the phone notification show.
  return { msgtype: 'markdown', markdown: { title, text: lines.join('\n') } };
}
