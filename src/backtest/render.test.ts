import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RangeQuery, RangeResult } from '../analysis/range.ts';
import { backtest } from './run.ts';
import { renderBacktest } from './render.ts';

const from = Date.parse('2026-12-01T10:00:00Z');

async function report() {
  return backtest({
    spec: {
      targetDeployment: 'pay',
      canaryVersion: 'pay:v2',
      analysis: { interval: '10s', failureThreshold: 2 },
      metrics: { errorRate: { threshold: 5 }, successRate: { threshold: 95 } },
    },
    namespace: 'shop',
    name: 'pay',
    address: 'http://p',
    from,
    to: from + 200_000,
    query: async (q: RangeQuery): Promise<RangeResult> => {
      const canary = q.promql.includes('version="canary"');
      const errors = q.promql.includes('=~"5.."');
      const points: [number, number][] = [];
      for (let t = q.start, i = 0; t <= q.end; t += q.stepSeconds * 1000, i++) {
        const e = canary && i >= 10 ? 12 : 0.2;
        points.push([t, errors ? e : 100 - e]);
      }
      return { ok: true, points };
    },
  });
}

test('the text report: the changes with their neighbours, when it would have rolled back, the suggestions', async () => {
  const text = renderBacktest(await report());
  assert.match(text, /backtest of shop\/pay \(Replicas metrics of pay\).*every 10s \(21 rounds\)/);
  assert.match(text, /TIME\s+successRate\s+errorRate\s+SCORE\s+DECISION\s+VERDICT/);
  assert.match(text, /2026-12-01T10:01:40\.000Z\s+88%!\s+12%!\s+\d+\s+Rollback\s+hold/);
  assert.match(text, /2026-12-01T10:01:50\.000Z\s+88%!\s+12%!\s+\d+\s+Rollback\s+ROLL BACK/);
  assert.match(text, /with the release's thresholds: would have ROLLED BACK at 2026-12-01T10:01:50\.000Z/);
  assert.match(text, /errorRate\s+5%\s+0\.8%\s+stable p99 0\.2% \+ 20% \+ 0\.5 → 0\.8% \(21 samples\)/);
  assert.match(
    text,
    /successRate\s+95%\s+99\.2%\s+stable p1 99\.8% \(shortfall 0\.2% \+ 20% \+ 0\.5\) → 99\.2%/,
  );
  assert.match(text, /with the suggested thresholds: would have ROLLED BACK/);
  assert.ok(text.includes('…'), 'unchanged rounds are folded');
  assert.ok(!renderBacktest(await report(), { all: true }).includes('…'), '--all prints every round');
});
