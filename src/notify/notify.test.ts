import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { dingtalk } from './dingtalk.ts';
import { notify, type NotifyOptions } from './notify.ts';
import { startReceiver, type ReceiverAnswer, type TestReceiver } from './receiver.test-support.ts';
import { slack } from './slack.ts';
import { webhook, webhookSignature } from './webhook.ts';
import { wecom } from './wecom.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const release: CanaryDeployment = {
  metadata: { name: 'myapp', namespace: 'production' },
  spec: { targetDeployment: 'myapp', canaryVersion: 'myapp:v2.0.0' },
  status: {
    phase: 'Failed',
    reason: 'MetricsFailed',
    message: 'errorRate 5% breached <= 1%',
    currentStepIndex: 1,
    totalSteps: 3,
    currentWeight: 50,
  },
};
// Small delays so retries are quick; nothing below asserts on time.
const fast: NotifyOptions = {
  now: () => NOW,
  backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
  attemptTimeoutMs: 2000,
  deadlineMs: 10_000,
};

async function withReceiver(
  answer:
    | ((req: import('./receiver.test-support.ts').ReceivedRequest, i: number) => ReceiverAnswer)
    | undefined,
  run: (r: TestReceiver) => Promise<void>,
) {
  const receiver = await startReceiver(answer);
  try {
    await run(receiver);
  } finally {
    await receiver.close();
  }
}

test('the generic webhook gets the documented payload, signed when a secret is set', async () => {
  await withReceiver(undefined, async (r) => {
    const report = await notify(
      'RolledBack',
      release,
      [{ notifier: webhook({ url: `${r.url}/hook`, secret: 's3cret' }) }],
      fast,
    );
    assert.deepEqual(report, {
      event: 'RolledBack',
      deliveries: [{ receiver: 'Webhook', type: 'Webhook', ok: true, attempts: 1 }],
    });
    const [req] = r.requests;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.url.pathname, '/hook');
    assert.match(String(req?.headers['content-type']), /^application\/json/);
    assert.equal(req?.headers['x-codedance-event'], 'RolledBack');
    assert.deepEqual(JSON.parse(req?.body ?? ''), {
      event: 'RolledBack',
      release: { name: 'myapp', namespace: 'production' },
      version: 'myapp:v2.0.0',
      step: 2,
      totalSteps: 3,
      weight: 50,
      phase: 'Failed',
      reason: 'MetricsFailed',
      message: 'errorRate 5% breached <= 1%',
      time: '2026-03-01T12:00:00.000Z',
    });
    const expected = `sha256=${createHmac('sha256', 's3cret')
      .update(req?.body ?? '')
      .digest('hex')}`;
    assert.equal(req?.headers['x-codedance-signature'], expected);
    assert.equal(webhookSignature(req?.body ?? '', 's3cret'), expected);
  });
});

test('an unsigned webhook sends no signature header', async () => {
  await withReceiver(undefined, async (r) => {
    await notify('Started', release, [{ notifier: webhook({ url: r.url }) }], fast);
    assert.equal(r.requests[0]?.headers['x-codedance-signature'], undefined);
  });
});

test('Slack gets text and blocks', async () => {
  await withReceiver(undefined, async (r) => {
    const report = await notify(
      'Completed',
      release,
      [{ notifier: slack({ url: `${r.url}/services/T/B/X` }) }],
      fast,
    );
    assert.equal(report.deliveries[0]?.ok, true);
    const body = JSON.parse(r.requests[0]?.body ?? '') as {
      text: string;
      blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    };
    assert.equal(
      body.text,
      'Release completed: production/myapp (myapp:v2.0.0): errorRate 5% breached &lt;= 1%',
    );
    assert.deepEqual(
      body.blocks.map((b) => b.type),
      ['header', 'section', 'context'],
    );
    assert.equal(body.blocks[0]?.text?.text, 'Release completed: production/myapp (myapp:v2.0.0)');
    assert.equal(body.blocks[1]?.text?.text, 'errorRate 5% breached &lt;= 1%');
    assert.deepEqual(
      body.blocks[1]?.fields?.map((f) => f.text),
      [
        '*Version*\nmyapp:v2.0.0',
        '*Step*\n2/3',
        '*Canary weight*\n50%',
        '*Phase*\nFailed',
        '*Reason*\nMetricsFailed',
      ],
    );
  });
});

