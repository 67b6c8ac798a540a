/**
 * An in-memory {@link KubeClient} for unit tests of reconcilers and of the runtime.
 *
 * It keeps objects per kind, bumps one global resourceVersion on every write, serves
 * lists and watches (from any resourceVersion it still remembers), honours finalizers
 * and `deletionTimestamp`, applies JSON patches (with `test`), merge patches and a
 * simplified server-side apply (a deep merge: it does not remove fields), and counts
 * requests. `intercept` lets a test fail or observe a verb.
 *
 * Not a real API server: no validation, no defaulting, no field ownership, no 410.
 */
import {
  KubeApiError,
  resourcePath,
  type Desired,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
  type WatchOptions,
} from '../client.ts';
import { apiVersionOf, type ResourceKind } from '../kinds.ts';

/** A request verb a test can intercept. */
export type FakeVerb = 'get' | 'list' | 'watch' | 'create' | 'apply' | 'patch' | 'delete' | 'raw';

/** The fake client plus test controls. */
export interface FakeClient extends KubeClient {
  /** Runs before each call of `verb`; throw to make the call fail. */
  intercept(verb: FakeVerb, fn: (kind: ResourceKind | undefined, args: unknown[]) => void): void;
  /** Stored objects of a kind (copies). */
  objects<T extends KubeObject>(kind: ResourceKind<T>): T[];
  /** Writes that changed something, in order (`VERB Kind ns/name`). */
  writes: string[];
}

interface Entry {
  kind: ResourceKind;
  object: KubeObject;
}

