import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleasePlanKind } from '../api/kinds.ts';
import { CommandAnnotation, ReleasePlanAnnotation } from '../api/names.ts';
import type { ReleasePlan } from '../api/release-plan.ts';
import type { EventInput } from '../runtime/events.ts';
import { createFakeClient, type FakeClient } from '../runtime/testing/fake-client.ts';
import { fakeReconcileContext } from '../runtime/testing/fake-context.ts';
import type { ClusterClients } from './clusters.ts';
import { createPlanReconciler } from './reconcile.ts';

interface World {
  local: FakeClient;
  remotes: Record<string, FakeClient>;
  down: Set<string>;
  events: EventInput[];
  step(): Promise<ReleasePlan>;
}

async function world(): Promise<World> {
  const local = createFakeClient();
  const remotes: Record<string, FakeClient> = { staging: createFakeClient(), 'prod-a': createFakeClient() };
  const down = new Set<string>();
  await local.create(ReleasePlanKind, {
    metadata: { name: 'rp', namespace: 'ops', generation: 1, uid: 'u1' },
    spec: {
      template: {
        name: 'app',
        namespace: 'shop',
        spec: { targetDeployment: 'app', canaryVersion: 'app:v2' },
      },
      waves: [
        { name: 'staging', clusters: ['staging'] },
        { name: 'prod', clusters: ['prod-a'] },
      ],
    },
  });
  const clusters: ClusterClients = {
    get: async (_local, _ns, name) => {
      const client = remotes[name];
      if (!client || down.has(name)) return { error: `cannot reach ${name}` };
      return { client };
    },
    close: async () => undefined,
  };
  const reconcile = createPlanReconciler({ clusters });
  const events: EventInput[] = [];
  const get = () => local.objects(ReleasePlanKind)[0] as ReleasePlan;
  return {
    local,
    remotes,
    down,
    events,
    async step() {
      await reconcile(get(), fakeReconcileContext(local, { controller: 'waves', cached: [], events }));
      return get();
    },
  };
}

const release = (client: FakeClient) => client.objects(CanaryDeploymentKind)[0];

async function finish(client: FakeClient, phase: 'Completed' | 'Failed' | 'Progressing', reason = 'R') {
  const cd = release(client) as CanaryDeployment;
  await client.patch(
    CanaryDeploymentKind,
    'shop',
    'app',
    { status: { phase, releaseVersion: cd.spec.canaryVersion, reason } },
    'merge',
    { subresource: 'status' },
  );
}

test('a healthy plan goes wave by wave and completes', async () => {
  const w = await world();
  let plan = await w.step();
  assert.equal(
    release(w.remotes.staging as FakeClient)?.metadata.annotations?.[ReleasePlanAnnotation],
    'ops/rp',
  );
  assert.equal(release(w.remotes['prod-a'] as FakeClient), undefined, 'prod waits for staging');
  assert.equal(plan.status?.currentWave, 'staging');

  await finish(w.remotes.staging as FakeClient, 'Progressing');
  plan = await w.step();
  assert.equal(release(w.remotes['prod-a'] as FakeClient), undefined, 'still waiting while staging runs');

  await finish(w.remotes.staging as FakeClient, 'Completed');
  plan = await w.step();
  assert.equal(release(w.remotes['prod-a'] as FakeClient)?.spec.canaryVersion, 'app:v2');
  assert.equal(plan.status?.currentWave, 'prod');
  assert.equal(plan.status?.waves?.[0]?.phase, 'Completed');

  // staging unreachable now: its completion is remembered.
  w.down.add('staging');
  await finish(w.remotes['prod-a'] as FakeClient, 'Completed');
  plan = await w.step();
  assert.equal(plan.status?.phase, 'Completed');
  assert.equal(plan.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.deepEqual(
    w.events.map((e) => e.reason),
    [
      'ReleaseCreated',
      'WaveStarted',
      'ReleaseCreated',
      'WaveCompleted',
      'WaveStarted',
      'WaveCompleted',
      'PlanCompleted',
    ],
  );
});

test('a failure in wave 1 stops the plan: wave 2 never starts, even after the failed release is deleted', async () => {
  const w = await world();
  await w.step();
  await finish(w.remotes.staging as FakeClient, 'Failed', 'AnalysisFailed');
  let plan = await w.step();
  assert.equal(plan.status?.phase, 'Failed');
  assert.equal(plan.status?.reason, 'ReleaseFailed');
  assert.deepEqual(
    plan.status?.waves?.map((wave) => wave.phase),
    ['Failed', 'Stopped'],
  );
  await (w.remotes.staging as FakeClient).delete(CanaryDeploymentKind, 'shop', 'app');
  plan = await w.step();
  assert.equal(plan.status?.phase, 'Failed');
  assert.equal(release(w.remotes.staging as FakeClient), undefined, 'not made again');
  assert.equal(release(w.remotes['prod-a'] as FakeClient), undefined, 'prod never started');
});

test('aborting the plan aborts the running release once', async () => {
  const w = await world();
  await w.step();
  const plan = w.local.objects(ReleasePlanKind)[0] as ReleasePlan;
  await w.local.patch(ReleasePlanKind, 'ops', 'rp', { spec: { aborted: true } }, 'merge');
  await w.step();
  const command = release(w.remotes.staging as FakeClient)?.metadata.annotations?.[CommandAnnotation] ?? '';
  assert.match(command, /^abort:plan-[^;]+;by=releaseplan\/ops\/rp$/);
  const writes = (w.remotes.staging as FakeClient).writes.length;
  await w.step();
  assert.equal(
    (w.remotes.staging as FakeClient).writes.length,
    writes,
    'the same abort is not written twice',
  );
  assert.ok(plan);
});

test('a release of the same name someone else made is left alone and fails the plan', async () => {
  const w = await world();
  await (w.remotes.staging as FakeClient).create(CanaryDeploymentKind, {
    metadata: { name: 'app', namespace: 'shop' },
    spec: { targetDeployment: 'app', canaryVersion: 'other:v9' },
  });
  const plan = await w.step();
  assert.equal(plan.status?.phase, 'Failed');
  assert.equal(plan.status?.waves?.[0]?.clusters[0]?.reason, 'NameTaken');
  assert.equal(release(w.remotes.staging as FakeClient)?.spec.canaryVersion, 'other:v9');
});

test('an unreachable cluster holds the wave and says why', async () => {
  const w = await world();
  w.down.add('staging');
  const plan = await w.step();
  assert.equal(plan.status?.phase, 'Progressing');
  assert.equal(plan.status?.reason, 'ClusterUnreachable');
  assert.equal(plan.status?.waves?.[0]?.clusters[0]?.message, 'cannot reach staging');
});
