import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { WebApp } from '../api/webapp.ts';
import { buildDeployment } from './children.ts';
import { buildCanary, planRelease } from './release.ts';

const policy: NonNullable<WebApp['spec']['release']> = {
  strategy: {
    type: 'Linear',
    steps: [
      { weight: 50, pause: '1s' },
      { weight: 100, pause: '0s' },
    ],
  },
  analysis: { interval: '5s' },
};

function webapp(
  image: string,
  options: { release?: boolean; established?: string; replicas?: number } = {},
): WebApp {
  const app: WebApp = {
    metadata: { name: 'shop', namespace: 'prod', uid: 'uid-1', generation: 2 },
    spec: { image, replicas: options.replicas ?? 3 },
  };
  if (options.release ?? true) app.spec.release = policy;
  if (options.established) app.status = { image: options.established };
  return app;
}

function running(image: string) {
  return buildDeployment(webapp(image), { image, replicas: 3 });
}

function canary(
  version: string,
  status?: {
    phase: NonNullable<CanaryDeployment['status']>['phase'];
    releaseVersion?: string;
    message?: string;
  },
): CanaryDeployment {
  const cd = buildCanary(webapp(version));
  cd.metadata.generation = 1;
  if (status)
    cd.status = {
      observedGeneration: 1,
      releaseVersion: status.releaseVersion ?? version,
      phase: status.phase,
      message: status.message,
    };
  return cd;
}

test('without a release policy an image change rolls in place and a leftover CanaryDeployment is removed', () => {
  const plan = planRelease(
    webapp('shop:2', { release: false, established: 'shop:1' }),
    running('shop:1'),
    undefined,
  );
  assert.equal(plan.image, 'shop:2');
  assert.equal(plan.replicas, 3);
  assert.deepEqual(plan.canary, { kind: 'none' });
  assert.equal(plan.outcome, 'none');
  const leftover = planRelease(
    webapp('shop:2', { release: false }),
    running('shop:1'),
    canary('shop:2', { phase: 'Progressing' }),
  );
  assert.equal(leftover.canary.kind, 'delete');
});

test('the first Deployment of a WebApp with a release policy gets spec.image directly', () => {
  const plan = planRelease(webapp('shop:1'), undefined, undefined);
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.outcome, 'none');
  assert.deepEqual(plan.canary, { kind: 'none' });
});

test('an image change with a release policy keeps the running image and creates a CanaryDeployment', () => {
  const plan = planRelease(webapp('shop:2', { established: 'shop:1' }), running('shop:1'), undefined);
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.outcome, 'in-flight');
  assert.equal(plan.canary.kind, 'apply');
  const cd = (plan.canary as { object: CanaryDeployment }).object;
  assert.equal(cd.metadata.name, 'shop');
  assert.deepEqual(cd.metadata.ownerReferences?.[0]?.controller, true);
  assert.deepEqual(cd.spec, {
    targetDeployment: 'shop',
    canaryVersion: 'shop:2',
    container: 'app',
    service: { name: 'shop', port: 80 },
    strategy: policy.strategy,
    analysis: policy.analysis,
  });
  assert.deepEqual(plan.status, {
    name: 'shop',
    version: 'shop:2',
    phase: 'Pending',
    message: 'release of shop:2 requested',
  });
});

test('while the release progresses the WebApp keeps the old image and the replica count the release engine set', () => {
  const scaledDown = running('shop:1');
  scaledDown.spec!.replicas = 1;
  const plan = planRelease(
    webapp('shop:2', { established: 'shop:1' }),
    scaledDown,
    canary('shop:2', { phase: 'Progressing', message: 'step 1/2' }),
  );
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.replicas, 1);
  assert.equal(plan.outcome, 'in-flight');
  assert.deepEqual(plan.status, {
    name: 'shop',
    version: 'shop:2',
    phase: 'Progressing',
    message: 'step 1/2',
  });
});

