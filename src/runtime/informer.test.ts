import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInformer } from './informer.ts';
import { createFakeClient } from './testing/fake-client.ts';
import { ConfigMap } from './kinds.ts';
import type { KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';

async function until(what: string, fn: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a listener that throws or rejects stops neither the watch nor the other listeners', async (t) => {
  const client = createFakeClient();
  await client.create(ConfigMap, { metadata: { name: 'first', namespace: 'ns' } });
  const failures: { kind: string; error: string }[] = [];
  const informer = createInformer<KubeObject>(client, ConfigMap, {
    namespaces: ['ns'],
    onListenerError: (kind: ResourceKind, error: unknown) =>
      failures.push({ kind: kind.kind, error: (error as Error).message }),
  });
  const seen: string[] = [];
  informer.subscribe(() => {
    throw new Error('listener bug');
  });
  informer.subscribe((async () => {
    throw new Error('async listener bug');
  }) as unknown as () => void);
  informer.subscribe((change) => seen.push(`${change.type} ${change.object.metadata.name}`));
  const abort = new AbortController();
  const running = informer.start(abort.signal);
  t.after(async () => {
    abort.abort();
    await running;
  });
  await informer.store.ready();
  await until('the first object', () => seen.includes('apply first'));
  await client.create(ConfigMap, { metadata: { name: 'second', namespace: 'ns' } });
  await until('a later change, through the same watch', () => seen.includes('apply second'));
  assert.ok(informer.store.get('ns', 'second'), 'the store holds it');
  await client.delete(ConfigMap, 'ns', 'first');
  await until('a delete', () => seen.includes('delete first'));
  assert.ok(failures.length >= 6, `every failure reported: ${failures.length}`);
  assert.ok(failures.some((f) => f.error === 'listener bug' && f.kind === 'ConfigMap'));
  assert.ok(failures.some((f) => f.error === 'async listener bug'));
});
