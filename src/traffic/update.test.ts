import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient, type KubeObject } from '../runtime/client.ts';
import { VirtualService } from '../runtime/kinds.ts';
import { guardedUpdate } from './update.ts';
import { isTrafficError } from './provider.ts';

interface Counted extends KubeObject {
  spec: { value: number };
}

/**
 * Just enough of a client for a guarded update: an object whose resourceVersion moves
 * on every write, and a rival that writes `rivalWrites` times right before our patch lands.
 */
function fakeClient(options: { exists?: boolean; rivalWrites?: number }) {
  let object: Counted | undefined =
    options.exists === false
      ? undefined
      : { metadata: { name: 'x', namespace: 'ns', resourceVersion: '1' }, spec: { value: 0 } };
  let rival = options.rivalWrites ?? 0;
  const patches: unknown[] = [];
  const bump = (o: Counted): Counted => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: String(Number(o.metadata.resourceVersion) + 1) },
  });
  const client = {
    async get() {
      return object && structuredClone(object);
    },
    async patch(
      _kind: unknown,
      _ns: unknown,
      _name: unknown,
      body: { metadata: { resourceVersion?: string }; spec: Counted['spec'] },
    ) {
      patches.push(body);
      if (rival > 0) {
        rival--;
        object = bump(object!);
      }
      if (body.metadata.resourceVersion !== object!.metadata.resourceVersion)
        throw new KubeApiError(409, 'the object has been modified');
      object = bump({ ...object!, spec: body.spec });
      return structuredClone(object);
    },
  } as unknown as KubeClient;
  return { client, patches, current: () => object };
}

const setValue = (value: number) => (current: Counted) =>
  current.spec.value === value ? undefined : { spec: { value } };

test('writes once, guarded by the resourceVersion it read', async () => {
  const fake = fakeClient({});
  const result = await guardedUpdate<Counted>({
    client: fake.client,
    provider: 'Istio',
    kind: VirtualService,
    namespace: 'ns',
    name: 'x',
    change: setValue(5),
  });
  assert.equal(result.changed, true);
  assert.equal(result.object.spec.value, 5);
  assert.deepEqual(fake.patches, [{ spec: { value: 5 }, metadata: { resourceVersion: '1' } }]);
});

test('writes nothing when the object is already right', async () => {
  const fake = fakeClient({});
  const result = await guardedUpdate<Counted>({
    client: fake.client,
    provider: 'Istio',
    kind: VirtualService,
    namespace: 'ns',
    name: 'x',
    change: setValue(0),
  });
  assert.equal(result.changed, false);
  assert.equal(fake.patches.length, 0);
});

test('re-reads and retries after a conflict', async () => {
  const fake = fakeClient({ rivalWrites: 2 });
  const result = await guardedUpdate<Counted>({
    client: fake.client,
    provider: 'Istio',
    kind: VirtualService,
    namespace: 'ns',
    name: 'x',
    change: setValue(7),
  });
  assert.equal(result.object.spec.value, 7);
  assert.equal(fake.patches.length, 3);
});

test('gives up with a Conflict TrafficError after the retries', async () => {
  const fake = fakeClient({ rivalWrites: 100 });
  await assert.rejects(
    guardedUpdate<Counted>({
      client: fake.client,
      provider: 'GatewayAPI',
      kind: VirtualService,
      namespace: 'ns',
      name: 'x',
      change: setValue(7),
      conflictRetries: 2,
    }),
    (err) => isTrafficError(err, 'Conflict') && err.message.startsWith('GatewayAPI: '),
  );
  assert.equal(fake.patches.length, 3);
});

test('a missing object is NotFound', async () => {
  const fake = fakeClient({ exists: false });
  await assert.rejects(
    guardedUpdate<Counted>({
      client: fake.client,
      provider: 'Istio',
      kind: VirtualService,
      namespace: 'ns',
      name: 'x',
      change: setValue(1),
    }),
    (err) => isTrafficError(err, 'NotFound'),
  );
});

test('a stale first read (a cache) costs one conflict, then reads from the API server', async () => {
  const fake = fakeClient({ rivalWrites: 1 });
  const stale: Counted = {
    metadata: { name: 'x', namespace: 'ns', resourceVersion: '0' },
    spec: { value: 0 },
  };
  let cacheReads = 0;
  const read = async <T extends KubeObject>(): Promise<T | undefined> => {
    cacheReads++;
    return structuredClone(stale) as unknown as T;
  };
  const result = await guardedUpdate<Counted>({
    client: fake.client,
    provider: 'Istio',
    kind: VirtualService,
    namespace: 'ns',
    name: 'x',
    change: setValue(3),
    read,
  });
  assert.equal(result.object.spec.value, 3);
  assert.equal(cacheReads, 1);
  assert.equal(fake.patches.length, 2);
});
