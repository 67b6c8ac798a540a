import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { KubeObject, OwnerReference } from '../runtime/client.ts';
import { ownedByRelease } from './effects.ts';

const cd: CanaryDeployment = {
  metadata: { name: 'myapp', namespace: 'ns', uid: 'u1' },
  spec: { targetDeployment: 'myapp', canaryVersion: 'myapp:v2' },
};
const ref = (over: Partial<OwnerReference>): OwnerReference => ({
  apiVersion: 'deploy.codedance.io/v1alpha1',
  kind: 'CanaryDeployment',
  name: 'myapp',
  uid: 'u1',
  controller: true,
  ...over,
});
const obj = (refs?: OwnerReference[]): KubeObject => ({
  metadata: { name: 'myapp-canary', namespace: 'ns', ...(refs ? { ownerReferences: refs } : {}) },
});

test("an object is the release's by an ownerReference to its CanaryDeployment, never by name or labels alone", () => {
  assert.equal(ownedByRelease(obj([ref({})]), cd), true);
  assert.equal(
    ownedByRelease(obj([ref({ uid: 'old' })]), cd),
    true,
    'a predecessor of the same name left it: taken over',
  );
  assert.equal(ownedByRelease(obj([ref({ name: 'other', uid: 'u2' })]), cd), false, "another release's");
  assert.equal(ownedByRelease(obj([ref({ kind: 'WebApp' })]), cd), false);
  assert.equal(
    ownedByRelease(obj([ref({ apiVersion: 'example.com/v1' })]), cd),
    false,
    'a CanaryDeployment of another API',
  );
  assert.equal(
    ownedByRelease(
      { metadata: { name: 'myapp-canary', labels: { 'deploy.codedance.io/canary': 'myapp' } } },
      cd,
    ),
    false,
    'labels can be copied',
  );
  assert.equal(ownedByRelease(obj(), cd), false);
});
