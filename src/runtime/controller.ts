/**
 * The controller builder: a plain description of one controller (its primary kind, what
 * it owns and watches, its reconcile), checked and run by the manager (`manager.ts`).
 *
 * ```ts
 * export const canaryController = controller<CanaryDeployment>({
 *   name: 'canary',
 *   kind: kinds.CanaryDeployment,
 *   owns: [kinds.Deployment, kinds.Service],
 *   watches: [{ kind: kinds.Pod, map: (pod) => [...] }],
 *   finalizer: { name: 'deploy.codedance.io/cleanup', cleanup: async (cd, ctx) => {...} },
 *   reconcile: async (cd, ctx) => Action.requeue(30_000),
 * });
 * ```
 */
import type { KubeClient, KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import type { Action } from './action.ts';
import type { Store } from './store.ts';
import type { EventRecorder } from './events.ts';
import type { Logger } from './logging.ts';
import type { BackoffOptions } from './backoff.ts';

/** Identifies an object: namespace (unset for cluster-scoped) and name. */
export interface ObjectKey {
  namespace?: string;
  name: string;
}

/** What a reconcile gets besides the object. */
export interface ReconcileContext {
  /** For writes (and for reads the caches cannot answer). */
  client: KubeClient;
  /**
   * The informer cache of a kind this controller reconciles, owns, watches or lists in
   * `caches`; never another controller's. Without `select`, the controller must declare
   * one full cache of the kind (declarations with the same selector count once); with
   * several, `select` names which (label selector and shape, exactly as declared).
   * Throws a `ManagerError` (`CacheNotWatched`, `AmbiguousCache`) otherwise.
   */
  cache<T extends KubeObject>(kind: ResourceKind<T>, select?: CacheSelect): Store<T>;
  /** Events about objects, reported as `codedance.io/<controller>`. */
  events: EventRecorder;
  /** Logger whose lines carry `controller` and `key`. */
  log: Logger;
  now(): Date;
  /** This controller's name. */
  controller: string;
  /**
   * Resolves once this controller's finalizer is stored on the object: to the object as
   * stored when this reconcile added it (its resourceVersion is the one a status write
   * replaces), to undefined when it was already there or the controller has none; rejects
   * when adding it failed. A controller whose finalizer says `ownedWritesFirst` awaits it
   * before any write but the creation of owner-referenced children (its own status too).
   */
  finalizerStored(): Promise<KubeObject | undefined>;
  /**
   * Schedules a reconcile of `key` (a primary of this controller) now. For work a
   * reconcile started but does not wait for (a background task): its end calls this,
   * later, from outside any reconcile. A key being reconciled runs again after.
   */
  enqueue(key: ObjectKey): void;
}

/** Reconciles one object (read from the cache: frozen, copy before changing). */
export type Reconciler<T extends KubeObject> = (obj: T, ctx: ReconcileContext) => Promise<Action>;

/** Which of a kind's caches: its label selector and its shape. */
export interface CacheSelect {
  /** Only objects with these labels (a label selector). @default every object of the kind */
  labelSelector?: string;
  /**
   * Metadata only (name, labels, owners, resourceVersion; no spec, data or status): the
   * API server sends nothing else, so a cache of a big kind (ConfigMaps, Secrets) costs a
   * few hundred bytes per object. @default false
   */
  metadataOnly?: boolean;
  /** The objects the primaries name (see {@link ReferenceSpec}), whole. @default false */
  referenced?: boolean;
}

/**
 * Objects of a kind that each primary names (a release's target Deployment, the user's
 * Service): cached whole, but only those, through a metadata-only watch of the kind and
 * one GET per change of a named object (`references.ts`). A change of a named object
 * reconciles the primaries that name it, and a reconcile starts only once what its primary
 * names has been fetched. Read with `ctx.cache(kind, { referenced: true })`.
 */
export interface ReferenceSpec<T extends KubeObject> {
  kind: ResourceKind;
  /** The objects `obj` names (same namespace or not); called on every change of a primary. */
  names(obj: T): ObjectKey[];
}

/**
 * One cache of a kind. Every cache is trimmed (`transform.ts`: managedFields of other
 * field managers and the last-applied annotation dropped); a bare `ResourceKind` means
 * every object, in full.
 */
export interface CacheSpec extends CacheSelect {
  kind: ResourceKind;
}

/** A secondary kind whose changes map to primary keys. */
export interface WatchSpec extends CacheSelect {
  kind: ResourceKind;
  /** Keys of the primary objects to reconcile when `obj` changes. */
  map(obj: KubeObject): ObjectKey[];
}

/** A custom index of one kind's cache. */
export interface IndexSpec {
  kind: ResourceKind;
  /** Index name; must not clash with the built-in `namespace`, `owner`, `controller-owner`. */
  name: string;
  /** Values the object is indexed under. */
  values(obj: KubeObject): string[];
}

/** A controller's description. Methods (not function properties) so a `Controller<Specific>` fits a `Controller<KubeObject>` slot. */
export interface ControllerOptions<T extends KubeObject> {
  /** Unique, lower-case (`canary`, `webapp`): names metrics, logs and Events (`codedance.io/<name>`). */
  name: string;
  /** The primary kind: one reconcile per object of it. */
  kind: ResourceKind;
  reconcile(obj: T, ctx: ReconcileContext): Promise<Action>;
  /** A finalizer held while the object lives; `cleanup` runs on delete (see `finalizer()`). */
  finalizer?: {
    name: string;
    cleanup(obj: T, ctx: ReconcileContext): Promise<Action | void>;
    /**
     * The first reconcile starts while the finalizer is being added, so a new object's
     * first writes do not wait for that round trip. The reconciler then promises to write
     * nothing but owner-referenced children (which the garbage collector removes with the
     * object) before `ctx.finalizerStored()` resolves. @default false
     */
    ownedWritesFirst?: boolean;
  };
  /**
   * Child kinds: a change to a child reconciles its controller owner (ownerReferences with
   * `controller: true`). Give a label selector the children carry (`{ kind, labelSelector }`)
   * so the cache holds them and not every object of the kind in the cluster.
   */
  owns?: (ResourceKind | CacheSpec)[];
  /** Other kinds, mapped to primary keys by a function. */
  watches?: WatchSpec[];
  /** Objects the primaries name, cached whole but only those (see {@link ReferenceSpec}). */
  references?: ReferenceSpec<T>[];
  /** Kinds to cache (readable through `ctx.cache`) without triggering reconciles. */
  caches?: (ResourceKind | CacheSpec)[];
  /** Extra cache indexes (read with `ctx.cache(kind).byIndex(name, value)`); the kind must be cached by this controller. */
  indexes?: IndexSpec[];
  /** Watch only primaries with these labels. */
  labelSelector?: string;
  /** Reconciles running at once (different keys). @default 4 */
  concurrency?: number;
  /** Retry backoff for failed reconciles. @default { initialMs: 1000, maxMs: 300000, factor: 2 } */
  backoff?: BackoffOptions;
  /** Condition type set to False when a TerminalError is thrown (by the default error policy). @default 'Ready' */
  errorConditionType?: string;
  /**
   * What a failed reconcile or cleanup leads to (kube-runtime's `error_policy`): the
   * controller looks at the error, may report it on the object (a condition, an Event),
   * and returns the Action: `Action.retry()` (the key's exponential backoff),
   * `Action.requeue(ms)`, or `Action.awaitChange()` (a terminal stop: nothing until the
   * object changes). `undefined` hands the error to the default policy: a
   * `TerminalError` is reported (condition False + Warning Event) and not retried,
   * anything else is retried with backoff. A policy that throws is logged, and the key
   * retried with backoff.
   * @default the default policy for every error
   */
  errorPolicy?(error: unknown, obj: T, ctx: ReconcileContext): Promise<Action | undefined>;
}

/** A controller, ready to hand to a manager. */
export interface Controller<T extends KubeObject> {
  readonly options: ControllerOptions<T>;
}

/** A cache declaration as a {@link CacheSpec}. */
export function cacheSpecOf(entry: ResourceKind | CacheSpec): CacheSpec {
  return 'kind' in entry && typeof entry.kind === 'object'
    ? (entry as CacheSpec)
    : { kind: entry as ResourceKind };
}

/** Every cache a controller declares (primary first), as {@link CacheSpec}s. */
export function declaredCaches(options: ControllerOptions<KubeObject>): CacheSpec[] {
  return [
    { kind: options.kind, labelSelector: options.labelSelector },
    ...(options.owns ?? []).map(cacheSpecOf),
    ...(options.watches ?? []).map((w) => ({
      kind: w.kind,
      labelSelector: w.labelSelector,
      metadataOnly: w.metadataOnly,
    })),
    ...(options.caches ?? []).map(cacheSpecOf),
    ...(options.references ?? []).map((r) => ({ kind: r.kind, referenced: true })),
  ];
}

/** Describes a controller; misuse (duplicate names, bad concurrency...) is reported when the manager starts. */
export function controller<T extends KubeObject>(options: ControllerOptions<T>): Controller<T> {
  return { options };
}

/** Problems in a controller's description, as messages (empty when fine). */
export function validateController(options: ControllerOptions<KubeObject>): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*$/.test(options.name))
    problems.push(`name '${options.name}' must be lower-case letters, digits and '-'`);
  if (
    options.concurrency !== undefined &&
    (!Number.isInteger(options.concurrency) || options.concurrency < 1)
  ) {
    problems.push(`concurrency must be a positive integer (got ${options.concurrency})`);
  }
  for (const owned of (options.owns ?? []).map((o) => cacheSpecOf(o).kind)) {
    if (!owned.namespaced && options.kind.namespaced)
      problems.push(`owns ${owned.kind}: a cluster-scoped object cannot have a namespaced owner`);
  }
  const cached = declaredCaches(options).map((c) => c.kind);
  for (const index of options.indexes ?? []) {
    if (!cached.some((k) => k.group === index.kind.group && k.kind === index.kind.kind)) {
      problems.push(`index '${index.name}' is on ${index.kind.kind}, which this controller does not cache`);
    }
    if (['namespace', 'owner', 'controller-owner'].includes(index.name))
      problems.push(`index '${index.name}' clashes with a built-in index`);
  }
  if (options.finalizer && !options.finalizer.name.includes('/'))
    problems.push(
      `finalizer '${options.finalizer.name}' must be domain-qualified (e.g. deploy.codedance.io/cleanup)`,
    );
  return problems;
}
