/**
 * Disruptions tests use to check resilience: restarting the API server keeps every
 * object and address; compacting etcd and restarting the API server makes old
 * resourceVersions Gone (410).
 * Serial: both disturb every other client of the cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigMap } from '../../../src/runtime/kinds.ts';
import { KubeApiError, type KubeObject } from '../../../src/runtime/client.ts';
import { restartComponent } from '../../../src/cluster/controlplane.ts';
import { readClusterState } from '../../../src/cluster/state.ts';
import { compactEtcd, testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

test('restartComponent(kube-apiserver) keeps objects, port and credentials', async (t) => {
  const { admin, stateDir } = await testCluster();
  const namespace = await testNamespace(t);
  await admin.create(ConfigMap, { metadata: { name: 'before', namespace }, data: { a: '1' } } as KubeObject);
  const before = await readClusterState(stateDir);
  const state = await restartComponent(stateDir, 'kube-apiserver');
  assert.notEqual(
    state.components['kube-apiserver']?.pid,
    before?.components['kube-apiserver']?.pid,
    'a new process',
  );
  assert.equal(state.apiServerUrl, before?.apiServerUrl, 'same address');
  const configMap = await waitFor(() => admin.get(ConfigMap, namespace, 'before'), {
    describe: 'the ConfigMap after the restart',
  });
  assert.equal((configMap as KubeObject & { data?: Record<string, string> }).data?.a, '1');
});

test('compactEtcd then an API server restart make a watch from an old resourceVersion 410 Gone', async (t) => {
  const { admin, stateDir } = await testCluster();
  const namespace = await testNamespace(t);
  const created = await admin.create(ConfigMap, { metadata: { name: 'old', namespace } } as KubeObject);
  const oldVersion = created.metadata.resourceVersion!;
  await admin.create(ConfigMap, { metadata: { name: 'newer', namespace } } as KubeObject);
  await compactEtcd();
  // The API server's watch cache still serves recent history after a compaction; a restart
  // starts it afresh at etcd's current revision, so only then is the old version Gone.
  await restartComponent(stateDir, 'kube-apiserver');
  const gone = await waitFor(
    async () => {
      try {
        const events = admin.watch(ConfigMap, { namespace, resourceVersion: oldVersion, timeoutSeconds: 1 });
        for await (const event of events) {
          if (event.type === 'ERROR' && event.object.code === 410) return 'gone';
        }
        return undefined;
      } catch (err) {
        return err instanceof KubeApiError && err.statusCode === 410 ? 'gone' : undefined;
      }
    },
    { describe: '410 Gone for an old resourceVersion', timeoutMs: 60_000, intervalMs: 500 },
  );
  assert.equal(gone, 'gone');
});
