import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { planSteer, refusal } from './commands.ts';
import { transition, type ReleaseSettings } from './phases.ts';
import { releaseState, STEERING, steeringRefusal, type ReleaseState } from './steering.ts';

test('releaseState tells the states apart from status (and spec.paused)', () => {
  assert.equal(releaseState(undefined), 'NotStarted');
  assert.equal(releaseState({ phase: 'Initializing', currentStepIndex: 0, totalSteps: 2 }), 'Initializing');
  assert.equal(releaseState({ phase: 'Progressing', currentStepIndex: 1, totalSteps: 2 }), 'Stepping');
  assert.equal(releaseState({ phase: 'Progressing', currentStepIndex: 1, totalSteps: 2 }, true), 'Paused');
  assert.equal(releaseState({ phase: 'Paused', currentStepIndex: 0, totalSteps: 2 }), 'Paused');
  assert.equal(releaseState({ phase: 'Progressing', currentStepIndex: 2, totalSteps: 2 }), 'Promoting');
  assert.equal(releaseState({ phase: 'Progressing', currentStepIndex: 2, totalSteps: 2 }, true), 'Promoting');
  assert.equal(releaseState({ phase: 'Failed' }), 'Failed');
  // A pause asked for before the controller acted on it: resume is what undoes it.
  assert.equal(releaseState(undefined, true), 'Paused');
  assert.equal(releaseState({ phase: 'Initializing', currentStepIndex: 0, totalSteps: 2 }, true), 'Paused');
  assert.equal(releaseState({ phase: 'Completed' }, true), 'Completed');
});

const settings: ReleaseSettings = {
  version: 'app:v2',
  steps: [
    { weight: 10, pauseMs: undefined, requiresApproval: true },
    { weight: 50, pauseMs: undefined, requiresApproval: true },
  ],
  blueGreen: false,
  provider: 'Replicas',
  traffic: { provider: 'Replicas', service: 'app', objects: [] },
  scalesWithWeight: false,
  paused: false,
  autoRollback: { enabled: true, onPodCrash: true, notReadyGraceMs: 0 },
  analysis: undefined,
};

const statusOf: Record<ReleaseState, CanaryDeployment['status']> = {
  NotStarted: undefined,
  Initializing: { phase: 'Initializing', releaseVersion: 'app:v2', currentStepIndex: 0, totalSteps: 2 },
  Stepping: {
    phase: 'Progressing',
    releaseVersion: 'app:v2',
    currentStepIndex: 0,
    totalSteps: 2,
    currentWeight: 10,
  },
  Paused: {
    phase: 'Paused',
    reason: 'AnalysisFailing',
    releaseVersion: 'app:v2',
    currentStepIndex: 0,
    totalSteps: 2,
    currentWeight: 10,
  },
  Promoting: {
    phase: 'Progressing',
    reason: 'Promoting',
    releaseVersion: 'app:v2',
    currentStepIndex: 2,
    totalSteps: 2,
    currentWeight: 10,
  },
  Completed: { phase: 'Completed', releaseVersion: 'app:v2', currentStepIndex: 2, totalSteps: 2 },
  Failed: {
    phase: 'Failed',
    reason: 'Aborted',
    releaseVersion: 'app:v2',
    currentStepIndex: 0,
    totalSteps: 2,
  },
};

