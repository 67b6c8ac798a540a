/**
 * The WebApp controller on the real control plane (pods run under kwok): a WebApp becomes
 * a running Deployment + Service + ConfigMap, follows every spec change, repairs what is
 * deleted or edited behind its back, refuses what cannot work, and cleans up on delete.
 * The controller runs as its own process under the shipped ClusterRole.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { KubeApiError } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { WebApp, WebAppSpec } from '../../../src/api/webapp.ts';
import type { Deployment } from '../../../src/runtime/core-types.ts';
import { ConfigHashAnnotation } from '../../../src/webapp/children.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { errorLines, installApi, startController } from '../../support/controller.ts';
import { CanaryDeploymentKind, WebAppKind } from '../../../src/api/kinds.ts';

interface KubeEvent extends KubeObject {
  reason: string;
  note?: string;
  type: string;
  regarding: { kind?: string; name?: string };
}

// At the top level, not in a hook: testCluster() registers the client's close with the
// file's root, which a hook would scope to itself.
const { admin } = await testCluster();

before(() => installApi(admin));

function webapp(namespace: string, name: string, spec: WebAppSpec): WebApp {
  return { apiVersion: 'apps.codedance.io/v1alpha1', kind: 'WebApp', metadata: { name, namespace }, spec };
}

async function getWebApp(namespace: string, name: string): Promise<WebApp | undefined> {
  return admin.get(WebAppKind, namespace, name);
}

function condition(app: WebApp | undefined, type: string) {
  return app?.status?.conditions?.find((c) => c.type === type);
}

/** The WebApp once it has observed its latest generation and is Running with Ready True. */
async function waitReady(
  namespace: string,
  name: string,
  what: string,
  extra: (app: WebApp) => boolean = () => true,
): Promise<WebApp> {
  return waitFor(
    async () => {
      const app = await getWebApp(namespace, name);
      return app &&
        app.status?.observedGeneration === app.metadata.generation &&
        app.status?.phase === 'Running' &&
        condition(app, 'Ready')?.status === 'True' &&
        extra(app)
        ? app
        : undefined;
    },
    { timeoutMs: 90_000, describe: what },
  );
}

async function eventReasons(namespace: string, name: string): Promise<string[]> {
  const list = await admin.list<KubeEvent>(kinds.Event, { namespace });
  return list.items
    .filter((e) => e.regarding.kind === 'WebApp' && e.regarding.name === name)
    .map((e) => e.reason);
}

function imageOf(deployment: Deployment | undefined): string | undefined {
  return deployment?.spec?.template?.spec?.containers[0]?.image;
}

