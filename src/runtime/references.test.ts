import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceCache } from './references.ts';
import { createInformer } from './informer.ts';
import { createFakeClient } from './testing/fake-client.ts';
import { metadataOnly, trimObject } from './transform.ts';
import { ConfigMap } from './kinds.ts';
import type { KubeObject } from './client.ts';

type Cm = KubeObject & { data?: Record<string, string> };

async function until(what: string, fn: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('only named objects are held whole; changes reach the primaries that name them; unnamed ones leave', async () => {
  const client = createFakeClient();
  await client.create<Cm>(ConfigMap, { metadata: { name: 'target', namespace: 'ns' }, data: { v: '1' } });
  await client.create<Cm>(ConfigMap, {
    metadata: { name: 'unrelated', namespace: 'ns' },
    data: { v: 'big' },
  });
  const metadata = createInformer<KubeObject>(client, ConfigMap, { transform: metadataOnly(ConfigMap) });
  const refs = createReferenceCache<Cm>(client, ConfigMap, { metadata, transform: (o) => trimObject(o) });
  const seen: string[][] = [];
  refs.subscribe((change, owners) => seen.push([change.type, change.object.metadata.name ?? '', ...owners]));
  const abort = new AbortController();
  const running = metadata.start(abort.signal);
  await metadata.store.ready();
  assert.equal((metadata.store.get('ns', 'unrelated') as Cm | undefined)?.data, undefined, 'metadata only');

  refs.want('r1', ['ns/target', 'ns/missing']);
  await refs.settle(['ns/target', 'ns/missing']);
  assert.equal(refs.store.get('ns', 'target')?.data?.v, '1');
  assert.equal(refs.store.get('ns', 'unrelated'), undefined, 'not named: not held');
  assert.equal(refs.store.size(), 1);

  await client.apply<Cm>(ConfigMap, { metadata: { name: 'target', namespace: 'ns' }, data: { v: '2' } });
  await until('the change fetched', () => refs.store.get('ns', 'target')?.data?.v === '2');
  assert.deepEqual(seen.at(-1), ['apply', 'target', 'r1']);

  await client.create<Cm>(ConfigMap, { metadata: { name: 'missing', namespace: 'ns' }, data: { v: 'new' } });
  await until(
    'a named object that appears is fetched',
    () => refs.store.get('ns', 'missing')?.data?.v === 'new',
  );

  await client.delete(ConfigMap, 'ns', 'target');
  await until('a deleted one leaves', () => refs.store.get('ns', 'target') === undefined);
  assert.deepEqual(seen.at(-1), ['delete', 'target', 'r1']);

  refs.want('r1', []);
  assert.equal(refs.store.size(), 0, 'nobody names them: nothing held');
  abort.abort();
  await running;
});

test('a named object another cache holds whole comes from there, not from a GET', async () => {
  const client = createFakeClient();
  await client.create<Cm>(ConfigMap, {
    metadata: { name: 'made', namespace: 'ns', labels: { mine: 'yes' } },
    data: { v: '1' },
  });
  const metadata = createInformer<KubeObject>(client, ConfigMap, { transform: metadataOnly(ConfigMap) });
  const labelled = createInformer<Cm>(client, ConfigMap, {
    labelSelector: 'mine',
    transform: (o) => trimObject(o),
  });
  const refs = createReferenceCache<Cm>(client, ConfigMap, {
    metadata,
    transform: (o) => trimObject(o),
    copyOf: (namespace, name) => labelled.store.get(namespace, name),
  });
  labelled.subscribe((change) => refs.offer(change.object));
  const abort = new AbortController();
  const running = [metadata.start(abort.signal), labelled.start(abort.signal)];
  await metadata.store.ready();
  await labelled.store.ready();
  const gets = () => client.requestCounts()['GET configmaps'] ?? 0;

  refs.want('r1', ['ns/made']);
  await refs.settle(['ns/made']);
  assert.equal(refs.store.get('ns', 'made')?.data?.v, '1');
  await client.apply<Cm>(ConfigMap, { metadata: { name: 'made', namespace: 'ns' }, data: { v: '2' } });
  await until('the change taken', () => refs.store.get('ns', 'made')?.data?.v === '2');
  assert.equal(gets(), 0, 'every version came from the labelled cache');

  // Out of the labelled cache (label removed): the copy stays behind, so after the short wait it is read.
  await client.patch<Cm>(
    ConfigMap,
    'ns',
    'made',
    { metadata: { labels: { mine: null } }, data: { v: '3' } },
    'merge',
  );
  await until('the unlabelled change fetched', () => refs.store.get('ns', 'made')?.data?.v === '3');
  assert.ok(gets() >= 1, 'a change no other cache holds is a GET');
  abort.abort();
  await Promise.all(running);
});

/** ConfigMap ns/target named by primary r1 and fetched; `gets()` counts the GETs since. */
async function namedTarget() {
  const client = createFakeClient();
  await client.create<Cm>(ConfigMap, { metadata: { name: 'target', namespace: 'ns' }, data: { v: '1' } });
  const metadata = createInformer<KubeObject>(client, ConfigMap, { transform: metadataOnly(ConfigMap) });
  const refs = createReferenceCache<Cm>(client, ConfigMap, { metadata, transform: (o) => trimObject(o) });
  const abort = new AbortController();
  const running = metadata.start(abort.signal);
  await metadata.store.ready();
  refs.want('r1', ['ns/target']);
  await refs.settle(['ns/target']);
  const all = () => client.requestCounts()['GET configmaps'] ?? 0;
  const before = all();
  return {
    client,
    metadata,
    refs,
    gets: () => all() - before,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

test('the answer to a write of ours is held at once; the watch event of that write sends no GET', async () => {
  const { client, metadata, refs, gets, stop } = await namedTarget();

  const stored = await client.patch<Cm>(ConfigMap, 'ns', 'target', { data: { v: '2' } }, 'merge');
  refs.written(stored);
  assert.equal(refs.store.get('ns', 'target')?.data?.v, '2', 'held before any watch event');
  await until(
    'the watch caught up',
    () => metadata.store.get('ns', 'target')?.metadata.resourceVersion === stored.metadata.resourceVersion,
  );
  await refs.settle(['ns/target']);
  assert.equal(gets(), 0, 'no GET for our own write');

  refs.written({
    ...stored,
    data: { v: 'old' },
    metadata: { ...stored.metadata, resourceVersion: '1' },
  } as Cm);
  assert.equal(
    refs.store.get('ns', 'target')?.data?.v,
    '2',
    'an older answer does not replace a newer object',
  );
  await stop();
});

test('a change seen while our write of it is out waits for its answer, not a GET; a failed write lets the GET go', async () => {
  const { client, metadata, refs, gets, stop } = await namedTarget();
  const watched = (rv: string | undefined) => () =>
    metadata.store.get('ns', 'target')?.metadata.resourceVersion === rv;

  // The watch delivers the change before the write's answer is handed over.
  let answered = refs.writing('ns/target');
  const stored = await client.patch<Cm>(ConfigMap, 'ns', 'target', { data: { v: '2' } }, 'merge');
  await until('the watch saw our write', watched(stored.metadata.resourceVersion));
  const settled = refs.settle(['ns/target']);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(gets(), 0, 'no GET while our write is out');
  refs.written(stored);
  answered();
  await settled;
  assert.equal(refs.store.get('ns', 'target')?.data?.v, '2');
  assert.equal(gets(), 0, 'the answer was the change: no GET at all');

  // A write that failed (or whose answer never came) is no reason to skip the GET.
  answered = refs.writing('ns/target');
  const other = await client.patch<Cm>(ConfigMap, 'ns', 'target', { data: { v: '3' } }, 'merge');
  await until('the watch saw the change', watched(other.metadata.resourceVersion));
  answered();
  await refs.settle(['ns/target']);
  assert.equal(refs.store.get('ns', 'target')?.data?.v, '3');
  assert.equal(gets(), 1, 'fetched once the write was over');
  await stop();
});
