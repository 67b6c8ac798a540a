/**
 * Every TrafficError kind on the real control plane, each caused the way a user's cluster
 * would cause it, reaches the user: a `TrafficReady` condition with the kind's reason, a
 * Warning Event, and then either a retry (the release holds, moves no traffic, and goes
 * on once the cause is gone) or a stop (all traffic back on stable, canary removed,
 * phase Failed with the reason). See src/canary/error-policy.ts for the table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import {
  createKubeClient,
  resourcePath,
  type KubeClient,
  type KubeObject,
} from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { ResourceKind } from '../../../src/runtime/kinds.ts';
import { createManager } from '../../../src/runtime/manager.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { canaryController } from '../../../src/canary/controller.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import { testCluster } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
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
  canaryIngressWeight,
  conditionOf,
  virtualServiceCanaryWeight,
  waitCondition,
  waitWarning,
} from './traffic-checks.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

/** Step 1 holds long enough for every check; nothing here waits for it to end. */
const hold: CanaryDeploymentSpec['strategy'] = {
  type: 'Linear',
  steps: [
    { weight: 20, pause: '10m' },
    { weight: 100, pause: '0s' },
  ],
};
const timeout = 180_000;

const istio = (virtualService = 'myapp'): CanaryDeploymentSpec['traffic'] => ({
  provider: 'Istio',
  istio: { virtualService },
});
const nginx: CanaryDeploymentSpec['traffic'] = { provider: 'Nginx', nginx: { ingress: 'web' } };

function plainVirtualService(ns: string, name: string, host = 'myapp'): VirtualService {
  return {
    metadata: { name, namespace: ns },
    spec: {
      hosts: [host],
      http: [{ name: 'primary', route: [{ destination: { host, port: { number: 80 } } }] }],
    },
  } as VirtualService;
}

function ingress(ns: string, service: string): Ingress {
  return {
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
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/** The release holds: not Failed, no step entered, the TrafficReady condition says why. */
async function assertHeld(admin: KubeClient, ns: string, reason: string, says: RegExp): Promise<void> {
  const cd = await waitCondition(admin, ns, 'myapp', 'TrafficReady', 'False', reason);
  assert.match(conditionOf(cd, 'TrafficReady')?.message ?? '', says);
  assert.match(await waitWarning(admin, ns, 'myapp', reason), says);
  assert.notEqual(cd.status?.phase, 'Failed');
  assert.ok((cd.status?.currentWeight ?? 0) === 0, 'no step was entered');
}

test('NotFound: a VirtualService that does not exist holds the release (TrafficObjectNotFound); it goes on once it exists', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: istio(),
  });
  await assertHeld(admin, ns, 'TrafficObjectNotFound', /VirtualService .*\/myapp not found.*create it/);
  await admin.create(kinds.VirtualService, plainVirtualService(ns, 'myapp'));
  await waitFor(async () => (await virtualServiceCanaryWeight(admin, ns, 'myapp')) === 20, {
    describe: 'weight 20 once the VirtualService exists',
    timeoutMs: 120_000,
  });
  await waitCondition(admin, ns, 'myapp', 'TrafficReady', 'True');
});

test('NoRoutes: an Ingress with no path to the stable Service holds the release (TrafficNoRoutes); fixed, it goes on', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.Ingress, ingress(ns, 'billing'));
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: nginx,
  });
  await assertHeld(
    admin,
    ns,
    'TrafficNoRoutes',
    /Ingress .*\/web has no path whose backend is Service myapp/,
  );
  assert.ok(!(await names(admin, kinds.Ingress, ns)).includes('web-canary'), 'no canary Ingress was made');
  const current = await admin.get<Ingress>(kinds.Ingress, ns, 'web');
  await admin.patch(
    kinds.Ingress,
    ns,
    'web',
    { spec: ingress(ns, 'myapp').spec, metadata: { resourceVersion: current?.metadata.resourceVersion } },
    'merge',
  );
  await waitFor(async () => (await canaryIngressWeight(admin, ns, 'web-canary')) === 20, {
    describe: 'canary Ingress at 20 once the path exists',
    timeoutMs: 120_000,
  });
});

