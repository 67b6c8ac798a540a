import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { CacheReader } from '../runtime/controller.ts';
import { Deployment } from '../runtime/kinds.ts';
import { createStore, type Store } from '../runtime/store.ts';
import { canaryController, TargetIndex } from './controller.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';

function release(namespace: string, name: string, target: string, uid: string): CanaryDeployment {
  return { metadata: { namespace, name, uid, resourceVersion: '1' }, spec: { targetDeployment: target, canaryVersion: 'app:v2' } };
}

test('a target Deployment maps to every release naming it, in its own namespace only', () => {
  const { options } = canaryController();
  const index = options.indexes?.find((i) => i.name === TargetIndex);
  assert.ok(index, 'the controller declares the target index');
  const { store, writer } = createStore<KubeObject>({ indexes: { [TargetIndex]: (obj) => index.values(obj) } });
  // Two namespaces hold a release of the same name; a third release shares a target.
  writer.apply(release('a', 'web', 'web', 'u1'));
  writer.apply(release('b', 'web', 'web', 'u2'));
  writer.apply(release('b', 'web-blue', 'web', 'u3'));
  const cache: CacheReader = <T extends KubeObject>(kind: { kind: string }): Store<T> => {
    assert.equal(kind.kind, CanaryDeploymentKind.kind);
    return store as unknown as Store<T>;
  };
  const watch = options.watches?.find((w) => w.kind === Deployment);
  assert.ok(watch);
  const keys = (ns: string, name: string) =>
    watch
      .map({ metadata: { namespace: ns, name } }, cache)
      .map((k) => `${k.namespace}/${k.name}`)
      .sort();
  assert.deepEqual(keys('a', 'web'), ['a/web']);
  assert.deepEqual(keys('b', 'web'), ['b/web', 'b/web-blue']);
  assert.deepEqual(keys('c', 'web'), []);
  // A release that changes its target leaves the old one's entry, and only there.
  writer.apply({ ...release('b', 'web', 'shop', 'u2'), metadata: { namespace: 'b', name: 'web', uid: 'u2', resourceVersion: '2' } });
  assert.deepEqual(keys('b', 'web'), ['b/web-blue']);
  assert.deepEqual(keys('b', 'shop'), ['b/web']);
  assert.deepEqual(keys('a', 'web'), ['a/web'], 'the other namespace keeps its release');
});
