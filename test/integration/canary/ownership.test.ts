/**
 * What a release may touch, on the real control plane:
 * - objects it did not create are never taken over: a `<service>-canary` or preview
 *   Service of someone else's is refused with a condition and an Event, left as it is,
 *   and no traffic moves;
 * - its traffic lives in the provider and objects recorded when it started: changing
 *   `traffic.provider` or the VirtualService name mid-release, a spec the controller
 *   cannot run, or deleting the target Deployment never leaves traffic on a canary
 *   without pods (the routing objects are read throughout), and the release says why;
 *   a release deleted after such a change is taken down through the record too;
 * - an autoscaler on the target refuses a Replicas release until it is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { KubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { Service } from '../../../src/canary/workloads.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  keepLog,
  killHard,
  names,
  releaseEnv,
  startCanaryController,
  waitFor,
  waitPhase,
} from './support.ts';
import {
  conditionOf,
  virtualServiceCanaryWeight,
  waitCondition,
  waitWarning,
  watchPodlessCanaryTraffic,
} from './traffic-checks.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';
import type { HorizontalPodAutoscaler } from '../../../src/runtime/core-types.ts';

const hold: CanaryDeploymentSpec['strategy'] = {
  type: 'Linear',
  steps: [
    { weight: 20, pause: '10m' },
    { weight: 100, pause: '0s' },
  ],
};
const timeout = 180_000;

function plainVirtualService(ns: string, name: string): VirtualService {
  return {
    metadata: { name, namespace: ns },
    spec: {
      hosts: ['myapp'],
      http: [{ name: 'primary', route: [{ destination: { host: 'myapp', port: { number: 80 } } }] }],
    },
  } as VirtualService;
}

async function createIngress(admin: KubeClient, ns: string): Promise<void> {
  await admin.create<Ingress>(kinds.Ingress, {
    metadata: { name: 'web', namespace: ns },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'myapp', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
}

/** A Service of the user's, named like one the release would make. */
async function theirService(admin: KubeClient, ns: string, name: string): Promise<Service> {
  return admin.create(kinds.Service, {
    metadata: { name, namespace: ns, labels: { team: 'payments' } },
    spec: { selector: { app: 'payments' }, ports: [{ port: 80 }] },
  });
}

async function assertRefusedService(admin: KubeClient, ns: string, theirs: Service): Promise<void> {
  const name = theirs.metadata.name ?? '';
  const cd = await waitCondition(admin, ns, 'myapp', 'TrafficReady', 'False', 'TrafficNameTaken');
  assert.match(
    conditionOf(cd, 'TrafficReady')?.message ?? '',
    new RegExp(`Service ${ns}/${name} exists and was not created by this release`),
  );
  assert.match(
    await waitWarning(admin, ns, 'myapp', 'TrafficNameTaken'),
    new RegExp(`Service ${ns}/${name}`),
  );
  const after = await admin.get(kinds.Service, ns, name);
  assert.equal(
    after?.metadata.resourceVersion,
    theirs.metadata.resourceVersion,
    'their Service was not written',
  );
  assert.deepEqual(after?.spec?.selector, { app: 'payments' });
  assert.equal(after?.metadata.ownerReferences, undefined);
  assert.ok(!(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), 'no canary was made');
  assert.ok(!(await names(admin, kinds.Ingress, ns)).includes('web-canary'), 'no traffic moved');
  assert.equal(cd.status?.currentWeight ?? 0, 0);
}

test("a <service>-canary Service that is not the release's is refused and left as it is", {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createIngress(admin, ns);
  const theirs = await theirService(admin, ns, 'myapp-canary');
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
  });
  await assertRefusedService(admin, ns, theirs);
});