/** Creates an empty fake cluster and a client for it. */
export function createFakeClient(options: { fieldManager?: string } = {}): FakeClient {
  let rv = 1;
  const data = new Map<string, Entry>();
  const log: { rv: number; kindKey: string; event: WatchEvent<KubeObject> }[] = [];
  const watchers = new Set<() => void>();
  const interceptors = new Map<FakeVerb, ((kind: ResourceKind | undefined, args: unknown[]) => void)[]>();
  const counts: Record<string, number> = {};
  const writes: string[] = [];

  const kindKey = (kind: ResourceKind): string => `${apiVersionOf(kind)}/${kind.plural}`;
  const key = (kind: ResourceKind, ns: string | undefined, name: string): string =>
    `${kindKey(kind)}/${kind.namespaced ? (ns ?? '') : ''}/${name}`;
  const copy = <T>(v: T): T => structuredClone(v);
  const before = (verb: FakeVerb, kind: ResourceKind | undefined, args: unknown[]): void => {
    counts[`${verb.toUpperCase()} ${kind?.plural ?? 'raw'}`] =
      (counts[`${verb.toUpperCase()} ${kind?.plural ?? 'raw'}`] ?? 0) + 1;
    for (const fn of interceptors.get(verb) ?? []) fn(kind, args);
  };
  const notFound = (kind: ResourceKind, name: string): KubeApiError =>
    new KubeApiError(404, `${kind.plural} "${name}" not found`, { code: 404, reason: 'NotFound' });

  function emit(kind: ResourceKind, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    log.push({
      rv: Number(object.metadata.resourceVersion),
      kindKey: kindKey(kind),
      event: { type, object: copy(object) },
    });
    for (const wake of watchers) wake();
  }

  function store(
    kind: ResourceKind,
    object: KubeObject,
    type: 'ADDED' | 'MODIFIED',
    verb: string,
  ): KubeObject {
    object.metadata.resourceVersion = String(++rv);
    object.apiVersion = apiVersionOf(kind);
    object.kind = kind.kind;
    // An object being deleted goes once its last finalizer is gone.
    if (object.metadata.deletionTimestamp && !object.metadata.finalizers?.length) {
      data.delete(key(kind, object.metadata.namespace, object.metadata.name ?? ''));
      writes.push(`${verb} ${kind.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`);
      emit(kind, 'DELETED', object);
      return copy(object);
    }
    data.set(key(kind, object.metadata.namespace, object.metadata.name ?? ''), { kind, object });
    writes.push(`${verb} ${kind.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`);
    emit(kind, type, object);
    return copy(object);
  }

  function find(kind: ResourceKind, ns: string | undefined, name: string): KubeObject | undefined {
    return data.get(key(kind, ns, name))?.object;
  }

  const client: FakeClient = {
    server: 'fake://',
    fieldManager: options.fieldManager ?? 'codedance',
    writes,
    intercept(verb, fn) {
      interceptors.set(verb, [...(interceptors.get(verb) ?? []), fn]);
    },
    objects<T extends KubeObject>(kind: ResourceKind<T>) {
      return [...data.values()]
        .filter((e) => kindKey(e.kind) === kindKey(kind))
        .map((e) => copy(e.object) as T);
    },
    async get<T extends KubeObject>(kind: ResourceKind<T>, ns: string | undefined, name: string) {
      before('get', kind, [ns, name]);
      const found = find(kind, ns, name);
      return found ? (copy(found) as T) : undefined;
    },
    async list<T extends KubeObject>(kind: ResourceKind<T>, opts: ListOptions = {}) {
      before('list', kind, [opts]);
      const items = client
        .objects<T>(kind)
        .filter(
          (o) =>
            (!opts.namespace || o.metadata.namespace === opts.namespace) && selects(opts.labelSelector, o),
        );
      return { metadata: { resourceVersion: String(rv) }, items } as ObjectList<T>;
    },
    watch<T extends KubeObject>(
      kind: ResourceKind<T>,
      opts: WatchOptions,
      signal?: AbortSignal,
    ): AsyncIterable<WatchEvent<T>> {
      before('watch', kind, [opts]);
      let cursor = Number(opts.resourceVersion ?? rv);
      return {
        async *[Symbol.asyncIterator]() {
          while (!signal?.aborted) {
            const next = log.find(
              (e) =>
                e.rv > cursor &&
                e.kindKey === kindKey(kind) &&
                (!opts.namespace || (e.event.object as KubeObject).metadata.namespace === opts.namespace) &&
                selects(opts.labelSelector, e.event.object as KubeObject),
            );
            if (next) {
              cursor = next.rv;
              yield copy(next.event) as WatchEvent<T>;
              continue;
            }
            const later = log.findLast((e) => e.rv > cursor);
            if (later) {
              cursor = later.rv;
              continue;
            }
            await new Promise<void>((resolve) => {
              const wake = (): void => {
                watchers.delete(wake);
                resolve();
              };
              watchers.add(wake);
              signal?.addEventListener('abort', wake, { once: true });
            });
          }
        },
      };
    },
    async create<T extends KubeObject>(kind: ResourceKind<T>, object: T) {
      before('create', kind, [object]);
      const o = copy(object) as KubeObject;
      if (!o.metadata.name && o.metadata.generateName)
        o.metadata.name = `${o.metadata.generateName}${rv.toString(36)}`;
      if (find(kind, o.metadata.namespace, o.metadata.name ?? ''))
        throw new KubeApiError(409, 'already exists', { code: 409, reason: 'AlreadyExists' });
      o.metadata.uid = `uid-${rv}`;
      o.metadata.generation = 1;
      o.metadata.creationTimestamp = new Date().toISOString();
      return store(kind, o, 'ADDED', 'CREATE') as T;
    },
    async apply<T extends KubeObject>(
      kind: ResourceKind<T>,
      object: Desired<T>,
      opts: { subresource?: string } = {},
    ) {
      before('apply', kind, [object, opts]);
      const existing = find(kind, object.metadata.namespace, object.metadata.name ?? '');
      if (!existing) {
        if (opts.subresource) throw notFound(kind, object.metadata.name ?? '');
        // A first apply creates: the object is what was sent (a real server fills in defaults).
        return client.create(kind, object as T);
      }
      const merged = deepMerge(copy(existing), copy(object)) as KubeObject;
      if (JSON.stringify(merged) === JSON.stringify(existing)) return copy(existing) as T;
      if (
        !opts.subresource &&
        JSON.stringify((merged as { spec?: unknown }).spec) !==
          JSON.stringify((existing as { spec?: unknown }).spec)
      ) {
        merged.metadata.generation = (existing.metadata.generation ?? 1) + 1;
      }
      return store(kind, merged, 'MODIFIED', 'APPLY') as T;
    },
    async patch<T extends KubeObject>(
      kind: ResourceKind<T>,
      ns: string | undefined,
      name: string,
      patch: unknown,
      type: string,
    ) {
      before('patch', kind, [ns, name, patch, type]);
      const existing = find(kind, ns, name);
      if (!existing) throw notFound(kind, name);
      const next =
        type === 'json'
          ? jsonPatch(copy(existing), patch as JsonOp[])
          : (deepMerge(copy(existing), patch, true) as KubeObject);
      return store(kind, next, 'MODIFIED', 'PATCH') as T;
    },
    async delete(kind: ResourceKind, ns: string | undefined, name: string) {
      before('delete', kind, [ns, name]);
      const existing = find(kind, ns, name);
      if (!existing) return false;
      if (existing.metadata.deletionTimestamp) return true;
      const next = copy(existing);
      next.metadata.deletionTimestamp = new Date().toISOString();
      store(kind, next, 'MODIFIED', 'DELETE');
      return true;
    },
    async raw<T>(method: string, path: string, body?: unknown) {
      before('raw', undefined, [method, path, body]);
      for (const entry of data.values()) {
        const o = entry.object;
        if (resourcePath(entry.kind, o.metadata.namespace, o.metadata.name) !== path) continue;
        if (method === 'PUT') {
          const next = copy(body) as KubeObject;
          if (next.metadata.resourceVersion && next.metadata.resourceVersion !== o.metadata.resourceVersion) {
            throw new KubeApiError(409, 'the object has been modified', { code: 409, reason: 'Conflict' });
          }
          return store(entry.kind, next, 'MODIFIED', 'PUT') as T;
        }
        if (method === 'GET') return copy(o) as T;
      }
      throw new KubeApiError(404, `${path} not found`, { code: 404, reason: 'NotFound' });
    },
    requestCounts: () => ({ ...counts }),
    async close() {},
  };
  return client;
}

