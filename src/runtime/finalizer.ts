/**
 * `finalizer()`: turns a reconcile into "apply" or "cleanup" around one finalizer
 * (kube-runtime's `finalizer`).
 *
 * Guarantees:
 * - the finalizer is added (and stored) before `apply` runs for the first time, so an
 *   object is never deleted with work done for it but no cleanup pending;
 * - on deletion, `cleanup` runs while the finalizer holds the object; the finalizer is
 *   removed only after `cleanup` finished without asking to be called again;
 * - both patches are guarded JSON patches (`test` of the finalizer list or of the
 *   resourceVersion), so a concurrent change makes them fail (and retry) instead of
 *   overwriting someone else's finalizer.
 * Assumption: `cleanup` is idempotent; it may run again if removing the finalizer fails.
 *
 * Options: `ready` is awaited before `handle` runs: reads the handler needs (the
 * manager's reference fetches) go out together with the finalizer's write, so a new
 * object's first reconcile waits for one round trip, not two. `ownedWritesFirst` runs
 * `apply` while the finalizer is being added; the handler gets the write as `stored`
 * and must await it before any write the garbage collector would not undo, and a failed
 * add fails the reconcile (after the handler) so it is retried.
 */
import type { KubeClient, KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import { Action } from './action.ts';
import { RuntimeError, isTerminal } from './errors.ts';

/** Failed steps of the finalizer. */
export type FinalizerErrorKind = 'AddFinalizer' | 'CleanupFailed' | 'RemoveFinalizer';

/** An error of {@link finalizer}. Errors thrown by `apply` pass through unchanged. */
export class FinalizerError extends RuntimeError<FinalizerErrorKind> {
  constructor(kind: FinalizerErrorKind, message: string, cause?: unknown) {
    super(kind, message, cause);
    this.name = 'FinalizerError';
  }
}

/** What to do with an object. */
export type FinalizerEvent<T extends KubeObject> =
  /**
   * The object lives (and holds the finalizer once `stored` resolves: to the object as
   * stored with it when this call added it, to undefined when it was there): reconcile it.
   */
  | { kind: 'apply'; object: T; stored: Promise<T | undefined> }
  /**
   * The object is being deleted: release what it holds. Return `Action.requeue(ms)` (or
   * `Action.retry()`) if cleanup is not finished yet (the finalizer stays); anything else
   * removes the finalizer.
   */
  | { kind: 'cleanup'; object: T };

/**
 * Runs `handle` for `object` under finalizer `name` (e.g. `deploy.codedance.io/cleanup`)
 * and returns the Action to take.
 */
export async function finalizer<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind,
  name: string,
  object: T,
  handle: (event: FinalizerEvent<T>) => Promise<Action | void>,
  options: { ready?: Promise<unknown>; ownedWritesFirst?: boolean } = {},
): Promise<Action> {
  const ready = options.ready ?? Promise.resolve();
  const finalizers = object.metadata.finalizers ?? [];
  const index = finalizers.indexOf(name);
  const { namespace, name: objectName } = object.metadata;
  const where = `${kind.kind} ${namespace ? `${namespace}/` : ''}${objectName ?? ''}`;

  if (object.metadata.deletionTimestamp) {
    // Not ours to hold (never added, or already removed): nothing to clean up.
    if (index < 0) return Action.awaitChange();
    let action: Action | void;
    await ready;
    try {
      action = await handle({ kind: 'cleanup', object });
    } catch (err) {
      if (isTerminal(err)) throw err;
      throw new FinalizerError('CleanupFailed', `cleanup of ${where} failed`, err);
    }
    if (action?.kind === 'requeue' || action?.kind === 'retry') return action;
    try {
      await client.patch(
        kind,
        namespace,
        objectName ?? '',
        [
          { op: 'test', path: `/metadata/finalizers/${index}`, value: name },
          { op: 'remove', path: `/metadata/finalizers/${index}` },
        ],
        'json',
      );
    } catch (err) {
      throw new FinalizerError('RemoveFinalizer', `remove finalizer ${name} from ${where}`, err);
    }
    return Action.awaitChange();
  }

  if (index >= 0) {
    await ready;
    return (
      (await handle({ kind: 'apply', object, stored: Promise.resolve(undefined) })) ?? Action.awaitChange()
    );
  }
  const patch = object.metadata.finalizers
    ? [
        { op: 'test', path: '/metadata/finalizers', value: finalizers },
        { op: 'add', path: '/metadata/finalizers/-', value: name },
      ]
    : [
        { op: 'test', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion },
        { op: 'add', path: '/metadata/finalizers', value: [name] },
      ];
  const adding = client.patch<T>(kind, namespace, objectName ?? '', patch, 'json').catch((err: unknown) => {
    throw new FinalizerError('AddFinalizer', `add finalizer ${name} to ${where}`, err);
  });
  const stored: Promise<T | undefined> = adding;
  if (options.ownedWritesFirst) {
    // A handler that returns without awaiting `stored` must not leave it unhandled.
    stored.catch(() => undefined);
    await ready;
    const action = await handle({ kind: 'apply', object, stored });
    await stored;
    return action ?? Action.awaitChange();
  }
  const [current] = await Promise.all([adding, ready]);
  // Continue with the stored object: the next reconcile (from this patch's watch event) is then a no-op.
  return (await handle({ kind: 'apply', object: current, stored })) ?? Action.awaitChange();
}
