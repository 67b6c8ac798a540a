import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp, WebAppStatus } from '../api/webapp.ts';
import type { Deployment } from '../runtime/core-types.ts';
import type { ReleasePlan } from './release.ts';
import { failedStatus, nextStatus, retryingStatus, rolloutOf, transitionEvents } from './status.ts';

const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-01T00:05:00Z');

function webapp(status?: WebAppStatus): WebApp {
  const app: WebApp = {
    metadata: { name: 'shop', namespace: 'ns', uid: 'u', generation: 3 },
    spec: { image: 'shop:2', replicas: 2 },
  };
  if (status) app.status = status;
  return app;
}

function deployment(status: NonNullable<Deployment['status']>, replicas = 2): Deployment {
  return {
    metadata: { name: 'shop', generation: 5 },
    spec: { replicas, selector: { matchLabels: {} }, template: { metadata: {}, spec: { containers: [] } } },
    status: { observedGeneration: 5, ...status },
  };
}

const done = deployment({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
const plan: ReleasePlan = {
  image: 'shop:2',
  replicas: 2,
  canary: { kind: 'none' },
  outcome: 'none',
  status: undefined,
};

function condition(status: WebAppStatus, type: string) {
  return status.conditions?.find((c) => c.type === type);
}

test('rolloutOf reads a Deployment like kubectl rollout status', () => {
  assert.equal(rolloutOf(done).complete, true);
  assert.equal(rolloutOf(undefined).complete, false);
  assert.match(
    rolloutOf(deployment({ replicas: 3, updatedReplicas: 2, availableReplicas: 2 })).message,
    /1 old replicas/,
  );
  assert.match(rolloutOf(deployment({ updatedReplicas: 1 })).message, /1 of 2 replicas updated/);
  const stale = deployment({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
  stale.status!.observedGeneration = 4;
  assert.equal(rolloutOf(stale).complete, false);
  const stuck = deployment({
    updatedReplicas: 1,
    conditions: [
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "x" has timed out progressing.',
      },
    ],
  });
  assert.equal(rolloutOf(stuck).stuck, true);
});

test('Creating until the first rollout completes, then Running with Ready True', () => {
  const creating = nextStatus(webapp(), {
    deployment: deployment({ updatedReplicas: 2 }),
    plan,
    configHash: 'h',
    now,
  });
  assert.equal(creating.phase, 'Creating');
  assert.equal(condition(creating, 'Ready')?.status, 'False');
  assert.equal(condition(creating, 'Progressing')?.status, 'True');
  assert.equal(condition(creating, 'Ready')?.observedGeneration, 3);
  assert.equal(creating.observedGeneration, 3);

  const running = nextStatus(webapp(creating), { deployment: done, plan, configHash: 'h', now: later });
  assert.equal(running.phase, 'Running');
  assert.equal(running.readyReplicas, 2);
  assert.equal(running.image, 'shop:2');
  assert.equal(running.configHash, 'h');
  assert.deepEqual(condition(running, 'Ready'), {
    type: 'Ready',
    status: 'True',
    reason: 'Available',
    message: '2/2 replicas ready, running shop:2',
    lastTransitionTime: '2026-01-01T00:05:00Z',
    observedGeneration: 3,
  });
  assert.equal(condition(running, 'Degraded')?.status, 'False');
  // Degraded did not change status: its transition time stays.
  assert.equal(condition(running, 'Degraded')?.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('a later rollout keeps Running with Ready False and Progressing True', () => {
  const status = nextStatus(webapp({ phase: 'Running' }), {
    deployment: deployment({ updatedReplicas: 1, availableReplicas: 2 }),
    plan,
    configHash: 'h',
    now,
  });
  assert.equal(status.phase, 'Running');
  assert.equal(condition(status, 'Ready')?.reason, 'RollingOut');
  assert.equal(condition(status, 'Progressing')?.status, 'True');
});

test('a release in flight and a failed one are reported, the failure as Degraded', () => {
  const release = { name: 'shop', version: 'shop:2', phase: 'Progressing', message: 'step 1/3' };
  const inFlight = nextStatus(webapp({ phase: 'Running' }), {
    deployment: done,
    plan: { ...plan, image: 'shop:1', outcome: 'in-flight', status: release },
    configHash: 'h',
    now,
  });
  assert.equal(inFlight.phase, 'Running');
  assert.equal(inFlight.image, 'shop:1');
  assert.deepEqual(inFlight.release, release);
  assert.equal(condition(inFlight, 'Progressing')?.reason, 'Releasing');
  assert.equal(condition(inFlight, 'Degraded')?.status, 'False');

  const failed = nextStatus(webapp(inFlight), {
    deployment: done,
    plan: {
      ...plan,
      image: 'shop:1',
      outcome: 'failed',
      status: { ...release, phase: 'Failed', message: 'error rate 9% > 1%' },
    },
    configHash: 'h',
    now,
  });
  assert.equal(failed.image, 'shop:1');
  assert.deepEqual(condition(failed, 'Degraded'), {
    type: 'Degraded',
    status: 'True',
    reason: 'ReleaseFailed',
    message: 'release of shop:2 failed: error rate 9% > 1%; still running shop:1 until spec.image changes',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: 3,
  });
  assert.deepEqual(
    transitionEvents(inFlight, failed).map((e) => [e.type, e.reason]),
    [['Warning', 'ReleaseFailed']],
  );
});

test('Failed keeps what is known of the running app and says why on every condition', () => {
  const status = failedStatus(
    webapp({ phase: 'Running', image: 'shop:1', readyReplicas: 2 }),
    { reason: 'NameConflict', message: 'Deployment shop exists' },
    now,
  );
  assert.equal(status.phase, 'Failed');
  assert.equal(status.image, 'shop:1');
  assert.equal(status.readyReplicas, 2);
  assert.equal(condition(status, 'Ready')?.reason, 'NameConflict');
  assert.equal(condition(status, 'Degraded')?.status, 'True');
});

test('a retry says so and leaves Pending while nothing was created', () => {
  const first = retryingStatus(webapp(), 'connection refused', now);
  assert.equal(first.phase, 'Pending');
  assert.match(first.message!, /retrying with backoff: connection refused/);
  assert.equal(retryingStatus(webapp({ phase: 'Running' }), 'x', now).phase, 'Running');
});

test('Events mark phase transitions and release milestones, once each', () => {
  const creating: WebAppStatus = { phase: 'Creating', message: 'creating' };
  assert.deepEqual(
    transitionEvents(undefined, creating).map((e) => e.reason),
    ['Creating'],
  );
  assert.deepEqual(
    transitionEvents(creating, { phase: 'Running' }).map((e) => e.reason),
    ['Running'],
  );
  assert.deepEqual(transitionEvents({ phase: 'Running' }, { phase: 'Running' }), []);
  const started: WebAppStatus = {
    phase: 'Running',
    release: { name: 'shop', version: 'shop:2', phase: 'Pending' },
  };
  assert.deepEqual(
    transitionEvents({ phase: 'Running' }, started).map((e) => e.reason),
    ['ReleaseStarted'],
  );
  assert.deepEqual(
    transitionEvents(started, { ...started, release: { ...started.release!, phase: 'Progressing' } }),
    [],
  );
  assert.deepEqual(
    transitionEvents(started, { ...started, release: { ...started.release!, phase: 'Completed' } }).map(
      (e) => e.reason,
    ),
    ['ReleaseCompleted'],
  );
});