type JsonOp = { op: 'add' | 'remove' | 'replace' | 'test'; path: string; value?: unknown };

function jsonPatch(target: KubeObject, ops: JsonOp[]): KubeObject {
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop() ?? '';
    let parent: unknown = target;
    for (const p of parts) parent = (parent as Record<string, unknown>)[p];
    if (parent === undefined || parent === null)
      throw new KubeApiError(422, `path ${op.path} does not exist`, { code: 422, reason: 'Invalid' });
    const container = parent as Record<string, unknown> & unknown[];
    if (op.op === 'test') {
      const current: unknown = Array.isArray(container) ? container[Number(last)] : container[last];
      if (JSON.stringify(current) !== JSON.stringify(op.value)) {
        throw new KubeApiError(422, `test of ${op.path} failed`, { code: 422, reason: 'Invalid' });
      }
    } else if (op.op === 'remove') {
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
    } else if (Array.isArray(container)) {
      if (last === '-') container.push(op.value);
      else if (op.op === 'add') container.splice(Number(last), 0, op.value);
      else container[Number(last)] = op.value;
    } else (container as Record<string, unknown>)[last] = op.value;
  }
  return target;
}

/** Deep merge of `patch` into `target` (arrays replace; `null` deletes when `nullDeletes`). */
function deepMerge(target: unknown, patch: unknown, nullDeletes = false): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? (target as Record<string, unknown>)
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null && nullDeletes) delete base[k];
    else base[k] = deepMerge(base[k], v, nullDeletes);
  }
  return base;
}

/**
 * True when `obj` matches a label selector of `key=value`, `key!=value`, `key` and `!key`
 * terms joined by commas (the equality-based part of Kubernetes selectors; no sets).
 * A change that moves an object out of the selector is simply not sent, which is enough for
 * the tests that use it.
 */
function selects(selector: string | undefined, obj: KubeObject): boolean {
  if (!selector) return true;
  const labels = obj.metadata.labels ?? {};
  return selector.split(',').every((raw) => {
    const term = raw.trim();
    if (!term) return true;
    const notEqual = term.indexOf('!=');
    if (notEqual >= 0) return labels[term.slice(0, notEqual)] !== term.slice(notEqual + 2);
    const equal = term.indexOf('=');
    if (equal >= 0) return labels[term.slice(0, equal)] === term.slice(equal + 1).replace(/^=/, '');
    if (term.startsWith('!')) return !(term.slice(1) in labels);
    return term in labels;
  });
}
