/**
 * The informer cache of one kind: objects by key, plus indexes.
 *
 * Readers get a {@link Store}; only the reflector holds the {@link StoreWriter}, so the
 * cache has exactly one writer. A relist replaces a whole scope (one namespace, or
 * everything) in one synchronous step: readers never see half a list.
 *
 * Objects in the store are deep-frozen: they are shared by every reader, so a reconcile
 * that wants to change one must copy it first (`structuredClone`).
 */
import type { KubeObject } from './client.ts';

/** Computes the index values of an object (e.g. its owners' uids). */
export type IndexFn<T extends KubeObject> = (obj: T) => string[];

/** Built-in index: objects by `metadata.namespace` ('' for cluster-scoped ones). */
export const NamespaceIndex = 'namespace';
/** Built-in index: objects by the uid of each of their ownerReferences. */
export const OwnerIndex = 'owner';
/** Built-in index: objects by the uid of their controller ownerReference only. */
export const ControllerOwnerIndex = 'controller-owner';

/** Read side of an informer cache. */
export interface Store<T extends KubeObject> {
  /** The object, or undefined when the cache does not hold it. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** Every object, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects whose index `name` has `value` (see {@link NamespaceIndex}, {@link OwnerIndex}). */
  byIndex(name: string, value: string): T[];
  /** Resolves once the first full list has been stored. */
  ready(): Promise<void>;
  /** True once the first full list has been stored. */
  isReady(): boolean;
  /** Number of objects held. */
  size(): number;
  /** Approximate bytes held: the JSON length of every object (the heap holds a small multiple of it). */
  bytes(): number;
}

/** A change the store made, for whoever reacts to changes (the controller). */
export type StoreChange<T extends KubeObject> =
  | { type: 'apply'; object: T; old: T | undefined }
  | { type: 'delete'; object: T };

/** Write side of the store; held by the reflector only. */
export interface StoreWriter<T extends KubeObject> {
  /** Adds or replaces one object; returns the change, or undefined if the resourceVersion was already held. */
  apply(object: T): StoreChange<T> | undefined;
  /** Removes one object; returns the change, or undefined if it was not held. */
  delete(object: T): StoreChange<T> | undefined;
  /**
   * Replaces every object of `scope` (a namespace, or all objects when undefined) by
   * `objects` at once, and returns what changed. Objects whose resourceVersion is
   * unchanged produce no change.
   */
  replace(objects: T[], scope?: string): StoreChange<T>[];
  /** Marks one source as synced; the store is ready when every expected source is. */
  markSynced(source: string): void;
}

/** Store settings. */
export interface StoreOptions<T extends KubeObject> {
  /** Extra indexes by name; the built-in ones are always present. */
  indexes?: Record<string, IndexFn<T>>;
  /** Sources (e.g. one per namespace) that must each finish a full list before `ready()`. @default ['*'] */
  sources?: string[];
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  return keyOf(obj.metadata.namespace, obj.metadata.name ?? '');
}

/** `namespace/name`, or `name` when namespace is empty. */
export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key made by {@link keyOf}. */
export function parseKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Creates a store and its only writer. */
export function createStore<T extends KubeObject>(
  options: StoreOptions<T> = {},
): { store: Store<T>; writer: StoreWriter<T> } {
  const indexFns: Record<string, IndexFn<T>> = {
    [NamespaceIndex]: (o) => [o.metadata.namespace ?? ''],
    [OwnerIndex]: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid),
    [ControllerOwnerIndex]: (o) =>
      (o.metadata.ownerReferences ?? []).filter((r) => r.controller).map((r) => r.uid),
    ...options.indexes,
  };
  const objects = new Map<string, T>();
  /** JSON length per key, for {@link Store.bytes}. */
  const sizes = new Map<string, number>();
  let totalBytes = 0;
  /** index name -> value -> keys */
  const indexes = new Map<string, Map<string, Set<string>>>();
  for (const name of Object.keys(indexFns)) indexes.set(name, new Map());
  const expected = new Set(options.sources ?? ['*']);
  const synced = new Set<string>();
  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
  let isReady = false;

  function index(key: string, obj: T, add: boolean): void {
    for (const [name, fn] of Object.entries(indexFns)) {
      const byValue = indexes.get(name)!;
      for (const value of fn(obj)) {
        let keys = byValue.get(value);
        if (add) {
          if (!keys) byValue.set(value, (keys = new Set()));
          keys.add(key);
        } else if (keys) {
          keys.delete(key);
          if (keys.size === 0) byValue.delete(value);
        }
      }
    }
  }

  function put(obj: T): StoreChange<T> | undefined {
    const key = objectKey(obj);
    const old = objects.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion && obj.metadata.resourceVersion)
      return undefined;
    const frozen = deepFreeze(obj);
    if (old) index(key, old, false);
    objects.set(key, frozen);
    const bytes = JSON.stringify(frozen).length;
    totalBytes += bytes - (sizes.get(key) ?? 0);
    sizes.set(key, bytes);
    index(key, frozen, true);
    return { type: 'apply', object: frozen, old };
  }

  function remove(obj: T): StoreChange<T> | undefined {
    const key = objectKey(obj);
    const old = objects.get(key);
    if (!old) return undefined;
    index(key, old, false);
    objects.delete(key);
    totalBytes -= sizes.get(key) ?? 0;
    sizes.delete(key);
    // Report the last state the server sent (it carries the final resourceVersion).
    return { type: 'delete', object: deepFreeze(obj) };
  }

  const store: Store<T> = {
    get: (namespace, name) => objects.get(keyOf(namespace, name)),
    list(namespace) {
      if (namespace === undefined) return [...objects.values()];
      return store.byIndex(NamespaceIndex, namespace);
    },
    byIndex(name, value) {
      const byValue = indexes.get(name);
      if (!byValue) throw new Error(`store has no index '${name}' (have: ${[...indexes.keys()].join(', ')})`);
      const keys = byValue.get(value);
      if (!keys) return [];
      const result: T[] = [];
      for (const key of keys) {
        const obj = objects.get(key);
        if (obj) result.push(obj);
      }
      return result;
    },
    ready: () => readyPromise,
    isReady: () => isReady,
    size: () => objects.size,
    bytes: () => totalBytes,
  };

  const writer: StoreWriter<T> = {
    apply: put,
    delete: remove,
    replace(items, scope) {
      const changes: StoreChange<T>[] = [];
      const keep = new Set<string>();
      for (const item of items) {
        keep.add(objectKey(item));
        const change = put(item);
        if (change) changes.push(change);
      }
      const inScope = scope === undefined ? [...objects.values()] : store.byIndex(NamespaceIndex, scope);
      for (const obj of inScope) {
        if (keep.has(objectKey(obj))) continue;
        const change = remove(obj);
        if (change) changes.push(change);
      }
      return changes;
    },
    markSynced(source) {
      synced.add(source);
      if (!isReady && [...expected].every((s) => synced.has(s))) {
        isReady = true;
        resolveReady();
      }
    },
  };
  return { store, writer };
}

/** Freezes an object graph parsed from JSON (no cycles), returning it. */
export function deepFreeze<V>(value: V): V {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