test('DingTalk gets markdown and a valid signature', async () => {
  const secret = 'SEC000example+/=';
  const timestamp = 1_772_366_400_000;
  await withReceiver(
    () => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }),
    async (r) => {
      const notifier = dingtalk({
        url: `${r.url}/robot/send?access_token=tok`,
        secret,
        now: () => timestamp,
      });
      const report = await notify('Paused', release, [{ notifier }], fast);
      assert.equal(report.deliveries[0]?.ok, true);
      const req = r.requests[0];
      assert.equal(req?.url.pathname, '/robot/send');
      assert.equal(req?.url.searchParams.get('access_token'), 'tok');
      assert.equal(req?.url.searchParams.get('timestamp'), String(timestamp));
      // The receiver's check, written out: base64(HMAC-SHA256(secret, "<timestamp>\n<secret>")).
      const expected = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
      assert.equal(req?.url.searchParams.get('sign'), expected);
      // And it was URL-encoded on the wire (base64 has + / =).
      assert.match(
        req?.url.search ?? '',
        new RegExp(`sign=${encodeURIComponent(expected).replace(/[%+]/g, (c) => `\\${c}`)}$`),
      );
      const body = JSON.parse(req?.body ?? '') as {
        msgtype: string;
        markdown: { title: string; text: string };
      };
      assert.equal(body.msgtype, 'markdown');
      assert.equal(body.markdown.title, 'Release paused: production/myapp (myapp:v2.0.0)');
      assert.match(body.markdown.text, /^### Release paused: production\/myapp \(myapp:v2\.0\.0\)\n/);
      assert.match(body.markdown.text, /- \*\*Canary weight\*\*: 50%/);
      assert.match(body.markdown.text, /> errorRate 5% breached <= 1%/);
    },
  );
});

test('DingTalk without a secret sends no signature', async () => {
  await withReceiver(
    () => ({ status: 200, body: '{"errcode":0}' }),
    async (r) => {
      await notify(
        'Started',
        release,
        [{ notifier: dingtalk({ url: `${r.url}/robot/send?access_token=tok` }) }],
        fast,
      );
      assert.equal(r.requests[0]?.url.searchParams.get('sign'), null);
    },
  );
});

test('DingTalk errcodes: a rejected signature is not retried, "too fast" is', async () => {
  await withReceiver(
    () => ({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' }),
    async (r) => {
      const report = await notify(
        'Started',
        release,
        [{ notifier: dingtalk({ url: `${r.url}/x`, secret: 'a' }) }],
        fast,
      );
      assert.deepEqual(report.deliveries[0], {
        receiver: 'DingTalk',
        type: 'DingTalk',
        ok: false,
        attempts: 1,
        error: 'errcode 310000: sign not match',
      });
    },
  );
  await withReceiver(
    (_, i) => ({
      status: 200,
      body: i === 0 ? '{"errcode":130101,"errmsg":"send too fast"}' : '{"errcode":0}',
    }),
    async (r) => {
      const report = await notify('Started', release, [{ notifier: dingtalk({ url: `${r.url}/x` }) }], fast);
      assert.equal(report.deliveries[0]?.ok, true);
      assert.equal(report.deliveries[0]?.attempts, 2);
    },
  );
});

test('WeCom gets markdown, with the robot key added to the URL', async () => {
  await withReceiver(
    () => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }),
    async (r) => {
      const report = await notify(
        'Advanced',
        release,
        [{ notifier: wecom({ url: `${r.url}/cgi-bin/webhook/send`, secret: 'k-123' }) }],
        fast,
      );
      assert.equal(report.deliveries[0]?.ok, true);
      const req = r.requests[0];
      assert.equal(req?.url.searchParams.get('key'), 'k-123');
      const body = JSON.parse(req?.body ?? '') as { msgtype: string; markdown: { content: string } };
      assert.equal(body.msgtype, 'markdown');
      assert.match(
        body.markdown.content,
        /^### <font color="comment">Release advanced: production\/myapp \(myapp:v2\.0\.0\)<\/font>/,
      );
      assert.match(body.markdown.content, /> Step: <font color="comment">2\/3<\/font>/);
    },
  );
});

test('WeCom rate limiting is retried, an invalid robot URL is not', async () => {
  await withReceiver(
    (_, i) => ({
      status: 200,
      body: i === 0 ? '{"errcode":45009,"errmsg":"api freq out of limit"}' : '{"errcode":0}',
    }),
    async (r) => {
      const report = await notify(
        'Started',
        release,
        [{ notifier: wecom({ url: `${r.url}/send?key=abc` }) }],
        fast,
      );
      assert.deepEqual([report.deliveries[0]?.ok, report.deliveries[0]?.attempts], [true, 2]);
      assert.equal(r.requests[0]?.url.searchParams.getAll('key').length, 1);
    },
  );
  await withReceiver(
    () => ({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }),
    async (r) => {
      const report = await notify(
        'Started',
        release,
        [{ notifier: wecom({ url: `${r.url}/send?key=abc` }) }],
        fast,
      );
      assert.deepEqual([report.deliveries[0]?.ok, report.deliveries[0]?.attempts], [false, 1]);
    },
  );
});

