/**
 * The canary reconciler's own bookkeeping, on the runtime's in-memory fake client: the
 * order of the status write and the notifications, the memo that keeps a cache behind
 * our own write from undoing it, and the cleanup on delete. The releases themselves
 * (providers, steps, rollbacks) are covered on the real control plane (test/integration/canary).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment, NotificationEvent } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import { KubeApiError } from '../runtime/client.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import type { Deployment } from '../runtime/core-types.ts';
import type { EventInput } from '../runtime/events.ts';
import * as kinds from '../runtime/kinds.ts';
import { fakeReconcileContext } from '../runtime/testing/fake-context.ts';
import { createFakeClient, type FakeClient } from '../runtime/testing/fake-client.ts';
import {
  CanaryPodsIndex,
  canaryPodsIndexValues,
  createCanaryReconciler,
  type ReportingNotifier,
} from './reconcile.ts';

const ns = 'shop';
const cached: kinds.ResourceKind[] = [
  kinds.Deployment,
  kinds.Service,
  kinds.Pod,
  kinds.HorizontalPodAutoscaler,
  CanaryDeploymentKind,
];

/** A context whose caches hold what the fake cluster holds right now. */
function contextFor(client: FakeClient, events: EventInput[]): ReconcileContext {
  return fakeReconcileContext(client, {
    controller: 'canary',
    cached,
    indexes: { Pod: { [CanaryPodsIndex]: canaryPodsIndexValues } },
    events,
  });
}

/** A rolled-out target Deployment running `image`. */
function target(image: string): Deployment {
  return {
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
    },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    },
  };
}

interface Sent {
  event: NotificationEvent;
  /** The release's phase in the cluster when the notification left. */
  storedPhase: string | undefined;
}

async function setup(): Promise<{
  client: FakeClient;
  release: () => CanaryDeployment;
  sent: Sent[];
  notify: ReportingNotifier;
}> {
  const client = createFakeClient();
  await client.create(kinds.Deployment, target('web:v1'));
  await client.create(CanaryDeploymentKind, {
    metadata: { name: 'web', namespace: ns },
    spec: { targetDeployment: 'web', canaryVersion: 'web:v2', traffic: { provider: 'Replicas' } },
  });
  const release = () => client.objects(CanaryDeploymentKind)[0]!;
  const sent: Sent[] = [];
  const notify: ReportingNotifier = async (event) => {
    sent.push({ event, storedPhase: release().status?.phase });
  };
  return { client, release, sent, notify };
}

test('a release starts: canary first, then the status, and the notification only once the status is stored', async () => {
  const { client, release, sent, notify } = await setup();
  const reconciler = createCanaryReconciler({ notify });
  const events: EventInput[] = [];
  await reconciler.reconcile(release(), contextFor(client, events));
  assert.equal(release().status?.phase, 'Progressing');
  assert.deepEqual(
    client
      .objects(kinds.Deployment)
      .map((d) => d.metadata.name)
      .sort(),
    ['web', 'web-canary'],
  );
  const canaryWrite = client.writes.findIndex((w) => w.includes('Deployment shop/web-canary'));
  const statusWrite = client.writes.findIndex((w) => w.startsWith('APPLY CanaryDeployment'));
  assert.ok(canaryWrite >= 0 && canaryWrite < statusWrite, client.writes.join(', '));
  assert.deepEqual(sent, [{ event: 'Started', storedPhase: 'Progressing' }]);
  assert.ok(events.some((e) => e.reason === 'Started'));
});

test('a status write that fails sends no notification: the retried transition announces it once', async () => {
  const { client, release, sent, notify } = await setup();
  const reconciler = createCanaryReconciler({ notify });
  let failing = true;
  client.intercept('apply', (kind) => {
    if (failing && kind?.kind === 'CanaryDeployment') throw new KubeApiError(503, 'etcd leader changed');
  });
  await assert.rejects(
    reconciler.reconcile(release(), contextFor(client, [])),
    /status|CanaryDeployment|etcd/,
  );
  assert.equal(release().status, undefined);
  assert.equal(sent.length, 0);
  failing = false;
  await reconciler.reconcile(release(), contextFor(client, []));
  assert.equal(release().status?.phase, 'Progressing');
  assert.deepEqual(
    sent.map((s) => s.event),
    ['Started'],
  );
});

