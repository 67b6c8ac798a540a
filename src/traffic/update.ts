/**
 * Guarded read-modify-write of an object the user owns (a VirtualService, a
 * DestinationRule, an HTTPRoute), shared by the providers that edit part of one.
 *
 * Why not server-side apply: the lists we edit (`VirtualService.spec.http`,
 * `DestinationRule.spec.subsets`, `HTTPRoute.spec.rules`) are atomic in their CRDs (no
 * list-map keys), so an apply must send the whole list, which makes our field manager
 * the owner of every route in it, the user's routes included; with `force` it would also
 * silently overwrite a route someone changed since we read it. A JSON merge patch that
 * carries `metadata.resourceVersion` is a compare-and-swap instead: the API server
 * refuses it with 409 Conflict if the object changed after our read, and we read again
 * and recompute from the new content, so a concurrent edit of another route is kept,
 * never lost. Field ownership stays with whoever wrote each route (an Update entry for
 * our manager is recorded only for what we change).
 *
 * Guarantees: nothing is written when `change` says the object is already right;
 * after `conflictRetries` conflicts in a row it gives up with a `Conflict` TrafficError.
 */
import { isConflict, type KubeClient, type KubeObject } from '../runtime/client.ts';
import type { ResourceKind } from '../runtime/kinds.ts';
import { TrafficError, type ObjectReader, type TrafficProviderName } from './provider.ts';

/** One guarded update. */
export interface GuardedUpdate<T extends KubeObject> {
  client: KubeClient;
  provider: TrafficProviderName;
  kind: ResourceKind;
  namespace: string;
  name: string;
  /**
   * Given the object as read, the top-level fields to replace (e.g. `{ spec: { http } }`,
   * merged as a JSON merge patch, so arrays are replaced whole), or `undefined` when the
   * object already is as wanted. Pure: it may run once per attempt.
   */
  change: (current: T) => Partial<T> | undefined;
  /** @default 5 */
  conflictRetries?: number;
  /** Where the first read comes from (e.g. a cache); reads after a conflict are GETs. @default client.get */
  read?: ObjectReader;
  /** The object as the caller already read it: the first attempt starts from it instead of reading. */
  current?: T;
}

/** The object after the update, and whether a write happened. */
export interface UpdateResult<T> {
  object: T;
  changed: boolean;
}

/** Reads the object, applies `change`, writes it guarded by resourceVersion, retries on 409. */
export async function guardedUpdate<T extends KubeObject>(
  update: GuardedUpdate<T>,
): Promise<UpdateResult<T>> {
  const { client, provider, kind, namespace, name } = update;
  const retries = update.conflictRetries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const current =
      attempt > 0
        ? await client.get<T>(kind, namespace, name)
        : (update.current ?? (await (update.read ?? client.get)<T>(kind, namespace, name)));
    if (!current) throw new TrafficError(provider, 'NotFound', `${kind.kind} ${namespace}/${name} not found`);
    const patch = update.change(current);
    if (patch === undefined) return { object: current, changed: false };
    const body = { ...patch, metadata: { resourceVersion: current.metadata.resourceVersion } };
    try {
      const object = await client.patch<T>(kind, namespace, name, body, 'merge');
      return { object, changed: true };
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= retries) {
        throw new TrafficError(
          provider,
          'Conflict',
          `${kind.kind} ${namespace}/${name} kept changing during ${attempt + 1} attempts`,
          { cause: err },
        );
      }
    }
  }
}
