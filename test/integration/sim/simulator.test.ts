/**
 * The simulator on the real control plane: for each traffic provider, the objects a
 * release would have (Deployments, VirtualService, Ingresses, HTTPRoute, a
 * CanaryDeployment naming them) are created in a test namespace, and the exported
 * request counters must grow in the proportion the weights say, and follow a weight
 * change. Last, Prometheus scrapes the simulator and the analyzer's own built-in
 * queries read the canary's error rate from it.
 *
 * The CanaryDeployments are `paused` and their canary Deployments are made here, so
 * a controller that happens to watch the cluster has no step to take.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import {
  Deployment as DeploymentKind,
  HTTPRoute as HTTPRouteKind,
  Ingress as IngressKind,
  VirtualService as VirtualServiceKind,
} from '../../../src/runtime/kinds.ts';
import type { CanaryDeployment, TrafficSpec } from '../../../src/api/canary-deployment.ts';
import { builtInQuery } from '../../../src/analysis/queries.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../src/sim/simulator.ts';
import type { SimTarget } from '../../../src/sim/target.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { ensureTrafficCrds } from '../../support/controller.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

const Rps = 400;

// Connect at load time: the harness closes its client in an after() hook, which must
// belong to the file, not to whichever test happens to connect first.
await testCluster();

/** A Deployment whose pods kwok runs; `version` is the pods' version label. */
function deployment(namespace: string, name: string, replicas: number, version: string): KubeObject {
  const labels = { app: name, version };
  return {
    metadata: { namespace, name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: `example/web:${version}` }] },
      },
    },
  } as KubeObject;
}

function canaryDeployment(namespace: string, traffic?: TrafficSpec): CanaryDeployment {
  return {
    metadata: { namespace, name: 'release' },
    spec: { targetDeployment: 'web', canaryVersion: 'example/web:canary', paused: true, traffic },
  };
}

interface SetupOptions {
  replicas?: { stable: number; canary: number };
  /** Extra simulator options, given the namespace. */
  simulator?: (namespace: string) => Partial<SimulatorOptions>;
}

/** Namespace, CRDs, the stable and canary Deployments, and a simulator watching the namespace. */
async function setup(
  t: TestContext,
  options: SetupOptions = {},
): Promise<{ client: KubeClient; namespace: string; sim: Simulator }> {
  const replicas = options.replicas ?? { stable: 1, canary: 1 };
  const cluster = await testCluster();
  const client = cluster.admin;
  await ensureTrafficCrds(client);
  const namespace = await testNamespace(t);
  await client.create(DeploymentKind, deployment(namespace, 'web', replicas.stable, 'stable'));
  await client.create(DeploymentKind, deployment(namespace, 'web-canary', replicas.canary, 'canary'));
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [namespace],
    rps: Rps,
    tickMs: 100,
    seed: 1,
    ...options.simulator?.(namespace),
  });
  t.after(() => sim.stop());
  return { client, namespace, sim };
}