test("a preview Service that is not the release's is refused and left as it is", { timeout }, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createIngress(admin, ns);
  const theirs = await theirService(admin, ns, 'myapp-preview');
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { type: 'BlueGreen', blueGreen: { autoPromote: false } },
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
  });
  await assertRefusedService(admin, ns, theirs);
  assert.ok(
    !(await names(admin, kinds.Service, ns)).includes('myapp-canary'),
    'nothing of the release was made before the refusal',
  );
});

/** An Istio release at step 1 (20% on the canary), with the sampler of podless-canary traffic running. */
async function istioAtStep1(t: Parameters<typeof releaseEnv>[0]) {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.VirtualService, plainVirtualService(ns, 'myapp'));
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  });
  await waitFor(async () => (await virtualServiceCanaryWeight(admin, ns, 'myapp')) === 20, {
    describe: 'step 1 at 20%',
    timeoutMs: 90_000,
  });
  const cd = await getRelease(admin, ns, 'myapp');
  assert.deepEqual(
    cd?.status?.traffic,
    {
      provider: 'Istio',
      service: 'myapp',
      istio: { virtualService: 'myapp' },
      objects: [
        { kind: 'VirtualService', name: 'myapp' },
        { kind: 'DestinationRule', name: 'myapp' },
      ],
    },
    'the provider and its objects are recorded at the start',
  );
  const sampler = watchPodlessCanaryTraffic(admin, ns, 'myapp', () =>
    virtualServiceCanaryWeight(admin, ns, 'myapp'),
  );
  return { admin, ns, sampler, controller };
}

/**
 * The release ended Failed with `reason`, said so in a Warning Event (`RolledBack` for the
 * state machine's own rollbacks, the reason itself for a stop by the error policy), all
 * traffic on stable, the routes plain again, the canary gone, and never traffic on a
 * podless canary.
 */
async function assertStoppedClean(
  admin: KubeClient,
  ns: string,
  sampler: ReturnType<typeof watchPodlessCanaryTraffic>,
  reason: string,
  says: RegExp,
  eventReason = reason,
): Promise<void> {
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, reason);
  assert.match(failed.status?.message ?? '', says);
  assert.equal(conditionOf(failed, 'Progressing')?.reason, reason);
  assert.equal(failed.status?.currentWeight, 0);
  assert.match(
    await waitWarning(admin, ns, 'myapp', eventReason),
    eventReason === reason ? says : new RegExp(`\\(${reason}\\)`),
  );
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'canary Deployment removed',
  });
  // Once the canary pods are gone the recorded provider restores the plain routes.
  await waitFor(
    async () => {
      const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
      return vs?.spec.http?.every((r) => (r.route ?? []).every((d) => d.destination.subset === undefined));
    },
    { describe: 'VirtualService myapp back to plain host routes', timeoutMs: 60_000 },
  );
  const { violations, samples, highest } = await sampler.stop();
  assert.equal(highest, 20, `the sampler saw the canary's share before the change (${samples} samples)`);
  assert.deepEqual(violations, [], 'traffic never sat on a canary without a ready pod');
}

test('traffic.provider changed mid-release: rolled back through the recorded Istio objects, nothing made for the new provider', {
  timeout,
}, async (t) => {
  const { admin, ns, sampler } = await istioAtStep1(t);
  await createIngress(admin, ns);
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { spec: { traffic: { provider: 'Nginx', istio: null, nginx: { ingress: 'web' } } } },
    'merge',
  );
  await assertStoppedClean(
    admin,
    ns,
    sampler,
    'TrafficChanged',
    /traffic.provider changed from Istio to Nginx mid-release/,
    'RolledBack',
  );
  assert.ok(
    !(await names(admin, kinds.Ingress, ns)).includes('web-canary'),
    'the new provider was never used',
  );
  assert.equal(
    (await getRelease(admin, ns, 'myapp'))?.status?.traffic?.provider,
    'Istio',
    'the record stays with what the release ran on',
  );
});

