/**
 * WebApp image changes released through a CanaryDeployment, on the real control plane.
 *
 * The first test plays the release engine by hand (status writes and the promotion patch
 * it would make), so it checks the WebApp's side of the contract on its own: the
 * CanaryDeployment it asks for, the image it keeps while a release runs, how it reports a
 * rollback, and that it never undoes a promotion. The second runs both controllers and
 * lets a real release complete.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { WebApp, WebAppSpec } from '../../../src/api/webapp.ts';
import { controllers } from '../../../src/controllers.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { installApi, startController } from '../../support/controller.ts';
import { CanaryDeploymentKind, WebAppKind } from '../../../src/api/kinds.ts';

// At the top level, not in a hook: testCluster() registers the client's close with the
// file's root, which a hook would scope to itself.
const { admin } = await testCluster();

before(() => installApi(admin));

const release: NonNullable<WebAppSpec['release']> = {
  strategy: {
    type: 'Linear',
    steps: [
      { weight: 50, pause: '2s' },
      { weight: 100, pause: '0s' },
    ],
  },
  traffic: { provider: 'Replicas' },
};

function webapp(namespace: string, spec: WebAppSpec): WebApp {
  return {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'shop', namespace },
    spec,
  };
}

function condition(app: WebApp | undefined, type: string) {
  return app?.status?.conditions?.find((c) => c.type === type);
}

async function waitWebApp(
  namespace: string,
  what: string,
  check: (app: WebApp) => boolean,
  timeoutMs = 90_000,
): Promise<WebApp> {
  return waitFor(
    async () => {
      const app = await admin.get(WebAppKind, namespace, 'shop');
      return app && app.status?.observedGeneration === app.metadata.generation && check(app)
        ? app
        : undefined;
    },
    { timeoutMs, describe: what },
  );
}

async function deploymentImage(namespace: string): Promise<string | undefined> {
  return (await admin.get(kinds.Deployment, namespace, 'shop'))?.spec?.template?.spec?.containers[0]?.image;
}

/** Writes a CanaryDeployment status as the release engine would. */
async function releaseEngineSays(
  namespace: string,
  phase: string,
  version: string,
  message: string,
): Promise<void> {
  const cd = await admin.get(CanaryDeploymentKind, namespace, 'shop');
  assert.ok(cd, 'the CanaryDeployment exists');
  await admin.patch(
    CanaryDeploymentKind,
    namespace,
    'shop',
    { status: { phase, releaseVersion: version, message, observedGeneration: cd.metadata.generation } },
    'merge',
    { subresource: 'status' },
  );
}

