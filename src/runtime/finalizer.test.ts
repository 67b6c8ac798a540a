import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Action } from './action.ts';
import type { KubeClient, KubeObject } from './client.ts';
import { FinalizerError, finalizer } from './finalizer.ts';
import { ConfigMap } from './kinds.ts';
import { createFakeClient } from './testing/fake-client.ts';

const NAME = 'deploy.codedance.io/cleanup';

/** A client whose PATCHes wait for `release()`, to see what runs before one is answered. */
function heldPatches(client: KubeClient): { client: KubeClient; release(): void } {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    client: {
      ...client,
      patch: (async (...args: Parameters<KubeClient['patch']>) => {
        await gate;
        return client.patch(...args);
      }) as KubeClient['patch'],
    },
    release,
  };
}

async function stored(): Promise<{ fake: ReturnType<typeof createFakeClient>; object: KubeObject }> {
  const fake = createFakeClient();
  const object = await fake.create(ConfigMap, { metadata: { name: 'x', namespace: 'ns' } });
  return { fake, object };
}

test('by default the handler runs once the finalizer is stored, with the stored object', async () => {
  const { fake, object } = await stored();
  const held = heldPatches(fake);
  const order: string[] = [];
  const running = finalizer(held.client, ConfigMap, NAME, object, async (event) => {
    order.push('handle');
    assert.equal(event.kind, 'apply');
    if (event.kind === 'apply') assert.deepEqual(event.object.metadata.finalizers, [NAME]);
    return Action.awaitChange();
  });
  await new Promise((r) => setTimeout(r, 20));
  order.push('patch answered');
  held.release();
  await running;
  assert.deepEqual(order, ['patch answered', 'handle']);
});

test('ownedWritesFirst: the handler runs beside the write and gets it as `stored`', async () => {
  const { fake, object } = await stored();
  const held = heldPatches(fake);
  const order: string[] = [];
  const running = finalizer(
    held.client,
    ConfigMap,
    NAME,
    object,
    async (event) => {
      order.push('handle started');
      if (event.kind !== 'apply') throw new Error('expected apply');
      setTimeout(() => {
        order.push('patch answered');
        held.release();
      }, 20);
      const added = await event.stored;
      order.push('stored');
      assert.deepEqual(added?.metadata.finalizers, [NAME]);
      return Action.awaitChange();
    },
    { ownedWritesFirst: true },
  );
  assert.equal((await running).kind, 'await-change');
  assert.deepEqual(order, ['handle started', 'patch answered', 'stored']);
  assert.deepEqual(fake.objects(ConfigMap)[0]?.metadata.finalizers, [NAME]);
});

test('ownedWritesFirst: a failed add fails the reconcile even when the handler did not wait for it', async () => {
  const { fake, object } = await stored();
  fake.intercept('patch', () => {
    throw new Error('conflict');
  });
  await assert.rejects(
    finalizer(fake, ConfigMap, NAME, object, async () => Action.awaitChange(), { ownedWritesFirst: true }),
    (err: unknown) => err instanceof FinalizerError && err.kind === 'AddFinalizer',
  );
});

test('`ready` is awaited before the handler, while the finalizer is written', async () => {
  const { fake, object } = await stored();
  const order: string[] = [];
  let readDone = (): void => undefined;
  const ready = new Promise<void>((resolve) => (readDone = resolve));
  const running = finalizer(
    fake,
    ConfigMap,
    NAME,
    object,
    async () => {
      order.push('handle');
      return Action.awaitChange();
    },
    { ready },
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    fake.objects(ConfigMap)[0]?.metadata.finalizers,
    [NAME],
    'the write did not wait for the reads',
  );
  order.push('reads done');
  readDone();
  await running;
  assert.deepEqual(order, ['reads done', 'handle']);
});
