/**
 * CPU and memory checks on the real control plane: the simulator exports cAdvisor's
 * series for the kwok pods of the release, Prometheus scrapes them, and a canary whose
 * memory starts leaking is rolled back (absolute and against-stable checks), its
 * traffic back on stable and the stable image unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
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

test('a canary whose memory leaks is rolled back by the memory checks', { timeout: 180_000 }, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  const sim = await startScrapedSimulator(t, ns, 100);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 30, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: {
      interval: '1s',
      window: '10s',
      successThreshold: 1,
      failureThreshold: 2,
      inconclusiveLimit: 30,
    },
    metrics: {
      successRate: { threshold: 95 },
      cpu: { maxCores: 1, maxRatioToStable: 3 },
      memory: { maxMiB: 256, maxRatioToStable: 2 },
    },
  });
  // A pod younger than the window reads low (rate() divides by the whole window), so
  // wait for an analysis a window after the canary started.
  const healthy = await waitFor(
    async () => {
      const last = (await getRelease(admin, ns, 'myapp'))?.status?.analysis?.last;
      const cpu = last?.metrics.find((m) => m.name === 'cpu')?.value;
      return last?.decision === 'Continue' && cpu !== undefined && Math.abs(cpu - 0.05) < 0.01
        ? last
        : undefined;
    },
    { describe: 'a healthy analysis measuring the canary at 0.05 cores', timeoutMs: 90_000 },
  );
  const measured = Object.fromEntries(healthy.metrics.map((m) => [m.name, m.value]));
  assert.equal(measured['memory'], 64, 'the canary pod works at the default 64 MiB');
  assert.equal(measured['memoryVsStable'], 1);
  assert.ok(
    Math.abs((measured['cpuVsStable'] ?? 0) - 1) < 0.3,
    `cpu against stable ${measured['cpuVsStable']} ≈ 1`,
  );

  sim.setProfile({ namespace: ns, name: 'myapp', version: 'canary', memoryLeakMiBPerMinute: 6000 });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'MetricsFailed');
  const last = failed.status?.analysis?.last;
  assert.equal(last?.decision, 'Rollback');
  const memory = last?.metrics.find((m) => m.name === 'memory');
  assert.ok(memory && (memory.value ?? 0) > 256, JSON.stringify(last?.metrics));
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.equal(
    vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0,
    0,
    'no traffic to the canary',
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1');
});
