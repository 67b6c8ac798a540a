import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor } from '../analysis/checks.ts';
import { percentile, suggestThresholds, withSuggestions } from './suggest.ts';

const { checks } = checksFor({
  successRate: { threshold: 99 },
  errorRate: { threshold: 5 },
  latency: { p99: '500ms' },
  custom: [{ name: 'queue', query: 'q', threshold: 10, compare: 'LT' }],
  compare: { errorRate: { maxIncrease: 1 } },
});

test('percentile: nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 1), 1);
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([7], 99), 7);
});

test("suggestions from stable's own behaviour: p99 plus a margin, rounded towards leniency", () => {
  const stable = new Map<string, number[]>([
    ['successRate', [...Array.from({ length: 99 }, () => 99.9), 99.5]],
    ['errorRate', [...Array.from({ length: 99 }, () => 0.1), 0.5]],
    ['latencyP99', [...Array.from({ length: 99 }, () => 80), 120]],
    ['queue', Array.from({ length: 100 }, (_, i) => i / 10)],
    ['errorRateVsStable', [0.1]],
  ]);
  const s = suggestThresholds(checks, stable, { margin: 0.2 });
  const by = new Map(s.map((x) => [x.check, x]));
  // errors: p99 of 0.1 (the one 0.5 is the 100th percentile) × 1.2 + 0.5 = 0.62 → 0.7 (up)
  assert.equal(by.get('errorRate')?.suggested, 0.7);
  // success: shortfall p99 0.1 × 1.2 + 0.5 = 0.62 → 99.38 → 99.3 (down)
  assert.equal(by.get('successRate')?.suggested, 99.3);
  // latency: p99 80 × 1.2 + 5 = 101
  assert.equal(by.get('latencyP99')?.suggested, 101);
  // custom LT: p99 of 0..9.9 = 9.8, × 1.2 = 11.76 → 11.8
  assert.equal(by.get('queue')?.suggested, 11.8);
  assert.equal(by.has('errorRateVsStable'), false, 'comparisons are relative already');
  assert.equal(by.get('errorRate')?.samples, 100);
  assert.match(by.get('errorRate')?.basis ?? '', /stable p99 0\.1% \+ 20% \+ 0\.5 → 0\.7%/);
});

test('no stable data, no suggestion; withSuggestions swaps only the suggested thresholds', () => {
  const s = suggestThresholds(checks, new Map([['errorRate', [Number.NaN, 0.2]]]));
  assert.deepEqual(
    s.map((x) => x.check),
    ['errorRate'],
  );
  const swapped = withSuggestions(checks, s);
  assert.equal(swapped.find((c) => c.name === 'errorRate')?.threshold, s[0]?.suggested);
  assert.equal(swapped.find((c) => c.name === 'successRate')?.threshold, 99);
});
