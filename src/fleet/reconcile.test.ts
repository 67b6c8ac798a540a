import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../api/kinds.ts';
import { CommandAnnotation, GroupTurnAnnotation } from '../api/names.ts';
import type { ReleaseGroup } from '../api/release-group.ts';
import type { EventInput } from '../runtime/events.ts';
import { Deployment } from '../runtime/kinds.ts';
import { createFakeClient, type FakeClient } from '../runtime/testing/fake-client.ts';
import { fakeReconcileContext } from '../runtime/testing/fake-context.ts';
import { createGroupReconciler } from './reconcile.ts';

async function cluster(spec: Partial<ReleaseGroup['spec']> = {}): Promise<FakeClient> {
  const client = createFakeClient();
  for (const name of ['a', 'b', 'c', 'd', 'e'])
    await client.create(Deployment, { metadata: { name, namespace: 'ns', labels: { fleet: 'x' } } });
  await client.create(ReleaseGroupKind, {
    metadata: { name: 'g', namespace: 'ns', generation: 1 },
    spec: {
      template: { deploymentSelector: { matchLabels: { fleet: 'x' } }, canaryVersion: 'lib:v2' },
      maxConcurrent: 2,
      ...spec,
    },
  });
  return client;
}

const turns = (client: FakeClient) =>
  Object.fromEntries(
    client
      .objects(CanaryDeploymentKind)
      .map((cd) => [cd.metadata.name, cd.metadata.annotations?.[GroupTurnAnnotation]]),
  );

function ctx(client: FakeClient, events: EventInput[] = []) {
  return fakeReconcileContext(client, {
    controller: 'fleet',
    cached: [ReleaseGroupKind, CanaryDeploymentKind, Deployment],
    events,
  });
}

const group = (client: FakeClient) => client.objects(ReleaseGroupKind)[0] as ReleaseGroup;

test('members are made waiting, turns go to maxConcurrent of them; a cache a write behind gives no slot twice', async () => {
  const client = await cluster();
  const { reconcile } = createGroupReconciler();
  const stale = ctx(client); // sees no member yet, for the second reconcile too
  await reconcile(group(client), stale);
  assert.deepEqual(turns(client), { a: 'go', b: 'go', c: 'waiting', d: 'waiting', e: 'waiting' });
  await reconcile(group(client), stale);
  assert.deepEqual(turns(client), { a: 'go', b: 'go', c: 'waiting', d: 'waiting', e: 'waiting' });
  const status = group(client).status;
  assert.equal(status?.phase, 'Progressing');
  assert.deepEqual(status?.counts, { total: 5, waiting: 3, running: 2, paused: 0, completed: 0, failed: 0 });
  const member = client.objects(CanaryDeploymentKind)[0] as CanaryDeployment;
  assert.equal(member.metadata.ownerReferences?.[0]?.uid, group(client).metadata.uid);
  assert.equal(member.spec.canaryVersion, 'lib:v2');
});

test('a member that ended frees its slot; a new controller (no memory) gives the same turns', async () => {
  const client = await cluster();
  await createGroupReconciler().reconcile(group(client), ctx(client));
  await client.patch(
    CanaryDeploymentKind,
    'ns',
    'a',
    { status: { phase: 'Completed', releaseVersion: 'lib:v2' } },
    'merge',
    { subresource: 'status' },
  );
  const events: EventInput[] = [];
  await createGroupReconciler().reconcile(group(client), ctx(client, events));
  assert.deepEqual(turns(client), { a: 'go', b: 'go', c: 'go', d: 'waiting', e: 'waiting' });
  assert.deepEqual(
    events.map((e) => e.note),
    ['c starts releasing lib:v2'],
  );
});

test('an aborted group aborts every member not finished, once', async () => {
  const client = await cluster({ aborted: true });
  const { reconcile } = createGroupReconciler();
  await reconcile(group(client), ctx(client));
  const commands = client
    .objects(CanaryDeploymentKind)
    .map((cd) => cd.metadata.annotations?.[CommandAnnotation]);
  assert.deepEqual(commands, Array(5).fill('abort:group-1'));
  assert.ok(
    Object.values(turns(client)).every((turn) => turn === 'waiting'),
    'none started',
  );
  const writes = client.writes.length;
  await reconcile(group(client), ctx(client));
  assert.equal(
    client.writes.filter((w) => w.startsWith('PATCH CanaryDeployment')).length,
    client.writes.slice(0, writes).filter((w) => w.startsWith('PATCH CanaryDeployment')).length,
    'the same command is not written again',
  );
  assert.equal(group(client).status?.reason, 'Aborted');
});
