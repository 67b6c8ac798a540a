import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventView } from './events.ts';

test('an Event written through events.k8s.io/v1 reads with its series: last seen, first seen, count', () => {
  assert.deepEqual(
    eventView({
      involvedObject: { kind: 'CanaryDeployment', name: 'demo', uid: 'u1' },
      reason: 'CrashLoopBackOff',
      message: 'container app restarted',
      type: 'Warning',
      eventTime: '2026-01-01T00:00:01.000000Z',
      firstTimestamp: null,
      lastTimestamp: null,
      series: { count: 4, lastObservedTime: '2026-01-01T00:00:09.000000Z' },
      reportingComponent: 'codedance.io/canary',
    }),
    {
      time: '2026-01-01T00:00:09.000000Z',
      firstTime: '2026-01-01T00:00:01.000000Z',
      type: 'Warning',
      reason: 'CrashLoopBackOff',
      note: 'container app restarted',
      count: 4,
      reporter: 'codedance.io/canary',
    },
  );
});

test('a core v1 Event (first/last timestamps, count) reads the same; one without any time is dropped', () => {
  assert.deepEqual(
    eventView({
      reason: 'StepAdvanced',
      message: 'step 2/3',
      type: 'Normal',
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
      count: 1,
      source: { component: 'old-writer' },
    }),
    {
      time: '2026-01-01T00:00:00Z',
      type: 'Normal',
      reason: 'StepAdvanced',
      note: 'step 2/3',
      count: 1,
      reporter: 'old-writer',
    },
  );
  assert.equal(eventView({ reason: 'X' }), undefined);
});
