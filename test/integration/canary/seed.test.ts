/**
 * The seed sample (DESIGN.md), with its pauses shortened to seconds and without the
 * metrics block (analysis has its own tests), on the default Replicas provider: every
 * step's replica split is checked on the real Deployments, and the release ends
 * Completed with the new image on the stable Deployment and no canary left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  names,
  releaseEnv,
  sampleSteps,
  waitFor,
  waitPhase,
} from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

test('seed sample: Linear 10/50/100 on replica ratios ends Completed with the new image on stable', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 4, image: 'myapp:v1.0.0' });
  const sampler = sampleSteps(admin, ns, 'myapp', async () => {
    const stable = await getDeployment(admin, ns, 'myapp');
    const canary = await getDeployment(admin, ns, 'myapp-canary');
    return { stable: stable?.spec?.replicas, canary: canary?.spec?.replicas, stableImage: imageOf(stable) };
  });
  const created = Date.now();
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2.0.0',
    strategy: {
      type: 'Linear',
      steps: [
        { weight: 10, pause: '2s' },
        { weight: 50, pause: '2s' },
        { weight: 100, pause: '0s' },
      ],
    },
    autoRollback: { enabled: true, onMetricsFail: true, onPodCrash: true },
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 90_000);
  const samples = await sampler.stop();
  const reached = Date.parse(done.status?.history?.find((h) => h.event === 'StepReached')?.time ?? '');
  t.diagnostic(`create → first weight written ${reached - created}ms, → Completed ${Date.now() - created}ms`);

  const stable = await getDeployment(admin, ns, 'myapp');
  assert.equal(imageOf(stable), 'myapp:v2.0.0');
  assert.equal(stable?.spec?.replicas, 4, 'full size again');
  assert.equal(done.status?.stableRevision, 'myapp:v2.0.0');
  assert.equal(done.status?.currentWeight, 0);
  assert.ok(
    !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'),
    'no canary Deployment left',
  );

  // What the cluster showed at each step: 10% of 4 pods is 1 canary pod, 50% is 2, 100% is 4.
  const expected: Record<number, { canary: number; stable: number }> = {
    0: { canary: 1, stable: 3 },
    1: { canary: 2, stable: 2 },
    2: { canary: 4, stable: 0 },
  };
  for (const [step, split] of Object.entries(expected)) {
    const inStep = samples.filter((s) => s.phase === 'Progressing' && s.step === Number(step));
    assert.ok(inStep.length > 0, `step ${step} was observed`);
    // The provider scales up before it scales down, so a sample may catch the surge in between.
    const seen = inStep.map((s) => ({ canary: s.seen.canary, stable: s.seen.stable }));
    assert.ok(
      seen.some((s) => s.canary === split.canary && s.stable === split.stable),
      `replicas at step ${step}: ${JSON.stringify(seen)}`,
    );
  }
  const events = (done.status?.history ?? []).map((h) => h.event);
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
  const conditions = Object.fromEntries((done.status?.conditions ?? []).map((c) => [c.type, c.status]));
  assert.deepEqual(conditions, {
    Progressing: 'False',
    Paused: 'False',
    Healthy: 'True',
    Ready: 'True',
    TrafficReady: 'True',
  });
});

test('a new canaryVersion mid-release starts again from step 1 on that version', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 25, pause: '1s' },
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.currentStepIndex === 1, {
    describe: 'step 2 on v2',
    timeoutMs: 60_000,
  });
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    {
      spec: {
        canaryVersion: 'myapp:v3',
        strategy: {
          steps: [
            { weight: 25, pause: '1s' },
            { weight: 100, pause: '0s' },
          ],
        },
      },
    },
    'merge',
  );
  const restarted = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      return cd?.status?.releaseVersion === 'myapp:v3' ? cd : undefined;
    },
    { describe: 'the release restarted on v3', timeoutMs: 30_000 },
  );
  assert.equal(restarted.status?.currentStepIndex, 0, 'from the first step');
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 90_000);
  assert.equal(done.status?.releaseVersion, 'myapp:v3');
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v3');
  assert.ok(
    (done.status?.history ?? []).some((h) => h.event === 'Restarted'),
    'the restart is in the history',
  );
  assert.ok(!(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'));
});
