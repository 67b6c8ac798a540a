import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prometheusAllowList } from '../analysis/allowed.ts';
import type { RangeQuery, RangeResult } from '../analysis/range.ts';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { releaseMetrics, type MetricsSettings } from './metrics.ts';

const release: CanaryDeployment = {
  metadata: { name: 'cart', namespace: 'shop' },
  spec: {
    targetDeployment: 'cart',
    canaryVersion: 'cart:v2',
    traffic: { provider: 'Istio', istio: { virtualService: 'cart' } },
    metrics: {
      errorRate: { threshold: 1 },
      cpu: { maxRatioToStable: 1.5 },
      compare: { latency: { p99: { maxRatio: 1.2 } } },
    },
  },
  status: { phase: 'Progressing', startedAt: '2026-01-01T00:00:00Z' },
};

const settings = (query: (q: RangeQuery) => Promise<RangeResult>): MetricsSettings => ({
  defaultAddress: 'http://prometheus.test:9090',
  allowList: prometheusAllowList('http://prometheus.test:9090'),
  query,
});
const now = Date.parse('2026-01-01T00:10:00Z');

test("charts: canary and stable lines where stable has series; a comparison's limit follows stable", async () => {
  const answer = await releaseMetrics(
    release,
    settings(async (q) => ({
      ok: true,
      // Stable's latency is 100 ms, the canary's 110 ms.
      points: [[q.start, /destination_workload="cart-canary"/.test(q.promql) ? 110 : 100]],
    })),
    { now },
  );
  assert.equal(answer.problem, undefined);
  const by = new Map(answer.charts.map((c) => [c.name, c]));
  assert.deepEqual(
    answer.charts.map((c) => [c.name, c.lines.map((l) => l.version).join('+')]),
    [
      ['errorRate', 'canary+stable'],
      ['cpuVsStable', 'canary'],
      ['latencyP99VsStable', 'canary+stable'],
    ],
  );
  const latency = by.get('latencyP99VsStable')!;
  assert.equal(latency.rule, '<= 1.2 × stable');
  assert.deepEqual(
    latency.limit?.map(([, v]) => Math.round(v)),
    [120],
    'the limit is 1.2 × stable at each point',
  );
  assert.equal(by.get('errorRate')!.limit, undefined, 'a fixed threshold has no moving limit');
  assert.ok(answer.start <= Date.parse('2026-01-01T00:00:00Z') && answer.end === now);
});

test('charts: Prometheus answering nothing is one message; one refused query stays on its chart', async () => {
  const down = await releaseMetrics(
    release,
    settings(async () => ({ ok: false, unreachable: true, message: 'Prometheus unreachable: ECONNREFUSED' })),
    { now },
  );
  assert.match(down.unreachable ?? '', /prometheus\.test:9090 did not answer: .*ECONNREFUSED/);
  const partly = await releaseMetrics(
    release,
    settings(async (q) =>
      /istio_request_duration/.test(q.promql)
        ? { ok: false, message: 'bad_data: parse error' }
        : { ok: true, points: [[q.start, 1]] },
    ),
    { now },
  );
  assert.equal(partly.unreachable, undefined);
  const latency = partly.charts.find((c) => c.name === 'latencyP99VsStable')!;
  assert.match(latency.lines[0]!.error ?? '', /bad_data/);
  assert.deepEqual(latency.limit, [], 'no stable points, no limit');
});
