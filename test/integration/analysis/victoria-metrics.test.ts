/**
 * VictoriaMetrics single-node (built from its pinned module) as the metric store: it
 * scrapes the simulator like the cluster's Prometheus, answers every built-in query of
 * every provider with the same numbers as Prometheus (within the noise of two scrapers),
 * and a release completes on it and rolls back on it as on Prometheus.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import { CommandAnnotation, type CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import { checksFor } from '../../../src/analysis/checks.ts';
import { createPrometheusClient } from '../../../src/analysis/prometheus.ts';
import { queryFor } from '../../../src/analysis/queries.ts';
import { startVictoriaMetrics } from '../../../src/cluster/victoria-metrics.ts';
import { stopProcess } from '../../../src/cluster/process.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import { testCluster } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  waitFor,
  waitPhase,
} from '../canary/support.ts';

let vm: Awaited<ReturnType<typeof startVictoriaMetrics>>;
before(
  async () => {
    const cluster = await testCluster();
    vm = await startVictoriaMetrics({ stateDir: cluster.stateDir, name: `victoria-metrics-${process.pid}` });
  },
  { timeout: 1_200_000 },
);
after(async () => {
  await stopProcess(vm.component.pid, vm.component.spec.command);
});

const metrics: CanaryDeploymentSpec['metrics'] = {
  successRate: { threshold: 95 },
  errorRate: { threshold: 5 },
  latency: { p50: '200ms', p99: '1s' },
  memory: { maxMiB: 256, maxRatioToStable: 2 },
  cpu: { maxCores: 1 },
};

async function app(t: Parameters<typeof releaseEnv>[0], name = 'myapp') {
  const env = await releaseEnv(t, { args: ['--allowed-prometheus-url', vm.url] });
  await createApp(env.admin, env.ns, name, { replicas: 2 });
  await env.admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name, namespace: env.ns },
    spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: name } }] }] },
  });
  const cluster = await testCluster();
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [env.ns],
    rps: 200,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${env.ns}` },
  });
  t.after(() => sim.stop());
  return { ...env, sim };
}

function spec(steps: NonNullable<CanaryDeploymentSpec['strategy']>['steps']): CanaryDeploymentSpec {
  return {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { steps },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: {
      interval: '1s',
      window: '10s',
      successThreshold: 1,
      failureThreshold: 2,
      inconclusiveLimit: 30,
    },
    metrics: { ...metrics, provider: { address: vm.url } },
  };
}

test('a release completes on VictoriaMetrics, and its queries read the same there as on Prometheus', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns } = await app(t);
  await createRelease(
    admin,
    ns,
    'myapp',
    // Held on its first step until both stores have been compared (promoted to the end below): a
    // short pause let a slow run finish the release, and its canary series, first.
    spec([
      { weight: 50, pause: '10m' },
      { weight: 100, pause: '0s' },
    ]),
  );
  // Mid-release, every built-in query against both stores.
  const cluster = await testCluster();
  const prometheus = createPrometheusClient({ address: cluster.prometheusUrl });
  const victoria = createPrometheusClient({ address: vm.url });
  t.after(async () => {
    await prometheus.close();
    await victoria.close();
  });
  const target = {
    provider: 'Istio' as const,
    namespace: ns,
    target: 'myapp',
    canaryName: 'myapp-canary',
    windowMs: 10_000,
  };
  const { checks } = checksFor(metrics);
  // Two scrapers sample at different instants and VictoriaMetrics' rate() does not
  // extrapolate, so numbers agree within noise: rates within 1 point, the rest within a
  // share. Right after the pods start, a rate over a window they barely cover differs
  // more between the two (seen for CPU), so the stores are asked until they agree.
  const close = (row: { name: string; p: number; v: number }): boolean =>
    row.name === 'successRate' || row.name === 'errorRate'
      ? Math.abs(row.p - row.v) <= 1
      : Math.abs(row.p - row.v) <=
        (row.name === 'memory' || row.name === 'memoryVsStable' ? 0.05 : 0.5) *
          Math.max(Math.abs(row.p), Math.abs(row.v));
  let last: { name: string; p: number | undefined; v: number | undefined }[] = [];
  await waitFor(
    async () => {
      last = await Promise.all(
        checks.map(async (check) => {
          const q = queryFor(check, target);
          const [p, v] = await Promise.all([prometheus.query(q), victoria.query(q)]);
          return { name: check.name, p: p.ok ? p.value : undefined, v: v.ok ? v.value : undefined };
        }),
      );
      return last.every(
        (r) => r.p !== undefined && r.v !== undefined && close({ name: r.name, p: r.p, v: r.v }),
      );
    },
    {
      describe: `every built-in query answered alike by both stores (last: ${JSON.stringify(last)})`,
      timeoutMs: 90_000,
    },
  ).catch((err: unknown) => {
    assert.fail(`${(err as Error).message}; last answers: ${JSON.stringify(last)}`);
  });
  // The release's own analysis, read from VictoriaMetrics, passes the step it holds.
  const judged = await waitFor(
    async () => {
      const cd = await admin.get(CanaryDeploymentKind, ns, 'myapp');
      return cd?.status?.analysis?.last?.decision === 'Continue' ? cd : undefined;
    },
    { describe: 'an analysis on VictoriaMetrics decided Continue', timeoutMs: 60_000 },
  );
  assert.equal(judged.status?.analysis?.last?.decision, 'Continue');
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { metadata: { annotations: { [CommandAnnotation]: 'promote-full:vm-compared' } } },
    'merge',
  );
  await waitPhase(admin, ns, 'myapp', 'Completed', 150_000);
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
});

test('a failing canary is rolled back on VictoriaMetrics', { timeout: 240_000 }, async (t) => {
  const { admin, ns, sim } = await app(t);
  await createRelease(
    admin,
    ns,
    'myapp',
    spec([
      { weight: 40, pause: '10m' },
      { weight: 100, pause: '0s' },
    ]),
  );
  await waitFor(
    async () => (await getRelease(admin, ns, 'myapp'))?.status?.analysis?.last?.decision === 'Continue',
    { describe: 'a healthy analysis first', timeoutMs: 90_000 },
  );
  sim.setProfile({ namespace: ns, name: 'myapp', version: 'canary', errorRate: 0.5 });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'MetricsFailed');
  assert.ok(failed.status?.analysis?.last?.metrics.some((m) => m.name === 'errorRate' && m.passed === false));
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1');
});