test('the VirtualService name changed mid-release: the recorded one goes back to stable, the new one is untouched', {
  timeout,
}, async (t) => {
  const { admin, ns, sampler } = await istioAtStep1(t);
  const other = await admin.create<VirtualService>(kinds.VirtualService, plainVirtualService(ns, 'other'));
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { spec: { traffic: { istio: { virtualService: 'other' } } } },
    'merge',
  );
  await assertStoppedClean(
    admin,
    ns,
    sampler,
    'TrafficChanged',
    /traffic.istio.virtualService changed from myapp to other/,
    'RolledBack',
  );
  const after = await admin.get<VirtualService>(kinds.VirtualService, ns, 'other');
  assert.equal(
    after?.metadata.resourceVersion,
    other.metadata.resourceVersion,
    'the newly named VirtualService was never written',
  );
});

test('deleted after its VirtualService name changed while the controller was down: the finalizer resets the recorded one', {
  timeout,
}, async (t) => {
  const { admin, ns, sampler, controller } = await istioAtStep1(t);
  await killHard(controller!);
  const other = await admin.create<VirtualService>(kinds.VirtualService, plainVirtualService(ns, 'other'));
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { spec: { traffic: { istio: { virtualService: 'other' } } } },
    'merge',
  );
  await admin.delete(CanaryDeploymentKind, ns, 'myapp');
  keepLog(t, await startCanaryController(t, ns));
  await waitFor(async () => (await getRelease(admin, ns, 'myapp')) === undefined, {
    describe: 'the CanaryDeployment gone (finalizer done)',
    timeoutMs: 90_000,
  });
  assert.equal(
    await virtualServiceCanaryWeight(admin, ns, 'myapp'),
    0,
    'the recorded VirtualService carries no canary share',
  );
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.ok(
    vs?.spec.http?.every((r) => (r.route ?? []).every((d) => d.destination.subset === undefined)),
    'and is back to plain host routes',
  );
  assert.equal(
    (await admin.get<VirtualService>(kinds.VirtualService, ns, 'other'))?.metadata.resourceVersion,
    other.metadata.resourceVersion,
    "the spec's new VirtualService was never written",
  );
  assert.ok(!(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), 'canary removed');
  const { violations, highest } = await sampler.stop();
  assert.equal(highest, 20);
  assert.deepEqual(violations, [], 'traffic never sat on a canary without a ready pod');
});

test('the target Deployment deleted mid-release: traffic back to stable, canary removed, Failed TargetDeleted', {
  timeout,
}, async (t) => {
  const { admin, ns, sampler } = await istioAtStep1(t);
  await admin.delete(kinds.Deployment, ns, 'myapp');
  await assertStoppedClean(
    admin,
    ns,
    sampler,
    'TargetDeleted',
    /target Deployment .* was deleted mid-release/,
    'RolledBack',
  );
});

test('a spec the controller cannot run mid-release (Istio, container renamed): stopped with all traffic on stable', {
  timeout,
}, async (t) => {
  const { admin, ns, sampler } = await istioAtStep1(t);
  await admin.patch(CanaryDeploymentKind, ns, 'myapp', { spec: { container: 'sidecar' } }, 'merge');
  await assertStoppedClean(
    admin,
    ns,
    sampler,
    'ContainerNotFound',
    /container sidecar not found in Deployment myapp.*all traffic went back to stable/,
  );
});