async function targetOf(sim: Simulator, share: number): Promise<SimTarget> {
  // The simulator's discovery starts with the test (its watches list first), and on a
  // loaded machine its pods and Deployments can take a while to be seen: a minute and a half.
  return waitFor(
    () =>
      sim.targets().find((t) => t.name === 'release' && t.serving && Math.abs(t.canaryShare - share) < 1e-9),
    {
      describe: `the simulator to read a canary share of ${share}`,
      timeoutMs: 90_000,
    },
  ).catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}; targets then: ${JSON.stringify(sim.targets().map((t) => [t.key, t.canaryShare, t.serving]))}`,
    );
  });
}

/** Samples of `name` in `text` whose labels contain every fragment, summed. */
function sumOf(text: string, name: string, ...fragments: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && fragments.every((f) => line.includes(f)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function scrape(sim: Simulator): Promise<string> {
  return (await fetch(`${sim.url}/metrics`)).text();
}

/**
 * The canary's share of the requests counted in `name` while at least `count` more
 * requests come in. Each end is one scrape, so both counts are of the same tick.
 */
async function measuredShare(
  sim: Simulator,
  name: string,
  canaryFragment: string,
  count = 800,
): Promise<number> {
  const start = await scrape(sim);
  const [all0, canary0] = [sumOf(start, name), sumOf(start, name, canaryFragment)];
  const end = await waitFor(
    async () => {
      const text = await scrape(sim);
      return sumOf(text, name) - all0 >= count ? text : undefined;
    },
    { describe: `${count} more requests in ${name}` },
  );
  return (sumOf(end, name, canaryFragment) - canary0) / (sumOf(end, name) - all0);
}

function assertNear(actual: number, expected: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 0.05,
    `${what}: expected about ${expected}, measured ${actual.toFixed(3)}`,
  );
}

describe('simulator', () => {
  it('splits by ready replicas (Replicas provider)', async (t) => {
    const { client, namespace, sim } = await setup(t, { replicas: { stable: 3, canary: 1 } });
    await client.create(CanaryDeploymentKind, canaryDeployment(namespace));
    await targetOf(sim, 0.25);
    assertNear(
      await measuredShare(sim, 'http_requests_total', 'version="canary"'),
      0.25,
      'canary share of http_requests_total',
    );
  });

  it('follows the VirtualService weights, and their change (Istio)', async (t) => {
    const { client, namespace, sim } = await setup(t);
    const route = (canary: number) => [
      {
        name: 'primary',
        route: [
          { destination: { host: 'web', subset: 'stable' }, weight: 100 - canary },
          { destination: { host: 'web', subset: 'canary' }, weight: canary },
        ],
      },
    ];
    await client.create(VirtualServiceKind, {
      metadata: { namespace, name: 'web' },
      spec: { hosts: ['web'], http: route(20) },
    } as KubeObject);
    await client.create(
      CanaryDeploymentKind,
      canaryDeployment(namespace, { provider: 'Istio', istio: { virtualService: 'web' } }),
    );
    await targetOf(sim, 0.2);
    assertNear(
      await measuredShare(sim, 'istio_requests_total', 'destination_workload="web-canary"'),
      0.2,
      'canary share at weight 20',
    );
    await client.patch(VirtualServiceKind, namespace, 'web', { spec: { http: route(60) } }, 'merge');
    await targetOf(sim, 0.6);
    assertNear(
      await measuredShare(sim, 'istio_requests_total', 'destination_workload="web-canary"'),
      0.6,
      'canary share at weight 60',
    );
  });

  it('follows the canary Ingress weight, labelled as ingress-nginx does (Nginx)', async (t) => {
    const { client, namespace, sim } = await setup(t);
    const ingress = (name: string, service: string, annotations?: Record<string, string>) =>
      ({
        metadata: { namespace, name, annotations },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'web.example.com',
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
      }) as KubeObject;
    await client.create(IngressKind, ingress('web', 'web'));
    await client.create(
      IngressKind,
      ingress('web-canary', 'web-canary', {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '30',
      }),
    );
    await client.create(
      CanaryDeploymentKind,
      canaryDeployment(namespace, { provider: 'Nginx', nginx: { ingress: 'web' } }),
    );
    await targetOf(sim, 0.3);
    const canaryLabel = `canary="${namespace}-web-canary-80"`;
    assertNear(
      await measuredShare(sim, 'nginx_ingress_controller_requests', canaryLabel),
      0.3,
      'canary share of nginx requests',
    );
    assert.equal(
      sumOf(await scrape(sim), 'nginx_ingress_controller_requests', 'ingress="web-canary"'),
      0,
      'both versions are counted under the main Ingress',
    );
  });

  it('follows the HTTPRoute backendRef weights (Gateway API)', async (t) => {
    const { client, namespace, sim } = await setup(t);
    await client.create(HTTPRouteKind, {
      metadata: { namespace, name: 'web' },
      spec: {
        parentRefs: [{ name: 'gateway' }],
        rules: [
          {
            backendRefs: [
              { name: 'web', port: 80, weight: 90 },
              { name: 'web-canary', port: 80, weight: 10 },
            ],
          },
        ],
      },
    } as KubeObject);
    await client.create(
      CanaryDeploymentKind,
      canaryDeployment(namespace, { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } }),
    );
    await targetOf(sim, 0.1);
    assertNear(
      await measuredShare(sim, 'http_requests_total', 'version="canary"'),
      0.1,
      'canary share at weight 10',
    );
  });

  it("is scraped by Prometheus, where the analyzer's queries read the canary's error rate and p99", async (t) => {
    const cluster = await testCluster();
    if (!cluster.prometheusUrl) return t.skip('the test cluster has no Prometheus');
    const { client, namespace, sim } = await setup(t, {
      simulator: (ns) => ({ scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` } }),
    });
    await client.create(VirtualServiceKind, {
      metadata: { namespace, name: 'web' },
      spec: {
        hosts: ['web'],
        http: [
          {
            route: [
              { destination: { host: 'web', subset: 'stable' }, weight: 50 },
              { destination: { host: 'web', subset: 'canary' }, weight: 50 },
            ],
          },
        ],
      },
    } as KubeObject);
    await client.create(
      CanaryDeploymentKind,
      canaryDeployment(namespace, { provider: 'Istio', istio: { virtualService: 'web' } }),
    );
    sim.setProfile({
      namespace,
      name: 'release',
      version: 'canary',
      errorRate: 0.4,
      latencyMs: { p50: 300, p99: 900 },
    });
    const queryTarget = {
      provider: 'Istio',
      namespace,
      target: 'web',
      canaryName: 'web-canary',
      canaryVersionLabel: 'canary',
      windowMs: 10_000,
    } as const;
    const read = async (query: string): Promise<number> => {
      const url = `${cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`;
      const body = (await (await fetch(url)).json()) as { data?: { result?: { value: [number, string] }[] } };
      return Number(body.data?.result?.[0]?.value[1]);
    };
    const queries = {
      canaryErrorRate: builtInQuery('errorRate', queryTarget),
      canaryP99: builtInQuery('latencyP99', queryTarget),
      stableP99: builtInQuery('latencyP99', { ...queryTarget, canaryName: 'web' }),
    };
    // Polled together: until a whole window has passed since the canary's series
    // appeared, rate() extrapolates each series (and each bucket) from a few samples and
    // the ratios, the tail quantile most, wander. Istio's buckets around 900 ms are 500
    // and 1000, so the canary's p99 is interpolated in there.
    await waitFor(
      async () => {
        const seen: Record<string, number> = {};
        for (const [name, query] of Object.entries(queries)) seen[name] = await read(query);
        const { canaryErrorRate = NaN, canaryP99 = NaN, stableP99 = NaN } = seen;
        const ok =
          Math.abs(canaryErrorRate - 40) <= 5 && canaryP99 > 500 && canaryP99 <= 1000 && stableP99 <= 100;
        // Thrown, so the timeout message shows the last values read.
        if (!ok) throw new Error(JSON.stringify(seen));
        return ok;
      },
      {
        timeoutMs: 60_000,
        describe:
          "Prometheus to report the canary at ~40% errors and a p99 in (500, 1000] ms, the stable's p99 under 100 ms",
      },
    );
  });
});
