import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { ReleasePlanSpec } from '../api/release-plan.ts';
import { planWaves, releaseStateOf, type ClusterObservation, type ReleaseState } from './plan.ts';

const spec = (extra: Partial<ReleasePlanSpec> = {}): ReleasePlanSpec => ({
  template: { name: 'app', namespace: 'shop', spec: { targetDeployment: 'app', canaryVersion: 'app:v2' } },
  waves: [
    { name: 'staging', clusters: ['staging'] },
    { name: 'prod', clusters: ['prod-a', 'prod-b'] },
  ],
  ...extra,
});

const seen = (states: Record<string, ReleaseState | ClusterObservation>) =>
  new Map(
    Object.entries(states).map(([k, v]): [string, ClusterObservation] => [
      k,
      typeof v === 'string' ? { state: v } : v,
    ]),
  );

const phases = (plan: ReturnType<typeof planWaves>) =>
  plan.waves.map((w) => `${w.name}:${w.phase}[${w.clusters.map((c) => `${c.name}=${c.phase}`).join(',')}]`);

test('the first wave starts alone; the next waits until every release of it completed', () => {
  const start = planWaves(spec(), seen({ staging: 'absent', 'prod-a': 'absent', 'prod-b': 'absent' }));
  assert.deepEqual(start.create, ['staging']);
  assert.equal(start.phase, 'Progressing');
  assert.equal(start.currentWave, 'staging');
  assert.deepEqual(phases(start), [
    'staging:Progressing[staging=Pending]',
    'prod:Pending[prod-a=NotStarted,prod-b=NotStarted]',
  ]);

  const running = planWaves(spec(), seen({ staging: 'running', 'prod-a': 'absent', 'prod-b': 'absent' }));
  assert.deepEqual(running.create, [], 'nothing new while staging runs');
  assert.match(running.message, /wave 1\/2 staging: 0\/1 clusters completed/);

  const next = planWaves(spec(), seen({ staging: 'completed', 'prod-a': 'absent', 'prod-b': 'absent' }));
  assert.deepEqual(next.create, ['prod-a', 'prod-b'], 'both clusters of the wave in parallel');
  assert.equal(next.currentWave, 'prod');

  const half = planWaves(spec(), seen({ staging: 'completed', 'prod-a': 'completed', 'prod-b': 'running' }));
  assert.equal(half.phase, 'Progressing');
  assert.deepEqual(half.create, []);

  const done = planWaves(
    spec(),
    seen({ staging: 'completed', 'prod-a': 'completed', 'prod-b': 'completed' }),
  );
  assert.equal(done.phase, 'Completed');
  assert.equal(done.reason, 'PlanCompleted');
  assert.equal(done.currentWave, undefined);
  assert.match(done.message, /3 clusters in 2 waves/);
});

test('a failure stops everything: running releases aborted, no later wave starts', () => {
  const failedStaging = planWaves(
    spec(),
    seen({
      staging: { state: 'failed', reason: 'AnalysisFailed', message: 'error rate 9%' },
      'prod-a': 'absent',
      'prod-b': 'absent',
    }),
  );
  assert.equal(failedStaging.phase, 'Failed');
  assert.equal(failedStaging.reason, 'ReleaseFailed');
  assert.match(failedStaging.message, /staging failed \(AnalysisFailed: error rate 9%\)/);
  assert.deepEqual(failedStaging.create, []);
  assert.deepEqual(phases(failedStaging), [
    'staging:Failed[staging=Failed]',
    'prod:Stopped[prod-a=NotStarted,prod-b=NotStarted]',
  ]);

  const failedProdA = planWaves(
    spec(),
    seen({ staging: 'completed', 'prod-a': 'failed', 'prod-b': 'running' }),
  );
  assert.deepEqual(failedProdA.abort, ['prod-b'], 'the sibling still running is aborted');
  assert.deepEqual(phases(failedProdA), [
    'staging:Completed[staging=Completed]',
    'prod:Failed[prod-a=Failed,prod-b=Aborting]',
  ]);
});

test('a failed plan stays failed: a deleted failed release is not made again', () => {
  const plan = planWaves(spec(), seen({ staging: 'absent', 'prod-a': 'absent', 'prod-b': 'absent' }), {
    failed: { reason: 'ReleaseFailed', message: 'wave staging: the release in staging failed' },
  });
  assert.equal(plan.phase, 'Failed');
  assert.deepEqual(plan.create, []);
  assert.match(plan.message, /staging failed/);
});

test('spec.aborted aborts what runs and starts nothing', () => {
  const plan = planWaves(
    spec({ aborted: true }),
    seen({ staging: 'running', 'prod-a': 'absent', 'prod-b': 'absent' }),
  );
  assert.equal(plan.reason, 'Aborted');
  assert.deepEqual(plan.abort, ['staging']);
  assert.deepEqual(plan.create, []);
});

test('an unreachable cluster holds its wave without failing it; one seen Completed stays Completed', () => {
  const held = planWaves(
    spec(),
    seen({
      staging: { state: 'unreachable', message: 'connect ECONNREFUSED' },
      'prod-a': 'absent',
      'prod-b': 'absent',
    }),
  );
  assert.equal(held.phase, 'Progressing');
  assert.equal(held.reason, 'ClusterUnreachable');
  assert.match(held.message, /cannot reach staging/);
  assert.deepEqual(held.create, []);

  const remembered = planWaves(
    spec(),
    seen({ staging: 'unreachable', 'prod-a': 'absent', 'prod-b': 'absent' }),
    { completed: new Set(['staging']) },
  );
  assert.deepEqual(remembered.create, ['prod-a', 'prod-b']);
});

test('a release name taken in a cluster fails the plan; a cluster in two waves is refused', () => {
  const taken = planWaves(spec(), seen({ staging: 'foreign', 'prod-a': 'absent', 'prod-b': 'absent' }));
  assert.equal(taken.phase, 'Failed');
  assert.equal(taken.waves[0]?.clusters[0]?.reason, 'NameTaken');

  const twice = planWaves(
    spec({
      waves: [
        { name: 'a', clusters: ['x'] },
        { name: 'b', clusters: ['y', 'x'] },
      ],
    }),
    seen({}),
  );
  assert.equal(twice.reason, 'InvalidPlan');
  assert.match(twice.message, /clusters named in more than one wave: x \(spec\.waves\)/);
  assert.deepEqual(twice.create, []);
});

test('a CanaryDeployment reads as its release state for the version it carries', () => {
  const cd = (phase: string | undefined, releaseVersion = 'app:v2'): CanaryDeployment => ({
    metadata: { name: 'app' },
    spec: { targetDeployment: 'app', canaryVersion: 'app:v2' },
    status: phase ? ({ phase, releaseVersion, reason: 'R' } as CanaryDeployment['status']) : undefined,
  });
  assert.equal(releaseStateOf(cd('Completed')).state, 'completed');
  assert.equal(releaseStateOf(cd('Failed')).state, 'failed');
  assert.equal(releaseStateOf(cd('Progressing')).state, 'running');
  assert.equal(
    releaseStateOf(cd('Completed', 'app:v1')).state,
    'running',
    'an old version completed: v2 about to start',
  );
  assert.equal(releaseStateOf(cd(undefined)).state, 'running');
});
