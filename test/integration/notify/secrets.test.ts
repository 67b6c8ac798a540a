/**
 * Notifications on the real control plane: receiver URLs and signing secrets are read
 * from real Secrets with the controller's own identity (so the ClusterRole we ship must
 * allow it), and the messages reach a local HTTP receiver with the right payloads and
 * a valid DingTalk signature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { NotificationSecretLabel, type CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import { notify } from '../../../src/notify/notify.ts';
import { startReceiver } from '../../../src/notify/receiver.test-support.ts';
import { resolveReceivers } from '../../../src/notify/resolve.ts';
import { releaseNotifier } from '../../../src/notify/release-notifier.ts';
import { createKubeClient, type KubeObject } from '../../../src/runtime/client.ts';
import { Secret } from '../../../src/runtime/kinds.ts';
import { testCluster, testNamespace } from '../../support/cluster.ts';

// Connect at load time, so the harness' after() hook belongs to the file.
const cluster = await testCluster();

/** A Secret as written, opted in to notifications (unless `optIn` is false): the API server base64-encodes `stringData` into `data`. */
function secret(
  namespace: string,
  name: string,
  stringData: Record<string, string>,
  optIn = true,
): KubeObject & { stringData: Record<string, string> } {
  return {
    metadata: { namespace, name, ...(optIn ? { labels: { [NotificationSecretLabel]: 'true' } } : {}) },
    stringData,
  };
}

test('receivers resolved from Secrets with the controller identity get their payloads', async (t) => {
  const namespace = await testNamespace(t);
  const receiver = await startReceiver((req) =>
    req.url.pathname.startsWith('/robot') || req.url.pathname.startsWith('/cgi-bin')
      ? { status: 200, body: '{"errcode":0,"errmsg":"ok"}' }
      : { status: 200, body: 'ok' },
  );
  t.after(() => receiver.close());
  const dingSecret = 'SECintegration+/=';
  await cluster.admin.create(
    Secret,
    secret(namespace, 'release-hooks', {
      url: `${receiver.url}/hook`,
      slack: `${receiver.url}/services/T/B/X`,
      dingtalk: `${receiver.url}/robot/send?access_token=tok`,
      'dingtalk-secret': dingSecret,
      'wecom-key': 'robot-key',
      hmac: 'webhook-secret',
    }),
  );
  await cluster.admin.create(Secret, secret(namespace, 'app-credentials', { password: 'hunter2' }, false));

  const controller = await createKubeClient({ kubeconfigPath: cluster.controllerKubeconfigPath });
  t.after(() => controller.close());
  const release: CanaryDeployment = {
    metadata: { name: 'myapp', namespace },
    spec: {
      targetDeployment: 'myapp',
      canaryVersion: 'myapp:v2.0.0',
      notifications: [
        { type: 'Webhook', secretRef: { name: 'release-hooks', secretKey: 'hmac' } },
        { type: 'Slack', secretRef: { name: 'release-hooks', urlKey: 'slack' } },
        {
          type: 'DingTalk',
          secretRef: { name: 'release-hooks', urlKey: 'dingtalk', secretKey: 'dingtalk-secret' },
        },
        {
          type: 'WeCom',
          url: `${receiver.url}/cgi-bin/webhook/send`,
          secretRef: { name: 'release-hooks', secretKey: 'wecom-key' },
        },
        { name: 'missing', type: 'Slack', secretRef: { name: 'no-such-secret' } },
        {
          name: 'not-opted-in',
          type: 'WeCom',
          url: `${receiver.url}/cgi-bin/webhook/send`,
          secretRef: { name: 'app-credentials', secretKey: 'password' },
        },
      ],
    },
    status: {
      phase: 'Failed',
      reason: 'MetricsFailed',
      currentStepIndex: 0,
      totalSteps: 3,
      currentWeight: 10,
    },
  };

  const { receivers, problems } = await resolveReceivers(controller, namespace, release.spec.notifications, {
    allowInternal: true,
  });
  assert.deepEqual(
    problems.map((p) => [p.receiver, p.reason]),
    [
      ['missing', 'SecretNotFound'],
      ['not-opted-in', 'SecretNotOptedIn'],
    ],
  );
  assert.equal(problems[0]?.message, `Secret ${namespace}/no-such-secret not found`);
  assert.match(
    problems[1]?.message ?? '',
    new RegExp(`kubectl label secret app-credentials -n ${namespace} deploy.codedance.io/notification=true`),
  );
  const report = await notify('RolledBack', release, receivers, { message: 'errorRate 5% breached <= 1%' });
  assert.deepEqual(
    report.deliveries.map((d) => [d.type, d.ok]),
    [
      ['Webhook', true],
      ['Slack', true],
      ['DingTalk', true],
      ['WeCom', true],
    ],
  );

  const byPath = (prefix: string) => receiver.requests.find((r) => r.url.pathname.startsWith(prefix));
  const hook = byPath('/hook');
  assert.ok(hook);
  assert.equal(
    (JSON.parse(hook.body) as { event: string; release: { namespace: string } }).release.namespace,
    namespace,
  );
  assert.equal(
    hook.headers['x-codedance-signature'],
    `sha256=${createHmac('sha256', 'webhook-secret').update(hook.body).digest('hex')}`,
  );
  const slackBody = JSON.parse(byPath('/services')?.body ?? '{}') as { text?: string };
  assert.match(slackBody.text ?? '', /^Rolled back: /);
  const ding = byPath('/robot');
  const timestamp = ding?.url.searchParams.get('timestamp') ?? '';
  assert.equal(
    ding?.url.searchParams.get('sign'),
    createHmac('sha256', dingSecret).update(`${timestamp}\n${dingSecret}`).digest('base64'),
  );
  assert.equal(byPath('/cgi-bin')?.url.searchParams.get('key'), 'robot-key');
  assert.ok(
    !receiver.requests.some((r) => r.url.search.includes('hunter2')),
    'a Secret that was not opted in is never sent anywhere',
  );
});

test('the reconciler hook sends with the controller identity and never rejects', async (t) => {
  const namespace = await testNamespace(t);
  const receiver = await startReceiver((_, i) =>
    i === 0 ? { status: 500, body: 'try again' } : { status: 204 },
  );
  t.after(() => receiver.close());
  await cluster.admin.create(Secret, secret(namespace, 'hooks', { url: receiver.url }));
  const controller = await createKubeClient({ kubeconfigPath: cluster.controllerKubeconfigPath });
  t.after(() => controller.close());
  const deliveries: boolean[] = [];
  const send = releaseNotifier(controller, {
    allowInternal: true,
    backoff: { initialMs: 10 },
    onReport: (r) => deliveries.push(...r.deliveries.map((d) => d.ok)),
  });
  await send('Completed', {
    metadata: { name: 'web', namespace },
    spec: {
      targetDeployment: 'web',
      canaryVersion: 'web:v2',
      notifications: [{ type: 'Webhook', secretRef: { name: 'hooks' } }],
    },
    status: { phase: 'Completed' },
  });
  assert.deepEqual(deliveries, [true]);
  assert.equal(receiver.requests.length, 2);
});
