/** The in-memory defaults are the schema's, applied the way the API server applies them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { withDefaults, webAppWithDefaults, applyDefaults } from './defaults.ts';
import { CanaryDeploymentSpec } from './canary-deployment.ts';
import { WebAppSpec } from './webapp.ts';
import Type from 'typebox';

/** The spec of the seed 003 sample (DESIGN.md, "The API"). */
const seed: CanaryDeploymentSpec = {
  targetDeployment: 'myapp',
  canaryVersion: 'myapp:v2.0.0',
  strategy: {
    type: 'Linear',
    steps: [
      { weight: 10, pause: '5m' },
      { weight: 50, pause: '10m' },
      { weight: 100, pause: '0s' },
    ],
  },
  metrics: { successRate: { threshold: 99.0 }, latency: { p99: '500ms' }, errorRate: { threshold: 1.0 } },
  autoRollback: { enabled: true, onMetricsFail: true, onPodCrash: true },
};

test('withDefaults fills the seed sample like the API server does', () => {
  const spec = withDefaults(seed);
  assert.equal(spec.strategy?.type, 'Linear');
  assert.equal(spec.strategy?.stepPause, '1m');
  assert.equal(spec.traffic?.provider, 'Replicas');
  assert.equal(spec.analysis?.interval, '30s');
  assert.equal(spec.analysis?.successThreshold, 1);
  assert.equal(spec.analysis?.failureThreshold, 2);
  assert.equal(spec.decision?.continueScore, 80);
  assert.equal(spec.decision?.pauseScore, 60);
  assert.deepEqual(spec.decision?.weights, { successRate: 40, latency: 30, errorRate: 30, custom: 20 });
  assert.equal(spec.autoRollback?.notReadyGracePeriod, '2m');
  assert.equal(spec.metrics?.provider?.timeout, '5s');
  // Optional blocks without a default of their own stay absent, as on the server.
  assert.equal(spec.strategy?.blueGreen, undefined);
  assert.equal(spec.traffic?.istio, undefined);
  assert.ok(Value.Check(CanaryDeploymentSpec, spec));
});

test('withDefaults keeps given values and does not touch its input', () => {
  const input: CanaryDeploymentSpec = {
    ...seed,
    analysis: { interval: '10s' },
    traffic: { provider: 'Istio', istio: { virtualService: 'vs' } },
  };
  const before = structuredClone(input);
  const spec = withDefaults(input);
  assert.deepEqual(input, before);
  assert.equal(spec.analysis?.interval, '10s');
  assert.equal(spec.analysis?.window, '1m');
  assert.equal(spec.traffic?.provider, 'Istio');
});

test('defaults reach into list items', () => {
  const spec = withDefaults({ ...seed, notifications: [{ type: 'Slack', secretRef: { name: 'hook' } }] });
  assert.equal(spec.notifications?.[0]?.secretRef?.urlKey, 'url');
});

test('webAppWithDefaults: replicas 1, port 8080, and release blocks defaulted when present', () => {
  const spec = webAppWithDefaults({ image: 'nginx:1.27', release: {} });
  assert.equal(spec.replicas, 1);
  assert.equal(spec.port, 8080);
  assert.equal(spec.release?.strategy?.type, 'Linear');
  assert.equal(spec.release?.traffic?.provider, 'Replicas');
  assert.ok(Value.Check(WebAppSpec, spec));
  assert.equal(webAppWithDefaults({ image: 'x', replicas: 3 }).replicas, 3);
});

test('applyDefaults follows map values', () => {
  const schema = Type.Object({
    m: Type.Record(Type.String(), Type.Object({ n: Type.Integer({ default: 7 }) })),
  });
  assert.deepEqual(applyDefaults(schema, { m: { a: {}, b: { n: 1 } } }), { m: { a: { n: 7 }, b: { n: 1 } } });
});
