import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assessPods, type Pod } from './pod-health.ts';

const now = Date.parse('2026-01-01T00:10:00Z');
const opts = { now, notReadyGraceMs: 60_000, image: 'app:v2', container: undefined };

function pod(name: string, status: Pod['status'], image = 'app:v2', deleting = false): Pod {
  return {
    metadata: {
      name,
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:09:00Z' } : {}),
    },
    spec: { containers: [{ name: 'app', image }] },
    status,
  };
}
const ready = { conditions: [{ type: 'Ready', status: 'True' }], startTime: '2026-01-01T00:00:00Z' };

test('ready pods are healthy', () => {
  assert.deepEqual(assessPods([pod('a', ready)], opts), { healthy: true });
  assert.deepEqual(assessPods([], opts), { healthy: true });
});

test('CrashLoopBackOff and OOMKilled are unhealthy at once', () => {
  const crash = pod('c', {
    ...ready,
    containerStatuses: [{ name: 'app', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
  });
  const oom = pod('o', {
    ...ready,
    containerStatuses: [{ name: 'app', state: {}, lastState: { terminated: { reason: 'OOMKilled' } } }],
  });
  const r1 = assessPods([pod('a', ready), crash], opts);
  assert.equal(r1.healthy, false);
  assert.equal(!r1.healthy && r1.reason, 'CrashLoopBackOff');
  const r2 = assessPods([oom], opts);
  assert.equal(!r2.healthy && r2.reason, 'OOMKilled');
});

test('not Ready counts only past the grace period, and says when to look again', () => {
  const young = pod('y', {
    startTime: '2026-01-01T00:09:30Z',
    conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:09:30Z' }],
  });
  assert.deepEqual(assessPods([young], opts), {
    healthy: true,
    recheckAt: Date.parse('2026-01-01T00:10:30Z'),
  });
  const old = pod('o', {
    startTime: '2026-01-01T00:00:00Z',
    conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:05:00Z' }],
  });
  const r = assessPods([old], opts);
  assert.equal(!r.healthy && r.reason, 'NotReady');
});

test('terminating pods and pods of another image are not judged', () => {
  const crash = {
    ...ready,
    containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } } }],
  };
  assert.equal(assessPods([pod('d', crash, 'app:v2', true)], opts).healthy, true);
  assert.equal(assessPods([pod('v', crash, 'app:v1')], opts).healthy, true);
});
