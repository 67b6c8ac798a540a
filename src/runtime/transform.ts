/**
 * Cache transforms: what an informer keeps of each object before storing it (as
 * controller-runtime's `cache.Options.DefaultTransform` and metadata-only watches do).
 *
 * A cache holds every object of its kind and selector for the life of the process, so
 * whatever no code reads is memory spent on the cluster's size instead of on the work:
 * - `metadata.managedFields` is most of a typical object's size, and only `apply()` reads
 *   it, and only the entries of our own field managers (to skip writes that change
 *   nothing): entries of other managers are dropped, and with them the whole list of an
 *   object we never applied;
 * - the `kubectl.kubernetes.io/last-applied-configuration` annotation is a second copy
 *   of the object that nothing here reads;
 * - a metadata-only object keeps `metadata` alone, named by its real `apiVersion` and
 *   `kind` (the API server calls it `PartialObjectMetadata`).
 */
import type { KubeObject } from './client.ts';
import { apiVersionOf, type ResourceKind } from './kinds.ts';

/** Turns an object as the API server sent it into what the cache keeps. */
export type Transform<T extends KubeObject> = (obj: T) => T;

/** The annotation `kubectl apply` writes: a full copy of the last applied manifest. */
export const LastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** Settings of {@link trimObject}. */
export interface TrimOptions {
  /** Field managers whose managedFields entries are kept (ours: `apply()` reads them). @default none */
  keepManager?: (manager: string) => boolean;
}

/** True for `base` and the managers derived from it (`codedance`, `codedance-webapp`, ...). */
export function managerFamily(base: string): (manager: string) => boolean {
  return (manager) => manager === base || manager.startsWith(`${base}-`);
}

/**
 * Drops the managedFields of other managers and the last-applied annotation. Returns the
 * same object when there is nothing to drop (most watch events of objects we own).
 */
export function trimObject<T extends KubeObject>(obj: T, options: TrimOptions = {}): T {
  const meta = obj.metadata;
  const managed = meta.managedFields;
  const annotations = meta.annotations;
  const keep = options.keepManager;
  const kept = managed && keep ? managed.filter((e) => keep(e.manager ?? '')) : undefined;
  const dropManaged = managed !== undefined && (kept === undefined || kept.length !== managed.length);
  const dropAnnotation = annotations !== undefined && LastAppliedAnnotation in annotations;
  if (!dropManaged && !dropAnnotation) return obj;
  const metadata = { ...meta };
  if (dropManaged) {
    if (kept && kept.length > 0) metadata.managedFields = kept;
    else delete metadata.managedFields;
  }
  if (dropAnnotation) {
    const { [LastAppliedAnnotation]: _dropped, ...rest } = annotations;
    if (Object.keys(rest).length > 0) metadata.annotations = rest;
    else delete metadata.annotations;
  }
  return { ...obj, metadata };
}

/**
 * Keeps only the identity of an object, under the kind's own `apiVersion` and `kind`: name,
 * namespace, uid, resourceVersion, generation, labels, ownerReferences, deletionTimestamp
 * and finalizers. What a metadata cache answers is whether an object exists, whose it is
 * and whether it changed; annotations and managedFields are left out.
 */
export function metadataOnly<T extends KubeObject>(kind: ResourceKind): Transform<T> {
  const apiVersion = apiVersionOf(kind);
  return (obj) => {
    const m = obj.metadata;
    const metadata: KubeObject['metadata'] = {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    };
    if (m.generation !== undefined) metadata.generation = m.generation;
    if (m.labels) metadata.labels = m.labels;
    if (m.ownerReferences) metadata.ownerReferences = m.ownerReferences;
    if (m.deletionTimestamp) metadata.deletionTimestamp = m.deletionTimestamp;
    if (m.finalizers) metadata.finalizers = m.finalizers;
    return { apiVersion, kind: kind.kind, metadata } as T;
  };
}
