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
  /** The informer cache of a kind this controller reconciles, owns, watches or lists in `caches`. */
  cache<T extends KubeObject>(kind: ResourceKind<T>): Store<T>;
  /** Events about objects, reported as `codedance.io/<controller>`. */
  events: EventRecorder;
  /** Logger whose lines carry `controller` and `key`. */
  log: Logger;
  now(): Date;
  /** This controller's name. */
  controller: string;
  /**
   * Schedules a reconcile of `key` (a primary of this controller) now. For work a
   * reconcile started but does not wait for (a background task): its end calls this,
   * later, from outside any reconcile. A key being reconciled runs again after.
   */
  enqueue(key: ObjectKey): void;
}

/** Reconciles one object (read from the cache: frozen, copy before changing). */
export type Reconciler<T extends KubeObject> = (obj: T, ctx: ReconcileContext) => Promise<Action>;

/** Reads one of the controller's caches (as `ReconcileContext.cache` does). */
export type CacheReader = <T extends KubeObject>(kind: ResourceKind<T>) => Store<T>;

/** A secondary kind whose changes map to primary keys. */
export interface WatchSpec {
  kind: ResourceKind;
  /**
   * Keys of the primary objects to reconcile when `obj` changes. `cache` reads the
   * controller's caches, e.g. an index on the primary kind (`indexes`) that names the
   * primaries referring to `obj`, so the mapping needs no state of its own.
   */
  map(obj: KubeObject, cache: CacheReader): ObjectKey[];
  /** Watch only objects with these labels (a label selector). */
  labelSelector?: string;
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
  };
  /** Child kinds: a change to a child reconciles its controller owner (ownerReferences with `controller: true`). */
  owns?: ResourceKind[];
  /** Other kinds, mapped to primary keys by a function. */
  watches?: WatchSpec[];
  /** Kinds to cache (readable through `ctx.cache`) without triggering reconciles. */
  caches?: ResourceKind[];
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

/** Describes a controller; misuse (duplicate names, bad concurrency...) is reported when the manager starts. */
export function controller<T extends KubeObject>(options: ControllerOptions<T>): Controller<T> {
  return { options };
}

/** Problems in a controller's description, as messages (empty when fine). */
export function validateController(options: ControllerOptions<KubeObject>): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*$/.test(options.name)) problems.push(`name '${options.name}' must be lower-case letters, digits and '-'`);
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    problems.push(`concurrency must be a positive integer (got ${options.concurrency})`);
  }
  for (const owned of options.owns ?? []) {
    if (!owned.namespaced && options.kind.namespaced) problems.push(`owns ${owned.kind}: a cluster-scoped object cannot have a namespaced owner`);
  }
  const cached = [options.kind, ...(options.owns ?? []), ...(options.watches ?? []).map((w) => w.kind), ...(options.caches ?? [])];
  for (const index of options.indexes ?? []) {
    if (!cached.some((k) => k.group === index.kind.group && k.kind === index.kind.kind)) {
      problems.push(`index '${index.name}' is on ${index.kind.kind}, which this controller does not cache`);
    }
    if (['namespace', 'owner', 'controller-owner'].includes(index.name)) problems.push(`index '${index.name}' clashes with a built-in index`);
  }
  if (options.finalizer && !options.finalizer.name.includes('/'))
    problems.push(`finalizer '${options.finalizer.name}' must be domain-qualified (e.g. deploy.codedance.io/cleanup)`);
  return problems;
}
