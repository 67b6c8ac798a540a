import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import type { RangeQuery, RangeResult } from '../analysis/range.ts';
import { backtest } from './run.ts';

const spec: CanaryDeploymentSpec = {
  targetDeployment: 'pay',
  canaryVersion: 'pay:v2',
  traffic: { provider: 'Istio', istio: { virtualService: 'pay' } },
  analysis: { interval: '10s', window: '30s', failureThreshold: 2 },
  metrics: { errorRate: { threshold: 5 } },
};
const from = Date.parse('2026-12-01T10:00:00Z');

/** Prometheus as a function: canary errors 10 % from the 6th round, stable 0.2 %. */
function fakePrometheus(asked: RangeQuery[]) {
  return async (q: RangeQuery): Promise<RangeResult> => {
    asked.push(q);
    const canary = q.promql.includes('destination_workload="pay-canary"');
    const points: [number, number][] = [];
    for (let t = q.start, i = 0; t <= q.end; t += q.stepSeconds * 1000, i++)
      points.push([t, canary ? (i >= 5 ? 10 : 0.3) : 0.2]);
    return { ok: true, points };
  };
}

test("a backtest runs the live analysis' PromQL over the range, replays it, and suggests from stable", async () => {
  const asked: RangeQuery[] = [];
  const report = await backtest({
    spec,
    namespace: 'shop',
    name: 'pay',
    address: 'http://prom:9090',
    from,
    to: from + 120_000,
    query: fakePrometheus(asked),
  });
  assert.equal(asked.length, 2, 'the canary and stable sides of the one check');
  assert.ok(asked.every((q) => q.stepSeconds === 10 && q.start === from));
  assert.match(report.queries['errorRate']?.canary ?? '', /istio_requests_total.*\[30s\]/);
  assert.match(report.queries['errorRate']?.stable ?? '', /destination_workload="pay"/);
  assert.equal(report.result.ticks.length, 13);
  assert.equal(report.result.rollbackAt?.time, new Date(from + 60_000).toISOString());
  const [suggestion] = report.suggestions;
  assert.equal(suggestion?.check, 'errorRate');
  assert.equal(suggestion?.suggested, 0.8); // 0.2 × 1.2 + 0.5 = 0.74 → 0.8
  // With 0.8 % the canary's 0.3 % still passes and its 10 % fails as before.
  assert.equal(report.withSuggested?.rollbackAt?.time, report.result.rollbackAt?.time);
});

test('bad options are refused with what to change', async () => {
  const base = { spec, namespace: 'shop', address: 'http://p', query: fakePrometheus([]) };
  await assert.rejects(backtest({ ...base, from, to: from }), /--to must be after --from/);
  await assert.rejects(
    backtest({ ...base, from, to: from + 86_400_000 * 30 }),
    /at most 11000; give a shorter window or a longer --step/,
  );
  await assert.rejects(
    backtest({ ...base, spec: { ...spec, metrics: {} }, from, to: from + 60_000 }),
    /no metrics to analyse/,
  );
});
