/**
 * Analysis wiring on the real control plane, a real Prometheus and the traffic
 * simulator: each step is judged every analysis.interval, recorded in status and as an
 * Event; a healthy canary completes, a failing one is rolled back mid-pause, and an
 * unreachable Prometheus holds the release (saying why) and rolls it back after
 * unreachableTimeout, never promoting it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getDeployment,
  startScrapedSimulator,
  getRelease,
  imageOf,
  releaseEnv,
  waitFor,
  waitPhase,
} from './support.ts';

interface KubeEvent extends KubeObject {
  reason?: string;
  note?: string;
}

const analysis: CanaryDeploymentSpec['analysis'] = {
  interval: '1s',
  window: '10s',
  successThreshold: 1,
  failureThreshold: 2,
  inconclusiveLimit: 20,
};
const metrics: CanaryDeploymentSpec['metrics'] = {
  successRate: { threshold: 95 },
  errorRate: { threshold: 5 },
};

async function app(admin: Parameters<typeof createApp>[0], ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
}

function simulator(t: Parameters<typeof releaseEnv>[0], ns: string) {
  return startScrapedSimulator(t, ns, 200);
}

test('analysis gates each step: a healthy canary completes with every run recorded', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await app(admin, ns);
  await simulator(t, ns);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 30, pause: '3s' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis,
    metrics,
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 120_000);
  const last = done.status?.analysis?.last;
  assert.ok(last, 'the last analysis is in status');
  assert.equal(last.decision, 'Continue');
  assert.ok(
    last.metrics.some((m) => m.name.toLowerCase().includes('success') && typeof m.value === 'number'),
    JSON.stringify(last.metrics),
  );
  const events = await admin.list<KubeEvent>(kinds.Event, { namespace: ns });
  assert.ok(
    events.items.some((e) => e.reason === 'AnalysisHealthy'),
    'analyses are Events',
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
});

test('a failing canary is rolled back as soon as analysis says so, mid-pause', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await app(admin, ns);
  const sim = await simulator(t, ns);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 40, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis,
    metrics,
  });
  await waitFor(
    async () => (await getRelease(admin, ns, 'myapp'))?.status?.analysis?.last?.decision === 'Continue',
    { describe: 'a healthy analysis first', timeoutMs: 90_000 },
  );
  sim.setProfile({ namespace: ns, name: 'myapp', version: 'canary', errorRate: 0.5 });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'MetricsFailed');
  assert.equal(failed.status?.analysis?.last?.decision, 'Rollback');
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.equal(
    vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0,
    0,
    'no traffic to the canary',
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1');
});

test('an unreachable Prometheus holds the release with a condition, then rolls it back', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { args: ['--allowed-prometheus-url', 'http://127.0.0.1:1'] });
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
    analysis: { ...analysis, unreachableTimeout: '6s' },
    metrics: { ...metrics, provider: { address: 'http://127.0.0.1:1', timeout: '500ms' } },
  });
  const held = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      const healthy = cd?.status?.conditions?.find((c) => c.type === 'Healthy');
      return healthy?.reason === 'PrometheusUnreachable' ? cd : undefined;
    },
    { describe: 'Healthy=Unknown PrometheusUnreachable', timeoutMs: 60_000 },
  );
  assert.equal(held.status?.currentStepIndex, 0, 'held on step 1 although its 1s pause is over');
  assert.match(held.status?.conditions?.find((c) => c.type === 'Healthy')?.message ?? '', /unreachable/i);
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 60_000);
  assert.equal(failed.status?.reason, 'PrometheusUnreachableTimeout');
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1', 'never promoted');
});
