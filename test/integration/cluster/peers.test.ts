/**
 * The benchmark's peers install and run on the local cluster: their CRDs and documented
 * RBAC from their pinned modules, each under its own ServiceAccount, and each takes
 * over an app of its own (Flagger: a Canary reaches Initialized with its primary
 * Deployment made; Argo Rollouts: a Rollout reaches Healthy with its VirtualService
 * selecting its stable pods). RBAC is real: the ServiceAccount may do only what its
 * ClusterRole grants (neither may delete a Namespace).
 *
 * Skipped when a peer is not built: CI never builds them (`npm run bench -- --peers`
 * does, on first use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { installPeer, peerBuilt, startPeer, type PeerTool } from '../../../src/cluster/peers.ts';
import { readClusterState } from '../../../src/cluster/state.ts';
import { createKubeClient, KubeApiError, type KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { ArgoRollout, FlaggerCanary } from '../../../bench/peer-tools.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

async function clusterState() {
  const { stateDir } = await testCluster();
  const state = await readClusterState(stateDir);
  assert.ok(state, `no cluster state in ${stateDir}`);
  return state;
}

const app = (name: string) => ({
  replicas: 1,
  selector: { matchLabels: { app: name } },
  template: {
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: 'app', image: `${name}:v1`, ports: [{ containerPort: 8080 }] }] },
  },
});

async function withPeer(
  t: Parameters<typeof testNamespace>[0],
  tool: PeerTool,
  fn: (ns: string) => Promise<void>,
): Promise<void> {
  const state = await clusterState();
  const installed = await installPeer(state, tool);
  assert.ok(installed.objects > 0);
  const peer = await startPeer(tool, installed, {
    prometheusUrl: state.prometheusUrl ?? 'http://127.0.0.1:9',
    logPath: join(state.stateDir, 'logs', `peer-${tool}-${process.pid}.log`),
  });
  try {
    // Its identity is the ServiceAccount, limited by the ClusterRole its docs ship.
    const own = await createKubeClient({ kubeconfigPath: installed.kubeconfigPath });
    try {
      await assert.rejects(
        own.delete(kinds.Namespace, undefined, 'kube-system'),
        (err: unknown) => err instanceof KubeApiError && err.statusCode === 403,
      );
    } finally {
      await own.close();
    }
    await fn(await testNamespace(t));
  } finally {
    await peer.stop();
  }
}

test('Flagger installs, runs under its ServiceAccount and initializes a Canary', async (t) => {
  if (!(await peerBuilt('flagger'))) {
    t.skip('flagger is not built (npm run bench -- --peers builds it)');
    return;
  }
  await withPeer(t, 'flagger', async (ns) => {
    const { admin } = await testCluster();
    await admin.create(kinds.Deployment, { metadata: { name: 'web', namespace: ns }, spec: app('web') });
    await admin.create(FlaggerCanary, {
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'web', namespace: ns },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        service: { port: 80, targetPort: 8080, headless: true },
        analysis: { interval: '10s', threshold: 1, stepWeights: [50] },
      },
    } as KubeObject);
    await waitFor(
      async () =>
        ((await admin.get(FlaggerCanary, ns, 'web')) as { status?: { phase?: string } } | undefined)?.status
          ?.phase === 'Initialized',
      { timeoutMs: 180_000, describe: 'the Canary to be Initialized' },
    );
    assert.ok(await admin.get(kinds.Deployment, ns, 'web-primary'), 'Flagger made the primary Deployment');
    assert.ok(await admin.get(kinds.VirtualService, ns, 'web'), 'Flagger made the VirtualService');
  });
});

test('Argo Rollouts installs, runs under its ServiceAccount and brings a Rollout to Healthy', async (t) => {
  if (!(await peerBuilt('argo-rollouts'))) {
    t.skip('argo-rollouts is not built (npm run bench -- --peers builds it)');
    return;
  }
  await withPeer(t, 'argo-rollouts', async (ns) => {
    const { admin } = await testCluster();
    for (const name of ['web-stable', 'web-canary'])
      await admin.create(kinds.Service, {
        metadata: { name, namespace: ns },
        spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    await admin.create(kinds.VirtualService, {
      metadata: { name: 'web', namespace: ns },
      spec: {
        hosts: ['web'],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: 'web-stable' }, weight: 100 },
              { destination: { host: 'web-canary' }, weight: 0 },
            ],
          },
        ],
      },
    } as KubeObject);
    await admin.create(ArgoRollout, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: ns },
      spec: {
        ...app('web'),
        strategy: {
          canary: {
            stableService: 'web-stable',
            canaryService: 'web-canary',
            trafficRouting: { istio: { virtualService: { name: 'web', routes: ['primary'] } } },
            steps: [{ setWeight: 50 }, { pause: {} }],
          },
        },
      },
    } as KubeObject);
    await waitFor(
      async () =>
        ((await admin.get(ArgoRollout, ns, 'web')) as { status?: { phase?: string } } | undefined)?.status
          ?.phase === 'Healthy',
      { timeoutMs: 180_000, describe: 'the Rollout to be Healthy' },
    );
    // Argo points the stable Service at its ReplicaSet's pods.
    const stable = await admin.get(kinds.Service, ns, 'web-stable');
    assert.ok(stable?.spec?.selector?.['rollouts-pod-template-hash'], 'Argo selected the stable pods');
  });
});
