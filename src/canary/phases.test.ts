import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisRun, CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import type { VerdictResult } from '../analysis/verdict.ts';
import { trafficRecordOf } from './traffic-record.ts';
import {
  analysisDue,
  stopped,
  transition,
  HISTORY_LIMIT,
  type Effect,
  type Observations,
  type ReleaseSettings,
  type Transition,
  pauseFromWrite,
} from './phases.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function settings(over: Partial<ReleaseSettings> = {}): ReleaseSettings {
  return {
    version: 'app:v2',
    steps: [
      { weight: 10, pauseMs: 5_000, requiresApproval: false },
      { weight: 50, pauseMs: 10_000, requiresApproval: false },
      { weight: 100, pauseMs: 0, requiresApproval: false },
    ],
    blueGreen: false,
    provider: 'Istio',
    traffic: trafficRecordOf({
      targetDeployment: 'app',
      canaryVersion: 'app:v2',
      traffic: { provider: 'Istio', istio: { virtualService: 'app' } },
    }),
    scalesWithWeight: false,
    paused: false,
    autoRollback: { enabled: true, onPodCrash: true, notReadyGraceMs: 60_000 },
    analysis: undefined,
    ...over,
  };
}

/** A fake cluster the effects act on. */
interface World {
  now: number;
  stableImage: string;
  stableRolledOut: boolean;
  canary: { image: string; ready: boolean; replicas?: number } | undefined;
  weight: number;
  crash: boolean;
  events: string[];
  notified: string[];
}

function world(): World {
  return {
    now: T0,
    stableImage: 'app:v1',
    stableRolledOut: true,
    canary: undefined,
    weight: 0,
    crash: false,
    events: [],
    notified: [],
  };
}

function observe(w: World, extra: Partial<Observations> = {}): Observations {
  return {
    now: w.now,
    generation: 1,
    stable: { image: w.stableImage, rolledOut: w.stableRolledOut, replicas: 4 },
    canary: w.canary,
    pods: w.crash
      ? { healthy: false, reason: 'CrashLoopBackOff', pod: 'p', message: 'pod p crash-looping' }
      : { healthy: true },
    ...extra,
  };
}

function apply(w: World, effects: Effect[]): void {
  for (const e of effects) {
    switch (e.type) {
      case 'ensureCanary':
        w.canary = {
          image: e.image,
          ready: false,
          replicas: e.weight === undefined ? 4 : Math.round((e.weight * 4) / 100),
        };
        break;
      case 'setWeight':
        w.weight = e.weight;
        // The Replicas provider's canary follows the weight (4 replicas in all).
        if (w.canary) w.canary.replicas = Math.round((e.weight * 4) / 100);
        break;
      case 'resetTraffic':
        w.weight = 0;
        break;
      case 'deleteCanary':
        w.canary = undefined;
        break;
      case 'promoteStable':
        w.stableImage = e.image;
        w.stableRolledOut = false;
        break;
      case 'event':
        w.events.push(e.reason);
        break;
      case 'notify':
        w.notified.push(e.event);
        break;
      case 'prepareTraffic':
        break;
    }
  }
}

/** One reconcile: transition, effects applied, then the cluster catches up (pods ready, rollouts done). */
function reconcile(
  s: ReleaseSettings,
  status: CanaryDeploymentStatus | undefined,
  w: World,
  extra: Partial<Observations> = {},
): Transition {
  const tr = transition(s, status, observe(w, extra));
  apply(w, tr.effects);
  return tr;
}

function settle(w: World): void {
  if (w.canary) w.canary.ready = true;
  w.stableRolledOut = true;
}

/** Runs reconciles, moving the fake clock to each requeue, until the phase is final or `limit` runs. */
function run(
  s: ReleaseSettings,
  w: World,
  status?: CanaryDeploymentStatus,
  limit = 50,
): CanaryDeploymentStatus {
  let current = status;
  for (let i = 0; i < limit; i++) {
    const tr = reconcile(s, current, w);
    current = tr.status;
    settle(w);
    if (current.phase === 'Completed' || current.phase === 'Failed') {
      if (tr.effects.length === 0) return current;
      continue;
    }
    if (tr.requeueAfterMs !== undefined) w.now += tr.requeueAfterMs;
  }
  return current ?? {};
}

test('a new release starts: Initializing, canary created, traffic prepared, Started notified', () => {
  const w = world();
  const tr = reconcile(settings(), undefined, w);
  assert.equal(tr.status.phase, 'Initializing');
  assert.equal(tr.status.releaseVersion, 'app:v2');
  assert.equal(tr.status.stableRevision, 'app:v1');
  assert.equal(tr.status.totalSteps, 3);
  assert.deepEqual(tr.effects.slice(0, 2), [
    { type: 'ensureCanary', image: 'app:v2' },
    { type: 'prepareTraffic' },
  ]);
  assert.deepEqual(w.notified, ['Started']);
  assert.equal(tr.requeueAfterMs, undefined, 'waits for the canary Deployment to change, no timer');
});

