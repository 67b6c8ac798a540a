import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { dingtalkSign, signedUrl } from './dingtalk.ts';
import { headline, messageOf, type NotificationMessage } from './message.ts';
import { slackPayload } from './slack.ts';
import { WECOM_MARKDOWN_MAX_BYTES, WECOM_WEBHOOK_URL, wecomPayload, wecomUrl } from './wecom.ts';

const base: NotificationMessage = {
  event: 'Started',
  release: { name: 'a', namespace: 'b' },
  version: 'img:v1',
  time: '2026-01-01T00:00:00.000Z',
};

test('messageOf reads spec and status, leaving unknowns out', () => {
  const cd: CanaryDeployment = {
    metadata: { name: 'a', namespace: 'b' },
    spec: { targetDeployment: 'a', canaryVersion: 'img:v1' },
  };
  assert.deepEqual(messageOf('Started', cd, new Date(base.time)), base);
  const withStatus = messageOf(
    'Advanced',
    {
      ...cd,
      status: {
        currentStepIndex: 0,
        totalSteps: 6,
        currentWeight: 5,
        phase: 'Progressing',
        reason: '',
        message: 'ok',
      },
    },
    new Date(base.time),
  );
  assert.deepEqual(withStatus, {
    ...base,
    event: 'Advanced',
    step: 1,
    totalSteps: 6,
    weight: 5,
    phase: 'Progressing',
    message: 'ok',
  });
});

test('headlines name the event and the release', () => {
  assert.equal(headline(base), 'Release started: b/a (img:v1)');
  assert.equal(headline({ ...base, event: 'RolledBack' }), 'Rolled back: b/a (img:v1)');
});

test('DingTalk signing matches the documented recipe', () => {
  // HMAC-SHA256 keyed by the secret over "<timestamp>\n<secret>", base64; the expected
  // value was computed outside Node: printf '1700000000000\nsecret' | openssl dgst -sha256 -hmac secret -binary | base64
  assert.equal(dingtalkSign(1_700_000_000_000, 'secret'), 'OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY=');
  assert.equal(
    signedUrl('https://oapi.dingtalk.com/robot/send?access_token=t', 'secret', 1_700_000_000_000),
    'https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D',
  );
  assert.match(signedUrl('http://x/robot', 's', 1), /^http:\/\/x\/robot\?timestamp=1&sign=/);
});

test('WeCom URL: key added only when missing; a key alone uses the public endpoint', () => {
  assert.equal(wecomUrl('https://h/send?key=abc', 'other'), 'https://h/send?key=abc');
  assert.equal(wecomUrl('https://h/send', 'a b'), 'https://h/send?key=a%20b');
  assert.equal(wecomUrl(undefined, 'k'), `${WECOM_WEBHOOK_URL}?key=k`);
  assert.equal(wecomUrl('https://h/send?x=1', undefined), 'https://h/send?x=1');
});

test('WeCom content stays within 4096 bytes, cutting only the free text', () => {
  const long = { ...base, message: '回滚'.repeat(3000) };
  const content = wecomPayload(long).markdown.content;
  assert.ok(Buffer.byteLength(content, 'utf8') <= WECOM_MARKDOWN_MAX_BYTES);
  assert.match(content, /…/);
  assert.match(content, /codedance · 2026-01-01T00:00:00.000Z<\/font>$/);
  assert.doesNotMatch(wecomPayload({ ...base, message: 'short' }).markdown.content, /…/);
});

test('Slack escapes mrkdwn control characters and bounds the header', () => {
  const p = slackPayload({
    ...base,
    release: { name: 'x'.repeat(200), namespace: 'b' },
    message: '<@here> & co',
  });
  const header = p.blocks[0] as { text: { text: string } };
  assert.ok(header.text.text.length <= 150);
  const section = p.blocks[1] as { text: { text: string } };
  assert.equal(section.text.text, '&lt;@here&gt; &amp; co');
});
