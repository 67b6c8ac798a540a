/**
 * Waves across clusters for real: two more local clusters (`codedance cluster up` with two
 * more state directories: staging and prod-a), each running its own canary controller;
 * the test cluster holds the ReleasePlan, the cluster Secrets and the waves controller.
 * A healthy plan completes staging, then prod-a; a canary failing in staging stops the
 * plan before prod-a starts.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CRD_DIR, repoRoot } from '../../../src/api/gen.ts';
import { CanaryDeploymentKind, ReleasePlanKind } from '../../../src/api/kinds.ts';
import { ClusterSecretLabel } from '../../../src/api/names.ts';
import type { ReleasePlan } from '../../../src/api/release-plan.ts';
import { startCluster, stopCluster } from '../../../src/cluster/controlplane.ts';
import { createKubeClient, type KubeClient, type KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import { crdEstablished, startController } from '../../support/controller.ts';
import { testCluster, type NamespaceOwner } from '../../support/cluster.ts';
import { createApp, releaseEnv, waitFor } from '../canary/support.ts';

const policy = {
  strategy: { steps: [{ weight: 50, pause: '2s' }] },
  analysis: {
    interval: '1s',
    window: '10s',
    successThreshold: 1,
    failureThreshold: 2,
    inconclusiveLimit: 30,
  },
  metrics: { errorRate: { threshold: 5 } },
} satisfies Partial<CanaryDeploymentSpec>;

interface Remote {
  name: string;
  admin: KubeClient;
  kubeconfigPath: string;
}

/** One more local cluster, its own state directory, stopped after the file. */
async function remoteCluster(t: TestContext, name: string): Promise<Remote> {
  const stateDir = mkdtempSync(join(tmpdir(), `codedance-${name}-`));
  const started = Date.now();
  const { state } = await startCluster({ stateDir, prometheus: false, nodes: 1 });
  t.diagnostic(`cluster ${name} up in ${Math.round((Date.now() - started) / 1000)}s`);
  t.after(async () => void (await stopCluster(stateDir)));
  const admin = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  t.after(() => admin.close());
  // The project's CRDs, as users install them.
  for (const file of readdirSync(join(repoRoot, CRD_DIR)).filter((f) => f.endsWith('.yaml')))
    for (const doc of parseAllDocuments(readFileSync(join(repoRoot, CRD_DIR, file), 'utf8'))) {
      const crd = doc.toJS() as KubeObject;
      await admin.apply(kinds.CustomResourceDefinition, crd, { fieldManager: 'codedance-tests' });
      await crdEstablished(admin, crd.metadata.name ?? '');
    }
  return { name, admin, kubeconfigPath: state.kubeconfigPath };
}