test('a CanaryDeployment status about an older version is not trusted', () => {
  const stale = canary('shop:3', { phase: 'Completed', releaseVersion: 'shop:2' });
  const plan = planRelease(webapp('shop:3', { established: 'shop:2' }), running('shop:2'), stale);
  assert.equal(plan.image, 'shop:2');
  assert.equal(plan.outcome, 'in-flight');
  assert.equal(plan.status?.phase, 'Pending');
});

test('once the promotion wrote the new image, it is kept, even before the release reports Completed', () => {
  const promoting = planRelease(
    webapp('shop:2', { established: 'shop:1' }),
    running('shop:2'),
    canary('shop:2', { phase: 'Progressing' }),
  );
  assert.equal(promoting.image, 'shop:2');
  assert.equal(promoting.outcome, 'in-flight');
  const done = planRelease(
    webapp('shop:2', { established: 'shop:1' }),
    running('shop:2'),
    canary('shop:2', { phase: 'Completed' }),
  );
  assert.equal(done.image, 'shop:2');
  assert.equal(done.outcome, 'completed');
  assert.deepEqual(done.canary, { kind: 'none' });
});

test('a completed release establishes the new image even if the Deployment does not show it yet', () => {
  const plan = planRelease(
    webapp('shop:2', { established: 'shop:1' }),
    running('shop:1'),
    canary('shop:2', { phase: 'Completed' }),
  );
  assert.equal(plan.image, 'shop:2');
  assert.equal(plan.outcome, 'completed');
});

test('a rolled-back release leaves the old image and is reported until spec.image changes', () => {
  const failed = canary('shop:2', { phase: 'Failed', message: 'success rate 80% < 99%' });
  const plan = planRelease(webapp('shop:2', { established: 'shop:1' }), running('shop:1'), failed);
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.outcome, 'failed');
  assert.equal(plan.status?.phase, 'Failed');
  assert.equal(plan.status?.message, 'success rate 80% < 99%');
  // A new version restarts the same CanaryDeployment.
  const next = planRelease(webapp('shop:3', { established: 'shop:1' }), running('shop:1'), failed);
  assert.equal(next.image, 'shop:1');
  assert.equal(next.outcome, 'in-flight');
  assert.equal(next.canary.kind === 'apply' && next.canary.object.spec.canaryVersion, 'shop:3');
});

test('going back to the running image aborts a release in flight', () => {
  const plan = planRelease(
    webapp('shop:1', { established: 'shop:1' }),
    running('shop:1'),
    canary('shop:2', { phase: 'Progressing' }),
  );
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.canary.kind, 'delete');
  const finished = planRelease(
    webapp('shop:1', { established: 'shop:1' }),
    running('shop:1'),
    canary('shop:2', { phase: 'Failed' }),
  );
  assert.deepEqual(finished.canary, { kind: 'none' });
});

test('a hand-edited image is drift: the established image comes back, no release starts', () => {
  const plan = planRelease(webapp('shop:1', { established: 'shop:1' }), running('evil:1'), undefined);
  assert.equal(plan.image, 'shop:1');
  assert.deepEqual(plan.canary, { kind: 'none' });
});

test('a Deployment deleted during a release comes back with the established image', () => {
  const plan = planRelease(
    webapp('shop:2', { established: 'shop:1' }),
    undefined,
    canary('shop:2', { phase: 'Progressing' }),
  );
  assert.equal(plan.image, 'shop:1');
  assert.equal(plan.outcome, 'in-flight');
});

test('the canary-pod-labels annotation of the WebApp is passed on to the CanaryDeployment', () => {
  const app = webapp('shop:2');
  assert.equal(buildCanary(app).metadata.annotations, undefined);
  app.metadata.annotations = { 'deploy.codedance.io/canary-pod-labels': '{"version":"v2"}', other: 'x' };
  assert.deepEqual(buildCanary(app).metadata.annotations, {
    'deploy.codedance.io/canary-pod-labels': '{"version":"v2"}',
  });
});