test('UnsupportedRoute: a route that also sends traffic elsewhere is left alone (TrafficUnsupportedRoute)', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  const mixed = {
    name: 'primary',
    route: [
      { destination: { host: 'myapp' }, weight: 90 },
      { destination: { host: 'legacy' }, weight: 10 },
    ],
  };
  const created = await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name: 'myapp', namespace: ns },
    spec: { hosts: ['myapp'], http: [mixed] },
  } as VirtualService);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: istio(),
  });
  await assertHeld(
    admin,
    ns,
    'TrafficUnsupportedRoute',
    /also sends traffic to other hosts.*nothing was written/,
  );
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.deepEqual(vs?.spec.http, created.spec.http, 'the route is as the user wrote it');
  // Split as the message says: the release goes on by itself.
  await admin.patch(
    kinds.VirtualService,
    ns,
    'myapp',
    { spec: plainVirtualService(ns, 'myapp').spec },
    'merge',
  );
  await waitFor(async () => (await virtualServiceCanaryWeight(admin, ns, 'myapp')) === 20, {
    describe: 'weight 20 once the route stands alone',
    timeoutMs: 120_000,
  });
});

test("NameTaken: an Ingress named like the canary Ingress that is not the release's is never changed (TrafficNameTaken)", {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.Ingress, ingress(ns, 'myapp'));
  const theirs = await admin.create<Ingress>(kinds.Ingress, {
    ...ingress(ns, 'other'),
    metadata: { name: 'web-canary', namespace: ns, annotations: { team: 'payments' } },
  });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: nginx,
  });
  await assertHeld(
    admin,
    ns,
    'TrafficNameTaken',
    /Ingress .*\/web-canary exists and is not this release's.*not changed/,
  );
  const after = await admin.get<Ingress>(kinds.Ingress, ns, 'web-canary');
  assert.equal(
    after?.metadata.resourceVersion,
    theirs.metadata.resourceVersion,
    'their Ingress was not written',
  );
});

test('Conflict: a VirtualService written by someone else before every write of ours holds the release (TrafficConflict); it goes on when they stop', {
  timeout,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.VirtualService, plainVirtualService(ns, 'myapp'));
  // The controller runs in this process so the competing write can land between its read
  // and its write each time (a free-running writer hits that window only by luck); the
  // 409s are the API server's own, from its resourceVersion check.
  const cluster = await testCluster();
  const client = await createKubeClient({
    kubeconfigPath: cluster.controllerKubeconfigPath || cluster.kubeconfigPath,
  });
  let competing = true;
  let competingWrites = 0;
  const interfering: KubeClient = {
    ...client,
    async patch<T extends KubeObject>(
      kind: ResourceKind<T>,
      namespace: string | undefined,
      name: string,
      patch: unknown,
      type: Parameters<KubeClient['patch']>[4],
      opts?: { subresource?: string },
    ) {
      if (competing && kind.kind === 'VirtualService' && type === 'merge') {
        competingWrites++;
        await admin.patch(
          kinds.VirtualService,
          namespace,
          name,
          { metadata: { annotations: { 'example.com/touched': String(competingWrites) } } },
          'merge',
        );
      }
      return client.patch<T>(kind, namespace, name, patch, type, opts);
    },
  };
  const manager = createManager({
    client: interfering,
    log: createLogger({ level: 'warn' }),
    namespaces: [ns],
    identity: 'provider-errors-conflict',
  });
  manager.add(canaryController());
  await manager.start();
  t.after(async () => {
    await manager.stop();
    await client.close();
  });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: istio(),
  });
  await assertHeld(admin, ns, 'TrafficConflict', /VirtualService .*\/myapp kept changing during 6 attempts/);
  assert.equal(await virtualServiceCanaryWeight(admin, ns, 'myapp'), 0);
  competing = false;
  await waitFor(async () => (await virtualServiceCanaryWeight(admin, ns, 'myapp')) === 20, {
    describe: 'weight 20 once nobody competes',
    timeoutMs: 120_000,
  });
  await waitCondition(admin, ns, 'myapp', 'TrafficReady', 'True');
});