/** The app in `ns` of a remote cluster, its canary controller, and a simulator feeding the test Prometheus. */
async function remoteApp(t: NamespaceOwner, remote: Remote, ns: string, canaryErrorRate: number) {
  await remote.admin.create(kinds.Namespace, { metadata: { name: ns } });
  await createApp(remote.admin, ns, 'app', { replicas: 2 });
  const cluster = await testCluster();
  const sim = await startSimulator({
    kubeconfigPath: remote.kubeconfigPath,
    namespaces: [ns],
    rps: 20,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${remote.name}-${ns}` },
  });
  t.after(() => sim.stop());
  if (canaryErrorRate > 0)
    sim.setProfile({ namespace: ns, name: 'app', version: 'canary', errorRate: canaryErrorRate });
  await startController(t, { namespaces: [ns], controllers: ['canary'], kubeconfig: remote.kubeconfigPath });
}

async function clusterSecret(admin: KubeClient, ns: string, remote: Remote) {
  await admin.create(kinds.Secret, {
    metadata: { name: remote.name, namespace: ns, labels: { [ClusterSecretLabel]: remote.name } },
    data: { kubeconfig: Buffer.from(readFileSync(remote.kubeconfigPath)).toString('base64') },
  } as KubeObject);
}

const planSpec = (ns: string): ReleasePlan['spec'] => ({
  template: {
    name: 'app',
    namespace: ns,
    spec: { targetDeployment: 'app', canaryVersion: 'app:v2', ...policy },
  },
  waves: [
    { name: 'staging', clusters: ['staging'] },
    { name: 'prod', clusters: ['prod-a'] },
  ],
});

const ended = (admin: KubeClient, ns: string, name: string) =>
  waitFor(
    async () => {
      const p = await admin.get(ReleasePlanKind, ns, name);
      return p?.status?.phase === 'Completed' || p?.status?.phase === 'Failed' ? p : undefined;
    },
    { describe: `plan ${name} ends`, timeoutMs: 600_000, intervalMs: 1_000 },
  );

test('waves across two more clusters: in order when healthy, stopped before prod on a staging failure', {
  timeout: 1_500_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  const [staging, prodA] = await Promise.all([remoteCluster(t, 'staging'), remoteCluster(t, 'prod-a')]);
  for (const remote of [staging, prodA]) await clusterSecret(admin, ns, remote);
  await startController(t, { namespaces: [ns], controllers: ['waves'] });

  // Healthy: staging completes before prod-a's release exists; then prod-a completes.
  const good = `${ns.slice(0, 40)}-ok`;
  await Promise.all([remoteApp(t, staging, good, 0), remoteApp(t, prodA, good, 0)]);
  const started = Date.now();
  await admin.create(ReleasePlanKind, { metadata: { name: 'ok', namespace: ns }, spec: planSpec(good) });
  await waitFor(async () => staging.admin.get(CanaryDeploymentKind, good, 'app'), {
    describe: 'the staging release made',
    timeoutMs: 120_000,
  });
  const prodMade = await waitFor(
    async () => {
      const cd = await prodA.admin.get(CanaryDeploymentKind, good, 'app');
      if (!cd) return undefined;
      const st = await staging.admin.get(CanaryDeploymentKind, good, 'app');
      return { at: Date.now(), stagingPhase: st?.status?.phase };
    },
    { describe: 'the prod-a release made', timeoutMs: 600_000, intervalMs: 500 },
  );
  assert.equal(prodMade.stagingPhase, 'Completed', 'prod-a starts only after staging completed');
  const ok = await ended(admin, ns, 'ok');
  t.diagnostic(
    `healthy plan: staging done after ${Math.round((prodMade.at - started) / 1000)}s, whole plan ${Math.round((Date.now() - started) / 1000)}s`,
  );
  assert.equal(ok.status?.phase, 'Completed', ok.status?.message ?? '');
  assert.deepEqual(
    ok.status?.waves?.map((w) => [w.name, w.phase]),
    [
      ['staging', 'Completed'],
      ['prod', 'Completed'],
    ],
  );
  assert.equal((await prodA.admin.get(CanaryDeploymentKind, good, 'app'))?.status?.phase, 'Completed');

  // A canary failing in staging: the plan fails, prod-a never gets a release.
  const bad = `${ns.slice(0, 40)}-bad`;
  await Promise.all([remoteApp(t, staging, bad, 0.5), remoteApp(t, prodA, bad, 0)]);
  const badStart = Date.now();
  await admin.create(ReleasePlanKind, { metadata: { name: 'bad', namespace: ns }, spec: planSpec(bad) });
  const failed = await ended(admin, ns, 'bad');
  t.diagnostic(
    `failing plan stopped after ${Math.round((Date.now() - badStart) / 1000)}s: ${failed.status?.message}`,
  );
  assert.equal(failed.status?.phase, 'Failed');
  assert.equal(failed.status?.reason, 'ReleaseFailed');
  assert.deepEqual(
    failed.status?.waves?.map((w) => [w.name, w.phase]),
    [
      ['staging', 'Failed'],
      ['prod', 'Stopped'],
    ],
  );
  assert.equal(await prodA.admin.get(CanaryDeploymentKind, bad, 'app'), undefined, 'prod-a never started');
});
