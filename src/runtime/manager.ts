/**
 * The manager: runs controllers over shared informers.
 *
 * - one informer per (kind, label selector, shape), shared by every controller that
 *   declares that cache; every cache is trimmed (`transform.ts`), metadata-only ones hold
 *   metadata alone;
 * - a reconcile's `ctx.cache(kind, select?)` answers from its own controller's
 *   declarations only: another controller's selected cache is never handed out in its place;
 * - reconciles start only after every informer finished its first full list; then every
 *   primary object is reconciled once;
 * - primary changes enqueue the object; child changes enqueue their controller owner;
 *   watched kinds enqueue what their map function returns;
 * - an error policy turns failures into Actions: the controller's `errorPolicy` decides
 *   first (kube-runtime's `error_policy`); by default a {@link TerminalError} is reported
 *   (condition on the object + Warning Event), counted and not retried; other errors
 *   are retried with per-key exponential backoff;
 * - `stop()` stops taking work, waits for running reconciles, then closes the watches.
 */
import type { KubeClient, KubeObject, OwnerReference } from './client.ts';
import { apiVersionOf, type ResourceKind } from './kinds.ts';
import type {
  CacheSelect,
  CacheSpec,
  Controller,
  ControllerOptions,
  ObjectKey,
  ReconcileContext,
} from './controller.ts';
import { cacheSpecOf, declaredCaches, validateController } from './controller.ts';
import { managerFamily, metadataOnly, trimObject, type Transform } from './transform.ts';
import { createReferenceCache, type ReferenceCache } from './references.ts';
import { createInformer, type Informer } from './informer.ts';
import { createWorkQueue, type QueueOutcome, type WorkQueue } from './queue.ts';
import { keyOf, parseKey, type IndexFn, type Store, type StoreChange } from './store.ts';
import { createEventRecorder, type EventRecorder } from './events.ts';
import { finalizer } from './finalizer.ts';
import { applyStatus } from './apply.ts';
import { setCondition, type Condition } from './conditions.ts';
import { describeError, isTerminal, RuntimeError } from './errors.ts';
import { realClock, type Clock } from './clock.ts';
import type { Logger } from './logging.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { Action } from './action.ts';

/** Field manager of the error policy's status writes (separate, so it never removes the reconciler's status fields). */
export const ErrorPolicyFieldManager = 'codedance-error-policy';

/** Manager settings. */
export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  /** Watch only these namespaces. @default all namespaces */
  namespaces?: string[];
  /** This process's identity (Events' reportingInstance). */
  identity: string;
  metrics?: RuntimeMetrics;
  /** @default realClock */
  clock?: Clock;
  /** Server-side timeout of watch requests. @default 300 */
  watchTimeoutSeconds?: number;
}

/** Runs controllers. */
export interface Manager {
  /** Adds a controller; only before `start`. */
  add<T extends KubeObject>(controller: Controller<T>): void;
  /** Checks the controllers, starts informers, waits for their first lists, then starts reconciling. Throws {@link ManagerError} on misuse. */
  start(): Promise<void>;
  /** True once every informer has finished its first full list. */
  synced(): boolean;
  /** The shared informer cache of exactly this kind, selector and shape (started by `start`), if some controller declared it. */
  cache<T extends KubeObject>(kind: ResourceKind<T>, select?: CacheSelect): Store<T> | undefined;
  /** Every informer cache: its kind, selector, shape and store (for metrics and the docs' figures). */
  caches(): {
    kind: ResourceKind;
    labelSelector: string;
    shape: 'full' | 'metadata' | 'referenced';
    store: Store<KubeObject>;
  }[];
  /** Stops taking work, waits for running reconciles (the drain), then stops the watches. */
  stop(): Promise<void>;
}

/** Failed steps of the manager. */
export type ManagerErrorKind = 'InvalidController' | 'CacheNotWatched' | 'AmbiguousCache';

/** Misuse of the manager or of a controller description. */
export class ManagerError extends RuntimeError<ManagerErrorKind> {
  constructor(kind: ManagerErrorKind, message: string) {
    super(kind, message);
    this.name = 'ManagerError';
  }
}

interface RunningController {
  options: ControllerOptions<KubeObject>;
  queue?: WorkQueue;
  events: EventRecorder;
  primary: Informer<KubeObject>;
}

