/**
 * A release never restarts production before its promotion: with every provider (and
 * BlueGreen), the stable Deployment's pod template and its pods (by uid) stay as they
 * were until the promotion itself, while at every step the routing objects reach the
 * right pods (the Istio subsets, the stable and canary Services select only their own
 * version's pods) and the simulator reads the step's weight. The promotion moves all
 * traffic to the canary before the stable Deployment rolls by its own strategy, with
 * Events at its start and its end. A stable template carrying the `role: stable` label
 * an earlier version added keeps working and is left as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import type { DestinationRule, VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  keepLog,
  releaseEnv,
  waitPhase,
} from './support.ts';
import type { Pod } from '../../../src/runtime/core-types.ts';

interface KubeEvent extends KubeObject {
  reason?: string;
  note?: string;
  regarding?: { name?: string; kind?: string };
}

interface HTTPRoute extends KubeObject {
  spec: { rules?: { name?: string; backendRefs?: { name: string; port?: number; weight?: number }[] }[] };
}

const RoleLabel = 'deploy.codedance.io/role';

function selectorText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

async function livePods(admin: KubeClient, ns: string, labels?: Record<string, string>): Promise<Pod[]> {
  const list = await admin.list(kinds.Pod, {
    namespace: ns,
    ...(labels ? { labelSelector: selectorText(labels) } : {}),
  });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const isCanary = (p: Pod) => p.metadata.labels?.[RoleLabel] === 'canary';

/** The routing objects of each provider and what tells which pods they reach. */
interface Scenario {
  name: string;
  traffic: CanaryDeploymentSpec['traffic'];
  strategy: CanaryDeploymentSpec['strategy'];
  /** Weights the steps hold, in order. */
  weights: number[];
  /** Creates the user's routing objects. */
  setup(admin: KubeClient, ns: string): Promise<void>;
  /**
   * Checks the routing reaches the right pods now; returns problems (empty when right).
   * `stableUids`: the stable pods from before the release.
   */
  check(admin: KubeClient, ns: string, stableUids: Set<string>): Promise<string[]>;
  /** Stable pods may go (Replicas scales the stable Deployment down), never be replaced. */
  stableScales?: boolean;
  /** Replicas of the app. @default 2 */
  replicas?: number;
}

const ingress = (admin: KubeClient, ns: string) =>
  admin.create<Ingress>(kinds.Ingress, {
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

/** Nginx and Gateway API: the stable Service reaches no canary pod, the canary Service only canary pods. */
async function separateServices(admin: KubeClient, ns: string, canaryService: string): Promise<string[]> {
  const problems: string[] = [];
  const stableSvc = await admin.get(kinds.Service, ns, 'myapp');
  const stableSelected = await livePods(admin, ns, stableSvc?.spec?.selector ?? {});
  if (stableSelected.some(isCanary)) problems.push('the stable Service selects canary pods');
  if (stableSelected.length === 0) problems.push('the stable Service selects no pod');
  const canarySvc = await admin.get(kinds.Service, ns, canaryService);
  if (canarySvc) {
    const selected = await livePods(admin, ns, canarySvc.spec?.selector ?? {});
    if (selected.some((p) => !isCanary(p))) problems.push(`${canaryService} selects stable pods`);
  }
  return problems;
}

/** Istio: the stable subset selects only (and some of) the stable pods, the canary subset only canary pods. */
async function istioSubsets(admin: KubeClient, ns: string, stableUids: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  const dr = await admin.get<DestinationRule>(kinds.DestinationRule, ns, 'myapp');
  const stable = dr?.spec.subsets?.find((s) => s.name === 'stable')?.labels;
  const canary = dr?.spec.subsets?.find((s) => s.name === 'canary')?.labels;
  if (!stable || !canary) return dr ? ['subsets missing'] : [];
  if (Object.keys(stable).length === 0)
    return ['the stable subset has no labels (it would select every pod)'];
  const stablePods = await livePods(admin, ns, stable);
  if (stablePods.length === 0) problems.push(`the stable subset (${selectorText(stable)}) selects no pod`);
  for (const p of stablePods)
    if (!stableUids.has(p.metadata.uid ?? ''))
      problems.push(`the stable subset selects ${p.metadata.name}, not a stable pod`);
  for (const p of await livePods(admin, ns, canary))
    if (!isCanary(p)) problems.push(`the canary subset selects ${p.metadata.name}, a stable pod`);
  return problems;
}

const virtualService = async (admin: KubeClient, ns: string): Promise<void> =>
  void (await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name: 'myapp', namespace: ns },
    spec: {
      hosts: ['myapp'],
      http: [{ name: 'primary', route: [{ destination: { host: 'myapp', port: { number: 80 } } }] }],
    },
  }));