test('a 500 is retried until it succeeds', async () => {
  await withReceiver(
    (_, i) => (i < 2 ? { status: 500, body: 'boom' } : { status: 200 }),
    async (r) => {
      const report = await notify('Started', release, [{ notifier: webhook({ url: r.url }) }], {
        ...fast,
        attempts: 4,
      });
      assert.deepEqual(report.deliveries[0], { receiver: 'Webhook', type: 'Webhook', ok: true, attempts: 3 });
      assert.equal(r.requests.length, 3);
      // Every attempt carries the same payload.
      assert.equal(new Set(r.requests.map((q) => q.body)).size, 1);
    },
  );
});

test('gives up after N attempts with the last error', async () => {
  await withReceiver(
    () => ({ status: 503, body: 'down' }),
    async (r) => {
      const report = await notify('Started', release, [{ notifier: webhook({ url: r.url }) }], {
        ...fast,
        attempts: 3,
      });
      assert.deepEqual(report.deliveries[0], {
        receiver: 'Webhook',
        type: 'Webhook',
        ok: false,
        attempts: 3,
        error: 'HTTP 503: down',
      });
      assert.equal(r.requests.length, 3);
    },
  );
});

test('a 4xx is not retried', async () => {
  await withReceiver(
    () => ({ status: 404, body: 'no_service' }),
    async (r) => {
      const report = await notify('Started', release, [{ notifier: slack({ url: r.url }) }], {
        ...fast,
        attempts: 5,
      });
      assert.deepEqual([report.deliveries[0]?.ok, report.deliveries[0]?.attempts], [false, 1]);
    },
  );
});

test('429 is retried', async () => {
  await withReceiver(
    (_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200 }),
    async (r) => {
      const report = await notify('Started', release, [{ notifier: slack({ url: r.url }) }], fast);
      assert.deepEqual([report.deliveries[0]?.ok, report.deliveries[0]?.attempts], [true, 2]);
    },
  );
});

test('a hanging receiver does not hold the others, and the send ends at its deadline', {
  timeout: 30_000,
}, async () => {
  const hanging = await startReceiver(() => ({ hang: true }));
  const good = await startReceiver();
  try {
    const pending = notify(
      'RolledBack',
      release,
      [
        { notifier: webhook({ name: 'stuck', url: hanging.url }) },
        { notifier: webhook({ name: 'fine', url: good.url }) },
      ],
      { ...fast, attempts: 10, attemptTimeoutMs: 200, deadlineMs: 1000 },
    );
    const report = await pending;
    assert.equal(good.requests.length, 1);
    const byName = Object.fromEntries(report.deliveries.map((d) => [d.receiver, d]));
    assert.equal(byName.fine?.ok, true);
    assert.equal(byName.stuck?.ok, false);
    assert.match(byName.stuck?.error ?? '', /timed out/);
    // The deadline, not the 10 attempts, ended it.
    assert.ok((byName.stuck?.attempts ?? 0) < 10);
  } finally {
    await hanging.close();
    await good.close();
  }
});

test('receivers get only the events they asked for', async () => {
  await withReceiver(undefined, async (r) => {
    const receivers = [{ notifier: webhook({ url: r.url }), events: ['RolledBack', 'Completed'] as const }];
    const started = await notify('Started', release, receivers, fast);
    assert.deepEqual(started.deliveries, []);
    const rolledBack = await notify('RolledBack', release, receivers, fast);
    assert.equal(rolledBack.deliveries.length, 1);
    assert.equal(r.requests.length, 1);
  });
});

test('nothing listening: retried, reported, never thrown', async () => {
  const r = await startReceiver();
  const url = r.url;
  await r.close();
  const report = await notify('Started', release, [{ notifier: webhook({ url }) }], { ...fast, attempts: 2 });
  assert.equal(report.deliveries[0]?.ok, false);
  assert.equal(report.deliveries[0]?.attempts, 2);
  assert.match(report.deliveries[0]?.error ?? '', /ECONNREFUSED/);
});

test('a notifier that throws is contained', async () => {
  const report = await notify(
    'Started',
    release,
    [{ notifier: { name: 'bad', type: 'Webhook', send: () => Promise.reject(new Error('bug')) } }],
    { ...fast, attempts: 2 },
  );
  assert.deepEqual(report.deliveries[0], {
    receiver: 'bad',
    type: 'Webhook',
    ok: false,
    attempts: 2,
    error: 'Error: bug',
  });
});

test('a caller-supplied sentence replaces status.message', async () => {
  await withReceiver(undefined, async (r) => {
    await notify('Advanced', release, [{ notifier: webhook({ url: r.url }) }], {
      ...fast,
      message: 'step 3/3: canary at 100%',
    });
    assert.equal(
      (JSON.parse(r.requests[0]?.body ?? '') as { message: string }).message,
      'step 3/3: canary at 100%',
    );
  });
});