/** Creates a manager. */
export function createManager(options: ManagerOptions): Manager {
  const clock = options.clock ?? realClock;
  const controllers: ControllerOptions<KubeObject>[] = [];
  const informers = new Map<string, Informer<KubeObject>>();
  const abort = new AbortController();
  const running: RunningController[] = [];
  let watching: Promise<void>[] = [];
  let started = false;
  let isSynced = false;

  const informerKey = (spec: CacheSpec): string =>
    `${apiVersionOf(spec.kind)}/${spec.kind.kind}|${spec.labelSelector ?? ''}|${spec.referenced ? 'referenced' : spec.metadataOnly ? 'metadata' : 'full'}`;
  /** Reference caches by kind (`apiVersion/Kind`), shared by the controllers that name objects of it. */
  const references = new Map<string, ReferenceCache<KubeObject>>();
  const specs = new Map<string, CacheSpec>();

  /** Custom indexes by kind (`apiVersion/Kind`), gathered from every controller before any informer exists. */
  const indexesByKind = new Map<string, Record<string, IndexFn<KubeObject>>>();
  // Only our own field managers' entries: apply() compares against them to skip no-op writes.
  const trim = { keepManager: managerFamily(options.client.fieldManager) };

  function informerFor(spec: CacheSpec): Informer<KubeObject> {
    const key = informerKey(spec);
    let informer = informers.get(key);
    if (!informer) {
      const { kind, labelSelector } = spec;
      const transform: Transform<KubeObject> = spec.metadataOnly
        ? metadataOnly(kind)
        : (obj) => trimObject(obj, trim);
      informer = createInformer<KubeObject>(options.client, kind, {
        namespaces: options.namespaces,
        labelSelector,
        metadataOnly: spec.metadataOnly,
        transform,
        indexes: indexesByKind.get(`${apiVersionOf(kind)}/${kind.kind}`),
        timeoutSeconds: options.watchTimeoutSeconds,
        clock,
        onListenerError: (k, error) => {
          options.log.error(
            { kind: k.kind, err: error },
            `a change listener of ${k.kind} failed; the watch goes on: ${describeError(error)}`,
          );
        },
        onRestart: (k, reason, error) => {
          options.metrics?.watchRestarts.inc({ kind: k.kind, reason });
          options.log.warn(
            { kind: k.kind, reason, err: error, errorKind: error?.kind },
            `watch restarted: ${error ? describeError(error) : reason}`,
          );
        },
      });
      informers.set(key, informer);
      specs.set(key, { kind, labelSelector: labelSelector ?? '', metadataOnly: spec.metadataOnly ?? false });
      if (!spec.metadataOnly) {
        // Its objects can stand in for the reference cache's GETs (references.ts: copies).
        const kindKey = `${apiVersionOf(kind)}/${kind.kind}`;
        informer.subscribe((change) => {
          if (change.type !== 'delete') references.get(kindKey)?.offer(change.object);
        });
      }
    }
    return informer;
  }

  function referenceFor(kind: ResourceKind): ReferenceCache<KubeObject> {
    const kindKey = `${apiVersionOf(kind)}/${kind.kind}`;
    let ref = references.get(kindKey);
    if (!ref) {
      ref = createReferenceCache<KubeObject>(options.client, kind, {
        metadata: informerFor({ kind, metadataOnly: true }),
        transform: (obj) => trimObject(obj, trim),
        indexes: indexesByKind.get(kindKey),
        copyOf: (namespace, name) => fullCopyOf(kind, namespace, name),
        onError: (key, error) =>
          options.log.warn(
            { kind: kind.kind, key, err: error },
            `could not read ${kind.kind} ${key}; tried again at its next change: ${describeError(error)}`,
          ),
      });
      references.set(kindKey, ref);
    }
    return ref;
  }

  /**
   * The client reconciles use: a write's answer goes to the reference cache of its kind
   * (references.ts: `written`), and while it is out, a change of that object waits for it
   * there (`writing`) instead of being fetched.
   */
  const through = async <T extends KubeObject>(
    kind: ResourceKind<T>,
    namespace: string | undefined,
    name: string | undefined,
    write: () => Promise<T>,
  ): Promise<T> => {
    const ref = references.get(`${apiVersionOf(kind)}/${kind.kind}`);
    const answered = name ? ref?.writing(keyOf(namespace, name)) : undefined;
    try {
      const stored = await write();
      ref?.written({ ...stored, apiVersion: apiVersionOf(kind), kind: kind.kind });
      return stored;
    } finally {
      answered?.();
    }
  };
  const writeThrough: KubeClient = {
    ...options.client,
    create: (kind, object) =>
      through(kind, object.metadata.namespace, object.metadata.name, () =>
        options.client.create(kind, object),
      ),
    apply: (kind, object, applyOptions) =>
      through(kind, object.metadata.namespace, object.metadata.name, () =>
        options.client.apply(kind, object, applyOptions),
      ),
    patch: (kind, namespace, name, patch, type, patchOptions) =>
      through(kind, namespace, name, () =>
        options.client.patch(kind, namespace, name, patch, type, patchOptions),
      ),
  };

  /** `namespace/name` of `kind` as a full (not metadata-only) informer holds it, if any does. */
  function fullCopyOf(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined {
    for (const [key, informer] of informers) {
      const spec = specs.get(key);
      if (
        !spec ||
        spec.metadataOnly ||
        spec.kind.kind !== kind.kind ||
        apiVersionOf(spec.kind) !== apiVersionOf(kind)
      )
        continue;
      const found = informer.store.get(namespace, name);
      if (found) return found;
    }
    return undefined;
  }

  function cache<T extends KubeObject>(
    kind: ResourceKind<T>,
    select: CacheSelect = {},
  ): Store<T> | undefined {
    if (select.referenced)
      return references.get(`${apiVersionOf(kind)}/${kind.kind}`)?.store as unknown as Store<T> | undefined;
    return informers.get(informerKey({ kind, ...select }))?.store as unknown as Store<T> | undefined;
  }

  /** The keys (`namespace/name`) a primary names, per reference cache. */
  function namedBy(
    c: ControllerOptions<KubeObject>,
    obj: KubeObject,
  ): { ref: ReferenceCache<KubeObject>; keys: string[] }[] {
    return (c.references ?? []).map((r) => ({
      ref: referenceFor(r.kind),
      keys: r
        .names(obj)
        .map((k) => keyOf(r.kind.namespaced ? (k.namespace ?? obj.metadata.namespace) : undefined, k.name)),
    }));
  }

  /**
   * The cache a controller's `ctx.cache(kind, select?)` means, from its own declarations
   * only. Without `select`: its one full cache of the kind. An ambiguity or a kind it does
   * not declare is a programming error, reported as such instead of a silently partial view.
   */
  function cacheOf(
    c: ControllerOptions<KubeObject>,
    kind: ResourceKind,
    select?: CacheSelect,
  ): Store<KubeObject> {
    const sameKind = (spec: CacheSpec): boolean =>
      spec.kind.group === kind.group && spec.kind.kind === kind.kind;
    const declared = new Map(
      declaredCaches(c)
        .filter(sameKind)
        .map((spec) => [informerKey(spec), spec]),
    );
    const describe = (spec: CacheSpec): string =>
      spec.referenced
        ? '{ referenced: true }'
        : `{ labelSelector: ${JSON.stringify(spec.labelSelector ?? '')}${spec.metadataOnly ? ', metadataOnly: true' : ''} }`;
    let key: string;
    if (select) {
      key = informerKey({ kind, ...select });
      if (!declared.has(key)) {
        const have = [...declared.values()].map(describe).join(', ') || 'none';
        throw new ManagerError(
          'CacheNotWatched',
          `controller ${c.name}: no cache of ${kind.kind} with ${describe({ kind, ...select })} (it declares: ${have}); add it to owns, watches or caches`,
        );
      }
    } else {
      const full = [...declared.entries()].filter(([, spec]) => !spec.metadataOnly);
      if (full.length === 0)
        throw new ManagerError(
          'CacheNotWatched',
          `controller ${c.name}: no cache of ${kind.kind}; add it to owns, watches or caches`,
        );
      if (full.length > 1) {
        throw new ManagerError(
          'AmbiguousCache',
          `controller ${c.name}: ${full.length} caches of ${kind.kind} (${full.map(([, spec]) => describe(spec)).join(', ')}); say which: ctx.cache(kind, { labelSelector })`,
        );
      }
      key = full[0]![0];
    }
    const store = declared.get(key)?.referenced
      ? references.get(`${apiVersionOf(kind)}/${kind.kind}`)?.store
      : informers.get(key)?.store;
    if (!store)
      throw new ManagerError(
        'CacheNotWatched',
        `controller ${c.name}: the cache of ${kind.kind} is not started`,
      );
    return store;
  }

  function ownerKeys(obj: KubeObject, owner: ResourceKind): ObjectKey[] {
    const group = owner.group;
    return (obj.metadata.ownerReferences ?? [])
      .filter(
        (ref: OwnerReference) =>
          ref.controller && ref.kind === owner.kind && groupOf(ref.apiVersion) === group,
      )
      .map((ref) => ({ namespace: owner.namespaced ? obj.metadata.namespace : undefined, name: ref.name }));
  }

  function wire(rc: RunningController): void {
    const { options: c } = rc;
    const enqueue = (keys: ObjectKey[]): void => {
      for (const key of keys) rc.queue?.add(keyOf(key.namespace, key.name));
    };
    const ownerPrefix = `${c.name}:`;
    rc.primary.subscribe((change) => {
      const key = keyOf(change.object.metadata.namespace, change.object.metadata.name ?? '');
      // What it names is fetched before its reconcile runs (and forgotten when it goes).
      for (const { ref, keys } of namedBy(c, change.object))
        ref.want(ownerPrefix + key, change.type === 'apply' ? keys : []);
      // A deleted primary needs nothing: it is gone (finalizers make deletion an update).
      if (change.type === 'apply')
        enqueue([{ namespace: change.object.metadata.namespace, name: change.object.metadata.name ?? '' }]);
    });
    for (const r of c.references ?? []) {
      referenceFor(r.kind).subscribe((_change, owners) => {
        enqueue(
          owners.filter((o) => o.startsWith(ownerPrefix)).map((o) => parseKey(o.slice(ownerPrefix.length))),
        );
      });
    }
    for (const owned of (c.owns ?? []).map(cacheSpecOf)) {
      informerFor(owned).subscribe((change) => enqueue(changed(change, (o) => ownerKeys(o, c.kind))));
    }
    for (const watch of c.watches ?? []) {
      informerFor(watch).subscribe((change) => enqueue(changed(change, (o) => watch.map(o))));
    }
  }

  async function handle(rc: RunningController, key: string): Promise<QueueOutcome> {
    const c = rc.options;
    const { namespace, name } = parseKey(key);
    const obj = rc.primary.store.get(namespace, name);
    if (!obj) return { kind: 'done' };
    const log = options.log.child({ controller: c.name, key });
    const ctx: ReconcileContext = {
      client: writeThrough,
      cache: <T extends KubeObject>(kind: ResourceKind<T>, select?: CacheSelect): Store<T> =>
        cacheOf(c, kind, select) as unknown as Store<T>,
      events: rc.events,
      log,
      now: () => new Date(clock.now()),
      controller: c.name,
      enqueue: (target) => rc.queue?.add(keyOf(target.namespace, target.name)),
      finalizerStored: () => finalizerStored,
    };
    let finalizerStored: Promise<KubeObject | undefined> = Promise.resolve(undefined);
    // Read-your-references: what the primary names is fetched as of the watch before it
    // runs; the fetches go out beside the finalizer's write (the reconcile waits for both).
    const referencesRead = Promise.all(namedBy(c, obj).map(({ ref, keys }) => ref.settle(keys)));
    const startedAt = clock.now();
    let outcome: QueueOutcome;
    let result: string;
    try {
      const fin = c.finalizer;
      const action: Action = fin
        ? await finalizer(
            options.client,
            c.kind,
            fin.name,
            obj,
            (event) => {
              if (event.kind === 'cleanup') return fin.cleanup(event.object, ctx);
              finalizerStored = event.stored;
              return c.reconcile(event.object, ctx);
            },
            { ready: referencesRead, ownedWritesFirst: fin.ownedWritesFirst ?? false },
          )
        : await referencesRead.then(() => c.reconcile(obj, ctx));
      outcome = outcomeOf(action);
      result = action.kind === 'requeue' ? 'requeue' : action.kind === 'retry' ? 'error' : 'success';
      log.debug(
        {
          action: action.kind,
          afterMs: action.kind === 'requeue' ? action.afterMs : undefined,
          durationMs: clock.now() - startedAt,
        },
        'reconciled',
      );
    } catch (err) {
      const kind = errorKindOf(err);
      options.metrics?.reconcileErrors.inc({ controller: c.name, kind: errorKindOf(err) });
      const decided = await controllerPolicy(c, err, obj, ctx, log);
      if (decided) {
        outcome = outcomeOf(decided);
        result = decided.kind === 'retry' ? 'error' : decided.kind === 'requeue' ? 'requeue' : 'terminal';
        const failures = decided.kind === 'retry' ? (rc.queue?.failures(key) ?? 0) + 1 : undefined;
        log.warn(
          { err, errorKind: kind, action: decided.kind, failures },
          `reconcile failed (${decided.kind} by the error policy): ${describeError(err)}`,
        );
      } else if (isTerminal(err)) {
        result = 'terminal';
        outcome = { kind: 'done' };
        log.error({ err, reason: err.reason }, `reconcile failed for good: ${describeError(err)}`);
        await reportTerminal(
          rc,
          obj,
          err.reason,
          describeError(err),
          err.conditionType ?? c.errorConditionType ?? 'Ready',
          log,
        );
      } else {
        result = 'error';
        outcome = { kind: 'retry' };
        log.warn(
          { err, errorKind: kind, failures: (rc.queue?.failures(key) ?? 0) + 1 },
          `reconcile failed, will retry: ${describeError(err)}`,
        );
      }
    }
    options.metrics?.reconcileTotal.inc({ controller: c.name, result });
    options.metrics?.reconcileDuration.observe({ controller: c.name }, (clock.now() - startedAt) / 1000);
    return outcome;
  }

  /** The controller's own error policy, if it has one and it decides; a policy that throws means retry. */
  async function controllerPolicy(
    c: ControllerOptions<KubeObject>,
    err: unknown,
    obj: KubeObject,
    ctx: ReconcileContext,
    log: Logger,
  ): Promise<Action | undefined> {
    if (!c.errorPolicy) return undefined;
    try {
      return await c.errorPolicy(err, obj, ctx);
    } catch (policyErr) {
      log.error(
        { err: policyErr, cause: describeError(err) },
        `error policy failed, will retry: ${describeError(policyErr)}`,
      );
      return { kind: 'retry' };
    }
  }

  async function reportTerminal(
    rc: RunningController,
    obj: KubeObject,
    reason: string,
    message: string,
    conditionType: string,
    log: Logger,
  ): Promise<void> {
    const c = rc.options;
    await rc.events.publish(obj, { type: 'Warning', reason, note: message, action: 'Reconcile' });
    const status = (obj as KubeObject & { status?: { conditions?: Condition[] } }).status;
    const conditions = setCondition(
      status?.conditions,
      { type: conditionType, status: 'False', reason, message, observedGeneration: obj.metadata.generation },
      new Date(clock.now()),
    );
    try {
      await applyStatus(
        options.client,
        c.kind,
        {
          apiVersion: apiVersionOf(c.kind),
          kind: c.kind.kind,
          metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
          status: { conditions },
        } as KubeObject,
        { current: obj, fieldManager: ErrorPolicyFieldManager },
      );
    } catch (err) {
      log.warn({ err }, `could not set the ${conditionType} condition: ${describeError(err)}`);
    }
  }

  return {
    add(controller) {
      if (started)
        throw new ManagerError(
          'InvalidController',
          `controller ${controller.options.name}: add() after start()`,
        );
      controllers.push(controller.options as unknown as ControllerOptions<KubeObject>);
    },
    async start() {
      if (started) return;
      started = true;
      const problems: string[] = [];
      const names = new Set<string>();
      for (const c of controllers) {
        if (names.has(c.name)) problems.push(`controller name '${c.name}' is used twice`);
        names.add(c.name);
        for (const p of validateController(c)) problems.push(`controller ${c.name}: ${p}`);
      }
      for (const c of controllers) {
        for (const index of c.indexes ?? []) {
          const kindKey = `${apiVersionOf(index.kind)}/${index.kind.kind}`;
          const byName = indexesByKind.get(kindKey) ?? {};
          if (byName[index.name])
            problems.push(`index '${index.name}' on ${index.kind.kind} is defined twice`);
          byName[index.name] = (obj) => index.values(obj);
          indexesByKind.set(kindKey, byName);
        }
      }
      if (problems.length) throw new ManagerError('InvalidController', problems.join('; '));

      for (const c of controllers) {
        const rc: RunningController = {
          options: c,
          primary: informerFor({ kind: c.kind, labelSelector: c.labelSelector }),
          events: createEventRecorder({
            client: options.client,
            controller: c.name,
            instance: options.identity,
            log: options.log.child({ controller: c.name }),
            clock,
            defaultKind: c.kind,
          }),
        };
        for (const spec of c.caches ?? []) informerFor(cacheSpecOf(spec));
        for (const r of c.references ?? []) referenceFor(r.kind);
        wire(rc);
        running.push(rc);
      }
      watching = [...informers.values()].map((i) => i.start(abort.signal));
      // A kind that never syncs (CRD not installed, RBAC missing) would otherwise wait in silence.
      const nag = setInterval(() => {
        const waiting = [...informers.entries()].filter(([, i]) => !i.store.isReady()).map(([key]) => key);
        options.log.warn(
          { waiting },
          'still waiting for caches to sync (is the CRD installed? does RBAC allow list/watch?)',
        );
      }, 15_000);
      nag.unref();
      await Promise.race([
        Promise.all([...informers.values()].map((i) => i.store.ready())),
        new Promise<void>((resolve) =>
          abort.signal.addEventListener('abort', () => resolve(), { once: true }),
        ),
      ]);
      clearInterval(nag);
      if (abort.signal.aborted) return;
      isSynced = true;
      options.log.info({ informers: [...informers.keys()] }, 'caches synced');
      for (const rc of running) {
        const c = rc.options;
        rc.queue = createWorkQueue({
          clock,
          concurrency: c.concurrency ?? 4,
          backoff: c.backoff ?? { initialMs: 1000, maxMs: 300_000, factor: 2 },
          handle: (key) => handle(rc, key),
          onHandlerError: (key, err) =>
            options.log.error({ controller: c.name, key, err }, 'reconcile handler crashed'),
          onStart: (_key, waitedMs) =>
            options.metrics?.queueWait.observe({ controller: c.name }, waitedMs / 1000),
        });
        options.metrics?.addQueue(c.name, () => rc.queue?.depth() ?? 0);
        for (const obj of rc.primary.store.list())
          rc.queue.add(keyOf(obj.metadata.namespace, obj.metadata.name ?? ''));
        options.log.info(
          { controller: c.name, kind: c.kind.kind, objects: rc.primary.store.size() },
          'controller started',
        );
      }
    },
    synced: () => isSynced,
    cache,
    caches: () => [
      ...[...informers.entries()].map(([key, informer]) => {
        const spec = specs.get(key)!;
        return {
          kind: spec.kind,
          labelSelector: spec.labelSelector ?? '',
          shape: spec.metadataOnly ? ('metadata' as const) : ('full' as const),
          store: informer.store,
        };
      }),
      ...[...references.values()].map((ref) => ({
        kind: ref.kind,
        labelSelector: '',
        shape: 'referenced' as const,
        store: ref.store,
      })),
    ],
    async stop() {
      await Promise.all(running.map((rc) => rc.queue?.shutdown()));
      abort.abort();
      await Promise.allSettled(watching);
    },
  };
}

/** The queue's outcome of an Action. */
function outcomeOf(action: Action): QueueOutcome {
  return action.kind === 'requeue'
    ? { kind: 'requeue', afterMs: action.afterMs }
    : action.kind === 'retry'
      ? { kind: 'retry' }
      : { kind: 'done' };
}

/** A literal `kind` of an error (runtime, traffic...), else its name. */
function errorKindOf(err: unknown): string {
  if (isKinded(err)) return err.kind;
  return err instanceof Error ? err.name : 'Error';
}

function isKinded(err: unknown): err is Error & { kind: string } {
  return err instanceof Error && typeof (err as { kind?: unknown }).kind === 'string';
}

/** Keys from both the old and new state of a change (a label change can move an object between owners). */
function changed(change: StoreChange<KubeObject>, map: (obj: KubeObject) => ObjectKey[]): ObjectKey[] {
  const keys = map(change.object);
  if (change.type === 'apply' && change.old) keys.push(...map(change.old));
  return keys;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