test('step 0 is entered as soon as the canary is ready, without waiting for a timer', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Initializing', 'canary not yet ready');
  assert.deepEqual(tr.effects, []);
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(tr.status.currentStepIndex, 0);
  assert.equal(tr.status.currentWeight, 10);
  assert.equal(tr.status.stepLabel, '1/3');
  assert.equal(tr.status.pauseUntil, new Date(T0 + 5_000).toISOString());
  assert.equal(w.weight, 10);
  assert.equal(tr.requeueAfterMs, 5_000);
});

test('Replicas: step 1 is entered with the canary creation, in one reconcile', () => {
  const w = world();
  const s = settings({ provider: 'Replicas', scalesWithWeight: true });
  const tr = reconcile(s, undefined, w);
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(tr.status.currentStepIndex, 0);
  const writes = tr.effects.filter((e) => e.type !== 'event' && e.type !== 'notify');
  // Created at the first step's share: the create is that step's first write.
  assert.deepEqual(writes, [
    { type: 'ensureCanary', image: 'app:v2', weight: 10 },
    { type: 'prepareTraffic' },
    { type: 'setWeight', weight: 10 },
  ]);
  assert.deepEqual(
    (tr.status.history ?? []).map((h) => h.event),
    ['Started', 'StepReached'],
  );
  // The step does not advance before the canary pods are available, whatever the timer says.
  w.now += 60_000;
  const waiting = reconcile(s, tr.status, w);
  assert.equal(waiting.status.currentStepIndex, 0);
  assert.match(waiting.status.message ?? '', /canary to be available/);
  settle(w);
  assert.equal(reconcile(s, waiting.status, w).status.currentStepIndex, 1);
  const done = run(s, w, tr.status);
  assert.equal(done.phase, 'Completed');
});

test('the seed sample walks every step, promotes, resets traffic, removes the canary and completes', () => {
  const w = world();
  const status = run(settings(), w);
  assert.equal(status.phase, 'Completed');
  assert.equal(status.reason, 'Promoted');
  assert.equal(status.stableRevision, 'app:v2');
  assert.equal(w.stableImage, 'app:v2');
  assert.equal(w.canary, undefined);
  assert.equal(w.weight, 0);
  assert.deepEqual(w.notified, ['Started', 'Advanced', 'Advanced', 'Completed']);
  const events = (status.history ?? []).map((h) => h.event);
  assert.deepEqual(events, [
    'Started',
    'StepReached',
    'StepAdvanced',
    'StepAdvanced',
    'Promoting',
    'RollingOut',
    'RolledOut',
    'Completed',
  ]);
  assert.equal(w.now - T0, 15_000, 'the pauses add up, nothing more');
});

test('promotion: all traffic to the canary, then the stable rolls out taking none, then traffic back and the canary goes', () => {
  const w = world();
  const s = settings({ steps: [{ weight: 50, pauseMs: 0, requiresApproval: false }] });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w); // step 0
  settle(w);
  tr = reconcile(s, tr.status, w); // promoting: all traffic to the canary first
  assert.equal(tr.status.reason, 'Promoting');
  assert.deepEqual(
    tr.effects.filter((e) => e.type !== 'event'),
    [{ type: 'prepareTraffic' }, { type: 'setWeight', weight: 100 }],
  );
  assert.equal(w.stableImage, 'app:v1', 'the stable Deployment is not touched while it still takes traffic');
  tr = reconcile(s, tr.status, w); // then the image
  assert.deepEqual(
    tr.effects.filter((e) => e.type === 'promoteStable'),
    [{ type: 'promoteStable', image: 'app:v2' }],
  );
  assert.ok(
    tr.effects.some((e) => e.type === 'event' && e.reason === 'StableRollingOut'),
    'an Event says the stable Deployment starts rolling',
  );
  tr = reconcile(s, tr.status, w); // not rolled out yet
  assert.deepEqual(tr.effects, []);
  assert.equal(w.weight, 100, 'the canary carries everything while stable rolls out');
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.deepEqual(
    tr.effects.filter((e) => e.type !== 'event'),
    [{ type: 'resetTraffic' }],
  );
  assert.ok(
    tr.effects.some((e) => e.type === 'event' && e.reason === 'StableRolledOut'),
    'an Event says it is done',
  );
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Completed');
  assert.equal(tr.effects[0]?.type, 'deleteCanary');
});

test('promotion of a canary that scales with the weight waits for it at full size before stable rolls', () => {
  const w = world();
  const s = settings({
    provider: 'Replicas',
    scalesWithWeight: true,
    steps: [{ weight: 25, pauseMs: 0, requiresApproval: false }],
  });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w); // promoting: weight 100
  assert.ok(tr.effects.some((e) => e.type === 'setWeight' && e.weight === 100));
  if (w.canary) w.canary.replicas = 1; // a cache a write behind
  tr = reconcile(s, tr.status, w);
  assert.ok(
    !tr.effects.some((e) => e.type === 'promoteStable'),
    'not before the canary asks for every replica',
  );
  if (w.canary) w.canary.replicas = 4;
  tr = reconcile(s, tr.status, w);
  assert.ok(tr.effects.some((e) => e.type === 'promoteStable'));
});

