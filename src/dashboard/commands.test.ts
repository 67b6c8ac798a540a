import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import { CommandAnnotation } from '../api/names.ts';
import { createFakeClient } from '../runtime/testing/fake-client.ts';
import { steerRelease } from './commands.ts';

const release = (phase: 'Progressing' | 'Completed'): CanaryDeployment => ({
  apiVersion: 'deploy.codedance.io/v1alpha1',
  kind: 'CanaryDeployment',
  metadata: { name: 'cart', namespace: 'shop' },
  spec: {
    targetDeployment: 'cart',
    canaryVersion: 'cart:v2',
    strategy: { type: 'Linear', stepPause: '30s' },
  },
  status: { phase, currentStepIndex: 1, totalSteps: 6 },
});

test("promote-full writes the CLI's promote --full command, with who asked", async () => {
  const client = createFakeClient();
  await client.create(CanaryDeploymentKind, release('Progressing'));
  const outcome = await steerRelease({
    client,
    namespace: 'shop',
    name: 'cart',
    command: 'promote-full',
    by: 'bob',
  });
  assert.equal(outcome.ok, true);
  const [stored] = client.objects(CanaryDeploymentKind);
  assert.match(stored!.metadata.annotations?.[CommandAnnotation] ?? '', /^promote-full:[^;]+;by=bob$/);
});

test("promote-full on a finished release is refused in the steering table's words, nothing written", async () => {
  const client = createFakeClient();
  await client.create(CanaryDeploymentKind, release('Completed'));
  const before = client.writes.length;
  const outcome = await steerRelease({ client, namespace: 'shop', name: 'cart', command: 'promote-full' });
  assert.deepEqual(outcome, {
    ok: false,
    status: 409,
    message: 'release "cart" is Completed: nothing to promote',
  });
  assert.equal(client.writes.length, before);
});
