import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentStatus, HistoryEntry } from '../api/canary-deployment.ts';
import { parseQuantity, podRequestsOf, releaseCost, sumCosts, withCost } from './cost.ts';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const entry = (s: number, event: string, weight: number, step = 0): HistoryEntry => ({
  time: at(s),
  event,
  weight,
  step,
});
const perPod = { cpuCores: 0.5, memoryGiB: 0.25 };

/** A linear release 10% (60s) → 50% (120s) → promotion (30s) → completed. */
function completed(provider: 'Replicas' | 'Istio'): CanaryDeploymentStatus {
  return {
    phase: 'Completed',
    startedAt: at(0),
    completedAt: at(210),
    totalSteps: 2,
    stableReplicas: 10,
    traffic: { provider, service: 'web' },
    history: [
      entry(-500, 'Completed', 0), // an earlier release's entry: not counted
      entry(0, 'Started', 0),
      entry(0, 'StepReached', 10, 0),
      entry(60, 'StepAdvanced', 50, 1),
      entry(180, 'Promoting', 50, 2),
      entry(200, 'RolledOut', 0, 2),
      entry(210, 'Completed', 0, 2),
    ],
  };
}

test('Replicas: the canary takes its share out of stable; extra pods only while stable rolls out beside it', () => {
  const cost = releaseCost(completed('Replicas'), perPod, T0 + 999_000);
  assert.ok(cost);
  assert.equal(cost.seconds, 210);
  assert.equal(cost.asOf, '2026-01-01T10:03:30Z');
  // 1 pod x 60s + 5 pods x 120s + 10 pods x 30s (promotion, to RolledOut and on to Completed)
  assert.equal(cost.canaryPodSeconds, 60 + 600 + 300);
  assert.equal(cost.extraPodSeconds, 300);
  assert.equal(cost.cpuCoreSeconds, 480);
  assert.equal(cost.memoryGiBSeconds, 240);
  // (10 x 60 + 50 x 120 + 100 x 20 + 0 x 10) / 210
  assert.equal(cost.canaryTrafficPercent, Math.round(((600 + 6000 + 2000) / 210) * 1000) / 1000);
  assert.deepEqual(cost.steps, [
    { step: 1, weight: 10, seconds: 60 },
    { step: 2, weight: 50, seconds: 120 },
    { step: 3, weight: 100, seconds: 20 },
    { step: 3, weight: 0, seconds: 10 },
  ]);
});

test('a routing provider runs the canary at full size from its creation: all of it is extra', () => {
  const cost = releaseCost(completed('Istio'), perPod, T0);
  assert.ok(cost);
  assert.equal(cost.canaryPodSeconds, 10 * 210);
  assert.equal(cost.extraPodSeconds, 10 * 210);
});

test('an active release is counted up to now; paused time stays at its step', () => {
  const status: CanaryDeploymentStatus = {
    phase: 'Paused',
    startedAt: at(0),
    totalSteps: 3,
    stableReplicas: 4,
    traffic: { provider: 'Replicas', service: 'web' },
    history: [entry(0, 'Started', 0), entry(0, 'StepReached', 25, 0), entry(30, 'Paused', 25, 0)],
  };
  const cost = releaseCost(status, perPod, T0 + 90_000);
  assert.ok(cost);
  assert.equal(cost.seconds, 90);
  assert.equal(cost.canaryPodSeconds, 90);
  assert.equal(cost.canaryTrafficPercent, 25);
  assert.deepEqual(cost.steps, [{ step: 1, weight: 25, seconds: 90 }]);
});

test('a rollback ends the timeline at completedAt; a release never started has no cost', () => {
  const status: CanaryDeploymentStatus = {
    phase: 'Failed',
    startedAt: at(0),
    completedAt: at(40),
    totalSteps: 3,
    stableReplicas: 2,
    traffic: { provider: 'Replicas', service: 'web' },
    history: [entry(0, 'Started', 0), entry(0, 'StepReached', 50, 0), entry(40, 'RolledBack', 0, 0)],
  };
  assert.equal(releaseCost(status, perPod, T0 + 1e9)?.canaryPodSeconds, 40);
  assert.equal(releaseCost({ reason: 'WaitingForGroup' }, perPod, T0), undefined);
});

test('withCost updates the figures only when the timeline moved, and drops them for a release not started', () => {
  const before: CanaryDeploymentStatus = {
    phase: 'Progressing',
    startedAt: at(0),
    stableReplicas: 2,
    history: [entry(0, 'Started', 0), entry(0, 'StepReached', 50, 0)],
  };
  const first = withCost(before, undefined, perPod, T0 + 10_000);
  assert.equal(first.cost?.seconds, 10);
  const same = withCost(first, first, perPod, T0 + 20_000);
  assert.equal(same.cost?.seconds, 10, 'time alone does not rewrite the status');
  const moved = withCost(
    { ...first, history: [...(first.history ?? []), entry(20, 'Paused', 50)] },
    first,
    perPod,
    T0 + 20_000,
  );
  assert.equal(moved.cost?.seconds, 20);
  assert.equal(withCost({ reason: 'WaitingForGroup' }, first, perPod, T0).cost, undefined);
});

test('quantities and pod requests', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('512Mi'), 512 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('lots'), undefined);
  assert.deepEqual(
    podRequestsOf({
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m', memory: '256Mi' } } },
          { name: 'b', resources: { requests: { cpu: '400m', memory: '768Mi' } } },
          { name: 'c' },
        ],
      },
    }),
    { cpuCores: 0.5, memoryGiB: 1 },
  );
});

test('a fleet sums its releases; the traffic share is weighted by time', () => {
  const a = releaseCost(completed('Replicas'), perPod, T0);
  const b = releaseCost(completed('Istio'), perPod, T0);
  assert.ok(a && b);
  const sum = sumCosts([a, b]);
  assert.equal(sum.canaryPodSeconds, a.canaryPodSeconds + b.canaryPodSeconds);
  assert.equal(sum.seconds, 420);
  assert.equal(sum.canaryTrafficPercent, a.canaryTrafficPercent);
  assert.equal(sumCosts([]).seconds, 0);
});
