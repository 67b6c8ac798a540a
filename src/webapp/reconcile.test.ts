/**
 * Branches of the WebApp reconcile that the real control plane does not produce on
 * demand (an API server failing a write, refusing a child), on the runtime's in-memory
 * fake client. The happy paths are covered on the real cluster (test/integration/webapp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp } from '../api/webapp.ts';
import { KubeApiError, type KubeObject } from '../runtime/client.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { isTerminal, TerminalError } from '../runtime/errors.ts';
import type { EventInput } from '../runtime/events.ts';
import * as kinds from '../runtime/kinds.ts';
import { fakeReconcileContext } from '../runtime/testing/fake-context.ts';
import { createFakeClient, type FakeClient } from '../runtime/testing/fake-client.ts';
import { reconcileWebApp } from './reconcile.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';

const cached: kinds.ResourceKind[] = [
  kinds.ConfigMap,
  kinds.Deployment,
  kinds.Service,
  CanaryDeploymentKind,
  WebAppKind,
];

/** A context whose caches hold what the fake cluster holds right now. */
function contextFor(client: FakeClient, events: EventInput[]): ReconcileContext {
  return fakeReconcileContext(client, {
    controller: 'webapp',
    cached,
    events,
  });
}

async function setup(name = 'shop'): Promise<{ client: FakeClient; webapp: () => WebApp }> {
  const client = createFakeClient();
  await client.create(WebAppKind, {
    metadata: { name, namespace: 'ns', uid: 'uid-1', generation: 1 },
    spec: { image: 'shop:1', replicas: 2 },
  } as WebApp);
  const webapp = () => client.objects(WebAppKind)[0]!;
  return { client, webapp };
}

test('a first reconcile creates the three children and says Creating', async () => {
  const { client, webapp } = await setup();
  const events: EventInput[] = [];
  const action = await reconcileWebApp(webapp(), contextFor(client, events));
  assert.deepEqual(action, { kind: 'await-change' });
  assert.deepEqual(
    client.objects(kinds.Deployment).map((d) => d.metadata.name),
    ['shop'],
  );
  assert.deepEqual(
    client.objects(kinds.Service).map((d) => d.metadata.name),
    ['shop'],
  );
  assert.deepEqual(
    client.objects(kinds.ConfigMap).map((d) => d.metadata.name),
    ['shop-config'],
  );
  assert.equal(webapp().status?.phase, 'Creating');
  assert.deepEqual(
    events.map((e) => e.reason),
    ['Created', 'Created', 'Created', 'Creating'],
  );
  // Pending was written first, before any child.
  const statusWrites = client.writes.filter((w) => w.startsWith('APPLY WebApp'));
  assert.equal(statusWrites.length, 2, client.writes.join(', '));
  assert.ok(
    client.writes.indexOf(statusWrites[0]!) < client.writes.findIndex((w) => w.includes('ConfigMap')),
  );
});

test('a steady WebApp costs no writes', async () => {
  const { client, webapp } = await setup();
  await reconcileWebApp(webapp(), contextFor(client, []));
  const writes = client.writes.length;
  const events: EventInput[] = [];
  await reconcileWebApp(webapp(), contextFor(client, events));
  assert.equal(client.writes.length, writes, `extra writes: ${client.writes.slice(writes).join(', ')}`);
  assert.deepEqual(events, []);
});

test('a failing write is said in status and rethrown for the runtime to retry with backoff', async () => {
  const { client, webapp } = await setup();
  client.intercept('apply', (kind) => {
    if (kind?.kind === 'Deployment') throw new KubeApiError(503, 'etcd leader changed');
  });
  await assert.rejects(reconcileWebApp(webapp(), contextFor(client, [])), (err: unknown) => !isTerminal(err));
  assert.equal(webapp().status?.phase, 'Pending');
  assert.match(webapp().status?.message ?? '', /retrying with backoff: .*etcd leader changed/);
  assert.equal(webapp().status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'ReconcileError');
});

test('a child the API server refuses ends in Failed with a TerminalError, not a retry', async () => {
  const { client, webapp } = await setup();
  client.intercept('apply', (kind) => {
    if (kind?.kind === 'Deployment')
      throw new KubeApiError(
        422,
        'Deployment.apps "shop" is invalid: spec.template.spec.containers[0].image: Invalid value',
      );
  });
  await assert.rejects(reconcileWebApp(webapp(), contextFor(client, [])), (err: unknown) => {
    assert.ok(err instanceof TerminalError);
    assert.equal(err.reason, 'InvalidChild');
    return true;
  });
  assert.equal(webapp().status?.phase, 'Failed');
  assert.match(webapp().status?.message ?? '', /refused a child of this WebApp: .*Invalid value/);
});

test('a child name taken by an object the WebApp does not control is a NameConflict', async () => {
  const { client, webapp } = await setup();
  await client.create(kinds.Service, { metadata: { name: 'shop', namespace: 'ns' } });
  await assert.rejects(
    reconcileWebApp(webapp(), contextFor(client, [])),
    (err: unknown) => err instanceof TerminalError && err.reason === 'NameConflict',
  );
  assert.equal(client.objects(kinds.Deployment).length, 0, 'nothing is created next to a conflict');
  assert.match(
    webapp().status?.message ?? '',
    /Service shop already exists and is not controlled by this WebApp/,
  );
});

test("someone else's CanaryDeployment of the same name is left alone by a WebApp without spec.release", async () => {
  const { client, webapp } = await setup();
  await client.create(CanaryDeploymentKind, {
    metadata: { name: 'shop', namespace: 'ns', uid: 'other' },
    spec: { targetDeployment: 'shop', canaryVersion: 'x:2' },
  } as KubeObject);
  await reconcileWebApp(webapp(), contextFor(client, []));
  assert.equal(client.objects(CanaryDeploymentKind).length, 1, 'not deleted');
  assert.equal(webapp().status?.phase, 'Creating');
});

test('with spec.release, a CanaryDeployment of the same name the WebApp does not control is a NameConflict', async () => {
  const { client, webapp } = await setup();
  await client.patch(WebAppKind, 'ns', 'shop', { spec: { release: {} } }, 'merge');
  await client.create(CanaryDeploymentKind, {
    metadata: { name: 'shop', namespace: 'ns', uid: 'other' },
    spec: { targetDeployment: 'shop', canaryVersion: 'x:2' },
  } as KubeObject);
  await assert.rejects(
    reconcileWebApp(webapp(), contextFor(client, [])),
    (err: unknown) => err instanceof TerminalError && err.reason === 'NameConflict',
  );
});
