import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor } from '../analysis/checks.ts';
import { analysisTimes, replay, type SeriesResult } from './replay.ts';

const { checks } = checksFor({ successRate: { threshold: 99 }, errorRate: { threshold: 1 } });
const start = Date.parse('2026-12-01T10:00:00Z');
const times = analysisTimes(start, start + 9 * 30_000, 30_000);

/** A series over `times` whose value at index i is `f(i)` (undefined: no point). */
function series(f: (i: number) => number | undefined): SeriesResult {
  const points: [number, number][] = [];
  times.forEach((t, i) => {
    const v = f(i);
    if (v !== undefined) points.push([t, v]);
  });
  return { ok: true, points };
}

test('analysisTimes: from and to included, every step, capped', () => {
  assert.equal(times.length, 10);
  assert.equal(times[9], start + 270_000);
  assert.equal(analysisTimes(0, 1_000_000, 1, 5).length, 5);
});

test('a healthy window continues throughout', () => {
  const r = replay({
    checks,
    canary: new Map([
      ['successRate', series(() => 99.9)],
      ['errorRate', series(() => 0.1)],
    ]),
    stable: new Map(),
    times,
    analysis: { failureThreshold: 2 },
  });
  assert.equal(r.decisions.Continue, 10);
  assert.equal(r.rollbackAt, undefined);
  assert.equal(r.ticks[0]?.verdict, 'advance-allowed');
});

test('a bad period is rolled back after failureThreshold failures in a row, and says when', () => {
  // Errors climb to 8 % from round 4 on.
  const bad = (i: number) => (i >= 4 ? 8 : 0.1);
  const r = replay({
    checks,
    canary: new Map([
      ['successRate', series((i) => 100 - bad(i))],
      ['errorRate', series(bad)],
    ]),
    stable: new Map(),
    times,
    analysis: { failureThreshold: 2 },
  });
  assert.equal(r.ticks[4]?.decision, 'Rollback');
  assert.equal(r.ticks[4]?.verdict, 'hold', 'the first failure is not enough');
  assert.equal(r.rollbackAt?.time, new Date(times[5] ?? 0).toISOString());
  assert.equal(r.rollbackAt?.reason, 'MetricsFailed');
  assert.ok(r.rollbackAt?.metrics.some((m) => m.name === 'errorRate' && m.value === 8 && m.passed === false));
});

test('no data is inconclusive and pauses after inconclusiveLimit; a failed query says why', () => {
  const r = replay({
    checks,
    canary: new Map([
      ['successRate', series(() => undefined)],
      ['errorRate', { ok: false, message: 'bad_data: parse error' }],
    ]),
    stable: new Map(),
    times,
    analysis: { inconclusiveLimit: 3 },
  });
  assert.equal(r.decisions.Inconclusive, 10);
  assert.equal(r.pauseAt?.time, new Date(times[2] ?? 0).toISOString());
  assert.match(r.ticks[0]?.message ?? '', /parse error/);
});

test('comparisons read both sides at the same time', () => {
  const { checks: compare } = checksFor({ compare: { errorRate: { maxIncrease: 1 } } });
  const r = replay({
    checks: compare,
    canary: new Map([['errorRateVsStable', series((i) => (i >= 5 ? 5 : 0.5))]]),
    stable: new Map([['errorRateVsStable', series(() => 0.4)]]),
    times,
    analysis: { failureThreshold: 1 },
  });
  assert.equal(r.ticks[4]?.decision, 'Continue');
  assert.equal(r.rollbackAt?.time, new Date(times[5] ?? 0).toISOString());
  assert.equal(r.rollbackAt?.metrics[0]?.stableValue, 0.4);
});

test('rounds before the canary had any data count towards nothing; no data later does', () => {
  const r = replay({
    checks,
    canary: new Map([
      ['successRate', series((i) => (i >= 4 && i < 7 ? 99.9 : undefined))],
      ['errorRate', series((i) => (i >= 4 && i < 7 ? 0.1 : undefined))],
    ]),
    stable: new Map(),
    times,
    analysis: { inconclusiveLimit: 3 },
  });
  assert.deepEqual(
    r.ticks.slice(0, 4).map((k) => [k.decision, k.verdict, k.reason]),
    Array.from({ length: 4 }, () => ['Inconclusive', 'hold', 'NoData']),
  );
  assert.equal(r.ticks[4]?.verdict, 'advance-allowed');
  // After the data stops, three inconclusive rounds in a row pause, as live.
  assert.equal(r.pauseAt?.time, new Date(times[9] ?? 0).toISOString());
});
