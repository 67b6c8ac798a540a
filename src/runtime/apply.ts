/**
 * `apply()` and `applyStatus()`: server-side apply with the field manager `codedance`,
 * skipped when it could not change anything.
 *
 * A write is skipped when both hold:
 * 1. the current object (from the cache, or read live) already has every field of the
 *    desired object ({@link isSubset}), and
 * 2. every field our field manager owns is still in the desired object
 *    ({@link ownedFieldsCovered}), i.e. the intent did not drop a field that an apply
 *    would remove.
 * So re-applying the same intent sends no request that changes the resourceVersion, and
 * changed intent or drift (someone else changed our fields) is still written.
 *
 * Caveats:
 * - values the API server normalises (quantities like `0.5` vs `500m`) never compare equal,
 *   so such objects are always written (the write itself is then a no-op on the server);
 * - arrays of scalars must match exactly (they are usually atomic); arrays of objects match
 *   when the desired items appear in order among the current ones (merge lists keep other
 *   managers' items).
 */
import { isNotFound, type Desired, type KubeClient, type KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import type { Store } from './store.ts';
import { RuntimeError } from './errors.ts';

/** Failed steps of apply. */
export type ApplyErrorKind = 'ReadFailed' | 'ApplyFailed' | 'ApplyStatusFailed';

/** An error of {@link apply} / {@link applyStatus}; `cause` is the API error. */
export class ApplyError extends RuntimeError<ApplyErrorKind> {
  constructor(kind: ApplyErrorKind, message: string, cause?: unknown) {
    super(kind, message, cause);
    this.name = 'ApplyError';
  }
}

/** Options of {@link apply}. */
export interface ApplyHelperOptions<T extends KubeObject> {
  /** The object as it is now; pass `undefined` explicitly to say it does not exist. When the key is absent, `store` or a live GET is used. */
  current?: T | undefined;
  /** Cache to read the current object from (no API request). */
  store?: Store<T>;
  /** @default the client's field manager (`codedance`) */
  fieldManager?: string;
  /** Take over fields other managers own. @default true */
  force?: boolean;
}

/**
 * Server-side applies `desired` (which needs apiVersion, kind and metadata.name; kind
 * defaults from `kind`) unless the current object already matches it; returns the object
 * as stored (the current one when skipped).
 */
export async function apply<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind<T>,
  desired: Desired<T>,
  options: ApplyHelperOptions<T> = {},
): Promise<T> {
  return applyTo(client, kind, desired, options, undefined);
}

/**
 * Server-side applies `desired` to the status subresource (send only apiVersion, kind,
 * metadata name/namespace and `status`), with the same skip rule as {@link apply}.
 *
 * Caveat: with one field manager, each status apply must carry every status field the
 * manager wants to keep; a field left out is removed (that is how server-side apply works).
 */
export async function applyStatus<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind<T>,
  desired: Desired<T>,
  options: ApplyHelperOptions<T> = {},
): Promise<T> {
  return applyTo(client, kind, desired, options, 'status');
}

async function applyTo<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind<T>,
  desired: Desired<T>,
  options: ApplyHelperOptions<T>,
  subresource: string | undefined,
): Promise<T> {
  const { name, namespace } = desired.metadata;
  if (!name)
    throw new ApplyError(
      subresource ? 'ApplyStatusFailed' : 'ApplyFailed',
      `apply ${kind.kind}: metadata.name is required`,
    );
  let current: T | undefined;
  if ('current' in options) current = options.current;
  else if (options.store) current = options.store.get(namespace, name);
  else {
    try {
      current = await client.get(kind, namespace, name);
    } catch (err) {
      throw new ApplyError('ReadFailed', `read ${kind.kind} ${namespace ?? ''}/${name}`, err);
    }
  }
  const fieldManager = options.fieldManager ?? client.fieldManager;
  if (current && !needsApply(desired, current, fieldManager, subresource)) return current;
  try {
    return await client.apply(kind, desired, { fieldManager, force: options.force ?? true, subresource });
  } catch (err) {
    if (subresource && isNotFound(err)) {
      throw new ApplyError(
        'ApplyStatusFailed',
        `apply status of ${kind.kind} ${namespace ?? ''}/${name}: object not found`,
        err,
      );
    }
    throw new ApplyError(
      subresource ? 'ApplyStatusFailed' : 'ApplyFailed',
      `apply ${kind.kind} ${namespace ?? ''}/${name}`,
      err,
    );
  }
}

