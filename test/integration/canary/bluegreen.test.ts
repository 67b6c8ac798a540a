/**
 * BlueGreen on the real control plane: the new version comes up at full size behind the
 * preview Service with no live traffic, takes all traffic at once after the preview
 * pause, the old version keeps running for scaleDownDelay, then the stable Deployment
 * takes the new version and the preview goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
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

test('BlueGreen (Nginx): preview at full size without traffic, switch at once, old version kept, then promoted', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 3 });
  await admin.create<Ingress>(kinds.Ingress, {
    metadata: { name: 'web', namespace: ns },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'myapp', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
  const sampler = sampleSteps(
    admin,
    ns,
    'myapp',
    async () => {
      // Both read at once and each stamped when its answer came, so the hold below is
      // timed by the reads themselves, not by the end of a sample (three reads in a row on
      // a loaded machine made one sample last most of a second).
      const [ing, stable] = await Promise.all([
        admin.get<Ingress>(kinds.Ingress, ns, 'web-canary').then((o) => ({ o, at: Date.now() })),
        getDeployment(admin, ns, 'myapp').then((o) => ({ o, at: Date.now() })),
      ]);
      return {
        weight: ing.o
          ? Number(ing.o.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] ?? 0)
          : 0,
        weightAt: ing.at,
        stableImage: imageOf(stable.o),
        stableImageAt: stable.at,
      };
    },
    100,
  );
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { type: 'BlueGreen', blueGreen: { previewPause: '3s', scaleDownDelay: '2s' } },
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
  });
  // During the preview: the green side at full size behind the preview Service, no live traffic.
  const preview = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      const green = await getDeployment(admin, ns, 'myapp-canary');
      const svc = await admin.get(kinds.Service, ns, 'myapp-preview');
      return cd?.status?.phase === 'Progressing' &&
        cd.status.currentStepIndex === 0 &&
        (green?.status?.availableReplicas ?? 0) === 3 &&
        svc
        ? { svc }
        : undefined;
    },
    { describe: 'the preview up', timeoutMs: 60_000, intervalMs: 100 },
  );
  const selected = await admin.list(kinds.Pod, {
    namespace: ns,
    labelSelector: Object.entries(preview.svc.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  assert.equal(selected.items.length, 3, 'the preview Service selects the three new pods');
  assert.ok(
    selected.items.every((p) => p.metadata.labels?.['app'] === undefined),
    'which the stable Service does not select',
  );

  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  const samples = await sampler.stop();
  const during = (step: number) =>
    samples.filter((s) => s.phase === 'Progressing' && s.step === step).map((s) => s.seen);
  // The controller moves the traffic first and records the step after it, so a sample may
  // see the switched Ingress beside a status still at step 0: judge the preview by what was
  // seen before the first switched sample.
  const firstSwitch = samples.findIndex((s) => s.seen.weight === 100);
  const previewSamples = samples
    .slice(0, firstSwitch < 0 ? samples.length : firstSwitch)
    .filter((s) => s.phase === 'Progressing' && s.step === 0);
  assert.ok(
    previewSamples.length > 0 && previewSamples.every((s) => s.seen.weight === 0),
    'no live traffic during the preview',
  );
  assert.ok(
    during(1).some((s) => s.weight === 100),
    'all traffic switched at once',
  );
  assert.ok(!samples.some((s) => s.seen.weight > 0 && s.seen.weight < 100), 'never a partial split');
  // The old version stays for scaleDownDelay (2s) after the switch. Judged by time, since a
  // sample can see the promotion's image write beside a status still at step 1.
  const switchedAt = samples.find((s) => s.seen.weight === 100)?.seen.weightAt;
  const promotedAt = samples.find((s) => s.seen.stableImage === 'myapp:v2')?.seen.stableImageAt;
  assert.ok(
    switchedAt !== undefined && promotedAt !== undefined,
    'both the switch and the promotion were seen',
  );
  assert.ok(
    promotedAt - switchedAt >= 1500,
    `the old version is kept while the switch holds (${promotedAt - switchedAt} ms of the 2s delay)`,
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
  assert.equal(done.status?.stepLabel, '2/2');
  const left = await names(admin, kinds.Service, ns);
  assert.deepEqual(left, ['myapp'], 'preview and canary Services removed');
});
