import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podPattern, resourceQuery } from '../analysis/queries.ts';
import { createResourceMetrics } from './resources.ts';
import { podSamples } from './simulator.ts';
import type { ClusterView, PodLike } from './discovery.ts';
import type { SimTarget } from './target.ts';
import { healthyProfile } from './profile.ts';

test('pod names tell stable from canary pods, as the queries do', () => {
  const stable = new RegExp(`^${podPattern('myapp')}$`);
  const canary = new RegExp(`^${podPattern('myapp-canary')}$`);
  assert.ok(stable.test('myapp-7d9f8b6c5-x2x9k'));
  assert.ok(!stable.test('myapp-canary-7d9f8b6c5-x2x9k'), 'the target pattern leaves canary pods out');
  assert.ok(canary.test('myapp-canary-5f6d7c8b9-abcde'));
  assert.ok(!new RegExp(`^${podPattern('my.app')}$`).test('myxapp-1-2'), 'dots are literal');
  const q = resourceQuery('memoryVsStable', {
    provider: 'Replicas',
    namespace: 'shop',
    target: 'myapp',
    canaryName: 'myapp-canary',
    windowMs: 60_000,
  });
  assert.equal(
    q,
    '(max(sum by (pod) (container_memory_working_set_bytes{namespace="shop", pod=~"myapp-canary-[a-z0-9]+-[a-z0-9]+", container!="", container!="POD"})) / 1048576) / ' +
      '(max(sum by (pod) (container_memory_working_set_bytes{namespace="shop", pod=~"myapp-[a-z0-9]+-[a-z0-9]+", container!="", container!="POD"})) / 1048576)',
  );
});

test('cAdvisor series: CPU accumulates by cores, memory grows by the leak, gone pods disappear', () => {
  const pod = (name: string): PodLike => ({
    metadata: { name, namespace: 'shop' },
    spec: { containers: [{ name: 'app', image: 'myapp:v1' }] },
    status: { phase: 'Running' },
  });
  const view: ClusterView = {
    canaryDeployments: () => [],
    deployments: () => [],
    deployment: () => undefined,
    virtualService: () => undefined,
    ingress: () => undefined,
    httpRoute: () => undefined,
    pods: () => [pod('myapp-abc12-aaaaa'), pod('myapp-canary-def34-bbbbb'), pod('other-abc12-ccccc')],
  };
  const target = {
    key: 'shop/myapp',
    namespace: 'shop',
    name: 'myapp',
    target: 'myapp',
    canaryWorkload: 'myapp-canary',
  } as SimTarget;
  const leak = {
    ...healthyProfile,
    latencyMs: { ...healthyProfile.latencyMs },
    cpuCores: 0.5,
    memoryMiB: 100,
    memoryLeakMiBPerMinute: 60,
  };
  const samples = podSamples(
    view,
    [target],
    () => ({ namespace: 'shop', name: 'myapp', stable: healthyProfile, canary: leak }),
    healthyProfile,
  );
  assert.deepEqual(
    samples.map((s) => s.pod),
    ['myapp-abc12-aaaaa', 'myapp-canary-def34-bbbbb'],
  );
  const metrics = createResourceMetrics();
  metrics.tick(samples, 0, 0);
  metrics.tick(samples, 60_000, 60_000);
  const text = metrics.render();
  assert.match(
    text,
    /container_cpu_usage_seconds_total\{namespace="shop",pod="myapp-canary-def34-bbbbb",container="app",image="myapp:v1"\} 30\n/,
  );
  assert.match(
    text,
    /container_memory_working_set_bytes\{namespace="shop",pod="myapp-canary-def34-bbbbb",container="app",image="myapp:v1"\} 167772160\n/,
    '100 MiB + 60 MiB/min x 1 min',
  );
  assert.match(
    text,
    /container_memory_working_set_bytes\{namespace="shop",pod="myapp-abc12-aaaaa",container="app",image="myapp:v1"\} 67108864\n/,
  );
  metrics.tick(samples.slice(0, 1), 1000, 61_000);
  assert.doesNotMatch(metrics.render(), /canary/);
});
