import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countersAtNewStep, nextVerdict, type AnalysisCounters, type VerdictInput } from './verdict.ts';
import type { Outcome } from './decision.ts';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function run(outcomes: Outcome[], extra: Partial<VerdictInput> = {}) {
  let previous: AnalysisCounters | undefined;
  const results = outcomes.map((outcome, i) => {
    const result = nextVerdict({ previous, outcome, now: at(i * 30), ...extra });
    previous = result.counters;
    return result;
  });
  return results;
}

test('healthy with the default successThreshold (1) allows advancing at once', () => {
  const [r] = run(['healthy']);
  assert.equal(r?.verdict, 'advance-allowed');
  assert.equal(r?.reason, 'AnalysisHealthy');
  assert.deepEqual(r?.counters, {
    consecutiveSuccesses: 1,
    consecutiveFailures: 0,
    consecutiveInconclusive: 0,
  });
});

test('successThreshold needs that many healthy results in a row', () => {
  const rs = run(['healthy', 'healthy', 'inconclusive', 'healthy', 'healthy', 'healthy'], {
    analysis: { successThreshold: 3 },
  });
  assert.deepEqual(
    rs.map((r) => r.verdict),
    ['hold', 'hold', 'hold', 'hold', 'hold', 'advance-allowed'],
  );
  assert.equal(rs[0]?.reason, 'AwaitingSuccesses');
});

test('failureThreshold (default 2) rolls back on the second failure in a row', () => {
  const rs = run(['failed', 'failed']);
  assert.deepEqual(
    rs.map((r) => r.verdict),
    ['hold', 'rollback'],
  );
  assert.deepEqual(
    rs.map((r) => r.reason),
    ['MetricsFailing', 'MetricsFailed'],
  );
  assert.equal(rs[1]?.counters.consecutiveFailures, 2);
});

test('failureThreshold 1 rolls back on the first failure', () => {
  assert.equal(run(['failed'], { analysis: { failureThreshold: 1 } })[0]?.verdict, 'rollback');
});

test('a healthy or degraded result breaks the failure streak', () => {
  assert.deepEqual(
    run(['failed', 'healthy', 'failed']).map((r) => r.verdict),
    ['hold', 'advance-allowed', 'hold'],
  );
  assert.deepEqual(
    run(['failed', 'degraded', 'failed']).map((r) => r.verdict),
    ['hold', 'pause', 'hold'],
  );
});

test('silence does not break the failure streak', () => {
  assert.deepEqual(
    run(['failed', 'inconclusive', 'failed']).map((r) => r.verdict),
    ['hold', 'hold', 'rollback'],
  );
  assert.deepEqual(
    run(['failed', 'unreachable', 'failed']).map((r) => r.verdict),
    ['hold', 'hold', 'rollback'],
  );
});

test('degraded pauses at once and resets every streak', () => {
  const [r] = run(['degraded'], { previous: { consecutiveSuccesses: 4, consecutiveFailures: 1 } });
  assert.equal(r?.verdict, 'pause');
  assert.equal(r?.reason, 'MetricsDegraded');
  assert.deepEqual(r?.counters, {
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    consecutiveInconclusive: 0,
  });
});

test('a paused release resumes when metrics recover', () => {
  assert.deepEqual(
    run(['degraded', 'degraded', 'healthy']).map((r) => r.verdict),
    ['pause', 'pause', 'advance-allowed'],
  );
});