test('with spec.release an image change asks for a CanaryDeployment and follows its outcome', async (t) => {
  const ns = await testNamespace(t);
  await startController(t, { namespaces: [ns], controllers: ['webapp'] });
  await admin.create(WebAppKind, webapp(ns, { image: 'shop:1', replicas: 2, release }));
  await waitWebApp(
    ns,
    'shop:1 Running (the first image needs no release)',
    (a) => a.status?.phase === 'Running' && condition(a, 'Ready')?.status === 'True',
  );
  assert.equal(await admin.get(CanaryDeploymentKind, ns, 'shop'), undefined);

  // The image change becomes a CanaryDeployment; the Deployment keeps shop:1.
  await admin.patch(WebAppKind, ns, 'shop', { spec: { image: 'shop:2' } }, 'merge');
  const cd = await waitFor(() => admin.get(CanaryDeploymentKind, ns, 'shop'), {
    timeoutMs: 90_000,
    describe: 'the CanaryDeployment',
  });
  const owner = await admin.get(WebAppKind, ns, 'shop');
  assert.deepEqual(
    cd.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]),
    [['WebApp', owner?.metadata.uid, true]],
  );
  assert.equal(cd.spec.targetDeployment, 'shop');
  assert.equal(cd.spec.canaryVersion, 'shop:2');
  assert.equal(cd.spec.container, 'app');
  assert.deepEqual(cd.spec.service, { name: 'shop', port: 80 });
  assert.deepEqual(cd.spec.strategy?.steps, release.strategy?.steps);
  assert.equal(cd.spec.traffic?.provider, 'Replicas');
  const pending = await waitWebApp(
    ns,
    'the release shown as Pending',
    (a) => a.status?.release?.version === 'shop:2',
  );
  assert.equal(pending.status?.release?.name, 'shop');
  assert.equal(condition(pending, 'Ready')?.reason, 'Releasing');
  assert.equal(condition(pending, 'Progressing')?.status, 'True');
  assert.equal(pending.status?.image, 'shop:1');
  assert.equal(await deploymentImage(ns), 'shop:1');

  // Progress is mirrored.
  await releaseEngineSays(ns, 'Progressing', 'shop:2', 'step 1/2, weight 50%');
  await waitWebApp(
    ns,
    'the release shown as Progressing',
    (a) => a.status?.release?.phase === 'Progressing' && a.status.release.message === 'step 1/2, weight 50%',
  );

  // A rollback: the WebApp stays on shop:1 and says why, as Degraded.
  await releaseEngineSays(ns, 'Failed', 'shop:2', 'rolled back: canary pods crash-looping');
  const failed = await waitWebApp(
    ns,
    'the rolled-back release reported',
    (a) => condition(a, 'Degraded')?.status === 'True',
  );
  assert.equal(condition(failed, 'Degraded')?.reason, 'ReleaseFailed');
  assert.match(
    condition(failed, 'Degraded')?.message ?? '',
    /release of shop:2 failed: rolled back: canary pods crash-looping; still running shop:1/,
  );
  assert.equal(failed.status?.phase, 'Running');
  assert.equal(failed.status?.image, 'shop:1');
  assert.equal(await deploymentImage(ns), 'shop:1');

  // A new image restarts the release on the same CanaryDeployment.
  await admin.patch(WebAppKind, ns, 'shop', { spec: { image: 'shop:3' } }, 'merge');
  await waitFor(
    async () => (await admin.get(CanaryDeploymentKind, ns, 'shop'))?.spec.canaryVersion === 'shop:3',
    {
      timeoutMs: 90_000,
      describe: 'canaryVersion shop:3',
    },
  );
  await waitWebApp(
    ns,
    'Degraded cleared by the new release',
    (a) => condition(a, 'Degraded')?.status === 'False' && a.status?.release?.version === 'shop:3',
  );

  // The promotion writes the image into the Deployment (another field manager); the WebApp
  // keeps it, even before the release reports Completed.
  await admin.raw(
    'PATCH',
    `/apis/apps/v1/namespaces/${ns}/deployments/shop?fieldManager=codedance`,
    { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop:3' }] } } } },
    'application/strategic-merge-patch+json',
  );
  await waitWebApp(ns, 'the promoted image established', (a) => a.status?.image === 'shop:3');
  await releaseEngineSays(ns, 'Completed', 'shop:3', 'promoted');
  const done = await waitWebApp(
    ns,
    'the release Completed and the WebApp Ready',
    (a) => a.status?.release?.phase === 'Completed' && condition(a, 'Ready')?.status === 'True',
  );
  assert.equal(condition(done, 'Progressing')?.reason, 'ReleaseCompleted');
  assert.equal(await deploymentImage(ns), 'shop:3');
});