/** admissionregistration.k8s.io/v1 MutatingAdmissionPolicy and its binding (GA in Kubernetes 1.36). */
const MutatingAdmissionPolicy: ResourceKind = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  kind: 'MutatingAdmissionPolicy',
  plural: 'mutatingadmissionpolicies',
  namespaced: false,
};
const MutatingAdmissionPolicyBinding: ResourceKind = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  kind: 'MutatingAdmissionPolicyBinding',
  plural: 'mutatingadmissionpolicybindings',
  namespaced: false,
};

test('ReadBackMismatch: an admission policy that pins the canary weight holds the release (TrafficReadBackMismatch); without it, it goes on', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.Ingress, ingress(ns, 'myapp'));
  // A platform policy of the kind a real cluster has: every web-canary Ingress of this
  // namespace is stored with canary-weight "0", whatever was written.
  const name = `pin-canary-weight-${ns}`;
  await admin.create(MutatingAdmissionPolicy, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicy',
    metadata: { name },
    spec: {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['networking.k8s.io'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['ingresses'],
          },
        ],
      },
      matchConditions: [{ name: 'canary-ingress', expression: "object.metadata.name == 'web-canary'" }],
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      mutations: [
        {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            expression:
              'Object{metadata: Object.metadata{annotations: {"nginx.ingress.kubernetes.io/canary-weight": "0"}}}',
          },
        },
      ],
    },
  } as KubeObject);
  t.after(() => admin.delete(MutatingAdmissionPolicy, undefined, name).then(() => undefined));
  await admin.create(MutatingAdmissionPolicyBinding, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
    },
  } as KubeObject);
  t.after(() => admin.delete(MutatingAdmissionPolicyBinding, undefined, name).then(() => undefined));
  // The policy takes effect once the API server has loaded it: prove it on an Ingress of ours first.
  await waitFor(
    async () => {
      const body = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'web-canary',
          namespace: ns,
          annotations: { 'nginx.ingress.kubernetes.io/canary-weight': '7' },
        },
        spec: ingress(ns, 'myapp').spec,
      };
      const probe = await admin
        .raw<Ingress>('POST', `${resourcePath(kinds.Ingress, ns)}?dryRun=All`, body)
        .catch(() => undefined);
      return probe?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] === '0';
    },
    {
      describe: 'the admission policy in force (a dry-run create comes back with weight 0)',
      timeoutMs: 30_000,
    },
  );
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: nginx,
  });
  await assertHeld(
    admin,
    ns,
    'TrafficReadBackMismatch',
    /canary Ingress .*\/web-canary reads weight 0 after writing 20.*mutating admission policy/,
  );
  await admin.delete(MutatingAdmissionPolicyBinding, undefined, name);
  await waitFor(async () => (await canaryIngressWeight(admin, ns, 'web-canary')) === 20, {
    describe: 'canary Ingress at 20 once the policy is gone',
    timeoutMs: 150_000,
  });
});

test('InvalidTarget: a weight outside 0-100 found in status by a restarted controller stops the release with all traffic on stable', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.VirtualService, plainVirtualService(ns, 'myapp'));
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: hold,
    traffic: istio(),
  });
  await waitFor(async () => (await virtualServiceCanaryWeight(admin, ns, 'myapp')) === 20, {
    describe: 'step 1 at 20%',
    timeoutMs: 90_000,
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.currentWeight === 20, {
    describe: 'status at 20%',
  });
  // The controller is down while a tool (or a hand) writes a weight no provider can carry.
  await killHard(controller!);
  await admin.patch(CanaryDeploymentKind, ns, 'myapp', { status: { currentWeight: 150 } }, 'merge', {
    subresource: 'status',
  });
  const restarted = await startCanaryController(t, ns);
  keepLog(t, restarted);
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'TrafficInvalidTarget');
  assert.match(failed.status?.message ?? '', /weight must be an integer from 0 to 100, got 150/);
  assert.equal(conditionOf(failed, 'Progressing')?.status, 'False');
  assert.equal(conditionOf(failed, 'Progressing')?.reason, 'TrafficInvalidTarget');
  assert.match(await waitWarning(admin, ns, 'myapp', 'TrafficInvalidTarget'), /all traffic on stable/);
  assert.equal(await virtualServiceCanaryWeight(admin, ns, 'myapp'), 0, 'no traffic on the canary');
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'canary removed',
  });
});
