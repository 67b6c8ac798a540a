import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManager } from './manager.ts';
import { controller } from './controller.ts';
import { Action } from './action.ts';
import { TerminalError } from './errors.ts';
import { createFakeClient } from './testing/fake-client.ts';
import { silentLogger } from './logging.ts';
import { createMetrics } from './metrics.ts';
import { ConfigMap, Secret, Event } from './kinds.ts';
import type { KubeObject } from './client.ts';
import type { KubeEvent } from './events.ts';
import type { Condition } from './conditions.ts';

async function until(what: string, fn: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cm = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  metadata: { name, namespace: 'ns' },
  ...extra,
});

test('primaries are reconciled; an owned child change reconciles its controller owner', async () => {
  const client = createFakeClient();
  const owner = await client.create(ConfigMap, cm('app'));
  await client.create(ConfigMap, cm('other'));
  const seen: string[] = [];
  const manager = createManager({ client, log: silentLogger(), identity: 'test', namespaces: ['ns'] });
  manager.add(
    controller<KubeObject>({
      name: 'test',
      kind: ConfigMap,
      owns: [Secret],
      async reconcile(obj, ctx) {
        seen.push(obj.metadata.name ?? '');
        assert.ok(ctx.cache(Secret), 'owned kinds are cached');
        assert.throws(() => ctx.cache(Event), /no cache of Event/);
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  await until('initial reconciles', () => seen.length === 2);
  assert.deepEqual([...seen].sort(), ['app', 'other']);
  await client.create(Secret, {
    metadata: {
      name: 'child',
      namespace: 'ns',
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'app', uid: owner.metadata.uid ?? '', controller: true },
      ],
    },
  });
  await until('owner reconciled', () => seen.length === 3);
  assert.equal(seen[2], 'app');
  await manager.stop();
});

test('a TerminalError sets a condition and a Warning Event and is not retried; other errors are retried', async () => {
  const client = createFakeClient();
  await client.create(ConfigMap, cm('bad'));
  await client.create(ConfigMap, cm('flaky'));
  const calls: Record<string, number> = {};
  const metrics = createMetrics();
  const manager = createManager({ client, log: silentLogger(), identity: 'test-1', metrics });
  manager.add(
    controller<KubeObject>({
      name: 'errors',
      kind: ConfigMap,
      backoff: { initialMs: 10, maxMs: 20 },
      async reconcile(obj) {
        const name = obj.metadata.name ?? '';
        calls[name] = (calls[name] ?? 0) + 1;
        if (name === 'bad')
          throw new TerminalError('spec.steps: weights must increase', { reason: 'InvalidSteps' });
        if ((calls[name] ?? 0) < 3) throw new Error('api hiccup');
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  await until('flaky retried until it succeeds', () => calls.flaky === 3);
  await until('event recorded', () => client.objects(Event).length === 1);
  const [event] = client.objects<KubeEvent>(Event);
  assert.equal(event!.type, 'Warning');
  assert.equal(event!.reason, 'InvalidSteps');
  assert.equal(event!.reportingController, 'codedance.io/errors');
  assert.equal(event!.reportingInstance, 'test-1');
  assert.equal(event!.regarding.name, 'bad');
  await until('condition written', () =>
    client
      .objects<KubeObject & { status?: { conditions?: Condition[] } }>(ConfigMap)
      .some((o) => o.status?.conditions?.[0]?.reason === 'InvalidSteps'),
  );
  const bad = client
    .objects<KubeObject & { status?: { conditions?: Condition[] } }>(ConfigMap)
    .find((o) => o.metadata.name === 'bad')!;
  assert.equal(bad.status!.conditions![0]!.type, 'Ready');
  assert.equal(bad.status!.conditions![0]!.status, 'False');
  // The status write is a change the controller sees; it reconciles once more and fails for good again.
  await new Promise((r) => setTimeout(r, 100));
  assert.ok((calls.bad ?? 0) <= 2, `not retried with backoff (ran ${calls.bad} times)`);
  const text = await metrics.registry.metrics();
  assert.match(text, /codedance_reconcile_errors_total\{controller="errors",kind="TerminalError"\} [12]/);
  assert.match(text, /codedance_reconcile_errors_total\{controller="errors",kind="Error"\} 2/);
  await manager.stop();
});

test('finalizer: added before reconcile, cleanup on delete, then removed', async () => {
  const client = createFakeClient();
  await client.create(ConfigMap, cm('app'));
  const log: string[] = [];
  const manager = createManager({ client, log: silentLogger(), identity: 'test' });
  manager.add(
    controller<KubeObject>({
      name: 'fin',
      kind: ConfigMap,
      finalizer: {
        name: 'test.codedance.io/cleanup',
        async cleanup(obj) {
          log.push(`cleanup ${obj.metadata.name}`);
        },
      },
      async reconcile(obj) {
        log.push(`reconcile finalizers=${(obj.metadata.finalizers ?? []).join(',')}`);
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  await until('reconciled', () => log.length >= 1);
  assert.equal(log[0], 'reconcile finalizers=test.codedance.io/cleanup');
  assert.deepEqual(client.objects(ConfigMap)[0]!.metadata.finalizers, ['test.codedance.io/cleanup']);
  await client.delete(ConfigMap, 'ns', 'app');
  await until('deleted', () => client.objects(ConfigMap).length === 0);
  assert.ok(log.includes('cleanup app'));
  await manager.stop();
});

test('stop() waits for a running reconcile (drain)', async () => {
  const client = createFakeClient();
  await client.create(ConfigMap, cm('slow'));
  let finished = false;
  let started = false;
  const manager = createManager({ client, log: silentLogger(), identity: 'test' });
  manager.add(
    controller<KubeObject>({
      name: 'slow',
      kind: ConfigMap,
      async reconcile() {
        started = true;
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
        return Action.requeue(10);
      },
    }),
  );
  await manager.start();
  await until('started', () => started);
  await manager.stop();
  assert.equal(finished, true);
});

test('custom indexes declared by a controller are on the shared cache', async () => {
  const client = createFakeClient();
  await client.create(
    ConfigMap,
    cm('app', { metadata: { name: 'app', namespace: 'ns', labels: { team: 'red' } } }),
  );
  const found: string[] = [];
  const manager = createManager({ client, log: silentLogger(), identity: 'test' });
  manager.add(
    controller<KubeObject>({
      name: 'indexed',
      kind: ConfigMap,
      indexes: [{ kind: ConfigMap, name: 'team', values: (o) => [o.metadata.labels?.team ?? ''] }],
      async reconcile(_obj, ctx) {
        found.push(
          ...ctx
            .cache(ConfigMap)
            .byIndex('team', 'red')
            .map((o) => o.metadata.name ?? ''),
        );
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  await until('reconciled', () => found.length === 1);
  assert.deepEqual(found, ['app']);
  await manager.stop();
});

test('misuse is reported at start', async () => {
  const client = createFakeClient();
  const manager = createManager({ client, log: silentLogger(), identity: 'test' });
  const c = controller<KubeObject>({
    name: 'dup',
    kind: ConfigMap,
    reconcile: async () => Action.awaitChange(),
  });
  manager.add(c);
  manager.add(c);
  await assert.rejects(manager.start(), /used twice/);
  const other = createManager({ client, log: silentLogger(), identity: 'test' });
  other.add(
    controller<KubeObject>({
      name: 'bad-index',
      kind: ConfigMap,
      indexes: [{ kind: Secret, name: 'x', values: () => [] }],
      reconcile: async () => Action.awaitChange(),
    }),
  );
  await assert.rejects(other.start(), /does not cache/);
});

test('an error policy decides the Action: retry, stop, or the default policy', async () => {
  const client = createFakeClient();
  for (const name of ['retried', 'stopped', 'defaulted', 'broken']) await client.create(ConfigMap, cm(name));
  const calls: Record<string, number> = {};
  const decided: string[] = [];
  const manager = createManager({ client, log: silentLogger(), identity: 'test-policy' });
  manager.add(
    controller<KubeObject>({
      name: 'policy',
      kind: ConfigMap,
      backoff: { initialMs: 10, maxMs: 20 },
      async reconcile(obj) {
        const name = obj.metadata.name ?? '';
        calls[name] = (calls[name] ?? 0) + 1;
        if (name === 'retried' && (calls[name] ?? 0) >= 3) return Action.awaitChange();
        throw Object.assign(new Error(`${name} failed`), { kind: name });
      },
      async errorPolicy(_err, obj) {
        const name = obj.metadata.name ?? '';
        decided.push(name);
        if (name === 'retried') return Action.retry();
        if (name === 'stopped') return Action.awaitChange();
        if (name === 'broken') throw new Error('the policy itself failed');
        return undefined;
      },
    }),
  );
  await manager.start();
  await until('retried until it succeeds', () => calls.retried === 3);
  // The default policy retries a plain error; a throwing policy retries too.
  await until(
    'default and broken policies retry',
    () => (calls.defaulted ?? 0) >= 2 && (calls.broken ?? 0) >= 2,
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls.stopped, 1, 'awaitChange from the policy: not retried');
  assert.ok(decided.includes('stopped') && decided.includes('defaulted'));
  await manager.stop();
});

test("ctx.cache answers from the controller's own declarations: never another controller's selected cache, and an ambiguity is an error", async () => {
  const client = createFakeClient();
  await client.create(ConfigMap, cm('primary'));
  await client.create(Secret, { metadata: { name: 'mine', namespace: 'ns', labels: { team: 'a' } } });
  await client.create(Secret, { metadata: { name: 'theirs', namespace: 'ns', labels: { team: 'b' } } });
  const manager = createManager({ client, log: silentLogger(), identity: 'test', namespaces: ['ns'] });
  const seen: Record<string, string[] | string> = {};
  manager.add(
    controller<KubeObject>({
      name: 'selected',
      kind: ConfigMap,
      watches: [{ kind: Secret, labelSelector: 'team=a', map: () => [] }],
      async reconcile(_obj, ctx) {
        seen.selected = ctx
          .cache(Secret)
          .list()
          .map((o) => o.metadata.name ?? '');
        return Action.awaitChange();
      },
    }),
  );
  manager.add(
    controller<KubeObject>({
      name: 'plain',
      kind: Event,
      async reconcile() {
        return Action.awaitChange();
      },
    }),
  );
  manager.add(
    controller<KubeObject>({
      name: 'both',
      kind: ConfigMap,
      caches: [Secret, { kind: Secret, labelSelector: 'team=b' }, { kind: Secret, metadataOnly: true }],
      async reconcile(_obj, ctx) {
        try {
          ctx.cache(Secret);
          seen.both = 'no error';
        } catch (err) {
          seen.both = (err as Error).message;
        }
        seen.bothNamed = ctx
          .cache(Secret, { labelSelector: 'team=b' })
          .list()
          .map((o) => o.metadata.name ?? '');
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  await until('reconciled', () => seen.selected !== undefined && seen.bothNamed !== undefined);
  assert.deepEqual(seen.selected, ['mine'], 'the selected cache, as declared');
  assert.match(String(seen.both), /2 caches of Secret.*say which/);
  assert.deepEqual(seen.bothNamed, ['theirs']);
  assert.deepEqual(
    manager
      .cache(Secret, { labelSelector: 'team=b' })
      ?.list()
      .map((o) => o.metadata.name),
    ['theirs'],
  );
  const metadata = manager.cache(Secret, { metadataOnly: true })?.get('ns', 'mine');
  assert.equal(metadata?.kind, 'Secret');
  assert.equal(
    manager.cache(Secret, { labelSelector: 'team=c' }),
    undefined,
    'no fallback to another selector',
  );
  assert.equal(
    manager.caches().length,
    6,
    'ConfigMap (one, shared), Secret team=a, Event, Secret, Secret team=b, Secret metadata',
  );
  await manager.stop();
});
