import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, OwnerIndex, NamespaceIndex, ControllerOwnerIndex, type StoreChange } from './store.ts';
import { reflectorStep } from './reflector.ts';
import type { KubeObject } from './client.ts';

const obj = (ns: string, name: string, rv: string, owner?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    namespace: ns,
    name,
    resourceVersion: rv,
    ownerReferences: owner
      ? [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: owner, controller: true }]
      : undefined,
  },
});

test('a relist is buffered and swapped at once; vanished objects come out as deletes', async () => {
  const { store, writer } = createStore<KubeObject>();
  const changes: StoreChange<KubeObject>[] = [];
  const apply = reflectorStep({ writer, onChange: (c) => changes.push(c) });
  let ready = false;
  void store.ready().then(() => (ready = true));

  apply({ type: 'init' });
  apply({ type: 'init-page', objects: [obj('a', 'x', '1'), obj('a', 'y', '1')] });
  assert.equal(store.size(), 0, 'nothing visible before the list is complete');
  apply({ type: 'init-page', objects: [obj('b', 'z', '1')] });
  apply({ type: 'init-done', resourceVersion: '5' });
  await Promise.resolve();
  assert.equal(ready, true);
  assert.equal(store.size(), 3);
  assert.equal(changes.length, 3);

  apply({ type: 'apply', object: obj('a', 'x', '2') });
  apply({ type: 'delete', object: obj('a', 'y', '3') });
  assert.deepEqual(
    store.list('a').map((o) => o.metadata.name),
    ['x'],
  );

  // Relist after a 410: y is gone already, z vanished, w is new, x is unchanged.
  changes.length = 0;
  apply({ type: 'init' });
  apply({ type: 'init-page', objects: [obj('a', 'x', '2'), obj('a', 'w', '9')] });
  assert.equal(store.size(), 2, 'old state still served during the relist');
  apply({ type: 'init-done', resourceVersion: '10' });
  assert.deepEqual(
    store
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ['w', 'x'],
  );
  assert.deepEqual(
    changes.map((c) => `${c.type} ${c.object.metadata.name}`).sort(),
    ['apply w', 'delete z'],
    'an unchanged object (same resourceVersion) produces no change',
  );
});

test('a relist replaces only its own namespace; ready waits for every source', async () => {
  const { store, writer } = createStore<KubeObject>({ sources: ['a', 'b'] });
  const inA = reflectorStep({ writer, scope: 'a', source: 'a' });
  const inB = reflectorStep({ writer, scope: 'b', source: 'b' });
  inA({ type: 'init' });
  inA({ type: 'init-page', objects: [obj('a', 'x', '1')] });
  inA({ type: 'init-done', resourceVersion: '1' });
  assert.equal(store.isReady(), false);
  inB({ type: 'init' });
  inB({ type: 'init-page', objects: [obj('b', 'y', '1')] });
  inB({ type: 'init-done', resourceVersion: '1' });
  assert.equal(store.isReady(), true);
  inA({ type: 'init' });
  inA({ type: 'init-done', resourceVersion: '2' });
  assert.deepEqual(
    store.list().map((o) => o.metadata.name),
    ['y'],
  );
});

test('indexes: by namespace, by owner uid, by controller owner, custom', () => {
  const { store, writer } = createStore<KubeObject>({ indexes: { name: (o) => [o.metadata.name ?? ''] } });
  writer.apply(obj('a', 'x', '1', 'u1'));
  writer.apply(obj('a', 'y', '1', 'u1'));
  writer.apply(obj('b', 'z', '1', 'u2'));
  assert.deepEqual(
    store
      .byIndex(OwnerIndex, 'u1')
      .map((o) => o.metadata.name)
      .sort(),
    ['x', 'y'],
  );
  assert.deepEqual(
    store.byIndex(ControllerOwnerIndex, 'u2').map((o) => o.metadata.name),
    ['z'],
  );
  assert.deepEqual(
    store.byIndex(NamespaceIndex, 'b').map((o) => o.metadata.name),
    ['z'],
  );
  assert.deepEqual(
    store.byIndex('name', 'y').map((o) => o.metadata.namespace),
    ['a'],
  );
  writer.apply(obj('a', 'y', '2', 'u2'));
  assert.deepEqual(
    store.byIndex(OwnerIndex, 'u1').map((o) => o.metadata.name),
    ['x'],
    'index follows updates',
  );
  writer.delete(obj('a', 'x', '3'));
  assert.deepEqual(store.byIndex(OwnerIndex, 'u1'), []);
  assert.equal(store.get('a', 'x'), undefined);
  assert.throws(() => store.byIndex('nope', 'v'), /no index 'nope'/);
});

test('cached objects are frozen', () => {
  const { store, writer } = createStore<KubeObject>();
  writer.apply(obj('a', 'x', '1'));
  const cached = store.get('a', 'x')!;
  assert.throws(() => {
    (cached.metadata as { name?: string }).name = 'changed';
  }, TypeError);
});