test('the controller, the CLI and the dashboard refuse the same commands with the same words', () => {
  for (const [state, status] of Object.entries(statusOf) as [ReleaseState, CanaryDeployment['status']][]) {
    assert.equal(releaseState(status), state);
    const cd: CanaryDeployment = {
      metadata: { name: 'app', namespace: 'ns' },
      spec: { targetDeployment: 'app', canaryVersion: 'app:v2' },
      status,
    };
    for (const verb of ['promote', 'promote-full', 'resume', 'abort', 'retry'] as const) {
      const why = steeringRefusal(verb, state);
      // The CLI and the dashboard (planSteer).
      const cli = verb === 'promote-full' ? refusal('promote', cd, true) : refusal(verb, cd, false);
      assert.equal(cli, why === undefined ? undefined : `release "app" ${why}`, `${verb} in ${state} (CLI)`);
      const plan = verb === 'promote-full' ? planSteer(cd, 'promote', true) : planSteer(cd, verb, false);
      assert.equal(plan.kind === 'refused', why !== undefined, `${verb} in ${state} (planSteer)`);
      // The controller. Promoting counts from the moment the stable Deployment takes the
      // new version (before that an abort still rolls back: phases.test.ts).
      const tr = transition(settings, status, {
        now: Date.parse('2026-01-01T00:00:00Z'),
        generation: 1,
        stable: { image: state === 'Promoting' ? 'app:v2' : 'app:v1', rolledOut: true, replicas: 2 },
        canary: { image: 'app:v2', ready: true },
        pods: { healthy: true },
        command: { verb, raw: `${verb}:1` },
      });
      const ignored = tr.effects.find((e) => e.type === 'event' && e.reason === 'CommandIgnored');
      if (why === undefined) {
        assert.equal(ignored, undefined, `${verb} in ${state} is acted on by the controller`);
      } else {
        assert.ok(
          ignored?.type === 'event' && ignored.note === `${verb} ignored: the release ${why}`,
          `${verb} in ${state} (controller): ${JSON.stringify(tr.effects)}`,
        );
      }
      assert.equal(tr.status.handledCommand, `${verb}:1`, 'acted on or refused, a command is handled once');
      // The audit trail dates the command and says what came of it (src/audit/record.ts).
      assert.equal(tr.status.handledCommandAt, '2026-01-01T00:00:00.000Z');
      if (why === undefined) assert.match(tr.status.handledCommandOutcome ?? '', /^Acted/);
      else assert.equal(tr.status.handledCommandOutcome, `Ignored: the release ${why}`);
    }
  }
});

test('every verb has a rule for every state', () => {
  for (const rules of Object.values(STEERING))
    assert.deepEqual(Object.keys(rules).sort(), Object.keys(statusOf).sort());
});

test('before the first look: promote approves in advance, abort fails the release without writing anything', () => {
  const obs = {
    now: Date.parse('2026-01-01T00:00:00Z'),
    generation: 1,
    stable: { image: 'app:v1', rolledOut: true, replicas: 2 },
    canary: undefined,
    pods: { healthy: true as const },
  };
  const promoted = transition(settings, undefined, {
    ...obs,
    command: { verb: 'promote', raw: 'promote:1', by: 'bob' },
  });
  assert.equal(promoted.status.phase, 'Initializing');
  assert.equal(promoted.status.approvedStep, 0);
  const aborted = transition(settings, undefined, {
    ...obs,
    command: { verb: 'abort', raw: 'abort:1', by: 'bob' },
  });
  assert.equal(aborted.status.phase, 'Failed');
  assert.equal(aborted.status.reason, 'Aborted');
  assert.match(aborted.status.message ?? '', /aborted by bob before it started/);
  assert.ok(
    !aborted.effects.some((e) => e.type === 'ensureCanary' || e.type === 'setWeight'),
    'nothing written',
  );
  const retried = transition(settings, aborted.status, {
    ...obs,
    command: { verb: 'retry', raw: 'retry:1' },
  });
  assert.equal(retried.status.phase, 'Initializing', 'retry starts it');
});

test('a later transition keeps when and how the last command was handled, also when the release starts afresh', () => {
  const obs = {
    now: Date.parse('2026-01-01T00:01:00Z'),
    generation: 1,
    stable: { image: 'app:v1', rolledOut: true, replicas: 2 },
    canary: { image: 'app:v2', ready: true },
    pods: { healthy: true as const },
  };
  const handled = {
    handledCommand: 'abort:1;by=alice',
    handledCommandAt: '2026-01-01T00:00:00.000Z',
    handledCommandOutcome: 'Acted: Aborted',
  };
  const stepping = transition(settings, { ...statusOf.Stepping, ...handled }, obs);
  assert.equal(stepping.status.handledCommandAt, handled.handledCommandAt);
  assert.equal(stepping.status.handledCommandOutcome, handled.handledCommandOutcome);
  // A new version restarts the release with a fresh status: the record of the command stays.
  const restarted = transition({ ...settings, version: 'app:v3' }, { ...statusOf.Stepping, ...handled }, obs);
  assert.equal(restarted.status.releaseVersion, 'app:v3');
  assert.equal(restarted.status.handledCommandAt, handled.handledCommandAt);
  assert.equal(restarted.status.handledCommandOutcome, handled.handledCommandOutcome);
});
