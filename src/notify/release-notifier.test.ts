import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { KubeClient, KubeObject } from '../runtime/client.ts';
import { startReceiver } from './receiver.test-support.ts';
import { releaseNotifier } from './release-notifier.ts';

test('resolves receivers from the release and sends, reporting problems', async () => {
  const receiver = await startReceiver();
  try {
    const client: Pick<KubeClient, 'get'> = {
      get: async <T extends KubeObject>(): Promise<T | undefined> =>
        ({
          metadata: { name: 'hooks', labels: { 'deploy.codedance.io/notification': 'true' } },
          data: { url: Buffer.from(`${receiver.url}/hook`).toString('base64') },
        }) as unknown as T,
    };
    const cd: CanaryDeployment = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        targetDeployment: 'web',
        canaryVersion: 'web:v2',
        notifications: [{ type: 'Webhook', secretRef: { name: 'hooks' } }, { type: 'Slack' }],
      },
    };
    const reports: unknown[] = [];
    const send = releaseNotifier(client, {
      onReport: (r) => reports.push(r),
      backoff: { initialMs: 1 },
      allowInternal: true,
    });
    const returned = await send('Started', cd, 'release of web:v2 started');
    assert.deepEqual(
      returned?.problems.map((p) => [p.index, p.reason]),
      [[1, 'InvalidUrl']],
    );
    assert.equal(receiver.requests.length, 1);
    assert.equal(
      (JSON.parse(receiver.requests[0]?.body ?? '') as { message: string }).message,
      'release of web:v2 started',
    );
    assert.equal(reports.length, 1);
    const report = reports[0] as {
      release: string;
      deliveries: { ok: boolean }[];
      problems: { index: number }[];
    };
    assert.equal(report.release, 'shop/web');
    assert.deepEqual(
      report.deliveries.map((d) => d.ok),
      [true],
    );
    assert.deepEqual(
      report.problems.map((p) => p.index),
      [1],
    );
  } finally {
    await receiver.close();
  }
});

test('a release without notifications sends nothing and reads nothing', async () => {
  let reads = 0;
  const client: Pick<KubeClient, 'get'> = {
    get: async () => {
      reads++;
      return undefined;
    },
  };
  await releaseNotifier(client)('Completed', {
    metadata: { name: 'a', namespace: 'b' },
    spec: { targetDeployment: 'a', canaryVersion: 'a:1' },
  });
  assert.equal(reads, 0);
});
