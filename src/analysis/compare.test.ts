import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor, comparePasses, describeComparison, type Check } from './checks.ts';
import { decide, type Observation } from './decision.ts';
import {
  builtInQuery,
  queryFor,
  renderCustomQuery,
  stableVersionLabelOf,
  type QueryTarget,
} from './queries.ts';

const TIME = '2026-01-01T00:00:00.000Z';
const { checks, problems } = checksFor({
  compare: {
    errorRate: { maxIncrease: 0.5 },
    latency: { p99: { maxRatio: 1.1 } },
    custom: [
      {
        name: 'conversionRate',
        query:
          'sum(rate(conv{version="{{version}}"}[{{window}}])) / sum(rate(imp{version="{{version}}"}[{{window}}]))',
        minRatio: 0.98,
      },
    ],
  },
});
const byName = (name: string): Check => {
  const check = checks.find((c) => c.name === name);
  assert.ok(check, name);
  return check;
};
const v = (value: number) => ({ kind: 'value' as const, value });
const pair = (canary: number, stable: number): Observation => ({
  kind: 'pair',
  canary: v(canary),
  stable: v(stable),
});

test('metrics.compare becomes one check per metric, named against stable', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(
    checks.map((c) => c.name),
    ['errorRateVsStable', 'latencyP99VsStable', 'conversionRate'],
  );
  assert.deepEqual(byName('errorRateVsStable').compare, { tolerance: 'maxIncrease', amount: 0.5 });
  assert.equal(byName('conversionRate').bound, 'min');
});

test('tolerances: points above, ratios of stable, inclusive at the limit', () => {
  const errors = byName('errorRateVsStable');
  assert.equal(comparePasses(errors, 1.5, 1), true, 'at the limit');
  assert.equal(comparePasses(errors, 1.51, 1), false);
  const p99 = byName('latencyP99VsStable');
  assert.equal(comparePasses(p99, 110, 100), true);
  assert.equal(comparePasses(p99, 111, 100), false);
  const conversion = byName('conversionRate');
  assert.equal(comparePasses(conversion, 0.098, 0.1), true);
  assert.equal(comparePasses(conversion, 0.05, 0.1), false);
  assert.equal(describeComparison(errors, 0.2), '<= stable + 0.5% (0.7%)');
  assert.equal(describeComparison(conversion), '>= 0.98 × stable');
});

test('a canary within tolerance continues, with both sides in status', () => {
  const { run, outcome } = decide({
    measurements: [
      { check: byName('errorRateVsStable'), observation: pair(0.4, 0.3) },
      { check: byName('conversionRate'), observation: pair(0.1, 0.1) },
    ],
    time: TIME,
  });
  assert.equal(outcome, 'healthy');
  assert.equal(run.decision, 'Continue');
  assert.deepEqual(run.metrics[0], {
    name: 'errorRateVsStable',
    value: 0.4,
    stableValue: 0.3,
    threshold: '<= stable + 0.5% (0.8%)',
    score: 100,
    passed: true,
  });
});

test('a canary converting worse than stable rolls back, and the message gives both numbers', () => {
  const { run, outcome } = decide({
    measurements: [{ check: byName('conversionRate'), observation: pair(0.05, 0.1) }],
    time: TIME,
  });
  assert.equal(outcome, 'failed');
  assert.equal(run.decision, 'Rollback');
  assert.match(
    run.message ?? '',
    /conversionRate 0\.05 vs stable 0\.1 breached >= 0\.98 × stable \(0\.098\)/,
  );
  assert.equal(run.metrics[0]?.passed, false);
});

test('no data on either side is inconclusive, never a pass, and names the side', () => {
  for (const [observation, side] of [
    [{ kind: 'pair', canary: v(0.1), stable: v(NaN) }, 'stable'],
    [
      {
        kind: 'pair',
        canary: { kind: 'error', error: { kind: 'no-data', message: 'empty result' } },
        stable: v(0.1),
      },
      'canary',
    ],
  ] as const) {
    const { run, outcome } = decide({
      measurements: [{ check: byName('conversionRate'), observation }],
      time: TIME,
    });
    assert.equal(outcome, 'inconclusive');
    assert.equal(run.decision, 'Inconclusive');
    assert.match(run.message ?? '', new RegExp(`conversionRate \\(${side}: no-data`));
    assert.equal(run.metrics[0]?.passed, undefined);
  }
  const down = decide({
    measurements: [
      {
        check: byName('conversionRate'),
        observation: {
          kind: 'pair',
          canary: v(1),
          stable: { kind: 'error', error: { kind: 'unreachable', message: 'ECONNREFUSED' } },
        },
      },
    ],
    time: TIME,
  });
  assert.equal(down.outcome, 'unreachable');
});

test('each side has its own selector, per provider', () => {
  const t: QueryTarget = {
    provider: 'Istio',
    namespace: 'shop',
    target: 'reco',
    canaryName: 'reco-canary',
    windowMs: 60_000,
  };
  assert.match(builtInQuery('errorRate', t, 'stable'), /destination_workload="reco",/);
  assert.match(builtInQuery('errorRate', t, 'canary'), /destination_workload="reco-canary",/);
  const nginx: QueryTarget = { ...t, provider: 'Nginx', ingress: 'web' };
  assert.match(builtInQuery('errorRate', nginx, 'stable'), /ingress="web", canary="", status/);
  assert.match(builtInQuery('errorRate', nginx, 'canary'), /ingress="web", canary!="", status/);
  const plain: QueryTarget = {
    ...t,
    provider: 'Replicas',
    canaryVersionLabel: 'v2',
    stableVersionLabel: 'v1',
  };
  assert.match(builtInQuery('latencyP99', plain, 'stable'), /app="reco", version="v1"\}/);
  assert.match(builtInQuery('latencyP99', plain, 'canary'), /app="reco", version="v2"\}/);
});

test('custom comparisons render {{version}}, {{workload}} and {{side}} per side', () => {
  const t: QueryTarget = {
    provider: 'Replicas',
    namespace: 'shop',
    target: 'reco',
    canaryName: 'reco-canary',
    canaryVersionLabel: 'v2',
    windowMs: 90_000,
  };
  const template = 'x{version="{{version}}", w="{{ workload }}", s="{{side}}"}[{{window}}]';
  assert.equal(renderCustomQuery(template, t, 'stable'), 'x{version="stable", w="reco", s="stable"}[90s]');
  assert.equal(renderCustomQuery(template, t, 'canary'), 'x{version="v2", w="reco-canary", s="canary"}[90s]');
  // Outside a comparison {{version}} keeps meaning the canary's, as it always did.
  assert.equal(renderCustomQuery('{{version}}', t), 'v2');
  assert.match(queryFor(byName('conversionRate'), t, 'stable'), /conv\{version="stable"\}\[90s\]/);
});

test("stable reads its own version label unless it is the canary's", () => {
  assert.equal(stableVersionLabelOf({ version: 'v1' }, 'v2'), 'v1');
  assert.equal(stableVersionLabelOf({ version: 'v1' }, 'v1'), 'stable');
  assert.equal(stableVersionLabelOf(undefined, 'canary'), 'stable');
});

test('a tolerance block with two fields is reported, not guessed', () => {
  const result = checksFor({ compare: { errorRate: { maxIncrease: 1, maxRatio: 2 } } });
  assert.equal(result.checks.length, 0);
  assert.match(result.problems[0]?.message ?? '', /exactly one/);
});