test('inconclusive holds until inconclusiveLimit (default 3), then pauses', () => {
  const rs = run(['inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  assert.deepEqual(
    rs.map((r) => r.verdict),
    ['hold', 'hold', 'pause', 'pause'],
  );
  assert.deepEqual(
    rs.map((r) => r.reason),
    ['NoData', 'NoData', 'NoDataLimitReached', 'NoDataLimitReached'],
  );
  assert.equal(run(['inconclusive'], { analysis: { inconclusiveLimit: 1 } })[0]?.verdict, 'pause');
});

test('a healthy result resets the inconclusive count', () => {
  assert.deepEqual(
    run(['inconclusive', 'inconclusive', 'healthy', 'inconclusive', 'inconclusive']).map((r) => r.verdict),
    ['hold', 'hold', 'advance-allowed', 'hold', 'hold'],
  );
});

test('unreachable never allows advancing and rolls back after unreachableTimeout (default 5m)', () => {
  let previous: AnalysisCounters | undefined = { consecutiveSuccesses: 5 };
  const verdicts: string[] = [];
  for (const seconds of [0, 60, 299, 300]) {
    const r = nextVerdict({ previous, outcome: 'unreachable', now: at(seconds) });
    verdicts.push(r.verdict);
    assert.equal(r.counters.unreachableSince, T0.toISOString());
    assert.equal(r.counters.consecutiveSuccesses, 0);
    previous = r.counters;
  }
  assert.deepEqual(verdicts, ['hold', 'hold', 'hold', 'rollback']);
  const last = nextVerdict({ previous, outcome: 'unreachable', now: at(300) });
  assert.equal(last.reason, 'PrometheusUnreachableTimeout');
  assert.match(last.message, /unreachable for 5m/);
});

test('unreachableTimeout is configurable and the outage clears once Prometheus answers', () => {
  const rs = run(['unreachable', 'unreachable', 'inconclusive', 'unreachable', 'unreachable'], {
    analysis: { unreachableTimeout: '45s' },
  });
  assert.deepEqual(
    rs.map((r) => r.verdict),
    ['hold', 'hold', 'hold', 'hold', 'hold'],
  );
  assert.equal(rs[2]?.counters.unreachableSince, undefined);
  assert.equal(rs[4]?.counters.unreachableSince, at(90).toISOString());
  const longer = run(['unreachable', 'unreachable', 'unreachable'], {
    analysis: { unreachableTimeout: '45s' },
  });
  assert.deepEqual(
    longer.map((r) => r.verdict),
    ['hold', 'hold', 'rollback'],
  );
});

test('an unreadable unreachableSince starts the outage now', () => {
  const r = nextVerdict({ previous: { unreachableSince: 'yesterday' }, outcome: 'unreachable', now: at(10) });
  assert.equal(r.counters.unreachableSince, at(10).toISOString());
  assert.equal(r.verdict, 'hold');
});

test('with automatic rollback on metrics off, a rollback becomes a pause', () => {
  for (const autoRollback of [{ enabled: false }, { onMetricsFail: false }]) {
    const rs = run(['failed', 'failed'], { autoRollback });
    assert.equal(rs[1]?.verdict, 'pause');
    assert.equal(rs[1]?.reason, 'MetricsFailed');
    assert.match(rs[1]?.message ?? '', /automatic rollback on metrics is off/);
    const down = nextVerdict({
      previous: { unreachableSince: T0.toISOString() },
      outcome: 'unreachable',
      now: at(600),
      autoRollback,
    });
    assert.equal(down.verdict, 'pause');
  }
  assert.equal(run(['failed', 'failed'], { autoRollback: { onPodCrash: false } })[1]?.verdict, 'rollback');
});

test('the analysis detail is carried into the message', () => {
  const [r] = run(['failed'], { detail: 'errorRate 5% breached <= 1%' });
  assert.equal(r?.message, 'analysis failed 1 of 2 times in a row: errorRate 5% breached <= 1%');
});

test('a new step starts its own success streak', () => {
  assert.deepEqual(countersAtNewStep(undefined), {
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    consecutiveInconclusive: 0,
  });
  assert.deepEqual(
    countersAtNewStep({
      consecutiveSuccesses: 3,
      consecutiveFailures: 1,
      consecutiveInconclusive: 2,
      unreachableSince: T0.toISOString(),
    }),
    {
      consecutiveSuccesses: 0,
      consecutiveFailures: 1,
      consecutiveInconclusive: 0,
      unreachableSince: T0.toISOString(),
    },
  );
  const rs = run(['healthy', 'healthy'], { analysis: { successThreshold: 2 } });
  const next = nextVerdict({
    previous: countersAtNewStep(rs[1]?.counters),
    outcome: 'healthy',
    analysis: { successThreshold: 2 },
    now: at(90),
  });
  assert.equal(next.verdict, 'hold');
});
