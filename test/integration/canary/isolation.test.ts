/**
 * One tenant cannot stall or hijack another (issue 9, part 3), on the real control plane
 * and the real Prometheus:
 * - 20 releases whose Prometheus accepts connections and never answers (a TCP server
 *   here that never writes a byte; allowed by `--allowed-prometheus-url`, query timeout
 *   30s) do not delay another release's crash rollback, nor a third release's steps
 *   judged on the real Prometheus. The crash-seen → all-traffic-on-stable latency is
 *   printed, not asserted (no timing assertions in tests; bench/ measures).
 * - a release naming a Prometheus the controller does not allow is refused: Accepted
 *   False with the field named, a Warning Event, no canary, never promoted; the same
 *   address set mid-release rolls it back;
 * - a notification URL to a cluster-internal address is refused the same way, and the
 *   release goes on without that receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CanaryPodLabelsAnnotation } from '../../../src/canary/workloads.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getDeployment,
  startScrapedSimulator,
  getRelease,
  imageOf,
  keepLog,
  names,
  releaseEnv,
  waitFor,
  waitPhase,
} from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

interface KubeEvent extends KubeObject {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string };
}

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ url: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => accepted };
}

const accepted = (cd: CanaryDeployment | undefined) =>
  cd?.status?.conditions?.find((c) => c.type === 'Accepted');

async function eventsOf(admin: KubeClient, ns: string, name: string): Promise<KubeEvent[]> {
  return (await admin.list<KubeEvent>(kinds.Event, { namespace: ns })).items.filter(
    (e) => e.regarding?.name === name,
  );
}

test("20 releases on a Prometheus that never answers delay neither a crash rollback nor another release's steps", {
  timeout: 300_000,
}, async (t) => {
  const silent = await silentServer(t);
  const { admin, ns, controller } = await releaseEnv(t, { args: ['--allowed-prometheus-url', silent.url] });
  keepLog(t, controller);

  // The stalled tenants: each analysis round waits the full 30s query timeout, every second.
  const stalled = Array.from({ length: 20 }, (_, i) => `stalled-${i + 1}`);
  await Promise.all(stalled.map((app) => createApp(admin, ns, app, { replicas: 1 })));
  await Promise.all(
    stalled.map((app) =>
      createRelease(admin, ns, app, {
        targetDeployment: app,
        canaryVersion: `${app}:v2`,
        strategy: {
          steps: [
            { weight: 50, pause: '1s' },
            { weight: 100, pause: '0s' },
          ],
        },
        analysis: { interval: '1s', unreachableTimeout: '10m' },
        metrics: {
          provider: { address: silent.url, timeout: '30s' },
          successRate: { threshold: 95 },
          errorRate: { threshold: 5 },
        },
      }),
    ),
  );
  await waitFor(
    async () => {
      const phases = await Promise.all(
        stalled.map(async (app) => (await getRelease(admin, ns, app))?.status?.phase),
      );
      return phases.every((p) => p === 'Progressing');
    },
    { describe: 'the 20 stalled releases on their first step', timeoutMs: 120_000 },
  );
  // Their rounds are due one interval later: wait until every one of them holds a connection.
  await waitFor(() => silent.connections() >= stalled.length, {
    describe: 'an analysis round of each stalled release in flight',
    timeoutMs: 30_000,
  });

  // The healthy tenants, created while every stalled round is in flight.
  await createApp(admin, ns, 'crasher', { replicas: 4 });
  await createApp(admin, ns, 'stepper', { replicas: 2 });
  await createVirtualService(admin, ns, 'stepper');
  await startScrapedSimulator(t, ns, 50);
  await createRelease(admin, ns, 'stepper', {
    targetDeployment: 'stepper',
    canaryVersion: 'stepper:v2',
    strategy: {
      steps: [
        { weight: 30, pause: '2s' },
        { weight: 60, pause: '2s' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'stepper' } },
    analysis: { interval: '1s', window: '10s', inconclusiveLimit: 30 },
    metrics: { successRate: { threshold: 95 }, errorRate: { threshold: 5 } },
  });
  await createRelease(
    admin,
    ns,
    'crasher',
    {
      targetDeployment: 'crasher',
      canaryVersion: 'crasher:v2',
      strategy: {
        steps: [
          { weight: 25, pause: '10m' },
          { weight: 100, pause: '0s' },
        ],
      },
    },
    { [CanaryPodLabelsAnnotation]: JSON.stringify({ 'kwok.codedance.io/crash': 'true' }) },
  );

  // Crash seen (a canary pod in CrashLoopBackOff, polled every 20ms) → all traffic on stable.
  const crashedAt = await waitFor(
    async () => {
      const pods = await admin.list(kinds.Pod, {
        namespace: ns,
        labelSelector: 'deploy.codedance.io/canary=crasher',
      });
      if (
        pods.items.some((p) =>
          p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'),
        )
      )
        return Date.now();
      // The controller may remove the canary before a poll sees the crash: no sample then.
      return (await getRelease(admin, ns, 'crasher'))?.status?.reason === 'PodCrashLoop' ? -1 : 0;
    },
    { describe: 'crasher: a canary pod in CrashLoopBackOff', timeoutMs: 60_000, intervalMs: 20 },
  );
  await waitFor(
    async () => {
      const [stable, canary] = await Promise.all([
        getDeployment(admin, ns, 'crasher'),
        getDeployment(admin, ns, 'crasher-canary'),
      ]);
      return stable?.spec?.replicas === 4 && (canary === undefined || canary.spec?.replicas === 0);
    },
    // A sanity bound far above the usual figure (well under a second), and under the stalled rounds' 30s.
    { describe: 'crasher: all traffic on stable', timeoutMs: 15_000, intervalMs: 20 },
  );
  const latency = crashedAt > 0 ? Date.now() - crashedAt : undefined;
  const inFlight = silent.connections();
  t.diagnostic(
    `with 20 stalled releases: crash seen → all traffic on stable: ${latency === undefined ? 'not sampled (rolled back before a poll saw the crash)' : `${latency} ms`} (polled every 20ms); connections held by the silent Prometheus: ${inFlight}`,
  );
  console.log(`[isolation] crash seen -> 100% stable with 20 stalled releases: ${latency ?? 'n/a'} ms`);
  const crasher = await waitPhase(admin, ns, 'crasher', 'Failed', 30_000);
  assert.equal(crasher.status?.reason, 'PodCrashLoop');
  assert.equal(imageOf(await getDeployment(admin, ns, 'crasher')), 'crasher:v1');

  // The stepper walks its steps on real metrics, and completes.
  const done = await waitPhase(admin, ns, 'stepper', 'Completed', 120_000);
  assert.ok(
    (done.status?.history ?? []).filter((h) => h.event === 'StepAdvanced').length >= 2,
    'every step advanced',
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'stepper')), 'stepper:v2');

  // Meanwhile no stalled release got anywhere: each still holds its first step, unjudged.
  for (const app of stalled) {
    const cd = await getRelease(admin, ns, app);
    assert.equal(cd?.status?.phase, 'Progressing', `${app}: ${cd?.status?.message}`);
    assert.equal(cd?.status?.currentStepIndex, 0, `${app} never advanced`);
    assert.equal(imageOf(await getDeployment(admin, ns, app)), `${app}:v1`, `${app} never promoted`);
  }
});

test('a release naming a Prometheus the controller does not allow is refused, and rolled back if it changes to one mid-release', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'refused', { replicas: 2 });
  await createApp(admin, ns, 'moving', { replicas: 2 });
  const metrics: CanaryDeploymentSpec['metrics'] = { successRate: { threshold: 95 } };
  await createRelease(admin, ns, 'refused', {
    targetDeployment: 'refused',
    canaryVersion: 'refused:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
    analysis: { interval: '1s' },
    metrics: { ...metrics, provider: { address: 'http://prometheus.attacker.example:9090' } },
  });
  const refused = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'refused');
      return accepted(cd)?.status === 'False' ? cd : undefined;
    },
    { describe: 'refused: Accepted=False', timeoutMs: 60_000 },
  );
  const condition = accepted(refused);
  assert.equal(condition?.reason, 'PrometheusNotAllowed');
  assert.match(
    condition?.message ?? '',
    /spec\.metrics\.provider\.address.*not a Prometheus this controller may query.*--allowed-prometheus-url/,
  );
  assert.equal(refused.status?.phase, undefined, 'the release never starts');
  assert.match(refused.status?.message ?? '', /does not start/);
  await waitFor(
    async () =>
      (await eventsOf(admin, ns, 'refused')).some(
        (e) => e.type === 'Warning' && e.reason === 'PrometheusNotAllowed',
      ),
    { describe: 'a PrometheusNotAllowed Warning Event' },
  );
  assert.ok(
    !(await names(admin, kinds.Deployment, ns)).includes('refused-canary'),
    'no canary, so no traffic to it',
  );
  // Fixed (back to the controller's own Prometheus): accepted, and the release starts.
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'refused',
    { spec: { metrics: { provider: { address: null } } } },
    'merge',
  );
  const fixed = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'refused');
      return accepted(cd)?.status === 'True' && cd?.status?.phase !== undefined ? cd : undefined;
    },
    { describe: 'refused: Accepted=True and started once fixed', timeoutMs: 60_000 },
  );
  assert.equal(accepted(fixed)?.reason, 'Accepted');

  // Allowed at first (the controller's own Prometheus), refused once the spec names another.
  await createRelease(admin, ns, 'moving', {
    targetDeployment: 'moving',
    canaryVersion: 'moving:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    analysis: { interval: '1s', inconclusiveLimit: 100 },
    metrics,
  });
  await waitFor(async () => (await getDeployment(admin, ns, 'moving-canary'))?.spec?.replicas === 1, {
    describe: 'moving: canary at 50%',
    timeoutMs: 60_000,
  });
  assert.equal(
    accepted(await getRelease(admin, ns, 'moving')),
    undefined,
    'a release never refused carries no Accepted condition',
  );
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'moving',
    { spec: { metrics: { provider: { address: 'http://169.254.169.254' } } } },
    'merge',
  );
  const failed = await waitPhase(admin, ns, 'moving', 'Failed', 60_000);
  assert.equal(failed.status?.reason, 'PrometheusNotAllowed');
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('moving-canary'), {
    describe: 'moving: canary removed',
  });
  const stable = await getDeployment(admin, ns, 'moving');
  assert.equal(stable?.spec?.replicas, 2, 'all traffic back on stable');
  assert.equal(imageOf(stable), 'moving:v1', 'never promoted');
});

test('a notification URL to a cluster-internal address is refused; the release goes on', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
    notifications: [{ name: 'metadata', type: 'Webhook', url: 'http://169.254.169.254/latest/meta-data' }],
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 90_000);
  const condition = accepted(done);
  assert.equal(condition?.status, 'False');
  assert.equal(condition?.reason, 'NotificationURLRefused');
  assert.match(
    condition?.message ?? '',
    /spec\.notifications\[0\]\.url: metadata: 169\.254\.169\.254 is a link-local address/,
  );
  const events = await eventsOf(admin, ns, 'myapp');
  assert.ok(
    events.some((e) => e.type === 'Warning' && e.reason === 'NotificationURLRefused'),
    'a Warning Event says so',
  );
});