test('a crash-looping canary is rolled back: traffic reset first, status written right after, canary removed', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.crash = true;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'PodCrashLoop');
  assert.equal(tr.effects[0]?.type, 'resetTraffic');
  assert.equal(tr.statusAfter, 1);
  assert.ok(tr.effects.some((e) => e.type === 'deleteCanary'));
  assert.equal(tr.status.currentWeight, 0);
  assert.deepEqual(w.notified, ['Started', 'RolledBack']);
  assert.equal(tr.status.history?.at(-1)?.event, 'RolledBack');
  assert.match(tr.status.message ?? '', /rolled back at step 1\/3/);
});

test('pod crashes are ignored when autoRollback.onPodCrash is off', () => {
  const w = world();
  const s = settings({ autoRollback: { enabled: true, onPodCrash: false, notReadyGraceMs: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  w.crash = true;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Progressing');
});

test('a crash during Initializing rolls back too', () => {
  const w = world();
  const s = settings();
  const tr0 = reconcile(s, undefined, w);
  w.crash = true;
  const tr = reconcile(s, tr0.status, w);
  assert.equal(tr.status.phase, 'Failed');
});

test('killed between the reset and the status write: the next controller rolls back again', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  const before = tr.status;
  w.crash = true;
  const rb = transition(s, before, observe(w));
  apply(w, rb.effects.slice(0, rb.statusAfter)); // then killed: status never written
  assert.equal(w.weight, 0);
  const again = reconcile(s, before, w);
  assert.equal(again.status.phase, 'Failed');
  assert.equal(w.canary, undefined);
});

test('Failed with a canary still there (killed mid-cleanup) cleans up again; clean Failed does nothing', () => {
  const w = world();
  w.canary = { image: 'app:v2', ready: true };
  w.weight = 30;
  const failed: CanaryDeploymentStatus = {
    phase: 'Failed',
    reason: 'PodCrashLoop',
    releaseVersion: 'app:v2',
    totalSteps: 3,
    currentStepIndex: 0,
  };
  const tr = reconcile(settings(), failed, w);
  assert.deepEqual(tr.effects, [{ type: 'resetTraffic' }, { type: 'deleteCanary' }]);
  const again = reconcile(settings(), tr.status, w);
  assert.deepEqual(again.effects, []);
  assert.equal(again.status.phase, 'Failed');
});

test('abort through a command: Aborted, traffic to stable, acted on once', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  tr = reconcile(s, tr.status, w, { command: { verb: 'abort', raw: 'abort:1' } });
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'Aborted');
  assert.equal(tr.status.handledCommand, 'abort:1');
  assert.equal(w.weight, 0);
  assert.equal(tr.status.history?.at(-1)?.event, 'Aborted');
  // The same annotation seen again is not acted on again (no CommandIgnored either).
  const again = reconcile(s, tr.status, w, { command: { verb: 'abort', raw: 'abort:1' } });
  assert.deepEqual(again.effects, []);
});

test('abort during promotion is refused: the stable Deployment already runs the new version', () => {
  const w = world();
  const s = settings({ steps: [{ weight: 50, pauseMs: 0, requiresApproval: false }] });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.reason, 'Promoting');
  tr = reconcile(s, tr.status, w); // all traffic on the canary: stable takes the image
  assert.equal(w.stableImage, 'app:v2');
  tr = reconcile(s, tr.status, w, { command: { verb: 'abort', raw: 'abort:late' } });
  assert.equal(tr.status.phase, 'Progressing');
  assert.ok(tr.effects.some((e) => e.type === 'event' && e.reason === 'CommandIgnored'));
  assert.equal(run(s, w, tr.status).phase, 'Completed');
});

test('retry on a Failed release starts again from step 0; on a Completed one it is refused', () => {
  const w = world();
  const s = settings();
  const failed: CanaryDeploymentStatus = {
    phase: 'Failed',
    reason: 'Aborted',
    releaseVersion: 'app:v2',
    currentStepIndex: 1,
    totalSteps: 3,
    history: [{ time: 'x', event: 'Aborted' }],
  };
  const tr = reconcile(s, failed, w, { command: { verb: 'retry', raw: 'retry:a' } });
  assert.equal(tr.status.phase, 'Initializing');
  assert.equal(tr.status.currentStepIndex, 0);
  assert.equal(tr.status.reason, 'Retried');
  assert.equal(tr.status.history?.length, 2, 'history is kept');
  const completed: CanaryDeploymentStatus = {
    phase: 'Completed',
    releaseVersion: 'app:v2',
    currentStepIndex: 3,
    totalSteps: 3,
  };
  const tr2 = reconcile(s, completed, world(), { command: { verb: 'retry', raw: 'retry:b' } });
  assert.equal(tr2.status.phase, 'Completed');
  assert.ok(tr2.effects.some((e) => e.type === 'event' && e.reason === 'CommandIgnored'));
  assert.equal(tr2.status.handledCommand, 'retry:b');
});