test('a cache behind our own status write is read through the memo: the release does not start twice', async () => {
  const { client, release, sent, notify } = await setup();
  const reconciler = createCanaryReconciler({ notify });
  const stale = release(); // as the cache held it before the first write
  await reconciler.reconcile(stale, contextFor(client, []));
  const writes = client.writes.length;
  // The cache has not seen the status write yet: same object, same resourceVersion.
  const events: EventInput[] = [];
  await reconciler.reconcile(stale, contextFor(client, events));
  assert.equal(release().status?.phase, 'Progressing');
  assert.deepEqual(
    sent.map((s) => s.event),
    ['Started'],
    'no second Started',
  );
  assert.ok(!events.some((e) => e.reason === 'Started'), 'no second Started Event');
  // It goes on from where its own write left it: the same writes as from the fresh object.
  const afterStale = client.writes.slice(writes);
  const twin = await setup();
  const twinReconciler = createCanaryReconciler({ notify: twin.notify });
  await twinReconciler.reconcile(twin.release(), contextFor(twin.client, []));
  const twinWrites = twin.client.writes.length;
  await twinReconciler.reconcile(twin.release(), contextFor(twin.client, []));
  assert.deepEqual(afterStale, twin.client.writes.slice(twinWrites));
  // Without the memo (a new process), the same stale object would start the release again.
  const fresh = createCanaryReconciler({ notify });
  await fresh.reconcile(stale, contextFor(client, []));
  assert.deepEqual(
    sent.map((s) => s.event),
    ['Started', 'Started'],
  );
});

test('deleting a release mid-way: traffic back and canary removed first, then done with a Deleted Event', async () => {
  const { client, release, notify } = await setup();
  const reconciler = createCanaryReconciler({ notify });
  await reconciler.reconcile(release(), contextFor(client, []));
  assert.ok(client.objects(kinds.Deployment).some((d) => d.metadata.name === 'web-canary'));

  const events: EventInput[] = [];
  const first = await reconciler.cleanup(release(), contextFor(client, events));
  assert.deepEqual(first, { kind: 'requeue', afterMs: 500 }, 'not done while the canary is going');
  assert.deepEqual(
    client.objects(kinds.Deployment).map((d) => d.metadata.name),
    ['web'],
  );
  assert.equal(
    client.objects(kinds.Deployment)[0]?.spec?.replicas,
    2,
    'the stable Deployment keeps its size',
  );

  const second = await reconciler.cleanup(release(), contextFor(client, events));
  assert.equal(second, undefined, 'done: the finalizer may go');
  assert.deepEqual(
    events.map((e) => e.reason),
    ['Deleted'],
  );
});

test('a first reconcile while the finalizer is being added: only the canary is written before it is stored', async () => {
  const { client, release, notify } = await setup();
  const reconciler = createCanaryReconciler({ notify });
  let store = (): void => undefined;
  const finalizerWrite = new Promise<void>((resolve) => (store = resolve));
  const ctx: ReconcileContext = {
    ...contextFor(client, []),
    finalizerStored: async () => {
      await finalizerWrite;
      return {
        ...release(),
        metadata: { ...release().metadata, finalizers: ['deploy.codedance.io/cleanup'] },
      };
    },
  };
  const before = client.writes.length;
  const running = reconciler.reconcile(release(), ctx);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    client.writes.slice(before),
    ['CREATE Deployment shop/web-canary'],
    'the canary (owner-referenced) only',
  );
  store();
  await running;
  assert.ok(
    client.writes.some((w) => w.startsWith('PATCH Deployment shop/web')),
    client.writes.join(', '),
  );
  assert.equal(release().status?.phase, 'Progressing');
});