test('a spec the controller cannot run mid-release (Replicas, BlueGreen): replicas back to stable, canary removed, Failed InvalidSpec', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitFor(async () => (await getDeployment(admin, ns, 'myapp-canary'))?.spec?.replicas === 2, {
    describe: 'canary at 2 of 4 replicas',
    timeoutMs: 90_000,
  });
  // Capacity never dips while the release is taken down: stable comes back before the canary goes.
  const dips: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      // One list: both Deployments as of one moment (two GETs in a loaded run can see the
      // stable before it is scaled back and the canary after it is gone).
      const all = (await admin.list(kinds.Deployment, { namespace: ns })).items;
      const stable = all.find((d) => d.metadata.name === 'myapp');
      const canary = all.find((d) => d.metadata.name === 'myapp-canary');
      const total =
        (stable?.spec?.replicas ?? 0) +
        (canary && !canary.metadata.deletionTimestamp ? (canary.spec?.replicas ?? 0) : 0);
      if (total < 4) dips.push(total);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { spec: { strategy: { type: 'BlueGreen', steps: null } } },
    'merge',
  );
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  sampling = false;
  await sampler;
  assert.equal(failed.status?.reason, 'InvalidSpec');
  assert.match(
    failed.status?.message ?? '',
    /BlueGreen needs traffic.provider Istio, Nginx or GatewayAPI.*all traffic went back to stable/,
  );
  await waitWarning(admin, ns, 'myapp', 'InvalidSpec');
  assert.equal((await getDeployment(admin, ns, 'myapp'))?.spec?.replicas, 4, 'stable back at full size');
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'canary Deployment removed',
  });
  assert.deepEqual(dips, [], 'stable + canary replicas never fell below the 4 the release started with');
});

test('an autoscaler on the target refuses a Replicas release with a condition and an Event; the release starts once it is gone', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  // Bounds around the current size: without metrics the autoscaler leaves the replicas alone.
  await admin.create<HorizontalPodAutoscaler>(kinds.HorizontalPodAutoscaler, {
    metadata: { name: 'myapp', namespace: ns },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'myapp' },
      minReplicas: 1,
      maxReplicas: 10,
    },
  });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
  });
  const refused = await waitCondition(admin, ns, 'myapp', 'TrafficReady', 'False', 'AutoscalerConflict');
  assert.match(
    conditionOf(refused, 'TrafficReady')?.message ?? '',
    /HorizontalPodAutoscaler myapp scales the target Deployment.*choose traffic.provider Istio, Nginx or GatewayAPI, or remove the autoscaler/,
  );
  assert.equal(conditionOf(refused, 'Progressing')?.status, 'False');
  assert.equal(refused.status?.phase, undefined);
  await waitWarning(admin, ns, 'myapp', 'AutoscalerConflict');
  assert.ok(!(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), 'no canary was made');
  assert.equal((await getDeployment(admin, ns, 'myapp'))?.spec?.replicas, 4, 'stable replicas untouched');
  await admin.delete(kinds.HorizontalPodAutoscaler, ns, 'myapp');
  await waitFor(async () => (await getDeployment(admin, ns, 'myapp-canary')) !== undefined, {
    describe: 'the release starts once the autoscaler is gone',
    timeoutMs: 90_000,
  });
});

test('an autoscaler that rescales the target mid-release rolls a Replicas release back (AutoscalerConflict)', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitFor(async () => (await getDeployment(admin, ns, 'myapp-canary'))?.spec?.replicas === 2, {
    describe: 'canary at 2 of 4 replicas',
    timeoutMs: 90_000,
  });
  // minReplicas above the 2 stable pods of the step: the autoscaler scales stable up (it needs no metrics for that).
  await admin.create<HorizontalPodAutoscaler>(kinds.HorizontalPodAutoscaler, {
    metadata: { name: 'myapp', namespace: ns },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'myapp' },
      minReplicas: 3,
      maxReplicas: 10,
    },
  });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 120_000);
  assert.equal(failed.status?.reason, 'AutoscalerConflict');
  assert.match(failed.status?.message ?? '', /HorizontalPodAutoscaler myapp rescales the target Deployment/);
  assert.match(await waitWarning(admin, ns, 'myapp', 'RolledBack'), /\(AutoscalerConflict\)/);
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'canary Deployment removed',
  });
  assert.ok(
    ((await getDeployment(admin, ns, 'myapp'))?.spec?.replicas ?? 0) >= 3,
    'stable at full size (or what the autoscaler asks)',
  );
});