test('a controller restarted mid-pause keeps the deadline: no step taken twice, none restarted', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w); // step 0 at T0, pause until T0+5s
  const saved = tr.status;
  w.now = T0 + 3_000; // "restart" 3s later: same status, same world
  const after = reconcile(s, saved, w);
  assert.equal(after.status.currentStepIndex, 0);
  assert.equal(after.status.pauseUntil, saved.pauseUntil);
  assert.equal(after.requeueAfterMs, 2_000);
  assert.deepEqual(after.effects, [], 'no weight written again, no Event repeated');
  w.now = T0 + 5_000;
  const advanced = reconcile(s, after.status, w);
  assert.equal(advanced.status.currentStepIndex, 1);
  // The same status seen twice (a lost write) advances to the same step, not two.
  const twice = reconcile(s, after.status, w);
  assert.equal(twice.status.currentStepIndex, 1);
});

test('a step without pause waits for promote; promote approves exactly the current step', () => {
  const w = world();
  const s = settings({
    steps: [
      { weight: 20, pauseMs: undefined, requiresApproval: true },
      { weight: 60, pauseMs: undefined, requiresApproval: true },
    ],
  });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.currentStepIndex, 0);
  w.now += 3_600_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.currentStepIndex, 0, 'time alone does not advance');
  assert.match(tr.status.message ?? '', /approval/);
  assert.equal(tr.requeueAfterMs, undefined);
  tr = reconcile(s, tr.status, w, { command: { verb: 'promote', raw: 'promote:1' } });
  assert.equal(tr.status.currentStepIndex, 1);
  assert.equal(w.weight, 60);
  tr = reconcile(s, tr.status, w, { command: { verb: 'promote', raw: 'promote:1' } });
  assert.equal(tr.status.currentStepIndex, 1, 'the same command is not acted on twice');
  tr = reconcile(s, tr.status, w, { command: { verb: 'promote', raw: 'promote:2' } });
  assert.equal(tr.status.reason, 'Promoting');
});

test('promote-full skips to promotion', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  tr = reconcile(s, tr.status, w, { command: { verb: 'promote-full', raw: 'promote-full:1' } });
  assert.equal(tr.status.currentStepIndex, 3);
  assert.equal(tr.status.reason, 'Promoting');
  assert.equal(w.weight, 100, 'all traffic to the canary first');
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(w.stableImage, 'app:v2');
  const done = run(s, w, tr.status);
  assert.equal(done.phase, 'Completed');
});

test('spec.paused pauses and clearing it resumes; the pause deadline is kept', () => {
  const w = world();
  let s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  s = settings({ paused: true });
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Paused');
  assert.equal(tr.status.reason, 'UserPaused');
  assert.deepEqual(w.notified, ['Started', 'Paused']);
  w.now += 60_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.currentStepIndex, 0, 'no advance while paused');
  tr = reconcile(s, tr.status, w, { command: { verb: 'resume', raw: 'resume:1' } });
  assert.equal(tr.status.phase, 'Paused', 'resume cannot override spec.paused');
  s = settings({ paused: false });
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(tr.status.currentStepIndex, 1, 'the deadline passed while paused: advances at once');
});

test('a new canaryVersion mid-release restarts from step 0 on the new version', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.now += 5_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.currentStepIndex, 1);
  const s3 = settings({ version: 'app:v3' });
  tr = reconcile(s3, tr.status, w);
  assert.equal(tr.status.phase, 'Initializing');
  assert.equal(tr.status.releaseVersion, 'app:v3');
  assert.equal(tr.status.currentStepIndex, 0);
  assert.equal(w.weight, 0, 'traffic back to stable while the new canary comes up');
  assert.equal(w.canary?.image, 'app:v3');
  const done = run(s3, w, tr.status);
  assert.equal(done.phase, 'Completed');
  assert.equal(w.stableImage, 'app:v3');
});

test('a new canaryVersion after Completed starts a new release', () => {
  const w = world();
  const done = run(settings(), w);
  const next = reconcile(settings({ version: 'app:v3' }), done, w);
  assert.equal(next.status.phase, 'Initializing');
  assert.equal(next.status.stableRevision, 'app:v2');
});

test('a version the stable Deployment already runs completes at once', () => {
  const w = world();
  w.stableImage = 'app:v2';
  const tr = reconcile(settings(), undefined, w);
  assert.equal(tr.status.phase, 'Completed');
  assert.equal(tr.status.reason, 'AlreadyReleased');
  assert.deepEqual(
    tr.effects.filter((e) => e.type !== 'event'),
    [],
  );
});

test('a target Deployment deleted mid-release rolls the release back: traffic first, then the canary', () => {
  for (const phase of ['Initializing', 'Progressing', 'Paused'] as const) {
    const tr = transition(
      settings(),
      { phase, releaseVersion: 'app:v2', currentStepIndex: 1, totalSteps: 3, currentWeight: 50 },
      { ...observe(world()), stable: undefined, canary: { image: 'app:v2', ready: true } },
    );
    assert.equal(tr.status.phase, 'Failed', phase);
    assert.equal(tr.status.reason, 'TargetDeleted');
    assert.equal(tr.status.currentWeight, 0);
    assert.deepEqual(tr.effects[0], { type: 'resetTraffic' });
    assert.equal(tr.statusAfter, 1);
    assert.ok(tr.effects.some((e) => e.type === 'deleteCanary'));
  }
});

