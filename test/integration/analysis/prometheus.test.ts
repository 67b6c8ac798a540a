/**
 * The analyzer against the real Prometheus, for every traffic provider: the simulator
 * serves a canary with a slow tail, Prometheus scrapes it, and `analyze()` must read
 * every built-in metric of the canary (success rate, error rate, p50/p90/p99) through
 * the provider's own series and labels, and decide Rollback on the p99 breach.
 *
 * This is the check that the label table in src/analysis/queries.ts and what the
 * simulator emits are one contract. The CanaryDeployments are `paused` and their
 * canary Deployments are made here, so a controller watching the cluster takes no step.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment, TrafficSpec } from '../../../src/api/canary-deployment.ts';
import { analyze } from '../../../src/analysis/analyzer.ts';
import { createPrometheusClient } from '../../../src/analysis/prometheus.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import {
  Deployment as DeploymentKind,
  HTTPRoute as HTTPRouteKind,
  Ingress as IngressKind,
  VirtualService as VirtualServiceKind,
} from '../../../src/runtime/kinds.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { ensureTrafficCrds } from '../../support/controller.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

// Connect at load time, so the harness' after() hook belongs to the file.
const cluster = await testCluster();

function deployment(namespace: string, name: string, version: string): KubeObject {
  const labels = { app: name, version };
  return {
    metadata: { namespace, name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: `example/web:${version}` }] },
      },
    },
  } as KubeObject;
}

function ingress(
  namespace: string,
  name: string,
  service: string,
  annotations?: Record<string, string>,
): KubeObject {
  return {
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
  } as KubeObject;
}

/** The routing objects each provider reads, splitting traffic 50/50. */
async function createRouting(
  client: KubeClient,
  namespace: string,
  provider: NonNullable<TrafficSpec['provider']>,
): Promise<TrafficSpec> {
  switch (provider) {
    case 'Replicas':
      return { provider };
    case 'Istio':
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
      return { provider, istio: { virtualService: 'web' } };
    case 'Nginx':
      await client.create(IngressKind, ingress(namespace, 'web', 'web'));
      await client.create(
        IngressKind,
        ingress(namespace, 'web-canary', 'web-canary', {
          'nginx.ingress.kubernetes.io/canary': 'true',
          'nginx.ingress.kubernetes.io/canary-weight': '50',
        }),
      );
      return { provider, nginx: { ingress: 'web' } };
    case 'GatewayAPI':
      await client.create(HTTPRouteKind, {
        metadata: { namespace, name: 'web' },
        spec: {
          parentRefs: [{ name: 'gateway' }],
          rules: [
            {
              backendRefs: [
                { name: 'web', port: 80, weight: 50 },
                { name: 'web-canary', port: 80, weight: 50 },
              ],
            },
          ],
        },
      } as KubeObject);
      return { provider, gatewayAPI: { httpRoute: 'web' } };
  }
}

async function analyzeProvider(
  t: TestContext,
  provider: NonNullable<TrafficSpec['provider']>,
): Promise<void> {
  if (!cluster.prometheusUrl) return void t.skip('the test cluster has no Prometheus');
  const client = cluster.admin;
  await ensureTrafficCrds(client);
  const namespace = await testNamespace(t);
  await client.create(DeploymentKind, deployment(namespace, 'web', 'stable'));
  await client.create(DeploymentKind, deployment(namespace, 'web-canary', 'canary'));
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [namespace],
    rps: 400,
    tickMs: 100,
    seed: 1,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${namespace}` },
  });
  t.after(() => sim.stop());
  const spec: CanaryDeployment['spec'] = {
    targetDeployment: 'web',
    canaryVersion: 'example/web:canary',
    paused: true,
    traffic: await createRouting(client, namespace, provider),
    analysis: { window: '10s' },
    metrics: {
      successRate: { threshold: 99 },
      errorRate: { threshold: 1 },
      latency: { p50: '300ms', p90: '2s', p99: '500ms' },
    },
  };
  await client.create(CanaryDeploymentKind, {
    metadata: { namespace, name: 'release' },
    spec,
  } satisfies CanaryDeployment);
  // A healthy canary except for its tail: p50 100ms, p99 900ms.
  sim.setProfile({
    namespace,
    name: 'release',
    version: 'canary',
    errorRate: 0,
    latencyMs: { p50: 100, p99: 900 },
  });
  const prometheus = createPrometheusClient({ address: cluster.prometheusUrl });
  t.after(() => prometheus.close());

  let last = 'nothing yet';
  const result = await waitFor(
    async () => {
      const r = await analyze({ spec, namespace, canaryName: 'web-canary', prometheus, now: new Date() });
      last = JSON.stringify(r.run);
      // Until a whole window has passed since the series appeared, rates are extrapolated: wait for every value.
      return r.run.metrics.every((m) => m.value !== undefined) ? r : undefined;
    },
    {
      timeoutMs: 90_000,
      intervalMs: 1000,
      describe: `every metric of the ${provider} canary to have a value (last ${last})`,
    },
  );
  const by = Object.fromEntries(result.run.metrics.map((m) => [m.name, m]));
  assert.equal(by.successRate?.value, 100, 'no 5xx: success rate 100%, not "no data"');
  assert.equal(by.errorRate?.value, 0, 'no 5xx series: error rate 0%, not "no data"');
  const p50 = by.latencyP50?.value ?? Number.NaN;
  assert.ok(p50 > 50 && p50 < 200, `p50 near 100ms, read ${p50}`);
  assert.equal(by.latencyP90?.passed, true);
  assert.equal(by.latencyP99?.passed, false, `p99 near 900ms breaches 500ms, read ${by.latencyP99?.value}`);
  assert.equal(result.outcome, 'failed');
  assert.equal(result.run.decision, 'Rollback');
  assert.match(result.run.message ?? '', /latencyP99 .* breached <= 500ms/);
}

describe('analyzer on Prometheus', () => {
  for (const provider of ['Replicas', 'Istio', 'Nginx', 'GatewayAPI'] as const) {
    it(`reads every built-in metric of the canary (${provider})`, { timeout: 150_000 }, (t) =>
      analyzeProvider(t, provider),
    );
  }
});
