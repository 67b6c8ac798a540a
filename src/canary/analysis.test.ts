import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { startPrometheusStub } from '../analysis/prometheus-server.test-support.ts';
import { createAnalysisRunner, queryTimeoutMs, MAX_QUERY_TIMEOUT_MS } from './analysis.ts';

function release(
  address: string | undefined,
  nextAt = '2026-01-01T00:00:01Z',
  timeout = '5s',
): CanaryDeployment {
  return {
    metadata: { name: 'app', namespace: 'ns', uid: 'uid-1', generation: 1 },
    spec: {
      targetDeployment: 'app',
      canaryVersion: 'app:v2',
      metrics: { successRate: { threshold: 99 }, ...(address ? { provider: { address, timeout } } : {}) },
      analysis: { failureThreshold: 2 },
    },
    status: {
      phase: 'Progressing',
      releaseVersion: 'app:v2',
      currentStepIndex: 0,
      totalSteps: 2,
      analysis: { nextAt, consecutiveFailures: 1 },
    },
  } as CanaryDeployment;
}

/** A wake counter that resolves `next()` on the following wake. */
function waker() {
  let count = 0;
  let resolveNext: (() => void) | undefined;
  return {
    wake: () => {
      count++;
      resolveNext?.();
    },
    next: () => new Promise<void>((resolve) => (resolveNext = resolve)),
    get count() {
      return count;
    },
  };
}

const now = new Date('2026-01-01T00:00:02Z');

test('a round runs in the background: running first, then the wake, then the result, the same until the question changes', async (t) => {
  const stub = await startPrometheusStub(() => ({ value: 99.9 }));
  t.after(() => stub.close());
  const runner = createAnalysisRunner();
  const w = waker();
  const cd = release(stub.url);
  const woken = w.next();
  assert.deepEqual(runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake }), {
    kind: 'running',
  });
  assert.equal(runner.inFlight(), 1);
  assert.deepEqual(
    runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake }),
    { kind: 'running' },
    'one round per release',
  );
  await woken;
  const done = runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake });
  assert.equal(done.kind, 'done');
  assert.equal(done.kind === 'done' && done.observation.run.decision, 'Continue');
  assert.equal(
    done.kind === 'done' && done.observation.verdict.counters.consecutiveFailures,
    0,
    'the verdict is taken from the status streaks',
  );
  assert.equal(
    runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake }).kind,
    'done',
    'a status write that failed finds the same result again',
  );
  assert.equal(stub.received.length, 1, 'one query, one round');
  // Counted: the stored status moves nextAt on; that is a new question.
  assert.deepEqual(
    runner.poll(release(stub.url, '2026-01-01T00:00:03Z'), {
      canaryVersionLabel: undefined,
      now,
      wake: w.wake,
    }),
    { kind: 'running' },
  );
  runner.forget('uid-1');
  assert.equal(runner.inFlight(), 0);
  assert.equal(w.count, 1);
});

test('a Prometheus that never answers ends the round at its deadline, as unreachable', async (t) => {
  const stub = await startPrometheusStub(() => ({ hang: true }));
  t.after(() => stub.close());
  const runner = createAnalysisRunner();
  const w = waker();
  const cd = release(stub.url, undefined, '200ms');
  const woken = w.next();
  assert.equal(runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake }).kind, 'running');
  await woken;
  const done = runner.poll(cd, { canaryVersionLabel: undefined, now, wake: w.wake });
  assert.ok(done.kind === 'done');
  assert.equal(done.observation.verdict.reason, 'PrometheusUnreachable');
  assert.match(done.observation.run.message ?? '', /within 200ms|no answer/);
});

test('a round whose question is no longer asked is dropped without waking anyone', async (t) => {
  let answer: 'hang' | 'value' = 'hang';
  const stub = await startPrometheusStub(() => (answer === 'hang' ? { hang: true } : { value: 99.9 }));
  t.after(() => stub.close());
  const runner = createAnalysisRunner();
  const w = waker();
  assert.equal(
    runner.poll(release(stub.url, '2026-01-01T00:00:01Z', '300ms'), {
      canaryVersionLabel: undefined,
      now,
      wake: w.wake,
    }).kind,
    'running',
  );
  answer = 'value';
  const woken = w.next();
  const moved = release(stub.url, '2026-01-01T00:00:05Z', '300ms');
  assert.equal(runner.poll(moved, { canaryVersionLabel: undefined, now, wake: w.wake }).kind, 'running');
  assert.equal(runner.inFlight(), 1, 'the old round was aborted');
  await woken;
  await new Promise((resolve) => setTimeout(resolve, 500)); // past the first round's deadline
  assert.equal(w.count, 1, 'only the round still asked for wakes the release');
  const done = runner.poll(moved, { canaryVersionLabel: undefined, now, wake: w.wake });
  assert.ok(done.kind === 'done' && done.observation.run.decision === 'Continue');
});

test('without any Prometheus address the round is unreachable at once, saying how to fix it', () => {
  const runner = createAnalysisRunner();
  const polled = runner.poll(release(undefined), {
    canaryVersionLabel: undefined,
    now,
    wake: () => assert.fail('no wake for a synchronous result'),
  });
  assert.ok(polled.kind === 'done');
  assert.equal(polled.observation.verdict.reason, 'PrometheusUnreachable');
  assert.match(polled.observation.run.message ?? '', /--prometheus-url/);
});

test('the query timeout is capped', () => {
  assert.equal(queryTimeoutMs(release('http://p', undefined, '10m')), MAX_QUERY_TIMEOUT_MS);
  assert.equal(queryTimeoutMs(release('http://p', undefined, '2s')), 2_000);
});
