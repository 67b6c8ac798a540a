/**
 * kill -9 of the controller in each phase: the next controller reads the release from
 * status and continues it: the same step, the same pause deadline, no step taken (or
 * recorded) twice, nothing lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  killHard,
  names,
  releaseEnv,
  startCanaryController,
  waitFor,
  waitPhase,
} from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

function count(cd: CanaryDeployment, event: string, step?: number): number {
  return (cd.status?.history ?? []).filter(
    (h) => h.event === event && (step === undefined || h.step === step),
  ).length;
}

test('killed mid-pause: same step, same deadline, advances once after it', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 25, pause: '10s' },
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  const atStep0 = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      return cd?.status?.phase === 'Progressing' && cd.status.currentStepIndex === 0 && cd.status.pauseUntil
        ? cd
        : undefined;
    },
    { describe: 'step 1 reached', timeoutMs: 60_000 },
  );
  const deadline = atStep0.status?.pauseUntil ?? '';
  await killHard(controller!);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const whileDead = await getRelease(admin, ns, 'myapp');
  assert.equal(whileDead?.status?.currentStepIndex, 0);
  assert.equal(
    (await getDeployment(admin, ns, 'myapp-canary'))?.spec?.replicas,
    1,
    'the canary keeps its share while no controller runs',
  );

  await startCanaryController(t, ns);
  const upAt = Date.now();
  const seen = await getRelease(admin, ns, 'myapp');
  if (upAt < Date.parse(deadline)) {
    assert.equal(seen?.status?.currentStepIndex, 0, 'still on step 1 before the deadline');
    assert.equal(seen?.status?.pauseUntil, deadline, 'the pause deadline is kept, not restarted');
  }
  const step1 = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      return (cd?.status?.currentStepIndex ?? 0) >= 1 ? cd : undefined;
    },
    { describe: 'step 2 reached', timeoutMs: 30_000 },
  );
  const advancedAt = Date.parse(step1.status?.history?.find((h) => h.event === 'StepAdvanced')?.time ?? '');
  assert.ok(
    advancedAt >= Date.parse(deadline),
    `advanced after the stored deadline (${new Date(advancedAt).toISOString()} >= ${deadline})`,
  );
  // Not a restarted 10s pause: as soon as both the deadline passed and a controller ran.
  assert.ok(
    advancedAt - Math.max(Date.parse(deadline), upAt) < 5_000,
    'advanced without waiting a new pause',
  );

  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  assert.equal(count(done, 'Started'), 1);
  assert.equal(count(done, 'StepReached'), 1);
  assert.equal(count(done, 'StepAdvanced', 1), 1, 'step 2 entered once');
  assert.equal(count(done, 'StepAdvanced', 2), 1, 'step 3 entered once');
  assert.equal(count(done, 'Completed'), 1);
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
});

test('killed while Paused: stays paused past its deadline, resumes when told', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '2s' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.phase === 'Progressing', {
    describe: 'Progressing',
    timeoutMs: 60_000,
  });
  await admin.patch(CanaryDeploymentKind, ns, 'myapp', { spec: { paused: true } }, 'merge');
  await waitPhase(admin, ns, 'myapp', 'Paused');
  await killHard(controller!);
  await startCanaryController(t, ns);
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // past the 2s deadline
  const still = await getRelease(admin, ns, 'myapp');
  assert.equal(still?.status?.phase, 'Paused');
  assert.equal(still?.status?.currentStepIndex, 0, 'no step taken while paused');
  await admin.patch(CanaryDeploymentKind, ns, 'myapp', { spec: { paused: false } }, 'merge');
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  assert.equal(count(done, 'Paused'), 1);
  assert.equal(count(done, 'Resumed'), 1);
  assert.equal(count(done, 'Completed'), 1);
});

test('killed during promotion: the promotion finishes once', { timeout: 120_000 }, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  // minReadySeconds makes the stable rollout take a few seconds, so the kill lands inside it.
  await createApp(admin, ns, 'myapp', { replicas: 2, minReadySeconds: 3 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { steps: [{ weight: 100, pause: '0s' }] },
  });
  await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      return (
        cd?.status?.reason === 'Promoting' && imageOf(await getDeployment(admin, ns, 'myapp')) === 'myapp:v2'
      );
    },
    { describe: 'promotion under way', timeoutMs: 60_000, intervalMs: 50 },
  );
  await killHard(controller!);
  const mid = await getRelease(admin, ns, 'myapp');
  assert.equal(mid?.status?.phase, 'Progressing');
  await startCanaryController(t, ns);
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  assert.equal(count(done, 'Promoting'), 1);
  assert.equal(count(done, 'Completed'), 1);
  const stable = await getDeployment(admin, ns, 'myapp');
  assert.equal(imageOf(stable), 'myapp:v2');
  assert.equal(stable?.spec?.replicas, 2);
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'canary removed',
  });
});
