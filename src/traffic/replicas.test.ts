import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicaSplit, replicaWeight } from './replicas.ts';

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