test('the traffic settings are recorded at the start; a release without a record takes the spec as its record', () => {
  const w = world();
  const s = settings();
  const started = reconcile(s, undefined, w);
  assert.deepEqual(started.status.traffic, s.traffic);
  assert.deepEqual(started.status.traffic?.objects, [
    { kind: 'VirtualService', name: 'app' },
    { kind: 'DestinationRule', name: 'app' },
  ]);
  settle(w);
  const { traffic: _dropped, ...legacy } = started.status;
  const tr = reconcile(s, legacy, w);
  assert.deepEqual(tr.status.traffic, s.traffic);
  assert.notEqual(tr.status.phase, 'Failed');
});

test('traffic settings changed mid-release roll back through the recorded provider', () => {
  const w = world();
  let tr = reconcile(settings(), undefined, w);
  settle(w);
  tr = reconcile(settings(), tr.status, w);
  assert.equal(w.weight, 10);
  const cases: [ReleaseSettings['traffic'], RegExp][] = [
    [
      trafficRecordOf({
        targetDeployment: 'app',
        canaryVersion: 'app:v2',
        traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
      }),
      /traffic.provider changed from Istio to Nginx/,
    ],
    [
      trafficRecordOf({
        targetDeployment: 'app',
        canaryVersion: 'app:v2',
        traffic: { provider: 'Istio', istio: { virtualService: 'other' } },
      }),
      /traffic.istio.virtualService changed from app to other/,
    ],
    [
      trafficRecordOf({
        targetDeployment: 'app',
        canaryVersion: 'app:v2',
        service: { name: 'web' },
        traffic: { provider: 'Istio', istio: { virtualService: 'app' } },
      }),
      /stable Service changed from app to web/,
    ],
  ];
  for (const [traffic, says] of cases) {
    const changed = transition(settings({ traffic, provider: traffic.provider }), tr.status, observe(w));
    assert.equal(changed.status.phase, 'Failed');
    assert.equal(changed.status.reason, 'TrafficChanged');
    assert.match(changed.status.message ?? '', says);
    assert.deepEqual(changed.effects[0], { type: 'resetTraffic' });
    assert.deepEqual(changed.status.traffic, tr.status.traffic, 'the record stays: cleanup uses it');
  }
});

test('an autoscaler on the target refuses a Replicas release before anything is written, and it starts once the autoscaler is gone', () => {
  const w = world();
  const s = settings({ provider: 'Replicas', scalesWithWeight: true });
  const refused = transition(s, undefined, observe(w, { autoscaler: 'app' }));
  assert.equal(refused.status.phase, undefined);
  assert.equal(refused.status.reason, 'AutoscalerConflict');
  assert.match(refused.status.message ?? '', /HorizontalPodAutoscaler app/);
  assert.deepEqual(
    refused.effects.map((e) => e.type),
    ['event'],
  );
  assert.ok(
    refused.requeueAfterMs !== undefined && refused.requeueAfterMs > 0,
    'looks again: autoscalers are not watched',
  );
  const again = transition(s, refused.status, observe(w, { autoscaler: 'app' }));
  assert.deepEqual(again.effects, [], 'said once');
  const started = transition(s, again.status, observe(w));
  assert.equal(started.status.phase, 'Progressing');
  // Routing providers do not care: the autoscaler scales the stable Deployment, traffic is split elsewhere.
  assert.equal(
    transition(settings(), undefined, observe(w, { autoscaler: 'app' })).status.phase,
    'Initializing',
  );
  // One that shows up mid-release (the reconciler looks when the target was rescaled) rolls it back.
  const mid = transition(s, started.status, observe(w, { autoscaler: 'app' }));
  assert.equal(mid.status.phase, 'Failed');
  assert.equal(mid.status.reason, 'AutoscalerConflict');
  assert.deepEqual(mid.effects[0], { type: 'resetTraffic' });
  assert.ok(mid.effects.some((e) => e.type === 'deleteCanary'));
});

test('stopped(): an active release fails with traffic reset first; anything else is left alone', () => {
  const tr = stopped(
    { phase: 'Progressing', currentStepIndex: 1, totalSteps: 3, currentWeight: 50, releaseVersion: 'app:v2' },
    { now: T0, generation: 4 },
    'InvalidSpec',
    'strategy.type: BlueGreen needs ...',
  );
  assert.ok(tr);
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'InvalidSpec');
  assert.equal(tr.status.currentWeight, 0);
  assert.equal(tr.status.observedGeneration, 4);
  assert.match(tr.status.message ?? '', /^stopped at step 2\/3: strategy.type/);
  assert.deepEqual(tr.effects.slice(0, 2), [{ type: 'resetTraffic' }, { type: 'deleteCanary' }]);
  assert.equal(tr.statusAfter, 1);
  assert.equal(stopped({ phase: 'Failed' }, { now: T0, generation: 1 }, 'InvalidSpec', 'x'), undefined);
  assert.equal(stopped(undefined, { now: T0, generation: 1 }, 'InvalidSpec', 'x'), undefined);
});