const canarySteps: CanaryDeploymentSpec['strategy'] = {
  type: 'Linear',
  steps: [
    { weight: 30, pause: '2s' },
    { weight: 60, pause: '2s' },
  ],
};

const scenarios: Scenario[] = [
  {
    name: 'Istio',
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    strategy: canarySteps,
    weights: [30, 60],
    setup: virtualService,
    check: istioSubsets,
  },
  {
    name: 'Nginx',
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
    strategy: canarySteps,
    weights: [30, 60],
    setup: async (admin, ns) => void (await ingress(admin, ns)),
    check: (admin, ns) => separateServices(admin, ns, 'myapp-canary'),
  },
  {
    name: 'GatewayAPI',
    traffic: { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } },
    strategy: canarySteps,
    weights: [30, 60],
    setup: async (admin, ns) =>
      void (await admin.create<HTTPRoute>(kinds.HTTPRoute, {
        metadata: { name: 'web', namespace: ns },
        spec: { rules: [{ name: 'app', backendRefs: [{ name: 'myapp', port: 80 }] }] } as HTTPRoute['spec'],
      })),
    check: (admin, ns) => separateServices(admin, ns, 'myapp-canary'),
  },
  {
    name: 'Replicas',
    traffic: undefined,
    strategy: {
      type: 'Linear',
      steps: [
        { weight: 25, pause: '2s' },
        { weight: 50, pause: '2s' },
      ],
    },
    weights: [25, 50],
    stableScales: true,
    replicas: 4, // 25% of 4 pods is one pod: the ratio is the weight
    setup: async () => undefined,
    check: async (admin, ns) => {
      // One Service for both versions: it must reach the stable pods and the canary's alike.
      const svc = await admin.get(kinds.Service, ns, 'myapp');
      // One list of the pods, judged against the selector: two lists could see a canary pod
      // made between them in one and not the other.
      const selector = Object.entries(svc?.spec?.selector ?? {});
      const canaries = (await livePods(admin, ns)).filter(isCanary);
      return canaries.every((c) => selector.every(([key, value]) => c.metadata.labels?.[key] === value))
        ? []
        : ['the stable Service misses canary pods'];
    },
  },
  {
    name: 'BlueGreen (Istio)',
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    strategy: { type: 'BlueGreen', blueGreen: { previewPause: '2s', scaleDownDelay: '2s' } },
    weights: [0, 100],
    setup: virtualService,
    check: istioSubsets,
  },
];

