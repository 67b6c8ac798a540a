import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec, CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import type { Outcome } from '../analysis/decision.ts';
import { nextVerdict } from '../analysis/verdict.ts';
import { experimentWindowMs, isFinalJudgment, judgeExperiment } from './experiment.ts';
import { transition, type AnalysisObservation, type Observations } from './phases.ts';
import { releaseSettings } from './settings.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const spec: CanaryDeploymentSpec = {
  targetDeployment: 'reco',
  canaryVersion: 'reco:v2',
  strategy: { type: 'Experiment', experiment: { weight: 10, duration: '30s' } },
  traffic: { provider: 'Istio', istio: { virtualService: 'reco' } },
  analysis: { interval: '5s', successThreshold: 3 },
  metrics: {
    compare: { custom: [{ name: 'conversionRate', query: 'x{version="{{version}}"}', minRatio: 0.98 }] },
  },
};

function settings() {
  const result = releaseSettings(spec);
  assert.ok(result.ok, JSON.stringify(result));
  return result.settings;
}

function obs(now: number, extra: Partial<Observations> = {}): Observations {
  return {
    now,
    generation: 1,
    stable: { image: 'reco:v1', rolledOut: true, replicas: 4 },
    canary: { image: 'reco:v2', ready: true },
    pods: { healthy: true },
    ...extra,
  };
}

/** An analysis round that started at `now` with `outcome`, judged as the runner judges it. */
function round(status: CanaryDeploymentStatus, now: number, outcome: Outcome): AnalysisObservation {
  const time = new Date(now).toISOString();
  const decision = outcome === 'healthy' ? 'Continue' : outcome === 'failed' ? 'Rollback' : 'Inconclusive';
  const verdict = nextVerdict({
    previous: status.analysis,
    outcome,
    detail: outcome,
    analysis: spec.analysis,
    now: new Date(now),
  });
  const judged = isFinalJudgment({ spec, status }, time)
    ? judgeExperiment({ spec }, outcome, verdict)
    : verdict;
  return { run: { time, metrics: [], decision, message: outcome }, verdict: judged };
}

/** Started, canary ready, the one step entered at T0. */
function onStep(): CanaryDeploymentStatus {
  const s = settings();
  let status = transition(s, undefined, obs(T0, { canary: undefined })).status;
  status = transition(s, status, obs(T0)).status;
  assert.equal(status.currentWeight, 10);
  assert.equal(status.pauseUntil, new Date(T0 + 30_000).toISOString());
  return status;
}

test('an experiment is one step at its weight, held for its duration, judged over all of it', () => {
  const s = settings();
  assert.deepEqual(s.steps, [{ weight: 10, pauseMs: 30_000, requiresApproval: false }]);
  assert.deepEqual(s.experiment, { durationMs: 30_000 });
  assert.equal(experimentWindowMs({ spec }), 30_000);
  const without = releaseSettings({ ...spec, metrics: {} });
  assert.ok(!without.ok && /Experiment is decided by its checks/.test(without.problems.join()));
});

test('healthy analyses before the deadline do not promote; the final judgment does, at once', () => {
  const s = settings();
  let status = onStep();
  for (const at of [5_000, 10_000, 15_000, 20_000, 25_000])
    status = transition(s, status, obs(T0 + at, { analysis: round(status, T0 + at, 'healthy') })).status;
  assert.equal(status.currentStepIndex, 0, 'still on the experiment');
  status = transition(s, status, obs(T0 + 30_000)).status;
  assert.equal(
    status.currentStepIndex,
    0,
    'the deadline alone does not promote: the final judgment has not run',
  );
  const final = transition(s, status, obs(T0 + 31_000, { analysis: round(status, T0 + 31_000, 'healthy') }));
  assert.equal(final.status.reason, 'Promoting');
  assert.ok(final.effects.some((e) => e.type === 'event' && e.reason === 'ExperimentPassed'));
  assert.match(final.status.history?.at(-1)?.message ?? '', /the experiment passed/);
});

test('a final judgment that fails rolls back at once, without waiting for the failure streak', () => {
  const s = settings();
  const status = onStep();
  const tr = transition(s, status, obs(T0 + 30_000, { analysis: round(status, T0 + 30_000, 'failed') }));
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'ExperimentFailed');
  assert.equal(tr.effects[0]?.type, 'resetTraffic');
  assert.match(tr.status.message ?? '', /did worse/);
});

test('a final judgment without data pauses for a person; a later one with data decides', () => {
  const s = settings();
  let status = onStep();
  status = transition(
    s,
    status,
    obs(T0 + 30_000, { analysis: round(status, T0 + 30_000, 'inconclusive') }),
  ).status;
  assert.equal(status.phase, 'Paused');
  assert.equal(status.reason, 'ExperimentInconclusive');
  const later = transition(s, status, obs(T0 + 35_000, { analysis: round(status, T0 + 35_000, 'healthy') }));
  assert.equal(later.status.reason, 'Promoting');
});

test('a breach before the deadline still rolls back early, by the usual streak', () => {
  const s = settings();
  let status = onStep();
  status = transition(s, status, obs(T0 + 5_000, { analysis: round(status, T0 + 5_000, 'failed') })).status;
  assert.equal(status.phase, 'Progressing', 'one failure of failureThreshold 2 holds');
  status = transition(s, status, obs(T0 + 10_000, { analysis: round(status, T0 + 10_000, 'failed') })).status;
  assert.equal(status.phase, 'Failed');
  assert.equal(status.reason, 'MetricsFailed');
});