test('BlueGreen: preview at weight 0, switch to 100, old version kept for the delay, then promotion', () => {
  const w = world();
  const s = settings({
    blueGreen: true,
    steps: [
      { weight: 0, pauseMs: 2_000, requiresApproval: false },
      { weight: 100, pauseMs: 3_000, requiresApproval: false },
    ],
  });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(w.weight, 0);
  assert.equal(tr.status.stepLabel, '1/2');
  w.now += 2_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(w.weight, 100, 'all traffic at once');
  w.now += 1_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(w.stableImage, 'app:v1', 'old version kept during scaleDownDelay');
  w.now += 2_000;
  tr = reconcile(s, tr.status, w);
  assert.equal(w.stableImage, 'app:v2');
  const done = run(s, w, tr.status);
  assert.equal(done.phase, 'Completed');
});

function verdict(
  v: VerdictResult['verdict'],
  reason: VerdictResult['reason'],
  counters: Partial<VerdictResult['counters']> = {},
): { run: AnalysisRun; verdict: VerdictResult } {
  return {
    run: {
      time: 'x',
      metrics: [],
      decision: v === 'rollback' ? 'Rollback' : v === 'pause' ? 'Pause' : 'Continue',
    },
    verdict: {
      verdict: v,
      reason,
      message: reason,
      counters: { consecutiveSuccesses: 0, consecutiveFailures: 0, consecutiveInconclusive: 0, ...counters },
    },
  };
}

test('with metrics, a step advances only when its pause is over and the analysis allows', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 2 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.analysis?.nextAt, new Date(T0 + 1_000).toISOString());
  assert.equal(tr.requeueAfterMs, 1_000);
  w.now = T0 + 1_000;
  assert.equal(analysisDue(s, tr.status, w.now), true);
  tr = reconcile(s, tr.status, w, {
    analysis: verdict('hold', 'AwaitingSuccesses', { consecutiveSuccesses: 1 }),
  });
  assert.equal(tr.status.analysis?.consecutiveSuccesses, 1);
  assert.equal(tr.status.analysis?.last?.decision, 'Continue');
  assert.equal(analysisDue(s, tr.status, w.now), false);
  w.now = T0 + 6_000; // pause over, but only 1 of 2 successes
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.currentStepIndex, 0);
  assert.match(tr.status.message ?? '', /healthy analysis/);
  tr = reconcile(s, tr.status, w, {
    analysis: verdict('advance-allowed', 'AnalysisHealthy', { consecutiveSuccesses: 2 }),
  });
  assert.equal(tr.status.currentStepIndex, 1);
  assert.equal(tr.status.analysis?.consecutiveSuccesses, 0, 'the next step is judged afresh');
  assert.ok(tr.effects.some((e) => e.type === 'event' && e.reason === 'AnalysisHealthy'));
});

test('a rollback verdict rolls back at once, mid-pause', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.now += 1_000;
  tr = reconcile(s, tr.status, w, {
    analysis: verdict('rollback', 'MetricsFailed', { consecutiveFailures: 2 }),
  });
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'MetricsFailed');
  assert.equal(tr.effects[0]?.type, 'resetTraffic');
  assert.equal(tr.status.analysis?.consecutiveFailures, 2);
});

test('a pause verdict pauses; the release resumes when the metrics recover', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.now += 1_000;
  tr = reconcile(s, tr.status, w, { analysis: verdict('pause', 'MetricsDegraded') });
  assert.equal(tr.status.phase, 'Paused');
  assert.equal(tr.status.reason, 'MetricsDegraded');
  assert.equal(tr.requeueAfterMs, 1_000, 'analysis keeps running while paused');
  assert.equal(analysisDue(s, tr.status, w.now + 1_000), true);
  w.now += 10_000;
  tr = reconcile(s, tr.status, w, { analysis: verdict('hold', 'PrometheusUnreachable') });
  assert.equal(tr.status.phase, 'Paused', 'an unreachable Prometheus is no recovery');
  tr = reconcile(s, tr.status, w, {
    analysis: verdict('advance-allowed', 'AnalysisHealthy', { consecutiveSuccesses: 1 }),
  });
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(tr.status.currentStepIndex, 1, 'pause long over and analysis healthy: advances');
});

test('resume overrides a metrics pause; promote approves and resumes too', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  tr = reconcile(s, tr.status, w, { analysis: verdict('pause', 'NoDataLimitReached') });
  assert.equal(tr.status.phase, 'Paused');
  const resumed = reconcile(s, tr.status, w, { command: { verb: 'resume', raw: 'resume:x' } });
  assert.equal(resumed.status.phase, 'Progressing');
  const promoted = reconcile(s, tr.status, w, { command: { verb: 'promote', raw: 'promote:x' } });
  assert.equal(promoted.status.phase, 'Progressing');
  assert.equal(promoted.status.approvedStep, 0);
});