for (const scenario of scenarios) {
  test(`${scenario.name}: no stable pod restarts before the promotion, and every step reaches the right pods`, {
    timeout: 240_000,
  }, async (t) => {
    const { admin, ns, controller } = await releaseEnv(t);
    keepLog(t, controller);
    await createApp(admin, ns, 'myapp', { replicas: scenario.replicas ?? 2 });
    await scenario.setup(admin, ns);
    const before = await getDeployment(admin, ns, 'myapp');
    const template = JSON.stringify(before?.spec?.template);
    const stableUids = new Set(
      (await livePods(admin, ns, { app: 'myapp' })).map((p) => p.metadata.uid ?? ''),
    );
    assert.equal(stableUids.size, scenario.replicas ?? 2);
    const sim = await startSimulator({ client: admin, namespaces: [ns], tickMs: 200 });
    t.after(() => sim.stop());

    await createRelease(admin, ns, 'myapp', {
      targetDeployment: 'myapp',
      canaryVersion: 'myapp:v2',
      strategy: scenario.strategy,
      ...(scenario.traffic ? { traffic: scenario.traffic } : {}),
    });
    const problems: string[] = [];
    const simShares = new Map<number, Set<number>>();
    let samples = 0;
    // Sample until the stable Deployment takes the new version (the promotion's rollout).
    for (const deadline = Date.now() + 150_000; Date.now() < deadline; ) {
      const cd = await getRelease(admin, ns, 'myapp');
      const stable = await getDeployment(admin, ns, 'myapp');
      if (imageOf(stable) === 'myapp:v2') break;
      const found: string[] = [];
      if (JSON.stringify(stable?.spec?.template) !== template)
        found.push(`the stable pod template changed: ${JSON.stringify(stable?.spec?.template)}`);
      const stablePods = (await livePods(admin, ns)).filter((p) => !isCanary(p));
      for (const p of stablePods)
        if (!stableUids.has(p.metadata.uid ?? ''))
          found.push(`a new stable pod ${p.metadata.name} (a restart)`);
      if (!scenario.stableScales && stablePods.length < stableUids.size)
        found.push(`stable pods went away (${stablePods.length} of ${stableUids.size})`);
      found.push(...(await scenario.check(admin, ns, stableUids)));
      // The promotion may have begun while we looked: only a sample wholly before it counts.
      if (imageOf(await getDeployment(admin, ns, 'myapp')) === 'myapp:v2') break;
      samples++;
      problems.push(...found);
      const step = cd?.status?.currentStepIndex;
      const share = sim.targets().find((x) => x.name === 'myapp')?.canaryShare;
      if (cd?.status?.phase === 'Progressing' && step !== undefined && share !== undefined) {
        const seen = simShares.get(step) ?? new Set<number>();
        seen.add(Math.round(share * 100));
        simShares.set(step, seen);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    assert.deepEqual([...new Set(problems)], [], `over ${samples} samples before the promotion`);
    scenario.weights.forEach(
      (w, i) =>
        void assert.ok(
          simShares.get(i)?.has(w),
          `step ${i + 1}: the simulator sends ${w}% to the canary (saw ${[...(simShares.get(i) ?? [])].join(',')})`,
        ),
    );

    const done = await waitPhase(admin, ns, 'myapp', 'Completed', 120_000);
    assert.equal(done.status?.currentWeight, 0);
    const events = (await admin.list<KubeEvent>(kinds.Event, { namespace: ns })).items
      .filter((e) => e.regarding?.kind === 'CanaryDeployment')
      .map((e) => e.reason);
    for (const reason of ['Promoting', 'StableRollingOut', 'StableRolledOut', 'Completed'])
      assert.ok(events.includes(reason), `a ${reason} Event (saw ${events.join(', ')})`);
    const history = (done.status?.history ?? []).map((h) => h.event);
    assert.ok(
      history.indexOf('Promoting') < history.indexOf('RollingOut') &&
        history.indexOf('RollingOut') < history.indexOf('RolledOut'),
      history.join(', '),
    );
    const after = await getDeployment(admin, ns, 'myapp');
    assert.equal(imageOf(after), 'myapp:v2');
    assert.equal(
      after?.spec?.template?.metadata?.labels?.[RoleLabel],
      undefined,
      "no label of ours on the user's pods",
    );
  });
}

test('promotion: all traffic on the canary while the stable Deployment rolls by its own maxSurge/maxUnavailable', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 3, minReadySeconds: 1 });
  await admin.patch(
    kinds.Deployment,
    ns,
    'myapp',
    { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } },
    'strategic',
  );
  await virtualService(admin, ns);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: canarySteps,
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  });
  const seen: { weight: number; pods: number; oldPods: number }[] = [];
  for (const deadline = Date.now() + 150_000; Date.now() < deadline; ) {
    const cd = await getRelease(admin, ns, 'myapp');
    if (cd?.status?.phase === 'Completed') break;
    const stable = await getDeployment(admin, ns, 'myapp');
    if (imageOf(stable) === 'myapp:v2' && cd?.status?.reason === 'Promoting') {
      const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
      const weight = vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0;
      const pods = (await livePods(admin, ns, { app: 'myapp' })).filter((p) => !isCanary(p));
      const oldPods = pods.filter(
        (p) =>
          (p as Pod & { spec?: { containers?: { image?: string }[] } }).spec?.containers?.[0]?.image ===
          'myapp:v1',
      ).length;
      seen.push({ weight, pods: pods.length, oldPods });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  const rolling = seen.filter((s) => s.oldPods > 0);
  assert.ok(rolling.length > 0, 'the stable rollout was seen');
  assert.ok(
    rolling.every((s) => s.weight === 100),
    `all traffic on the canary while old stable pods go (${JSON.stringify(rolling)})`,
  );
  assert.ok(
    rolling.every((s) => s.pods <= 4 && s.pods >= 3),
    `the Deployment's own maxSurge 1 / maxUnavailable 0 (${JSON.stringify(rolling)})`,
  );
  const events = (await admin.list<KubeEvent>(kinds.Event, { namespace: ns })).items.filter(
    (e) => e.reason === 'StableRollingOut',
  );
  assert.match(events[0]?.note ?? '', /maxSurge 1, maxUnavailable 0/);
});

test('a stable template an earlier version labelled role: stable keeps working and keeps its label', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2, labels: { [RoleLabel]: 'stable' } });
  await virtualService(admin, ns);
  const stableUids = new Set((await livePods(admin, ns, { app: 'myapp' })).map((p) => p.metadata.uid ?? ''));
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: canarySteps,
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  });
  const problems: string[] = [];
  for (const deadline = Date.now() + 150_000; Date.now() < deadline; ) {
    if (imageOf(await getDeployment(admin, ns, 'myapp')) === 'myapp:v2') break;
    problems.push(...(await istioSubsets(admin, ns, stableUids)));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual([...new Set(problems)], []);
  await waitPhase(admin, ns, 'myapp', 'Completed', 120_000);
  const after = await getDeployment(admin, ns, 'myapp');
  assert.equal(
    after?.spec?.template?.metadata?.labels?.[RoleLabel],
    'stable',
    'left as it is: removing it would restart the pods',
  );
});
