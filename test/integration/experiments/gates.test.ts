/**
 * Webhook gates on the real control plane: a pre-rollout gate that says no rolls the
 * release back before any weight (and the Rollback and PostRollout gates hear of it),
 * with its URL and signing key from an opted-in Secret; a confirm-promotion gate holds a
 * passed release in Waiting until it says yes; a load-test gate played by the simulator
 * gives a quiet service the traffic its analysis needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { NotificationSecretLabel } from '../../../src/api/names.ts';
import { startReceiver } from '../../../src/notify/receiver.test-support.ts';
import { GATE_HEADER } from '../../../src/notify/gate.ts';
import { SIGNATURE_HEADER, webhookSignature } from '../../../src/notify/webhook.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  startScrapedSimulator,
  waitFor,
  waitPhase,
} from '../canary/support.ts';

// Receivers and the simulator listen on 127.0.0.1: internal addresses the controller refuses unless told.
const args = ['--allow-internal-notification-urls'];

test('a failing pre-rollout gate rolls back before any weight; Rollback and PostRollout gates are called', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { args });
  const receiver = await startReceiver((req) =>
    req.url.pathname === '/smoke'
      ? { status: 500, body: 'smoke test failed: /health 503' }
      : { status: 200, body: 'noted' },
  );
  t.after(() => receiver.close());
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  await admin.create(kinds.Secret, {
    metadata: { name: 'gates', namespace: ns, labels: { [NotificationSecretLabel]: 'true' } },
    stringData: { url: `${receiver.url}/smoke`, key: 'shared-secret' },
  } as KubeObject);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { steps: [{ weight: 50, pause: '1s' }] },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: { interval: '1s', failureThreshold: 2 },
    webhooks: [
      {
        name: 'smoke',
        type: 'PreRollout',
        secretRef: { name: 'gates', secretKey: 'key' },
        retries: 0,
        timeout: '2s',
      },
      { name: 'cleanup', type: 'Rollback', url: `${receiver.url}/rollback` },
      { name: 'report', type: 'PostRollout', url: `${receiver.url}/post` },
    ],
  });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'PreRolloutGateFailed');
  assert.match(failed.status?.message ?? '', /smoke: HTTP 500: smoke test failed/);
  assert.equal(failed.status?.gates?.failures, 2);
  assert.ok(!failed.status?.history?.some((h) => h.event === 'StepReached'), 'no step was reached');
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  assert.equal(vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0, 0);
  const smoke = receiver.requests.filter((r) => r.url.pathname === '/smoke');
  assert.equal(smoke.length, 2, 'called once per interval, failureThreshold times');
  assert.equal(smoke[0]?.headers[GATE_HEADER], 'PreRollout');
  assert.equal(smoke[0]?.headers[SIGNATURE_HEADER], webhookSignature(smoke[0]?.body ?? '', 'shared-secret'));
  assert.equal(
    (JSON.parse(smoke[0]?.body ?? '{}') as { release?: { name?: string } }).release?.name,
    'myapp',
  );
  await waitFor(
    () => ['/rollback', '/post'].every((p) => receiver.requests.some((r) => r.url.pathname === p)),
    { describe: 'Rollback and PostRollout gates called', timeoutMs: 30_000 },
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1');
});

test('a confirm-promotion gate holds the release in Waiting until it says yes', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { args });
  let open = false;
  const receiver = await startReceiver(() =>
    open ? { status: 200, body: 'approved' } : { status: 403, body: 'change window closed' },
  );
  t.after(() => receiver.close());
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { steps: [{ weight: 50, pause: '1s' }] },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: { interval: '1s' },
    webhooks: [{ name: 'change-window', type: 'ConfirmPromotion', url: `${receiver.url}/confirm` }],
  });
  const waiting = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'myapp');
      return cd?.status?.gates?.state === 'Waiting' &&
        cd.status.gates.results?.some((r) => r.name === 'change-window' && !r.passed)
        ? cd
        : undefined;
    },
    { describe: 'Waiting on the confirm-promotion gate, with its no', timeoutMs: 90_000 },
  );
  assert.equal(waiting.status?.reason, 'WaitingForConfirmation');
  assert.equal(waiting.status?.phase, 'Progressing');
  assert.match(waiting.status?.message ?? '', /change window closed/);
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1', 'not promoted while waiting');
  const asked = receiver.requests.length;
  await waitFor(() => receiver.requests.length > asked, {
    describe: 'the gate asked again',
    timeoutMs: 30_000,
  });
  open = true;
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 90_000);
  assert.ok(done.status?.history?.some((h) => h.event === 'Confirmed'));
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
});

test('the simulator plays the load tester: a rollout gate gives a quiet service traffic to judge', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { args });
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  // A quiet environment: no traffic of its own.
  const sim = await startScrapedSimulator(t, ns, 0);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { steps: [{ weight: 50, pause: '5s' }] },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: { interval: '2s', window: '10s', inconclusiveLimit: 20 },
    metrics: { successRate: { threshold: 95 } },
    webhooks: [
      {
        name: 'load-test',
        type: 'Rollout',
        url: `${sim.url}/loadtest`,
        metadata: { rps: '200', duration: '30s' },
      },
    ],
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 120_000);
  const last = done.status?.analysis?.last;
  assert.equal(last?.decision, 'Continue');
  assert.ok(
    last?.metrics.some((m) => m.name === 'webhook/load-test' && m.passed === true),
    JSON.stringify(last?.metrics),
  );
  assert.ok(
    last?.metrics.some((m) => m.name === 'successRate' && typeof m.value === 'number'),
    "judged on the load test's traffic",
  );
});
