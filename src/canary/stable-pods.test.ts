import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClient } from '../runtime/testing/fake-client.ts';
import { ReplicaSet as ReplicaSetKind } from '../runtime/kinds.ts';
import { createStablePods, stablePodTemplateHash, type ReplicaSet } from './stable-pods.ts';
import type { Deployment } from './workloads.ts';

const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true };

function deployment(revision: string, replicas = 2): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'prod',
      uid: 'd1',
      annotations: { 'deployment.kubernetes.io/revision': revision },
    },
    spec: { replicas, selector: { matchLabels: { app: 'web' } } },
  };
}

function replicaSet(hash: string, revision: string, available: number, ownerRef = owner): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: 'prod',
      labels: { app: 'web', 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': revision },
      ownerReferences: [ownerRef],
    },
    status: { availableReplicas: available },
  };
}

test("the stable pods are those of the ReplicaSet of the Deployment's revision", () => {
  assert.equal(
    stablePodTemplateHash(deployment('2'), [replicaSet('aaa', '1', 0), replicaSet('bbb', '2', 2)]),
    'bbb',
  );
});

test('mid-rollout, before the new ReplicaSet has an available pod, the pods still serving are', () => {
  assert.equal(
    stablePodTemplateHash(deployment('2'), [replicaSet('aaa', '1', 2), replicaSet('bbb', '2', 0)]),
    'aaa',
  );
  assert.equal(
    stablePodTemplateHash(deployment('2'), [replicaSet('aaa', '1', 1), replicaSet('bbb', '2', 1)]),
    'bbb',
  );
});

test("ReplicaSets of other Deployments (a canary's, same labels) are never taken", () => {
  const other = { ...owner, name: 'web-canary', uid: 'c1' };
  assert.equal(stablePodTemplateHash(deployment('1'), [replicaSet('ccc', '1', 2, other)]), undefined);
  assert.equal(
    stablePodTemplateHash(deployment('1'), [replicaSet('ccc', '1', 2, other), replicaSet('aaa', '1', 2)]),
    'aaa',
  );
});

test('a Deployment without a ReplicaSet yet has no stable pods to tell', () => {
  assert.equal(stablePodTemplateHash(deployment('1'), []), undefined);
});

test('looked up once while the Deployment is settled at a revision, again when it changes', async () => {
  const client = createFakeClient();
  await client.create(ReplicaSetKind, replicaSet('aaa', '1', 2));
  const pods = createStablePods(client);
  let listed = 0;
  client.intercept('list', () => {
    listed++;
  });
  assert.deepEqual(await pods.labelsOf(deployment('1'), true), { 'pod-template-hash': 'aaa' });
  assert.deepEqual(await pods.labelsOf(deployment('1'), true), { 'pod-template-hash': 'aaa' });
  assert.equal(listed, 1, 'a settled Deployment at the same revision costs no request');
  await client.create(ReplicaSetKind, replicaSet('bbb', '2', 2));
  assert.deepEqual(await pods.labelsOf(deployment('2'), false), { 'pod-template-hash': 'bbb' });
  assert.equal(listed, 2);
});
