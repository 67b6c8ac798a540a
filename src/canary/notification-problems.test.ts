/**
 * Reporting receivers left out, on the fake client: Events on the release and its
 * WebApp, the NotificationsReady condition written only when it says something new.
 * The real API server's side is in test/integration/security/rbac-audit.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import type { EventInput } from '../runtime/events.ts';
import { silentLogger } from '../runtime/logging.ts';
import { createFakeClient, type FakeClient } from '../runtime/testing/fake-client.ts';
import { notOptedInMessage, type ReceiverProblem } from '../notify/resolve.ts';
import { NotificationsReadyCondition, reportNotificationProblems } from './notification-problems.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';

function context(client: FakeClient, events: { on: string; event: EventInput }[]): ReconcileContext {
  return {
    client,
    cache: () => {
      throw new Error('no caches here');
    },
    events: {
      publish: async (obj, event) => void events.push({ on: `${obj.kind}/${obj.metadata.name}`, event }),
    },
    log: silentLogger(),
    enqueue: () => undefined,
    finalizerStored: () => Promise.resolve(undefined),
    now: () => new Date('2026-01-01T00:00:00Z'),
    controller: 'canary',
  };
}

const refused: ReceiverProblem = {
  index: 0,
  receiver: 'oncall',
  reason: 'SecretNotOptedIn',
  secret: 'db',
  message: notOptedInMessage('shop', 'db'),
};

async function release(client: FakeClient, owned: boolean): Promise<() => CanaryDeployment> {
  await client.create(CanaryDeploymentKind, {
    apiVersion: 'deploy.codedance.io/v1alpha1',
    kind: 'CanaryDeployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'cd-1',
      generation: 2,
      ...(owned
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps.codedance.io/v1alpha1',
                kind: 'WebApp',
                name: 'web',
                uid: 'wa-1',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: { targetDeployment: 'web', canaryVersion: 'web:v2' },
  } as CanaryDeployment as KubeObject);
  return () => client.objects(CanaryDeploymentKind)[0]!;
}

test('a refused Secret: a Warning Event on the release and its WebApp, and the condition False with the label to add', async () => {
  const client = createFakeClient();
  const cd = await release(client, true);
  const events: { on: string; event: EventInput }[] = [];
  await reportNotificationProblems(cd(), context(client, events), [refused, { ...refused, index: 1 }]);
  assert.deepEqual(
    events.map((e) => [e.on, e.event.type, e.event.reason]),
    [
      ['CanaryDeployment/web', 'Warning', 'NotificationSecretRefused'],
      ['WebApp/web', 'Warning', 'NotificationSecretRefused'],
    ],
  );
  assert.match(events[0]!.event.note ?? '', /Secret shop\/db .*deploy\.codedance\.io\/notification=true/);
  const condition = cd().status?.conditions?.find((c) => c.type === NotificationsReadyCondition);
  assert.equal(condition?.status, 'False');
  assert.equal(condition?.reason, 'SecretNotOptedIn');
  assert.match(
    condition?.message ?? '',
    /kubectl label secret db -n shop deploy\.codedance\.io\/notification=true/,
  );
  assert.equal(condition?.observedGeneration, cd().metadata.generation);

  // Said again: nothing new to write.
  const writes = client.writes.length;
  await reportNotificationProblems(cd(), context(client, []), [refused]);
  assert.equal(client.writes.length, writes, client.writes.slice(writes).join(', '));

  // Fixed: the condition goes back to True.
  await reportNotificationProblems(cd(), context(client, []), []);
  assert.equal(cd().status?.conditions?.find((c) => c.type === NotificationsReadyCondition)?.status, 'True');
});

test('no problem and no condition yet: no request, no Event', async () => {
  const client = createFakeClient();
  const cd = await release(client, false);
  const writes = client.writes.length;
  const events: { on: string; event: EventInput }[] = [];
  await reportNotificationProblems(cd(), context(client, events), []);
  assert.equal(client.writes.length, writes);
  assert.deepEqual(events, []);
});

test('other problems are NotificationReceiverInvalid, on the release only when no WebApp made it', async () => {
  const client = createFakeClient();
  const cd = await release(client, false);
  const events: { on: string; event: EventInput }[] = [];
  await reportNotificationProblems(cd(), context(client, events), [
    {
      index: 0,
      receiver: 'Slack',
      reason: 'SecretNotFound',
      secret: 'x',
      message: 'Secret shop/x not found',
    },
  ]);
  assert.deepEqual(
    events.map((e) => [e.on, e.event.reason]),
    [['CanaryDeployment/web', 'NotificationReceiverInvalid']],
  );
  assert.equal(
    cd().status?.conditions?.find((c) => c.type === NotificationsReadyCondition)?.reason,
    'SecretNotFound',
  );
});
