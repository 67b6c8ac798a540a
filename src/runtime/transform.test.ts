import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LastAppliedAnnotation, managerFamily, metadataOnly, trimObject } from './transform.ts';
import { ConfigMap } from './kinds.ts';
import type { KubeObject } from './client.ts';

const object = (): KubeObject & { data?: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'a',
    namespace: 'ns',
    labels: { app: 'a' },
    annotations: { [LastAppliedAnnotation]: '{"big":"copy"}', keep: 'me' },
    managedFields: [
      { manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:data': {} } },
      { manager: 'codedance', operation: 'Apply', fieldsV1: { 'f:data': {} } },
      { manager: 'codedance-webapp', operation: 'Apply', fieldsV1: {} },
      { manager: 'codedancer', operation: 'Apply', fieldsV1: {} },
    ],
  },
  data: { payload: 'x' },
});

test('trimObject drops other managers and the last-applied annotation, and keeps the rest', () => {
  const trimmed = trimObject(object(), { keepManager: managerFamily('codedance') });
  assert.deepEqual(
    trimmed.metadata.managedFields?.map((e) => e.manager),
    ['codedance', 'codedance-webapp'],
  );
  assert.deepEqual(trimmed.metadata.annotations, { keep: 'me' });
  assert.deepEqual((trimmed as { data?: unknown }).data, { payload: 'x' });
  assert.deepEqual(trimmed.metadata.labels, { app: 'a' });
});

test('trimObject without our managers drops managedFields whole, and leaves an object with nothing to drop as it is', () => {
  const trimmed = trimObject(object());
  assert.equal(trimmed.metadata.managedFields, undefined);
  const clean: KubeObject = { metadata: { name: 'b', annotations: { keep: 'me' } } };
  assert.equal(trimObject(clean, { keepManager: managerFamily('codedance') }), clean);
});

test('metadataOnly keeps the identity (no annotations, no managedFields) under the real kind', () => {
  const partial = { ...object(), apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata' };
  const kept = metadataOnly(ConfigMap)(partial);
  assert.equal(kept.apiVersion, 'v1');
  assert.equal(kept.kind, 'ConfigMap');
  assert.equal((kept as { data?: unknown }).data, undefined);
  assert.equal(kept.metadata.managedFields, undefined);
  assert.deepEqual(kept.metadata, {
    name: 'a',
    namespace: 'ns',
    uid: undefined,
    resourceVersion: undefined,
    labels: { app: 'a' },
  });
});
