import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor, describeBound, formatValue, hasChecks } from './checks.ts';

test('the seed sample gives three checks', () => {
  const { checks, problems } = checksFor({
    successRate: { threshold: 99.0 },
    latency: { p99: '500ms' },
    errorRate: { threshold: 1.0 },
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(
    checks.map((c) => [c.name, c.group, c.bound, c.threshold]),
    [
      ['successRate', 'successRate', 'min', 99],
      ['errorRate', 'errorRate', 'max', 1],
      ['latencyP99', 'latency', 'max', 500],
    ],
  );
  assert.equal(checks[2]?.quantile, 0.99);
});

test('latency percentiles parse as durations; bad ones are problems, not checks', () => {
  const { checks, problems } = checksFor({ latency: { p50: '0.1s', p90: 'fast', p99: '1s' } });
  assert.deepEqual(
    checks.map((c) => [c.name, c.threshold]),
    [
      ['latencyP50', 100],
      ['latencyP99', 1000],
    ],
  );
  assert.deepEqual(
    problems.map((p) => p.field),
    ['metrics.latency.p90'],
  );
});

test('custom checks keep compare, query and weight; duplicate names are problems', () => {
  const { checks, problems } = checksFor({
    custom: [
      { name: 'queue', query: 'q', threshold: 5, compare: 'LT', weight: 10 },
      { name: 'hits', query: 'h', threshold: 0.9, compare: 'GT' },
      { name: 'queue', query: 'q2', threshold: 1, compare: 'GT' },
    ],
  });
  assert.deepEqual(
    checks.map((c) => [c.name, c.bound, c.query, c.weight]),
    [
      ['queue', 'lt', 'q', 10],
      ['hits', 'gt', 'h', undefined],
    ],
  );
  assert.deepEqual(
    problems.map((p) => p.field),
    ['metrics.custom[2].name'],
  );
});

test('no metrics, no checks', () => {
  assert.deepEqual(checksFor(undefined), { checks: [], problems: [] });
  assert.equal(hasChecks({}), false);
  assert.equal(hasChecks({ provider: { address: 'http://x' } }), false);
  assert.equal(hasChecks({ errorRate: { threshold: 1 } }), true);
});

test('bounds and values read well', () => {
  const { checks } = checksFor({
    successRate: { threshold: 99 },
    latency: { p99: '500ms' },
    custom: [{ name: 'x', query: 'q', threshold: 5, compare: 'LT' }],
  });
  assert.deepEqual(checks.map(describeBound), ['>= 99%', '<= 500ms', '< 5']);
  assert.equal(formatValue(99.51234, '%'), '99.512%');
  assert.equal(formatValue(231.456, 'ms'), '231.5ms');
});
