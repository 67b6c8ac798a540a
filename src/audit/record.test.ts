import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import { auditRecords, ControllerActor } from './record.ts';

const release = { namespace: 'pay', name: 'gateway', uid: 'u-1' };

const started: CanaryDeploymentStatus = {
  phase: 'Progressing',
  releaseVersion: 'gateway:v2',
  stableRevision: 'gateway:v1',
  totalSteps: 3,
  currentStepIndex: 0,
  currentWeight: 10,
  history: [
    { time: '2026-12-01T10:00:00.000Z', event: 'Started', step: 0, weight: 0, message: 'started' },
    { time: '2026-12-01T10:00:02.000Z', event: 'StepReached', step: 0, weight: 10, message: 'step 1/3' },
  ],
};

const analysed: CanaryDeploymentStatus = {
  ...started,
  analysis: {
    last: {
      time: '2026-12-01T10:00:12.000Z',
      step: 0,
      score: 40,
      decision: 'Rollback',
      message: 'error rate 12% > 1%',
      metrics: [{ name: 'errorRate', value: 12, threshold: '< 1', passed: false, score: 0 }],
    },
  },
};

const aborted: CanaryDeploymentStatus = {
  ...analysed,
  phase: 'Failed',
  reason: 'Aborted',
  currentWeight: 0,
  handledCommand: 'abort:k1-ab;by=alice',
  handledCommandAt: '2026-12-01T10:00:20.000Z',
  handledCommandOutcome: 'Acted: Aborted',
  history: [
    ...(started.history ?? []),
    {
      time: '2026-12-01T10:00:20.000Z',
      event: 'Aborted',
      step: 0,
      weight: 0,
      message: 'aborted by alice',
      by: 'alice',
    },
  ],
};

test('a first status gives one record per history entry, in time order, by the controller', () => {
  const records = auditRecords(release, undefined, started);
  assert.deepEqual(
    records.map((r) => [r.type, r.action, r.actor, r.weight]),
    [
      ['Transition', 'Started', ControllerActor, 0],
      ['Transition', 'StepReached', ControllerActor, 10],
    ],
  );
  assert.equal(records[0]?.release.version, 'gateway:v2');
  assert.equal(records[0]?.release.stableVersion, 'gateway:v1');
  assert.equal(records[0]?.schema, 'codedance.audit/v1');
});

test('only what a write added: a new analysis with its numbers', () => {
  const records = auditRecords(release, started, analysed);
  assert.equal(records.length, 1);
  const [r] = records;
  assert.equal(r?.type, 'Analysis');
  assert.equal(r?.action, 'Rollback');
  assert.equal(r?.analysis?.score, 40);
  assert.equal(r?.analysis?.metrics[0]?.value, 12);
  assert.equal(r?.weight, 10, 'the weight the run judged');
  assert.equal(
    auditRecords(release, started, { ...analysed, phase: 'Failed', currentWeight: 0 })[0]?.weight,
    undefined,
    'not the 0 of the rollback it caused',
  );
  assert.deepEqual(auditRecords(release, analysed, analysed), [], 'an unchanged status adds nothing');
});

test('a command: its verb, id, issuer, time and outcome, and the transition it caused by the same person', () => {
  const records = auditRecords(release, analysed, aborted);
  assert.deepEqual(
    records.map((r) => [r.type, r.action, r.actor]),
    [
      ['Transition', 'Aborted', 'alice'],
      ['Command', 'abort', 'alice'],
    ],
  );
  const command = records.find((r) => r.type === 'Command');
  assert.deepEqual(command?.command, {
    verb: 'abort',
    commandId: 'k1-ab',
    value: 'abort:k1-ab;by=alice',
    by: 'alice',
    outcome: 'Acted: Aborted',
  });
  assert.equal(command?.time, '2026-12-01T10:00:20.000Z');
});

test('ids are stable across derivations and distinct between facts', () => {
  const once = auditRecords(release, undefined, aborted);
  const replay = auditRecords(release, undefined, aborted);
  assert.deepEqual(
    once.map((r) => r.id),
    replay.map((r) => r.id),
  );
  assert.equal(new Set(once.map((r) => r.id)).size, once.length);
  // The same entry seen as new in an incremental write has the replay's id.
  const incremental = auditRecords(release, analysed, aborted).find((r) => r.action === 'Aborted');
  assert.ok(once.some((r) => r.id === incremental?.id));
  // Another release's identical history is another fact.
  const other = auditRecords({ ...release, uid: 'u-2' }, undefined, aborted);
  assert.ok(other.every((r) => !once.some((o) => o.id === r.id)));
});

test('a history entry pushed out of the bounded history is not reported again', () => {
  const trimmed: CanaryDeploymentStatus = { ...started, history: started.history?.slice(1) };
  assert.deepEqual(auditRecords(release, started, trimmed), []);
});
