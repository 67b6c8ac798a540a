import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReplicasProvider, replicaSplit, replicaWeight } from './replicas.ts';
import type { ObjectReader, TrafficTarget } from './provider.ts';
import { createFakeClient } from '../runtime/testing/fake-client.ts';
import { Deployment as DeploymentKind, type ResourceKind } from '../runtime/kinds.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { Deployment } from '../runtime/core-types.ts';

test('replicaSplit holds total capacity on the common steps', () => {
  assert.deepEqual(replicaSplit(0, 10), { stable: 10, canary: 0 });
  assert.deepEqual(replicaSplit(10, 10), { stable: 9, canary: 1 });
  assert.deepEqual(replicaSplit(25, 10), { stable: 7, canary: 3 });
  assert.deepEqual(replicaSplit(50, 10), { stable: 5, canary: 5 });
  assert.deepEqual(replicaSplit(100, 10), { stable: 0, canary: 10 });
});

test('weight > 0 gives the canary at least one pod', () => {
  assert.deepEqual(replicaSplit(1, 4), { stable: 3, canary: 1 });
  assert.equal(replicaWeight(replicaSplit(1, 4)), 25);
});

test('weight < 100 keeps at least one stable pod (one pod of surge when needed)', () => {
  assert.deepEqual(replicaSplit(99, 4), { stable: 1, canary: 3 });
  assert.deepEqual(replicaSplit(10, 1), { stable: 1, canary: 1 });
  assert.deepEqual(replicaSplit(50, 1), { stable: 1, canary: 1 });
  assert.deepEqual(replicaSplit(100, 1), { stable: 0, canary: 1 });
});

test('no replicas at all: nothing to split, no weight to read', () => {
  assert.deepEqual(replicaSplit(50, 0), { stable: 0, canary: 0 });
  assert.equal(replicaWeight({ stable: 0, canary: 0 }), undefined);
});

test('every weight keeps the split within one pod of total and the canary share monotonic', () => {
  for (const total of [1, 2, 3, 5, 10, 37]) {
    let previous = -1;
    for (let weight = 0; weight <= 100; weight++) {
      const { stable, canary } = replicaSplit(weight, total);
      assert.ok(stable + canary >= total && stable + canary <= total + 1, `${weight}% of ${total}`);
      assert.ok(canary >= previous, `canary never shrinks as the weight grows (${weight}% of ${total})`);
      previous = canary;
    }
  }
});

test('with a reader (the controller cache), a step sends its PATCHes and no GET', async () => {
  const client = createFakeClient();
  const held = new Map<string, Deployment>();
  for (const [name, replicas] of [
    ['web', 4],
    ['web-canary', 0],
  ] as const)
    held.set(
      name,
      await client.create(DeploymentKind, { metadata: { name, namespace: 'ns' }, spec: { replicas } }),
    );
  const read: ObjectReader = async <T extends KubeObject>(
    _kind: ResourceKind<T>,
    _ns: string,
    name: string,
  ) => held.get(name) as T | undefined;
  const provider = createReplicasProvider({ client, read });
  const target: TrafficTarget = {
    namespace: 'ns',
    owner: { name: 'web', uid: 'u' },
    service: { name: 'web', port: 80 },
    canaryService: 'web-canary',
    stableDeployment: 'web',
    canaryDeployment: 'web-canary',
    traffic: { provider: 'Replicas' },
    selectors: { stable: {}, canary: {} },
    totalReplicas: 4,
  };
  const before = client.requestCounts();
  assert.deepEqual(await provider.setWeight(target, 50), { changed: true, weight: 50 });
  const after = client.requestCounts();
  const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
  assert.equal(delta('GET deployments'), 0, 'the counts came from the reader');
  assert.equal(delta('PATCH deployments'), 2);
  assert.equal((await client.get(DeploymentKind, 'ns', 'web-canary'))?.spec?.replicas, 2);
  assert.equal((await client.get(DeploymentKind, 'ns', 'web'))?.spec?.replicas, 2);
});