/**
 * True when applying `desired` as `fieldManager` could change `current`: a desired field
 * is missing or different, or a field the manager owns is no longer desired.
 */
export function needsApply<T extends KubeObject>(
  desired: T,
  current: T,
  fieldManager: string,
  subresource?: string,
): boolean {
  const { apiVersion: _a, kind: _k, ...desiredRest } = desired;
  if (!isSubset(desiredRest, current)) return true;
  const entry = current.metadata.managedFields?.find(
    (e) =>
      e.manager === fieldManager && e.operation === 'Apply' && (e.subresource ?? '') === (subresource ?? ''),
  );
  return entry?.fieldsV1 !== undefined && !ownedFieldsCovered(entry.fieldsV1, desired);
}

/**
 * Deep subset: every field set in `desired` has the same value in `current`.
 * `undefined` in desired means "not set" and matches anything.
 */
export function isSubset(desired: unknown, current: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null) return current === null || current === undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(current)) return false;
    if (desired.every((d) => d === null || typeof d !== 'object')) {
      return desired.length === current.length && desired.every((d, i) => d === current[i]);
    }
    // Desired items must appear, in order, among the current ones.
    let from = 0;
    for (const item of desired) {
      let found = -1;
      for (let i = from; i < current.length; i++) {
        if (isSubset(item, current[i])) {
          found = i;
          break;
        }
      }
      if (found < 0) return false;
      from = found + 1;
    }
    return true;
  }
  if (typeof desired === 'object') {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return false;
    const cur = current as Record<string, unknown>;
    for (const [key, value] of Object.entries(desired)) {
      if (!isSubset(value, cur[key])) return false;
    }
    return true;
  }
  return desired === current;
}

/**
 * True when every field in a managedFields `fieldsV1` set is present in `desired`
 * (`f:` fields, `k:` keyed list items, `v:` set values, `i:` indexes).
 */
export function ownedFieldsCovered(fields: Record<string, unknown>, desired: unknown): boolean {
  for (const [path, sub] of Object.entries(fields)) {
    if (path === '.') continue;
    const children = (sub ?? {}) as Record<string, unknown>;
    const prefix = path.slice(0, 2);
    const rest = path.slice(2);
    if (prefix === 'f:') {
      if (!isRecord(desired) || desired[rest] === undefined) return false;
      if (!ownedFieldsCovered(children, desired[rest])) return false;
    } else if (prefix === 'k:') {
      if (!Array.isArray(desired)) return false;
      const key = JSON.parse(rest) as Record<string, unknown>;
      // A key field the server defaulted (e.g. a port's protocol) may be absent from the intent.
      const item = desired.find(
        (d) => isRecord(d) && Object.entries(key).every(([k, v]) => d[k] === undefined || jsonEqual(d[k], v)),
      );
      if (item === undefined || !ownedFieldsCovered(children, item)) return false;
    } else if (prefix === 'v:') {
      const value: unknown = JSON.parse(rest);
      if (!Array.isArray(desired) || !desired.some((d) => jsonEqual(d, value))) return false;
    } else if (prefix === 'i:') {
      const index = Number(rest);
      if (!Array.isArray(desired) || index >= desired.length || !ownedFieldsCovered(children, desired[index]))
        return false;
    }
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return isSubset(a, b) && isSubset(b, a);
}