test('a WebApp runs, scales, takes new env and images, repairs drift and is cleaned up', async (t) => {
  const ns = await testNamespace(t);
  const controller = await startController(t, { namespaces: [ns], controllers: ['webapp'] });
  // Every phase the WebApp goes through, from a watch (each write is one event).
  const phases: string[] = [];
  const watching = new AbortController();
  t.after(() => watching.abort());
  const watched = (async () => {
    for await (const event of admin.watch(WebAppKind, { namespace: ns }, watching.signal)) {
      const phase = event.type === 'MODIFIED' ? event.object.status?.phase : undefined;
      if (phase && phases.at(-1) !== phase) phases.push(phase);
    }
  })().catch(() => undefined);
  await admin.create(
    WebAppKind,
    webapp(ns, 'shop', { image: 'shop:1', replicas: 2, env: [{ name: 'MODE', value: 'a' }] }),
  );

  // Created: three children, each controlled by the WebApp.
  const created = await getWebApp(ns, 'shop');
  assert.ok(created?.metadata.uid);
  const deployment = await waitFor(() => admin.get(kinds.Deployment, ns, 'shop'), {
    timeoutMs: 90_000,
    describe: 'the Deployment',
  });
  const service = await waitFor(() => admin.get(kinds.Service, ns, 'shop'), {
    timeoutMs: 90_000,
    describe: 'the Service',
  });
  const configMap = await waitFor(() => admin.get(kinds.ConfigMap, ns, 'shop-config'), {
    timeoutMs: 90_000,
    describe: 'the ConfigMap',
  });
  for (const child of [deployment, service, configMap]) {
    assert.deepEqual(
      child.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [['WebApp', 'shop', created?.metadata.uid, true]],
    );
    assert.equal(child.metadata.labels?.['app.kubernetes.io/managed-by'], 'codedance');
  }
  assert.deepEqual(configMap.data, { MODE: 'a' });
  const pod = deployment.spec?.template?.spec;
  assert.ok(pod, 'a pod template');
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
  assert.deepEqual(pod.containers[0]?.envFrom, [{ configMapRef: { name: 'shop-config' } }]);
  assert.deepEqual(service.spec?.selector, { 'app.kubernetes.io/name': 'shop' });

  // Running: kwok makes the pods Ready, the WebApp reports it.
  const running = await waitReady(
    ns,
    'shop',
    'WebApp Running with 2 ready replicas',
    (app) => app.status?.readyReplicas === 2,
  );
  assert.equal(running.status?.image, 'shop:1');
  assert.equal(condition(running, 'Ready')?.observedGeneration, running.metadata.generation);
  assert.equal(condition(running, 'Degraded')?.status, 'False');
  assert.ok(running.metadata.finalizers?.includes('apps.codedance.io/cleanup'));
  await waitFor(() => phases.includes('Running'), {
    timeoutMs: 90_000,
    describe: `phase Running in the watch; saw ${phases.join(' → ')}`,
  });
  assert.deepEqual(phases.slice(0, 3), ['Pending', 'Creating', 'Running']);
  watching.abort();
  await watched;
  const pods = await admin.list(kinds.Pod, { namespace: ns, labelSelector: 'app.kubernetes.io/name=shop' });
  assert.equal(
    pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .length,
    2,
  );
  await waitFor(
    async () => {
      const reasons = await eventReasons(ns, 'shop');
      return ['Created', 'Creating', 'Running'].every((r) => reasons.includes(r));
    },
    { timeoutMs: 90_000, describe: 'Created, Creating and Running Events' },
  );

  // Steady: nothing is written while nothing changes (apply skips no-op writes).
  const versions = async () =>
    Promise.all([
      getWebApp(ns, 'shop'),
      admin.get(kinds.Deployment, ns, 'shop'),
      admin.get(kinds.Service, ns, 'shop'),
      admin.get(kinds.ConfigMap, ns, 'shop-config'),
    ]).then((objs) => objs.map((o) => o?.metadata.resourceVersion));
  const steady = await versions();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.deepEqual(await versions(), steady, 'no writes while steady');

  // Scale.
  await admin.patch(WebAppKind, ns, 'shop', { spec: { replicas: 3 } }, 'merge');
  await waitReady(ns, 'shop', 'WebApp scaled to 3 ready replicas', (app) => app.status?.readyReplicas === 3);
  assert.equal((await admin.get(kinds.Deployment, ns, 'shop'))?.spec?.replicas, 3);

  // Env: the ConfigMap changes and so does the pod template's hash, which rolls the pods.
  const hashBefore = (await admin.get(kinds.Deployment, ns, 'shop'))?.spec?.template?.metadata?.annotations?.[
    ConfigHashAnnotation
  ];
  assert.match(hashBefore ?? '', /^[0-9a-f]{64}$/);
  await admin.patch(
    WebAppKind,
    ns,
    'shop',
    {
      spec: {
        env: [
          { name: 'MODE', value: 'b' },
          { name: 'LEVEL', value: '2' },
        ],
      },
    },
    'merge',
  );
  await waitFor(async () => (await admin.get(kinds.ConfigMap, ns, 'shop-config'))?.data?.MODE === 'b', {
    timeoutMs: 90_000,
    describe: 'ConfigMap MODE=b',
  });
  const hashAfter = await waitFor(
    async () => {
      const hash = (await admin.get(kinds.Deployment, ns, 'shop'))?.spec?.template?.metadata?.annotations?.[
        ConfigHashAnnotation
      ];
      return hash !== hashBefore ? hash : undefined;
    },
    { timeoutMs: 90_000, describe: 'a new config hash on the pod template' },
  );
  const afterEnv = await waitReady(
    ns,
    'shop',
    'WebApp rolled out the new env',
    (app) => app.status?.configHash === hashAfter,
  );
  assert.equal(afterEnv.status?.readyReplicas, 3);

  // Image without a release policy: rolls in place.
  await admin.patch(WebAppKind, ns, 'shop', { spec: { image: 'shop:2' } }, 'merge');
  await waitReady(ns, 'shop', 'WebApp running shop:2', (app) => app.status?.image === 'shop:2');
  assert.equal(imageOf(await admin.get(kinds.Deployment, ns, 'shop')), 'shop:2');
  assert.equal(
    await admin.get(CanaryDeploymentKind, ns, 'shop'),
    undefined,
    'no CanaryDeployment without spec.release',
  );

  // A deleted child comes back.
  const oldService = await admin.get(kinds.Service, ns, 'shop');
  await admin.delete(kinds.Service, ns, 'shop');
  const newService = await waitFor(
    async () => {
      const s = await admin.get(kinds.Service, ns, 'shop');
      return s && s.metadata.uid !== oldService?.metadata.uid ? s : undefined;
    },
    { timeoutMs: 90_000, describe: 'the Service recreated' },
  );
  assert.deepEqual(newService.spec?.selector, { 'app.kubernetes.io/name': 'shop' });
  await admin.delete(kinds.ConfigMap, ns, 'shop-config');
  await waitFor(async () => (await admin.get(kinds.ConfigMap, ns, 'shop-config'))?.data?.MODE === 'b', {
    timeoutMs: 90_000,
    describe: 'the ConfigMap recreated',
  });

  // A hand-edited child is repaired (as `kubectl edit` would change it: another field manager).
  await admin.raw(
    'PATCH',
    `/apis/apps/v1/namespaces/${ns}/deployments/shop?fieldManager=kubectl-edit`,
    { spec: { replicas: 7, template: { spec: { containers: [{ name: 'app', image: 'evil:1' }] } } } },
    'application/strategic-merge-patch+json',
  );
  await waitFor(
    async () => {
      const d = await admin.get(kinds.Deployment, ns, 'shop');
      return d?.spec?.replicas === 3 && imageOf(d) === 'shop:2';
    },
    { timeoutMs: 90_000, describe: 'the Deployment repaired to 3 replicas of shop:2' },
  );
  await admin.patch(kinds.ConfigMap, ns, 'shop-config', { data: { MODE: 'hacked' } }, 'merge');
  await waitFor(async () => (await admin.get(kinds.ConfigMap, ns, 'shop-config'))?.data?.MODE === 'b', {
    timeoutMs: 90_000,
    describe: 'the ConfigMap repaired',
  });
  await waitFor(async () => (await eventReasons(ns, 'shop')).includes('DriftRepaired'), {
    timeoutMs: 90_000,
    describe: 'a DriftRepaired Event',
  });
  await waitFor(async () => (await eventReasons(ns, 'shop')).includes('Recreated'), {
    timeoutMs: 90_000,
    describe: 'a Recreated Event',
  });

  // Delete: the WebApp goes, and its children with it.
  await admin.delete(WebAppKind, ns, 'shop');
  await waitFor(async () => (await getWebApp(ns, 'shop')) === undefined, {
    timeoutMs: 90_000,
    describe: 'the WebApp gone',
  });
  for (const [kind, name] of [
    [kinds.Deployment, 'shop'],
    [kinds.Service, 'shop'],
    [kinds.ConfigMap, 'shop-config'],
  ] as const) {
    await waitFor(async () => (await admin.get(kind, ns, name)) === undefined, {
      timeoutMs: 90_000,
      describe: `${kind.kind} ${name} gone`,
    });
  }
  await waitFor(
    async () =>
      (await admin.list(kinds.Pod, { namespace: ns, labelSelector: 'app.kubernetes.io/name=shop' })).items
        .length === 0,
    {
      timeoutMs: 90_000,
      describe: 'the pods gone',
    },
  );
  const reasons = await eventReasons(ns, 'shop');
  assert.ok(reasons.includes('Deleting') && reasons.includes('Deleted'), `Events: ${reasons.join(', ')}`);
  assert.equal(errorLines(controller).includes('"level":"error"'), false, errorLines(controller));
});

