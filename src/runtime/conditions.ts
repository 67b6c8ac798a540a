/**
 * Status conditions in the Kubernetes API conventions (metav1.Condition).
 *
 * `lastTransitionTime` changes only when a condition's status changes, so writing the
 * same condition again is a no-op for `applyStatus()`'s skip rule.
 */

/** One condition (structurally the same as the API schemas' `Condition`). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** PascalCase, machine-readable. */
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** A condition to set; `lastTransitionTime` is computed. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** Kubernetes time format (RFC 3339, whole seconds), as the API server writes metav1.Time. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The condition of `type`, if present. */
export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` has status `True`. */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new list with `update` set: an existing condition of the same type keeps its
 * position and, if its status is unchanged, its `lastTransitionTime`; a new one is appended.
 * Fields of `update` left undefined are dropped (the condition is replaced, not merged).
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime =
    previous && previous.status === update.status && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : formatTime(now);
  const next: Condition = { type: update.type, status: update.status };
  if (update.reason !== undefined) next.reason = update.reason;
  if (update.message !== undefined) next.message = update.message;
  next.lastTransitionTime = lastTransitionTime;
  if (update.observedGeneration !== undefined) next.observedGeneration = update.observedGeneration;
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** Sets several conditions at once (see {@link setCondition}). */
export function mergeConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
): Condition[] {
  let list = [...(conditions ?? [])];
  for (const update of updates) list = setCondition(list, update, now);
  return list;
}

/** Returns a new list without the condition of `type`. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
