/**
 * Notifications from real releases: a webhook receiver gets Started, Advanced and
 * Completed for a good release, and RolledBack for an aborted one; a receiver that
 * fails does not hold a release up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandAnnotation } from '../../../src/api/canary-deployment.ts';
import { startReceiver } from '../../../src/notify/receiver.test-support.ts';
import { EVENT_HEADER } from '../../../src/notify/index.ts';
import { createApp, createRelease, releaseEnv, waitFor, waitPhase } from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

test('a release notifies Started, Advanced, Completed; an abort notifies RolledBack; a failing receiver holds nothing up', {
  timeout: 180_000,
}, async (t) => {
  // The receivers listen on 127.0.0.1: an internal address the controller refuses unless told.
  const { admin, ns } = await releaseEnv(t, { args: ['--allow-internal-notification-urls'] });
  const good = await startReceiver();
  const broken = await startReceiver(() => ({ status: 500, body: 'down' }));
  t.after(() => good.close());
  t.after(() => broken.close());
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createApp(admin, ns, 'other', { replicas: 2 });
  const notifications = [
    { name: 'good', type: 'Webhook' as const, url: `${good.url}/hook` },
    { name: 'broken', type: 'Webhook' as const, url: `${broken.url}/hook` },
  ];
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
    notifications,
  });
  await createRelease(admin, ns, 'other', {
    targetDeployment: 'other',
    canaryVersion: 'other:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    notifications,
  });
  await waitPhase(admin, ns, 'myapp', 'Completed', 90_000);
  await waitFor(
    async () =>
      (await admin.get<{ metadata: object; status?: { phase?: string } }>(CanaryDeploymentKind, ns, 'other'))
        ?.status?.phase === 'Progressing',
    { describe: 'other Progressing', timeoutMs: 60_000 },
  );
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'other',
    { metadata: { annotations: { [CommandAnnotation]: 'abort:t1' } } },
    'merge',
  );
  await waitPhase(admin, ns, 'other', 'Failed', 60_000);

  const received = async (release: string) =>
    good.requests
      .filter((r) => r.body.includes(`"${release}"`))
      .map((r) =>
        String(r.headers[EVENT_HEADER.toLowerCase()] ?? (JSON.parse(r.body) as { event?: string }).event),
      );
  await waitFor(
    async () =>
      (await received('myapp')).includes('Completed') && (await received('other')).includes('RolledBack'),
    { describe: 'notifications delivered', timeoutMs: 30_000 },
  );
  assert.deepEqual(await received('myapp'), ['Started', 'Advanced', 'Completed']);
  assert.deepEqual(await received('other'), ['Started', 'RolledBack']);
  assert.ok(broken.requests.length >= 4, 'the failing receiver was tried too');
});
