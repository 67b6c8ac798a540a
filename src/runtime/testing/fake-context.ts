/**
 * A ReconcileContext over the fake client for reconciler unit tests: each listed kind's
 * cache holds what the fake cluster holds when it is made (make a new one after writes
 * the next reconcile should see), Events go to `events`, the clock stands still.
 */
import type { KubeObject } from '../client.ts';
import type { ReconcileContext } from '../controller.ts';
import type { EventInput } from '../events.ts';
import type { ResourceKind } from '../kinds.ts';
import { silentLogger } from '../logging.ts';
import { createStore, type IndexFn, type Store } from '../store.ts';
import type { FakeClient } from './fake-client.ts';

/** What {@link fakeReconcileContext} builds. */
export interface FakeContextOptions {
  controller: string;
  /** Kinds whose caches the reconciler reads. */
  cached: readonly ResourceKind[];
  /** Extra cache indexes, by kind name (`Pod`). */
  indexes?: Record<string, Record<string, IndexFn<KubeObject>>>;
  /** Receives every published Event. */
  events: EventInput[];
}

/** See the module comment. */
export function fakeReconcileContext(client: FakeClient, options: FakeContextOptions): ReconcileContext {
  const stores = new Map<string, Store<KubeObject>>();
  for (const kind of options.cached) {
    const indexes = options.indexes?.[kind.kind];
    const { store, writer } = createStore<KubeObject>(indexes ? { indexes } : {});
    writer.replace(client.objects(kind));
    stores.set(kind.kind, store);
  }
  return {
    client,
    cache: <T extends KubeObject>(kind: ResourceKind<T>) => stores.get(kind.kind) as unknown as Store<T>,
    events: { publish: async (_obj, event) => void options.events.push(event) },
    log: silentLogger(),
    now: () => new Date('2026-01-01T00:00:00Z'),
    controller: options.controller,
    enqueue: () => undefined,
    finalizerStored: () => Promise.resolve(undefined),
  };
}