test('an invalid WebApp is refused by the API server, or ends Failed when only the controller can tell', async (t) => {
  const ns = await testNamespace(t);
  await startController(t, { namespaces: [ns], controllers: ['webapp'] });

  // The schema refuses replicas 11 with a message on the field.
  await assert.rejects(
    admin.create(WebAppKind, webapp(ns, 'big', { image: 'x:1', replicas: 11 })),
    (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.statusCode, 422);
      assert.match(err.message, /spec\.replicas/);
      return true;
    },
  );

  // A valid object name that cannot name a Service: Failed, Ready False, a Warning, no children.
  await admin.create(WebAppKind, webapp(ns, 'web.v2', { image: 'x:1' }));
  const failed = await waitFor(
    async () => {
      const app = await getWebApp(ns, 'web.v2');
      return app?.status?.phase === 'Failed' ? app : undefined;
    },
    { timeoutMs: 90_000, describe: 'WebApp web.v2 Failed' },
  );
  assert.match(failed.status?.message ?? '', /cannot name the WebApp's Service/);
  assert.equal(condition(failed, 'Ready')?.status, 'False');
  assert.equal(condition(failed, 'Ready')?.reason, 'InvalidSpec');
  assert.equal(condition(failed, 'Degraded')?.status, 'True');
  await waitFor(async () => (await eventReasons(ns, 'web.v2')).includes('InvalidSpec'), {
    timeoutMs: 90_000,
    describe: 'an InvalidSpec Warning',
  });
  assert.equal(await admin.get(kinds.Deployment, ns, 'web.v2'), undefined);

  // A name taken by a Deployment the WebApp does not own: Failed with NameConflict, and
  // resumes on its own once that Deployment is deleted.
  const labels = { app: 'taken' };
  await admin.create(kinds.Deployment, {
    metadata: { name: 'taken', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'other:1' }] } },
    },
  } as Deployment);
  await admin.create(WebAppKind, webapp(ns, 'taken', { image: 'x:1' }));
  const conflict = await waitFor(
    async () => {
      const app = await getWebApp(ns, 'taken');
      return app?.status?.phase === 'Failed' ? app : undefined;
    },
    { timeoutMs: 90_000, describe: 'WebApp taken Failed' },
  );
  assert.equal(condition(conflict, 'Ready')?.reason, 'NameConflict');
  assert.match(
    conflict.status?.message ?? '',
    /Deployment taken already exists and is not controlled by this WebApp/,
  );
  assert.equal(
    imageOf(await admin.get(kinds.Deployment, ns, 'taken')),
    'other:1',
    'the foreign Deployment is left alone',
  );
  // No hot loop: the Failed WebApp settles (the runtime's error policy may still write
  // its condition once) and is then left alone.
  await waitFor(
    async () => {
      const version = (await getWebApp(ns, 'taken'))?.metadata.resourceVersion;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return (await getWebApp(ns, 'taken'))?.metadata.resourceVersion === version;
    },
    { timeoutMs: 90_000, describe: 'the Failed WebApp unchanged for 3s' },
  );

  await admin.delete(kinds.Deployment, ns, 'taken');
  await waitReady(ns, 'taken', 'WebApp taken Running after the conflict went away');
  const owned = await admin.get(kinds.Deployment, ns, 'taken');
  assert.equal(owned?.metadata.ownerReferences?.[0]?.kind, 'WebApp');
});
