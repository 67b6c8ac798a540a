/**
 * WeCom (企业微信) group robots: `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>`
 * with `{"msgtype": "markdown", "markdown": {"content"}}` (at most 4096 bytes of UTF-8).
 *
 * About "WeCom with its signature": unlike DingTalk, a WeCom group robot has no
 * signing option. Its only credential is the `key` in the webhook URL, which is why
 * the URL itself belongs in a Secret. (WeCom's `msg_signature` — SHA1 over token,
 * timestamp, nonce and the encrypted body — exists only for callbacks WeCom sends to
 * an *application*; it does not apply to messages a robot receives.) So here the
 * robot key may come either inside the URL or alone from the Secret (`secretKey`),
 * in which case it is added as `key=` to the URL (@default the public WeCom endpoint).
 *
 * WeCom answers 200 with `errcode` 0 on success; `-1` (busy) and `45009` (over the
 * 20 messages a minute) are worth a retry, other codes (`93000`: invalid webhook
 * URL, `40058`: content too long) are not.
 */
import { errcodeResult, postJson } from './http.ts';
import { facts, headline, severity, type NotificationMessage } from './message.ts';
import type { Notifier, ReceiverOptions } from './notifier.ts';

export const WECOM = 'WeCom' as const;

/** WeCom's robot endpoint, used when only a key is given. */
export const WECOM_WEBHOOK_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send';

/** WeCom's limit on `markdown.content`, in UTF-8 bytes. */
export const WECOM_MARKDOWN_MAX_BYTES = 4096;

const RETRYABLE_ERRCODES = [-1, 45009] as const;

export function wecom(options: ReceiverOptions): Notifier {
  const url = wecomUrl(options.url, options.secret);
  return {
    name: options.name ?? WECOM,
    type: WECOM,
    send: async (message, signal) =>
      errcodeResult(
        await postJson(url, wecomPayload(message), signal, {}, options.dispatcher),
        RETRYABLE_ERRCODES,
      ),
  };
}

/** The robot URL: `url` as is when it carries a `key`, else with `key` added. */
export function wecomUrl(url: string | undefined, key: string | undefined): string {
  const base = url || WECOM_WEBHOOK_URL;
  if (!key || /[?&]key=/.test(base)) return base;
  return `${base}${base.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
}

const COLOURS = { good: 'info', info: 'comment', warning: 'warning', danger: 'warning' } as const;

/** The JSON body sent to WeCom, cut to its byte limit. */
export function wecomPayload(m: NotificationMessage): { msgtype: 'markdown'; markdown: { content: string } } {
  const head = [`### <font color="${COLOURS[severity(m.event)]}">${headline(m)}</font>`];
  head.push(`> Version: <font color="comment">${m.version}</font>`);
  for (const [label, value] of facts(m)) head.push(`> ${label}: <font color="comment">${value}</font>`);
  const foot = `\n<font color="comment">codedance · ${m.time}</font>`;
  const fixed = `${head.join('\n')}\n${foot}`;
  // The free-text message is what gets cut when the whole would exceed the limit.
  const room = WECOM_MARKDOWN_MAX_BYTES - Buffer.byteLength(fixed, 'utf8') - 2;
  const body = m.message ? `\n${truncateBytes(m.message, room)}` : '';
  return { msgtype: 'markdown', markdown: { content: `${head.join('\n')}${body}\n${foot}` } };
}

function truncateBytes(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = Buffer.byteLength('…', 'utf8');
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return `${out}…`;
}
