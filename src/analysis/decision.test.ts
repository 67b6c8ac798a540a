import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor, type Check } from './checks.ts';
import { decide, resolveDecision, type Measurement, type Observation } from './decision.ts';
import type { QueryError } from './errors.ts';

const TIME = '2026-01-01T00:00:00.000Z';
const seed = checksFor({
  successRate: { threshold: 99 },
  latency: { p99: '500ms' },
  errorRate: { threshold: 1 },
}).checks;
const byName = (name: string): Check => {
  const check = seed.find((c) => c.name === name);
  assert.ok(check);
  return check;
};
const value = (v: number): Observation => ({ kind: 'value', value: v });
const error = (kind: QueryError['kind']): Observation => ({
  kind: 'error',
  error: { kind, message: `${kind} happened` },
});
const seedRound = (success: Observation, errors: Observation, p99: Observation): Measurement[] => [
  { check: byName('successRate'), observation: success },
  { check: byName('errorRate'), observation: errors },
  { check: byName('latencyP99'), observation: p99 },
];

test('a comfortable canary continues with score 100', () => {
  const { run, outcome } = decide({
    measurements: seedRound(value(99.9), value(0.1), value(120)),
    time: TIME,
    step: 2,
  });
  assert.equal(outcome, 'healthy');
  assert.equal(run.decision, 'Continue');
  assert.equal(run.score, 100);
  assert.equal(run.step, 2);
  assert.equal(run.time, TIME);
  assert.deepEqual(run.metrics[0], {
    name: 'successRate',
    value: 99.9,
    threshold: '>= 99%',
    score: 100,
    passed: true,
  });
});

test('a hard breach rolls back whatever the score', () => {
  const { run, outcome } = decide({ measurements: seedRound(value(100), value(0), value(501)), time: TIME });
  assert.equal(outcome, 'failed');
  assert.equal(run.decision, 'Rollback');
  assert.match(run.message ?? '', /latencyP99 501ms breached <= 500ms/);
  assert.equal(run.metrics[2]?.passed, false);
  // 40*100 + 30*100 + 30*0 over 100
  assert.equal(run.score, 70);
});

test('weighted score in the pause band pauses', () => {
  // errorRate 0.8% -> 40; latency 400ms -> 40; success 99.9 -> 100: (40*100 + 30*40 + 30*40)/100 = 64
  const { run, outcome } = decide({
    measurements: seedRound(value(99.9), value(0.8), value(400)),
    time: TIME,
  });
  assert.equal(run.score, 64);
  assert.equal(run.decision, 'Pause');
  assert.equal(outcome, 'degraded');
});

test('weighted score below pauseScore rolls back without any breach', () => {
  // success 99.1 -> 20; errorRate 0.9 -> 20; latency 450 -> 20: score 20
  const { run, outcome } = decide({
    measurements: seedRound(value(99.1), value(0.9), value(450)),
    time: TIME,
  });
  assert.equal(run.score, 20);
  assert.equal(run.decision, 'Rollback');
  assert.equal(outcome, 'failed');
  assert.ok(run.metrics.every((m) => m.passed));
});

test('the score is exactly at the cut-offs: >= continues, >= pauses', () => {
  const errorOnly = checksFor({ errorRate: { threshold: 1 } }).checks;
  const at = (v: number) =>
    decide({ measurements: [{ check: errorOnly[0]!, observation: value(v) }], time: TIME }).run;
  assert.equal(at(0.6).score, 80);
  assert.equal(at(0.6).decision, 'Continue');
  assert.equal(at(0.7).score, 60);
  assert.equal(at(0.7).decision, 'Pause');
  assert.equal(at(0.71).decision, 'Rollback');
});

test('weights and cut-offs are configurable and normalised over what is configured', () => {
  // only errorRate (score 40) and successRate (score 100) configured
  const checks = checksFor({ successRate: { threshold: 99 }, errorRate: { threshold: 1 } }).checks;
  const measurements: Measurement[] = [
    { check: checks[0]!, observation: value(100) },
    { check: checks[1]!, observation: value(0.8) },
  ];
  assert.equal(decide({ measurements, time: TIME }).run.score, 74.3); // (40*100+30*40)/70
  const custom = decide({
    measurements,
    time: TIME,
    decision: { weights: { successRate: 10, errorRate: 90 }, continueScore: 50, pauseScore: 40 },
  });
  assert.equal(custom.run.score, 46);
  assert.equal(custom.run.decision, 'Pause');
  const zero = decide({ measurements, time: TIME, decision: { weights: { successRate: 0, errorRate: 0 } } });
  assert.equal(zero.run.score, 70); // plain mean when every weight is 0
});

