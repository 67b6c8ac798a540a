import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { GroupLabel, GroupTurnAnnotation } from '../api/names.ts';
import type { ReleaseGroup } from '../api/release-group.ts';
import type { KubeObject } from '../runtime/client.ts';
import { selectedMembers, templateMembers } from './membership.ts';
import { matches, selectorText } from './selector.ts';

const group: ReleaseGroup = {
  metadata: { name: 'fleet', namespace: 'shop', uid: 'g-1' },
  spec: {
    template: {
      deploymentSelector: { matchLabels: { tier: 'web' } },
      canaryVersion: 'lib:v2',
      images: { cart: 'cart:v9' },
      strategy: { type: 'Linear', steps: [{ weight: 50, pause: '5s' }] },
    },
  },
};
const dep = (name: string, labels: Record<string, string>, namespace = 'shop'): KubeObject => ({
  metadata: { name, namespace, labels },
});

test('one member per matching Deployment of the namespace, image per service or for all, made waiting', () => {
  const members = templateMembers(
    group,
    [
      dep('web-b', { tier: 'web' }),
      dep('cart', { tier: 'web' }),
      dep('db', { tier: 'data' }),
      dep('x', { tier: 'web' }, 'other'),
    ],
    () => undefined,
  );
  assert.deepEqual(
    members.map((m) => m.name),
    ['cart', 'web-b'],
  );
  const [cart, web] = members;
  assert.ok(cart?.kind === 'member' && web?.kind === 'member');
  assert.equal(cart.desired.spec.canaryVersion, 'cart:v9');
  assert.equal(web.desired.spec.canaryVersion, 'lib:v2');
  assert.equal(web.desired.spec.targetDeployment, 'web-b');
  assert.deepEqual(web.desired.spec.strategy, group.spec.template?.strategy);
  assert.equal(web.desired.metadata.labels?.[GroupLabel], 'fleet');
  assert.equal(web.desired.metadata.annotations?.[GroupTurnAnnotation], 'waiting');
  assert.equal(web.desired.metadata.ownerReferences?.[0]?.uid, 'g-1');
});

test('a given turn is kept for the same image and taken back for a new one; a release not ours is a problem', () => {
  const ours = (image: string, turn: string): CanaryDeployment => ({
    metadata: {
      name: 'web-b',
      namespace: 'shop',
      annotations: { [GroupTurnAnnotation]: turn },
      ownerReferences: [
        { apiVersion: 'x', kind: 'ReleaseGroup', name: 'fleet', uid: 'g-1', controller: true },
      ],
    },
    spec: { targetDeployment: 'web-b', canaryVersion: image },
  });
  const deps = [dep('web-b', { tier: 'web' })];
  const kept = templateMembers(group, deps, () => ours('lib:v2', 'go'))[0];
  assert.ok(kept?.kind === 'member');
  assert.equal(kept.desired.metadata.annotations?.[GroupTurnAnnotation], 'go');
  const renewed = templateMembers(group, deps, () => ours('lib:v1', 'go'))[0];
  assert.ok(renewed?.kind === 'member');
  assert.equal(renewed.desired.metadata.annotations?.[GroupTurnAnnotation], 'waiting');
  const foreign = templateMembers(group, deps, () => ({
    metadata: { name: 'web-b', namespace: 'shop' },
    spec: { targetDeployment: 'web-b', canaryVersion: 'x' },
  }))[0];
  assert.equal(foreign?.kind, 'problem');
  const noImage = templateMembers(
    { ...group, spec: { template: { deploymentSelector: { matchLabels: { tier: 'web' } }, images: {} } } },
    deps,
    () => undefined,
  )[0];
  assert.equal(noImage?.kind, 'problem');
});

test('selector mode selects the releases of the namespace carrying every label', () => {
  const selecting: ReleaseGroup = {
    metadata: { name: 'fleet', namespace: 'shop' },
    spec: { selector: { matchLabels: { team: 'pay', wave: '1' } } },
  };
  const cd = (name: string, labels: Record<string, string>, namespace = 'shop'): CanaryDeployment => ({
    metadata: { name, namespace, labels },
    spec: { targetDeployment: name, canaryVersion: 'v2' },
  });
  const picked = selectedMembers(selecting, [
    cd('a', { team: 'pay', wave: '1' }),
    cd('b', { team: 'pay' }),
    cd('c', { team: 'pay', wave: '1' }, 'other'),
  ]);
  assert.deepEqual(
    picked.map((c) => c.metadata.name),
    ['a'],
  );
  assert.equal(matches({ matchLabels: {} }, { a: 'b' }), false);
  assert.equal(selectorText({ matchLabels: { a: 'b', c: 'd' } }), 'a=b,c=d');
});
