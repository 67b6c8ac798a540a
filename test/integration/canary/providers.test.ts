/**
 * Each routing provider end to end on the real control plane: the weights in the
 * VirtualService, the canary Ingress and the HTTPRoute follow the steps, the canary pods
 * are selected only where they should be, and the release ends with the routes plain,
 * the new image on stable and nothing of the canary left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import {
  keepLog,
  createApp,
  createRelease,
  getDeployment,
  imageOf,
  names,
  releaseEnv,
  sampleSteps,
  waitPhase,
} from './support.ts';

const steps: CanaryDeploymentSpec['strategy'] = {
  type: 'Linear',
  steps: [
    { weight: 20, pause: '1s' },
    { weight: 60, pause: '1s' },
    { weight: 100, pause: '1s' },
  ],
};

async function canaryPodLabels(admin: KubeClient, ns: string): Promise<Record<string, string>[]> {
  const pods = await admin.list(kinds.Pod, {
    namespace: ns,
    labelSelector: 'deploy.codedance.io/role=canary',
  });
  return pods.items.map((p) => p.metadata.labels ?? {});
}

/** Runs one release and checks the weight `read` returns at each step. */
async function release(
  admin: KubeClient,
  ns: string,
  traffic: CanaryDeploymentSpec['traffic'],
  read: () => Promise<number | undefined>,
): Promise<{ weights: Map<number, Set<number | undefined>> }> {
  const sampler = sampleSteps(admin, ns, 'myapp', read, 100);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    traffic,
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 150_000);
  const samples = await sampler.stop();
  const weights = new Map<number, Set<number | undefined>>();
  for (const s of samples) {
    if (s.phase !== 'Progressing' || s.step === undefined) continue;
    const set = weights.get(s.step) ?? new Set();
    set.add(s.seen);
    weights.set(s.step, set);
  }
  for (const [step, weight] of [
    [0, 20],
    [1, 60],
    [2, 100],
  ] as const) {
    assert.ok(
      weights.get(step)?.has(weight),
      `step ${step}: ${weight}% written (saw ${[...(weights.get(step) ?? [])].join(',')})`,
    );
  }
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
  assert.equal(done.status?.currentWeight, 0);
  assert.ok(
    !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'),
    'canary Deployment removed',
  );
  assert.ok(!(await names(admin, kinds.Service, ns)).includes('myapp-canary'), 'canary Service removed');
  return { weights };
}

test('Istio: VirtualService weights between the stable and canary subsets', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  const other = { name: 'billing', route: [{ destination: { host: 'billing' } }] };
  await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name: 'myapp', namespace: ns },
    spec: {
      hosts: ['myapp'],
      http: [other, { name: 'primary', route: [{ destination: { host: 'myapp', port: { number: 80 } } }] }],
    },
  });
  const read = async (): Promise<number | undefined> => {
    const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
    const route = vs?.spec.http?.find((r) => r.name === 'primary')?.route ?? [];
    return route.find((d) => d.destination.subset === 'canary')?.weight ?? 0;
  };
  let labels: Record<string, string>[] = [];
  const watcher = setInterval(
    () => void canaryPodLabels(admin, ns).then((l) => (l.length > 0 ? (labels = l) : undefined)),
    300,
  );
  try {
    await release(admin, ns, { provider: 'Istio', istio: { virtualService: 'myapp' } }, read);
  } finally {
    clearInterval(watcher);
  }
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.deepEqual(vs?.spec.http?.[0], other, "a route that is not the release's is untouched");
  assert.equal(await read(), 0);
  const stable = await getDeployment(admin, ns, 'myapp');
  assert.equal(
    stable?.spec?.template?.metadata?.labels?.['deploy.codedance.io/role'],
    undefined,
    "nothing of ours on the user's pod template (the stable subset selects the pod-template-hash)",
  );
  assert.ok(
    labels.length > 0 && labels.every((l) => l['app'] === 'myapp'),
    'canary pods are endpoints of the stable Service (Istio splits them by subset)',
  );
});

test('Nginx: a canary Ingress with canary-weight, removed at the end', { timeout: 180_000 }, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
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
  let labels: Record<string, string>[] = [];
  const read = async (): Promise<number | undefined> => {
    const l = await canaryPodLabels(admin, ns);
    if (l.length > 0) labels = l;
    const ing = await admin.get<Ingress>(kinds.Ingress, ns, 'web-canary');
    return ing ? Number(ing.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] ?? 0) : 0;
  };
  await release(admin, ns, { provider: 'Nginx', nginx: { ingress: 'web' } }, read);
  assert.ok(!(await names(admin, kinds.Ingress, ns)).includes('web-canary'), 'canary Ingress removed');
  assert.ok(
    labels.length > 0 && labels.every((l) => l['app'] === undefined),
    'canary pods are outside the stable Service (reached through myapp-canary only)',
  );
});

test('Gateway API: HTTPRoute backendRef weights, back to one backend at the end', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  interface HTTPRoute extends KubeObject {
    spec: { rules?: { name?: string; backendRefs?: { name: string; port?: number; weight?: number }[] }[] };
  }
  await admin.create<HTTPRoute>(kinds.HTTPRoute, {
    metadata: { name: 'web', namespace: ns },
    spec: { rules: [{ name: 'app', backendRefs: [{ name: 'myapp', port: 80 }] }] } as HTTPRoute['spec'],
  });
  const refs = async () =>
    (await admin.get<HTTPRoute>(kinds.HTTPRoute, ns, 'web'))?.spec.rules?.[0]?.backendRefs ?? [];
  const read = async (): Promise<number | undefined> =>
    (await refs()).find((r) => r.name === 'myapp-canary')?.weight ?? 0;
  await release(admin, ns, { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } }, read);
  const final = await refs();
  assert.deepEqual(
    final.map((r) => r.name),
    ['myapp'],
    'only the stable backend is left',
  );
});
