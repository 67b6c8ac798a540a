import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apply, isSubset, needsApply, ownedFieldsCovered } from './apply.ts';
import type { KubeClient, KubeObject } from './client.ts';
import { ConfigMap } from './kinds.ts';

test('isSubset: objects, scalars, arrays of objects in order, exact arrays of scalars', () => {
  assert.ok(isSubset({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: 3 }));
  assert.ok(!isSubset({ a: 1 }, { a: '1' }));
  assert.ok(!isSubset({ b: { c: 'x' } }, { b: {} }));
  assert.ok(isSubset({ a: undefined }, {}), 'undefined means unset');
  assert.ok(
    isSubset(
      { list: [{ name: 'a' }, { name: 'c' }] },
      { list: [{ name: 'a', x: 1 }, { name: 'b' }, { name: 'c' }] },
    ),
  );
  assert.ok(!isSubset({ list: [{ name: 'c' }, { name: 'a' }] }, { list: [{ name: 'a' }, { name: 'c' }] }));
  assert.ok(isSubset({ args: ['a', 'b'] }, { args: ['a', 'b'] }));
  assert.ok(!isSubset({ args: ['a'] }, { args: ['a', 'b'] }), 'scalar lists must match exactly');
  assert.ok(!isSubset({ a: [] }, { a: {} }));
});

test('ownedFieldsCovered: a field we own that the intent dropped needs a write', () => {
  const owned = {
    'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
    'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } },
  };
  const desired = { metadata: { labels: { app: 'x', tier: 'y' } }, spec: { ports: [{ port: 80 }] } };
  assert.ok(ownedFieldsCovered(owned, desired));
  assert.ok(!ownedFieldsCovered(owned, { ...desired, metadata: { labels: { app: 'x' } } }));
  assert.ok(!ownedFieldsCovered(owned, { ...desired, spec: { ports: [{ port: 81 }] } }));
  assert.ok(ownedFieldsCovered({ 'f:finalizers': { 'v:"a/b"': {} } }, { finalizers: ['a/b'] }));
  assert.ok(!ownedFieldsCovered({ 'f:finalizers': { 'v:"a/b"': {} } }, { finalizers: [] }));
});

type CM = KubeObject & { data?: Record<string, string> };

const current: CM = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'c',
    namespace: 'ns',
    resourceVersion: '7',
    labels: { app: 'x', other: 'y' },
    managedFields: [
      {
        manager: 'codedance',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:data': { 'f:k': {} } },
      },
    ],
  },
  data: { k: 'v' },
};

test('needsApply: same intent skips; changed, dropped or drifted fields write', () => {
  const desired: CM = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'ns', labels: { app: 'x' } },
    data: { k: 'v' },
  };
  assert.equal(needsApply(desired, current, 'codedance'), false);
  assert.equal(needsApply({ ...desired, data: { k: 'w' } }, current, 'codedance'), true);
  assert.equal(
    needsApply({ ...desired, data: undefined }, current, 'codedance'),
    true,
    'dropping data.k must remove it',
  );
  assert.equal(needsApply({ ...desired, data: undefined }, current, 'someone-else'), false);
});

test('apply skips the request when nothing would change, and writes otherwise', async () => {
  const calls: string[] = [];
  const client = {
    fieldManager: 'codedance',
    async get() {
      calls.push('get');
      return current;
    },
    async apply<T extends KubeObject>(_k: unknown, obj: T) {
      calls.push('apply');
      return obj;
    },
  } as unknown as KubeClient;
  const desired: CM = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'ns', labels: { app: 'x' } },
    data: { k: 'v' },
  };
  assert.equal(await apply(client, ConfigMap, desired), current);
  assert.deepEqual(calls, ['get']);
  await apply(client, ConfigMap, desired, { current });
  assert.deepEqual(calls, ['get'], 'a given current object needs no read');
  await apply(client, ConfigMap, { ...desired, data: { k: 'new' } }, { current });
  await apply(client, ConfigMap, desired, { current: undefined });
  assert.deepEqual(calls, ['get', 'apply', 'apply']);
});
