/**
 * The reference cache: full objects of a kind, but only those some primary names (a
 * release's target Deployment, the user's Service), so memory follows the releases and not
 * the cluster.
 *
 * It rests on a metadata-only informer of the kind (one watch for the whole cluster, a few
 * hundred bytes per object): when an object a primary names appears or changes there (a
 * new resourceVersion), the full object is fetched with one GET, trimmed and stored; when
 * it goes, it leaves the store. Each change of the store is reported with the primaries
 * that name the object, so they are reconciled.
 *
 * Guarantees:
 * - `settle(keys)` resolves once every named object that exists has been fetched at least
 *   at the resourceVersion the metadata cache holds: a reconcile that awaits it reads what
 *   it names, never an older copy than the watch saw;
 * - one fetch per key at a time; a change seen during a fetch fetches again after it.
 * Caveat: a failed GET is retried at the next change or `settle`, and reported to `onError`.
 *
 * Copies: a named object another cache of the same kind also holds whole (a canary
 * Deployment is both named by its release and in the label cache of what releases make)
 * is taken from there when it is as new as the metadata cache says, instead of a GET. The
 * two watches deliver the same change moments apart, so a fetch waits briefly
 * (`COPY_WAIT_MS`) for a copy that is known but behind, then reads the API server.
 * Likewise the answer to a write of ours is held at once (`written`), and a change seen
 * while a write of ours to the object is out (`writing`) waits for that write's answer,
 * which is usually that very change: the watch often delivers it before the response.
 */