test('latency scores its worst percentile as one term', () => {
  const checks = checksFor({ latency: { p50: '100ms', p99: '1s' }, errorRate: { threshold: 1 } }).checks;
  const run = decide({
    measurements: [
      { check: checks[0]!, observation: value(0) }, // errorRate -> 100
      { check: checks[1]!, observation: value(75) }, // p50 -> 50
      { check: checks[2]!, observation: value(100) }, // p99 -> 100
    ],
    time: TIME,
  }).run;
  assert.equal(run.score, 75); // (30*100 + 30*50)/60
});

test('custom checks are terms of their own, with their own weight', () => {
  const checks = checksFor({
    errorRate: { threshold: 1 },
    custom: [
      { name: 'a', query: 'a', threshold: 5, compare: 'LT', weight: 70 },
      { name: 'b', query: 'b', threshold: 5, compare: 'GT' },
    ],
  }).checks;
  const ok = decide({
    measurements: [
      { check: checks[0]!, observation: value(0.75) }, // 50, weight 30
      { check: checks[1]!, observation: value(1) }, // 100, weight 70
      { check: checks[2]!, observation: value(6) }, // 100, weight 20 (default custom)
    ],
    time: TIME,
  }).run;
  assert.equal(ok.score, 87.5); // (1500 + 7000 + 2000)/120
  const breach = decide({ measurements: [{ check: checks[2]!, observation: value(5) }], time: TIME });
  assert.equal(breach.outcome, 'failed');
  assert.match(breach.run.message ?? '', /b 5 breached > 5/);
});

test('no data is inconclusive and scores nothing', () => {
  const { run, outcome } = decide({
    measurements: seedRound(value(99.9), error('no-data'), value(100)),
    time: TIME,
  });
  assert.equal(outcome, 'inconclusive');
  assert.equal(run.decision, 'Inconclusive');
  assert.equal(run.score, undefined);
  assert.match(run.message ?? '', /no data: errorRate: no-data happened/);
  assert.deepEqual(run.metrics[1], {
    name: 'errorRate',
    threshold: '<= 1%',
    message: 'no-data: no-data happened',
  });
});

test('NaN counts as no data; +Inf latency is a breach kept out of the JSON value', () => {
  assert.equal(
    decide({ measurements: seedRound(value(Number.NaN), value(0), value(1)), time: TIME }).outcome,
    'inconclusive',
  );
  const inf = decide({
    measurements: seedRound(value(100), value(0), value(Number.POSITIVE_INFINITY)),
    time: TIME,
  });
  assert.equal(inf.outcome, 'failed');
  assert.deepEqual(inf.run.metrics[2], {
    name: 'latencyP99',
    message: '+Infms',
    threshold: '<= 500ms',
    score: 0,
    passed: false,
  });
  assert.doesNotMatch(JSON.stringify(inf.run), /null/);
});

test('a refused query is inconclusive, not unreachable', () => {
  assert.equal(
    decide({ measurements: seedRound(value(100), error('bad-query'), value(1)), time: TIME }).outcome,
    'inconclusive',
  );
});

test('unreachable, timeout and HTTP errors mean Prometheus is not usable', () => {
  for (const kind of ['unreachable', 'timeout', 'http'] as const) {
    const { run, outcome } = decide({
      measurements: seedRound(error(kind), error('no-data'), value(1)),
      time: TIME,
    });
    assert.equal(outcome, 'unreachable', kind);
    assert.equal(run.decision, 'Inconclusive');
    assert.match(run.message ?? '', /Prometheus not usable/);
  }
});

test('a breach wins over missing data and over an unreachable query', () => {
  const { run, outcome } = decide({
    measurements: seedRound(error('unreachable'), value(5), error('no-data')),
    time: TIME,
  });
  assert.equal(outcome, 'failed');
  assert.equal(run.decision, 'Rollback');
});

test('no checks: nothing to hold the release back', () => {
  const { run, outcome } = decide({ measurements: [], time: TIME });
  assert.equal(outcome, 'healthy');
  assert.equal(run.decision, 'Continue');
});

test('resolveDecision fills defaults and caps pauseScore at continueScore', () => {
  assert.deepEqual(resolveDecision(undefined), {
    weights: { successRate: 40, latency: 30, errorRate: 30, custom: 20 },
    continueScore: 80,
    pauseScore: 60,
  });
  assert.equal(resolveDecision({ continueScore: 50 }).pauseScore, 50);
  assert.equal(resolveDecision({ weights: { latency: 5 } }).weights.latency, 5);
});
