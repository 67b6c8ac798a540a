/**
 * The controller process with `--dashboard-port`: the dashboard on its own port, apart
 * from /healthz, /readyz and /metrics; a person's command given there is acted on by the
 * controller, which names the person in the release's history and Event.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import type { ReleaseView } from '../../../src/dashboard/release-view.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { startController } from '../../support/controller.ts';
import { grant, testUser } from '../../support/users.ts';
import { createApp, createRelease, getRelease } from '../canary/support.ts';
import { identities } from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

test('the controller serves the dashboard on its own port, and records who gave a command', {
  timeout: 180_000,
}, async (t) => {
  const { admin, controllerKubeconfigPath } = await identities();
  const cluster = await testCluster();
  const ns = await testNamespace(t);
  t.after(async () => {
    // No controller is left to run the finalizer once the test ends.
    await admin
      .patch(CanaryDeploymentKind, ns, 'shop', { metadata: { finalizers: null } }, 'merge')
      .catch(() => undefined);
  });
  const controller = await startController(t, {
    namespaces: [ns],
    controllers: ['canary'],
    kubeconfig: controllerKubeconfigPath || cluster.kubeconfigPath,
    args: ['--dashboard-port', '0'],
  });
  const [httpPort, dashboardPort] = await waitFor(
    () => {
      const ports = [
        controller.logged('port', 'http listening'),
        controller.logged('port', 'dashboard listening'),
      ];
      return ports.every((p) => typeof p === 'number') ? ports.map(Number) : undefined;
    },
    { describe: 'the controller to listen on both ports', timeoutMs: 60_000 },
  );
  assert.notEqual(httpPort, dashboardPort);
  const http = (path: string, port: number, init?: RequestInit): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, init);

  // Probes and /metrics on one port, the dashboard (and only it) on the other.
  assert.equal((await http('/healthz', httpPort!)).status, 200);
  assert.equal((await http('/metrics', httpPort!)).status, 200);
  assert.equal((await http('/api/releases', httpPort!)).status, 404);
  assert.equal((await http('/', httpPort!)).status, 404);
  for (const path of ['/metrics', '/healthz', '/readyz'])
    assert.equal((await http(path, dashboardPort!)).status, 404, path);
  assert.equal((await http('/api/releases', dashboardPort!)).status, 401);

  // A Manual release waits at step 1 for a person.
  await createApp(admin, ns, 'shop', { replicas: 2 });
  await createRelease(admin, ns, 'shop', {
    targetDeployment: 'shop',
    canaryVersion: 'shop:v2',
    strategy: { type: 'Manual', steps: [{ weight: 30 }, { weight: 70 }] },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'shop'))?.status?.stepLabel === '1/2', {
    describe: 'step 1 reached',
    timeoutMs: 60_000,
  });
  const bob = await testUser('bob');
  await grant(ns, 'bob', ['list', 'patch']);
  const response = await http(`/api/releases/${ns}/shop/promote`, dashboardPort!, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bob.token}`,
      'content-type': 'application/json',
      'x-codedance-request': 'dashboard',
    },
    body: '{}',
  });
  assert.equal(response.status, 200, await response.clone().text());
  const release = await waitFor(
    async () => {
      const r = await getRelease(admin, ns, 'shop');
      return r?.status?.history?.some((h) => h.event === 'Approved') ? r : undefined;
    },
    { describe: 'the controller to act on the promote', timeoutMs: 60_000 },
  );
  const approved = (release as CanaryDeployment).status?.history?.find((h) => h.event === 'Approved');
  assert.equal(approved?.by, 'bob');
  assert.match(approved?.message ?? '', /approved by bob/);
  // The page shows the same, from a real status the controller wrote.
  const view = await waitFor(
    async () => {
      const views = (await (
        await http('/api/releases', dashboardPort!, { headers: { authorization: `Bearer ${bob.token}` } })
      ).json()) as ReleaseView[];
      return views.find(
        (v) => v.name === 'shop' && v.history.some((h) => h.event === 'Approved' && h.by === 'bob'),
      );
    },
    { describe: "the dashboard to show bob's approval" },
  );
  assert.equal(view.malformed, undefined);
  const events = await admin.raw<{ items: { reason?: string; note?: string }[] }>(
    'GET',
    `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
  );
  assert.ok(
    events.items.some((e) => e.reason === 'StepApproved' && e.note?.includes('by bob')),
    `a StepApproved Event naming bob; saw ${events.items.map((e) => e.reason).join(', ')}`,
  );
});
