/**
 * The local control plane itself: the fake nodes are Ready and the server reports the
 * pinned Kubernetes version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node } from '../../../src/runtime/kinds.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { kubernetesVersion } from '../../../src/cluster/versions.ts';
import { testCluster, waitFor } from '../../support/cluster.ts';

interface NodeObject extends KubeObject {
  status?: {
    conditions?: { type: string; status: string }[];
    nodeInfo?: { kubeletVersion?: string };
    allocatable?: Record<string, string>;
  };
}

test('three kwok nodes are Ready and schedulable', async () => {
  const { admin } = await testCluster();
  const nodes = await waitFor(
    async () => {
      const list = await admin.list<NodeObject>(Node, { labelSelector: 'type=kwok' });
      const ready = list.items.filter((node) =>
        node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length >= 3 ? ready : undefined;
    },
    { describe: '3 Ready nodes' },
  );
  assert.equal(nodes.length, 3);
  for (const node of nodes) {
    assert.equal(node.status?.nodeInfo?.kubeletVersion, kubernetesVersion);
    assert.ok(
      Number(node.status?.allocatable?.pods ?? '0') > 0 || node.status?.allocatable?.pods?.endsWith('k'),
      'pods are allocatable',
    );
  }
});

test('the API server is the pinned Kubernetes version', async () => {
  const { admin } = await testCluster();
  const version = await admin.raw<{ gitVersion: string }>('GET', '/version');
  assert.equal(version.gitVersion, kubernetesVersion);
});
