import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guardedLookup, internalAddress, refuseNotificationUrl } from './url-policy.ts';
import { resolveReceivers } from './resolve.ts';
import { postJson } from './http.ts';
import { Agent } from 'undici';

test('internal hosts are refused, public ones pass', () => {
  const refused = [
    'http://127.0.0.1:8080/hook',
    'http://127.1.2.3/',
    'http://localhost/hook',
    'http://api.localhost/',
    'http://169.254.169.254/latest/meta-data',
    'http://[fe80::1]/',
    'http://[::1]:9000/',
    'http://[::ffff:10.1.2.3]/',
    'http://[fd00::5]/',
    'http://10.0.0.1/',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.9/',
    'http://0.0.0.0/',
    'http://2130706433/', // 127.0.0.1 as one number: the URL parser normalises it
    'http://kubernetes/',
    'http://prometheus.monitoring.svc:9090/',
    'http://prometheus.monitoring.svc.cluster.local/',
    'http://hooks.team.svc.corp-cluster/',
    'http://metadata.google.internal/',
    'http://printer.local/',
  ];
  for (const url of refused) assert.ok(refuseNotificationUrl(url), `${url} should be refused`);
  const allowed = [
    'https://hooks.slack.com/services/T/B/X',
    'https://oapi.dingtalk.com/robot/send?access_token=t',
    'http://8.8.8.8/',
    'https://[2001:db8::1]/',
    'http://172.32.0.1/',
    'http://192.169.0.1/',
  ];
  for (const url of allowed) assert.equal(refuseNotificationUrl(url), undefined, url);
  assert.match(
    refuseNotificationUrl('http://169.254.169.254/') ?? '',
    /link-local.*--allow-internal-notification-urls/,
  );
  assert.equal(internalAddress('11.0.0.1'), undefined);
  assert.equal(internalAddress('::ffff:8.8.8.8'), undefined);
});

test('resolveReceivers refuses internal URLs with a problem unless allowed', async () => {
  const client = { get: async () => undefined };
  const specs = [
    { type: 'Webhook' as const, name: 'metadata', url: 'http://169.254.169.254/hook?token=secret' },
    { type: 'Webhook' as const, name: 'public', url: 'https://hooks.example.com/x' },
  ];
  const strict = await resolveReceivers(client, 'ns', specs);
  assert.deepEqual(
    strict.receivers.map((r) => r.notifier.name),
    ['public'],
  );
  assert.equal(strict.problems.length, 1);
  assert.equal(strict.problems[0]?.refused, true);
  assert.doesNotMatch(
    strict.problems[0]?.message ?? '',
    /token=secret/,
    'the URL (and its token) is not repeated',
  );
  const open = await resolveReceivers(client, 'ns', specs, { allowInternal: true });
  assert.equal(open.receivers.length, 2);
  assert.deepEqual(open.problems, []);
});

test('a name resolving to an internal address is refused when connecting, and not retried', async (t) => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  // Straight to postJson, past the check of the URL's text: the connection guard alone is judged.
  const agent = new Agent({ connect: { lookup: guardedLookup } });
  t.after(() => agent.close());
  const result = await postJson(
    `http://localhost:${port}/hook`,
    { a: 1 },
    AbortSignal.timeout(5000),
    {},
    agent,
  );
  assert.equal(result.ok, false);
  assert.ok(!result.ok && !result.retryable, 'refusals are not retried');
  assert.match(!result.ok ? result.error : '', /refused: localhost resolves to (127\.0\.0\.1|::1)/);
  assert.equal(hits, 0, 'no connection reached the server');
});