test('a real release through the canary controller completes and the WebApp shows it', {
  skip: !controllers.some((c) => c.name === 'canary') && 'the canary controller is not registered',
}, async (t) => {
  const ns = await testNamespace(t);
  await startController(t, { namespaces: [ns], controllers: ['webapp', 'canary'] });
  await admin.create(WebAppKind, webapp(ns, { image: 'shop:1', replicas: 2, release }));
  await waitWebApp(
    ns,
    'shop:1 Running',
    (a) => a.status?.phase === 'Running' && condition(a, 'Ready')?.status === 'True',
  );

  await admin.patch(WebAppKind, ns, 'shop', { spec: { image: 'shop:2' } }, 'merge');
  await waitWebApp(ns, 'the release under way', (a) => a.status?.release?.version === 'shop:2');
  const done = await waitWebApp(
    ns,
    'the release Completed and the WebApp Ready on shop:2',
    (a) =>
      a.status?.release?.phase === 'Completed' &&
      a.status.image === 'shop:2' &&
      condition(a, 'Ready')?.status === 'True',
    180_000,
  );
  assert.equal(done.status?.readyReplicas, 2);
  const deployment = await admin.get(kinds.Deployment, ns, 'shop');
  assert.equal(deployment?.spec?.template?.spec?.containers[0]?.image, 'shop:2');
  assert.equal(deployment?.spec?.replicas, 2);
  const cd = await admin.get(CanaryDeploymentKind, ns, 'shop');
  assert.equal(cd?.status?.phase, 'Completed');

  // Deleting the WebApp removes the release first, then everything else.
  await admin.delete(WebAppKind, ns, 'shop');
  await waitFor(async () => (await admin.get(WebAppKind, ns, 'shop')) === undefined, {
    timeoutMs: 90_000,
    describe: 'the WebApp gone',
  });
  for (const [kind, name] of [
    [CanaryDeploymentKind, 'shop'],
    [kinds.Deployment, 'shop'],
    [kinds.Deployment, 'shop-canary'],
    [kinds.Service, 'shop'],
    [kinds.ConfigMap, 'shop-config'],
  ] as const) {
    await waitFor(async () => (await admin.get(kind, ns, name)) === undefined, {
      timeoutMs: 90_000,
      describe: `${kind.kind} ${name} gone`,
    });
  }
});

test('a real release whose canary crashes is rolled back; the WebApp keeps the old image and reports it', {
  skip: !controllers.some((c) => c.name === 'canary') && 'the canary controller is not registered',
}, async (t) => {
  const ns = await testNamespace(t);
  await startController(t, { namespaces: [ns], controllers: ['webapp', 'canary'] });
  const app = webapp(ns, {
    image: 'shop:1',
    replicas: 2,
    release: {
      strategy: {
        type: 'Linear',
        steps: [
          { weight: 50, pause: '5m' },
          { weight: 100, pause: '0s' },
        ],
      },
      traffic: { provider: 'Replicas' },
    },
  });
  // Passed on to the CanaryDeployment: kwok crash-loops the canary pods only.
  app.metadata.annotations = {
    'deploy.codedance.io/canary-pod-labels': JSON.stringify({ 'kwok.codedance.io/crash': 'true' }),
  };
  await admin.create(WebAppKind, app);
  await waitWebApp(
    ns,
    'shop:1 Running',
    (a) => a.status?.phase === 'Running' && condition(a, 'Ready')?.status === 'True',
  );

  await admin.patch(WebAppKind, ns, 'shop', { spec: { image: 'shop:2' } }, 'merge');
  const failed = await waitWebApp(
    ns,
    'the rollback reported as Degraded',
    (a) => condition(a, 'Degraded')?.reason === 'ReleaseFailed',
    180_000,
  );
  assert.equal(failed.status?.release?.phase, 'Failed');
  assert.equal(failed.status?.image, 'shop:1');
  assert.equal(failed.status?.phase, 'Running');
  assert.equal(condition(failed, 'Ready')?.status, 'False');
  // Back to the stable capacity on the old image once the release engine has reset it.
  await waitFor(
    async () => {
      const d = await admin.get(kinds.Deployment, ns, 'shop');
      return d?.spec?.replicas === 2 && d.spec.template?.spec?.containers[0]?.image === 'shop:1';
    },
    { timeoutMs: 90_000, describe: 'the Deployment back at 2 replicas of shop:1' },
  );
  // And it stays there: nothing retries the failed version on its own.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(await deploymentImage(ns), 'shop:1');
  assert.equal((await admin.get(WebAppKind, ns, 'shop'))?.status?.image, 'shop:1');
});