test('analysis is never due outside an active step, nor without metrics', () => {
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  assert.equal(analysisDue(settings(), { phase: 'Progressing', releaseVersion: 'app:v2' }, T0), false);
  assert.equal(analysisDue(s, { phase: 'Initializing', releaseVersion: 'app:v2' }, T0), false);
  assert.equal(
    analysisDue(
      s,
      { phase: 'Progressing', releaseVersion: 'app:v2', currentStepIndex: 3, totalSteps: 3 },
      T0,
    ),
    false,
  );
  assert.equal(
    analysisDue(
      s,
      { phase: 'Progressing', releaseVersion: 'app:v2', currentStepIndex: 1, totalSteps: 3 },
      T0,
    ),
    true,
  );
});

test('weight drift read back after a restart is repaired', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.weight = 0; // someone (or a half-finished rollback) reset the route
  const fixed = reconcile(s, tr.status, w, { weight: 0 });
  assert.deepEqual(fixed.effects, [{ type: 'prepareTraffic' }, { type: 'setWeight', weight: 10 }]);
  assert.equal(w.weight, 10);
});

test('a deleted canary Deployment is recreated mid-step', () => {
  const w = world();
  const s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.canary = undefined;
  tr = reconcile(s, tr.status, w);
  assert.deepEqual(tr.effects, [{ type: 'ensureCanary', image: 'app:v2' }]);
});

test('history is bounded', () => {
  const w = world();
  const s = settings({
    steps: Array.from({ length: 40 }, (_, i) => ({ weight: i + 1, pauseMs: 0, requiresApproval: false })),
  });
  let status = run(s, w, undefined, 200);
  status = run(settings({ ...s, version: 'app:v3' }), w, status, 200);
  assert.equal(status.phase, 'Completed');
  assert.equal(status.history?.length, HISTORY_LIMIT);
  assert.equal(status.history?.at(-1)?.event, 'Completed');
});

test('observedGeneration follows the object', () => {
  const tr = transition(settings(), undefined, { ...observe(world()), generation: 7 });
  assert.equal(tr.status.observedGeneration, 7);
});

test('a missing target Deployment is reported once and the release starts when it appears', () => {
  const w = world();
  const missing = transition(settings(), undefined, observe(w, { stable: undefined }));
  assert.equal(missing.status.phase, undefined);
  assert.equal(missing.status.reason, 'TargetNotFound');
  assert.match(missing.status.message ?? '', /spec\.targetDeployment/);
  assert.deepEqual(
    missing.effects.map((e) => e.type),
    ['event'],
    'nothing is created without a template to copy',
  );
  const again = transition(settings(), missing.status, observe(w, { stable: undefined }));
  assert.deepEqual(again.effects, [], 'the Warning is not repeated on every reconcile');
  const appeared = transition(settings(), again.status, observe(w));
  assert.equal(appeared.status.phase, 'Initializing');
  assert.ok(appeared.effects.some((e) => e.type === 'ensureCanary'));
});

test('the person who gave a command is named in the history entry and the Event', () => {
  const w = world();
  let s = settings();
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  tr = reconcile(s, tr.status, w, { command: { verb: 'promote', raw: 'promote:1;by=alice', by: 'alice' } });
  const approved = tr.status.history?.find((h) => h.event === 'Approved');
  assert.equal(approved?.by, 'alice');
  assert.match(approved?.message ?? '', /approved by alice/);
  assert.ok(
    tr.effects.some((e) => e.type === 'event' && e.reason === 'StepApproved' && e.note.includes('by alice')),
  );
  s = settings({ paused: true, pausedBy: 'bob' });
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.history?.at(-1)?.by, 'bob');
  assert.match(tr.status.message ?? '', /paused by bob/);
  tr = reconcile(settings(), tr.status, w, {
    command: { verb: 'abort', raw: 'abort:2;by=carol', by: 'carol' },
  });
  assert.equal(tr.status.history?.at(-1)?.event, 'Aborted');
  assert.equal(tr.status.history?.at(-1)?.by, 'carol');
  assert.match(tr.status.message ?? '', /aborted by carol/);
  // Without an author the controller says "a user" and records no name.
  const anon = reconcile(settings(), { ...tr.status, phase: 'Failed' }, w, {
    command: { verb: 'retry', raw: 'retry:3' },
  });
  assert.equal(anon.status.history?.at(-1)?.by, undefined);
});

test('an analysis in flight: no wake-up for the overdue round (its end wakes the release), other timers still count', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.now += 1_000; // the round is due; the pause (5s) is not over
  const spinning = reconcile(s, tr.status, w);
  assert.equal(
    spinning.requeueAfterMs,
    0,
    'without a round in flight, an overdue round is looked at at once',
  );
  const waiting = reconcile(s, tr.status, w, { analysisRunning: true });
  assert.equal(waiting.requeueAfterMs, 4_000, 'with one in flight, the next wake-up is the pause deadline');
  assert.equal(
    waiting.status.analysis?.nextAt,
    tr.status.analysis?.nextAt,
    'nothing is counted while running',
  );
});

