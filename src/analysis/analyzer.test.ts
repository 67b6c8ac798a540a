import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import { analyze } from './analyzer.ts';
import { createPrometheusClient } from './prometheus.ts';
import { startPrometheusStub, type StubAnswer } from './prometheus-server.test-support.ts';
import { nextVerdict } from './verdict.ts';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const seedSpec: CanaryDeploymentSpec = {
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

/** Answers built-in queries by what they measure: the final value Prometheus would compute for one canary. */
function canaryPrometheus(values: {
  success: number;
  errors: number;
  p99Ms: number;
}): (q: string) => StubAnswer {
  return (q) => {
    if (q.startsWith('histogram_quantile(0.99')) return { value: values.p99Ms };
    if (q.includes('!~"5.."')) return { value: values.success };
    if (q.includes('=~"5.."')) return { value: values.errors };
    return { empty: true };
  };
}

async function run(spec: CanaryDeploymentSpec, answer: (q: string) => StubAnswer, timeoutMs = 2000) {
  const stub = await startPrometheusStub(answer);
  const prometheus = createPrometheusClient({ address: stub.url, timeoutMs });
  try {
    const result = await analyze({
      spec,
      namespace: 'production',
      canaryName: 'myapp-canary',
      prometheus,
      now: NOW,
      step: 1,
    });
    return { result, received: stub.received };
  } finally {
    await prometheus.close();
    await stub.close();
  }
}

test('the seed sample: a healthy canary continues, one query per check, plain metrics', async () => {
  const { result, received } = await run(seedSpec, (q) => {
    if (q.startsWith('histogram_quantile(0.99')) {
      assert.match(
        q,
        /http_request_duration_seconds_bucket\{namespace="production", app="myapp", version="canary"\}\[1m\]/,
      );
      return { value: 120 }; // what Prometheus returns after "* 1000"
    }
    if (q.includes('!~"5.."')) return { value: 99.95 };
    if (q.includes('=~"5.."')) return { value: 0.05 };
    return { empty: true };
  });
  assert.equal(received.length, 3);
  assert.equal(result.outcome, 'healthy');
  assert.equal(result.run.decision, 'Continue');
  assert.equal(result.run.score, 100);
  assert.equal(result.run.step, 1);
  assert.equal(result.run.time, NOW.toISOString());
  assert.deepEqual(
    result.run.metrics.map((m) => [m.name, m.value, m.passed]),
    [
      ['successRate', 99.95, true],
      ['errorRate', 0.05, true],
      ['latencyP99', 120, true],
    ],
  );
  assert.deepEqual(Object.keys(result.queries), ['successRate', 'errorRate', 'latencyP99']);
});

test('a bad canary (error rate) is a failure, and two in a row roll back', async () => {
  const { result } = await run(seedSpec, canaryPrometheus({ success: 95, errors: 5, p99Ms: 100 }));
  assert.equal(result.outcome, 'failed');
  assert.equal(result.run.decision, 'Rollback');
  assert.match(result.run.message ?? '', /errorRate 5% breached <= 1%/);
  const first = nextVerdict({
    previous: undefined,
    outcome: result.outcome,
    detail: result.run.message,
    now: NOW,
  });
  const second = nextVerdict({
    previous: first.counters,
    outcome: result.outcome,
    detail: result.run.message,
    now: NOW,
  });
  assert.deepEqual([first.verdict, second.verdict], ['hold', 'rollback']);
});

test('Istio provider queries the Istio series of the canary workload', async () => {
  const spec: CanaryDeploymentSpec = {
    ...seedSpec,
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  };
  const { result, received } = await run(spec, () => ({ value: 0 }));
  for (const r of received) assert.match(r.form.get('query') ?? '', /destination_workload="myapp-canary"/);
  assert.match(result.queries.latencyP99 ?? '', /istio_request_duration_milliseconds_bucket/);
});

test('Nginx provider uses the user Ingress from the spec and the analysis window', async () => {
  const spec: CanaryDeploymentSpec = {
    ...seedSpec,
    traffic: { provider: 'Nginx', nginx: { ingress: 'myapp-web' } },
    analysis: { window: '30s' },
  };
  const { received } = await run(spec, () => ({ value: 0 }));
  for (const r of received)
    assert.match(r.form.get('query') ?? '', /ingress="myapp-web", canary!=""[^[]*\[30s\]/);
});

test('a custom PromQL check is rendered with escaped placeholders and breaches on its own', async () => {
  const spec: CanaryDeploymentSpec = {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2.0.0',
    metrics: {
      custom: [
        {
          name: 'queueDepth',
          query: 'max(queue_depth{namespace="{{namespace}}", deployment="{{canary}}"})',
          threshold: 10,
          compare: 'LT',
        },
      ],
    },
  };
  const { result, received } = await run(spec, () => ({ value: 42 }));
  assert.equal(
    received[0]?.form.get('query'),
    'max(queue_depth{namespace="production", deployment="myapp-canary"})',
  );
  assert.equal(result.outcome, 'failed');
  assert.match(result.run.message ?? '', /queueDepth 42 breached < 10/);
});

test('no requests in the window is inconclusive', async () => {
  const { result } = await run(seedSpec, () => ({ value: 'NaN' }));
  assert.equal(result.outcome, 'inconclusive');
  assert.equal(result.run.decision, 'Inconclusive');
});

test('an unreachable Prometheus never allows advancing', async () => {
  const { result } = await run(seedSpec, () => ({ hang: true }), 150);
  assert.equal(result.outcome, 'unreachable');
  const verdict = nextVerdict({ previous: { consecutiveSuccesses: 3 }, outcome: result.outcome, now: NOW });
  assert.equal(verdict.verdict, 'hold');
  assert.equal(verdict.counters.unreachableSince, NOW.toISOString());
});

test('an unreadable latency bound is reported, the rest still analysed', async () => {
  const spec: CanaryDeploymentSpec = {
    ...seedSpec,
    metrics: { errorRate: { threshold: 1 }, latency: { p99: 'fast' } },
  };
  const { result, received } = await run(spec, () => ({ value: 0.1 }));
  assert.equal(received.length, 1);
  assert.deepEqual(
    result.problems.map((p) => p.field),
    ['metrics.latency.p99'],
  );
  assert.match(result.run.message ?? '', /ignored: metrics\.latency\.p99/);
  assert.equal(result.run.decision, 'Continue');
});

test('no metrics: no queries, Continue', async () => {
  const { result, received } = await run({ targetDeployment: 'myapp', canaryVersion: 'myapp:v2' }, () => ({
    value: 1,
  }));
  assert.equal(received.length, 0);
  assert.equal(result.run.decision, 'Continue');
});