import type { KubeClient, KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import type { Informer } from './informer.ts';
import { createStore, keyOf, parseKey, type IndexFn, type Store, type StoreChange } from './store.ts';
import type { Transform } from './transform.ts';

/** Reference cache settings. */
export interface ReferenceCacheOptions<T extends KubeObject> {
  /** The metadata-only informer of the same kind (shared with other metadata caches). */
  metadata: Informer<KubeObject>;
  /** What the store keeps of each fetched object. */
  transform: Transform<T>;
  /** Extra indexes of the full store. */
  indexes?: Record<string, IndexFn<T>>;
  /** A GET failed (it is tried again at the next change or settle). */
  onError?: (key: string, error: unknown) => void;
  /** The object as another full cache of the kind holds it (already transformed), if any. */
  copyOf?: (namespace: string | undefined, name: string) => T | undefined;
}

/** How long a fetch waits for another cache's copy of a change before it sends a GET. */
export const COPY_WAIT_MS = 50;

/** The longest a fetch waits for the answers to our own writes of the object (a hung write must not hold the cache). */
export const WRITE_WAIT_MS = 5_000;

/** Full objects of one kind that primaries name. */
export interface ReferenceCache<T extends KubeObject> {
  readonly kind: ResourceKind;
  readonly store: Store<T>;
  /** Sets the objects primary `owner` names (`namespace/name` keys), replacing what it named before; `[]` forgets it. */
  want(owner: string, keys: string[]): void;
  /** Resolves once the named objects are fetched as of the metadata cache (see the guarantees). */
  settle(keys: string[]): Promise<void>;
  /** Listens to the store's changes, with the primaries (owner keys) that name the object. */
  subscribe(listener: (change: StoreChange<T>, owners: string[]) => void): () => void;
  /** Another full cache of the kind changed `obj` (see `copyOf`): a fetch waiting for it takes it. */
  offer(obj: KubeObject): void;
  /**
   * The API server's answer to a write of ours (the object as stored): held at once when
   * it is named and newer than what is held, so the watch event of that very write finds
   * the cache current and sends no GET.
   */
  written(obj: KubeObject): void;
  /**
   * A write of ours to `key` (`namespace/name`) leaves; call the returned function once it
   * is answered or failed (after `written`). Meanwhile a change of the object waits for it.
   */
  writing(key: string): () => void;
}

/** Creates a reference cache over `options.metadata` (which the caller starts). */
export function createReferenceCache<T extends KubeObject>(
  client: Pick<KubeClient, 'get'>,
  kind: ResourceKind,
  options: ReferenceCacheOptions<T>,
): ReferenceCache<T> {
  const { store, writer } = createStore<T>({ indexes: options.indexes });
  writer.markSynced('*');
  /** object key → primaries naming it */
  const owners = new Map<string, Set<string>>();
  /** primary key → object keys it names */
  const named = new Map<string, string[]>();
  const inFlight = new Map<string, Promise<void>>();
  const listeners = new Set<(change: StoreChange<T>, owners: string[]) => void>();
  /** key → fetches waiting for a copy from another cache */
  const waiting = new Map<string, () => void>();
  /** key → our writes of it not yet answered, and what resolves when the last one is */
  const writes = new Map<string, { count: number; settled: Promise<void>; resolve: () => void }>();

  /** Resolves when no write of ours to `key` is out (or after WRITE_WAIT_MS). */
  async function writesAnswered(key: string): Promise<void> {
    const out = writes.get(key);
    if (!out) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([out.settled, new Promise<void>((r) => (timer = setTimeout(r, WRITE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  const emit = (change: StoreChange<T> | undefined): void => {
    if (!change) return;
    const who = [
      ...(owners.get(keyOf(change.object.metadata.namespace, change.object.metadata.name ?? '')) ?? []),
    ];
    for (const listener of listeners) listener(change, who);
  };

  /** True when the store is behind the metadata cache for `key` (or holds what is gone). */
  const stale = (key: string): boolean => {
    const { namespace, name } = parseKey(key);
    const meta = options.metadata.store.get(namespace, name);
    const held = store.get(namespace, name);
    if (!meta) return held !== undefined;
    return held?.metadata.resourceVersion !== meta.metadata.resourceVersion;
  };

  /**
   * Another cache's copy of `key` at `resourceVersion`: at once if it has it, after up to
   * COPY_WAIT_MS if it holds an older one (its watch is behind), else undefined.
   */
  async function copyAt(key: string, resourceVersion: string | undefined): Promise<T | undefined> {
    if (!options.copyOf) return undefined;
    const { namespace, name } = parseKey(key);
    const current = (): T | undefined => {
      const copy = options.copyOf?.(namespace, name);
      return copy && copy.metadata.resourceVersion === resourceVersion ? copy : undefined;
    };
    if (current() || !options.copyOf(namespace, name)) return current();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, COPY_WAIT_MS);
      function done(): void {
        clearTimeout(timer);
        waiting.delete(key);
        resolve();
      }
      waiting.set(key, done);
    });
    return current();
  }

  function refresh(key: string): Promise<void> {
    const running = inFlight.get(key);
    if (running) return running;
    const run = (async () => {
      // Loop: a change that arrives while a GET is out is fetched right after it.
      while (owners.has(key) && stale(key)) {
        if (writes.has(key)) {
          // Our own write's answer is likely this change: take it rather than GET it.
          await writesAnswered(key);
          if (!owners.has(key) || !stale(key)) break;
        }
        const { namespace, name } = parseKey(key);
        const meta = options.metadata.store.get(namespace, name);
        if (!meta) {
          const held = store.get(namespace, name);
          if (held) emit(writer.delete(held));
          break;
        }
        let obj = await copyAt(key, meta.metadata.resourceVersion);
        try {
          obj ??= await client.get<T>(kind, namespace, name);
        } catch (error) {
          options.onError?.(key, error);
          break;
        }
        if (obj) {
          const full = options.transform({ ...obj, apiVersion: meta.apiVersion, kind: meta.kind });
          emit(writer.apply(full));
        } else {
          const held = store.get(namespace, name);
          if (held) emit(writer.delete(held));
        }
        // A GET can return a newer object than the metadata cache holds yet: that is fine,
        // the metadata event that follows finds the store current (same resourceVersion).
        if (
          obj &&
          Number(obj.metadata.resourceVersion) >=
            Number(options.metadata.store.get(namespace, name)?.metadata.resourceVersion ?? 0)
        )
          break;
      }
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, run);
    return run;
  }

  options.metadata.subscribe((change) => {
    const key = keyOf(change.object.metadata.namespace, change.object.metadata.name ?? '');
    if (!owners.has(key)) return;
    if (change.type === 'delete') {
      const held = store.get(change.object.metadata.namespace, change.object.metadata.name ?? '');
      if (held) emit(writer.delete(held));
      return;
    }
    void refresh(key);
  });

  return {
    kind,
    store,
    want(owner, keys) {
      const before = named.get(owner) ?? [];
      const after = [...new Set(keys)];
      for (const key of before) {
        if (after.includes(key)) continue;
        const set = owners.get(key);
        set?.delete(owner);
        if (set && set.size === 0) {
          owners.delete(key);
          // Nobody names it any more: it leaves the cache (silently: nobody listens for it).
          const { namespace, name } = parseKey(key);
          const held = store.get(namespace, name);
          if (held) writer.delete(held);
        }
      }
      if (after.length === 0) named.delete(owner);
      else named.set(owner, after);
      for (const key of after) {
        let set = owners.get(key);
        if (!set) owners.set(key, (set = new Set()));
        set.add(owner);
        if (stale(key)) void refresh(key);
      }
    },
    async settle(keys) {
      await Promise.all(
        keys.filter((key) => owners.has(key) && (inFlight.has(key) || stale(key))).map((key) => refresh(key)),
      );
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    written(obj) {
      const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '');
      if (!owners.has(key)) return;
      const held = store.get(obj.metadata.namespace, obj.metadata.name ?? '');
      if (held && Number(held.metadata.resourceVersion) >= Number(obj.metadata.resourceVersion)) return;
      emit(writer.apply(options.transform(obj as T)));
    },
    writing(key) {
      let out = writes.get(key);
      if (!out) {
        let resolve = (): void => undefined;
        const settled = new Promise<void>((r) => (resolve = r));
        writes.set(key, (out = { count: 0, settled, resolve }));
      }
      const entry = out;
      entry.count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        // The entry leaves with its last write, so no later write of the key shares it.
        if (--entry.count > 0) return;
        writes.delete(key);
        entry.resolve();
      };
    },
    offer(obj) {
      waiting.get(keyOf(obj.metadata.namespace, obj.metadata.name ?? ''))?.();
    },
  };
}