const refused = {
  reason: 'PrometheusNotAllowed',
  message: 'metrics.provider.address http://evil is not allowed',
};

test('a refused release never starts; it starts once the refusal is lifted', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w, { blocked: refused });
  assert.equal(tr.status.phase, undefined);
  assert.equal(tr.status.reason, 'PrometheusNotAllowed');
  assert.match(tr.status.message ?? '', /does not start: .*not allowed/);
  assert.deepEqual(tr.effects, [], 'no canary, no traffic');
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Initializing');
});

test('a refused release holds before the first step, and is rolled back once stepping', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  const held = reconcile(s, tr.status, w, { blocked: refused });
  assert.equal(held.status.phase, 'Initializing');
  assert.equal(held.status.reason, 'PrometheusNotAllowed');
  assert.ok(!held.effects.some((e) => e.type === 'setWeight'), 'no traffic moves to the canary');
  assert.equal(w.weight, 0);
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(w.weight, 10);
  tr = reconcile(s, tr.status, w, { blocked: refused });
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'PrometheusNotAllowed');
  assert.equal(tr.effects[0]?.type, 'resetTraffic', 'traffic back on stable first');
  assert.equal(w.weight, 0);
  assert.equal(w.canary, undefined);
});

test('a refused release with a crash-looping canary is rolled back for the crash', () => {
  const w = world();
  const s = settings({ analysis: { intervalMs: 1_000, successThreshold: 1 } });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w);
  w.crash = true;
  tr = reconcile(s, tr.status, w, { blocked: refused });
  assert.equal(tr.status.reason, 'PodCrashLoop');
});

test('a canary crashing while the promotion moves all traffic to it, before stable takes the image, is rolled back', () => {
  const w = world();
  const s = settings({ steps: [{ weight: 50, pauseMs: 0, requiresApproval: false }] });
  let tr = reconcile(s, undefined, w);
  settle(w);
  tr = reconcile(s, tr.status, w); // step 0
  settle(w);
  tr = reconcile(s, tr.status, w); // promoting: weight 100
  assert.equal(w.weight, 100);
  w.crash = true;
  tr = reconcile(s, tr.status, w);
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.effects[0]?.type, 'resetTraffic');
  assert.equal(w.stableImage, 'app:v1', 'stable was never touched');
  assert.equal(w.weight, 0);
});

test('a group member waits for its turn before anything is written, then starts; a finished one waits again for a new version', () => {
  const s = settings();
  const w = world();
  const waiting = { waitingForGroup: { group: 'fleet' } };
  const held = reconcile(s, undefined, w, waiting);
  assert.equal(held.status.phase, undefined);
  assert.equal(held.status.reason, 'WaitingForGroup');
  assert.deepEqual(
    held.effects.map((e) => e.type),
    ['event'],
  );
  assert.equal(reconcile(s, held.status, w, waiting).effects.length, 0, 'said once');
  const started = reconcile(s, held.status, w);
  assert.equal(started.status.phase, 'Initializing');
  assert.ok(started.effects.some((e) => e.type === 'ensureCanary'));
  // Completed on app:v2; the group asks for app:v3 and the member waits again.
  const done = run(s, w, started.status);
  assert.equal(done.phase, 'Completed');
  const next = reconcile(settings({ version: 'app:v3' }), done, w, waiting);
  assert.equal(next.status.reason, 'WaitingForGroup');
  assert.equal(next.status.phase, undefined);
  assert.ok(!next.effects.some((e) => e.type === 'ensureCanary'));
  // An abort before the turn ends it without writing anything.
  const aborted = reconcile(s, held.status, w, { ...waiting, command: { verb: 'abort', raw: 'abort:1' } });
  assert.equal(aborted.status.phase, 'Failed');
  assert.equal(aborted.status.reason, 'Aborted');
});

test('a pause this transition began counts from the traffic write: its deadline and message move by the delay', () => {
  const before: CanaryDeploymentStatus = {
    phase: 'Progressing',
    currentStepIndex: 0,
    pauseUntil: '2026-01-01T00:00:03.000Z',
  };
  const next: CanaryDeploymentStatus = {
    phase: 'Progressing',
    currentStepIndex: 1,
    pauseUntil: '2026-01-01T00:00:05.000Z',
    message: 'step 2/2: all traffic to v2, waiting until 2026-01-01T00:00:05.000Z',
  };
  const moved = pauseFromWrite(next, before, 800);
  assert.equal(moved.pauseUntil, '2026-01-01T00:00:05.800Z');
  assert.equal(moved.message, 'step 2/2: all traffic to v2, waiting until 2026-01-01T00:00:05.800Z');
  // A deadline set earlier (the same as before), none at all, or no delay: left as it is.
  assert.equal(
    pauseFromWrite({ ...next, pauseUntil: before.pauseUntil }, before, 800).pauseUntil,
    before.pauseUntil,
  );
  assert.equal(pauseFromWrite({ ...next, pauseUntil: undefined }, before, 800).pauseUntil, undefined);
  assert.equal(pauseFromWrite(next, before, 0), next);
});
