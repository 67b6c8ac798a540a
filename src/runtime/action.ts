/**
 * What a reconcile asks for next, as a value (kube-runtime's `Action`).
 *
 * - `requeue`: reconcile this key again after `afterMs`, even if nothing changes
 *   (used for timers such as a canary step's pause);
 * - `await-change`: do nothing until a watched object changes;
 * - `retry`: reconcile again after the key's exponential backoff, what a failed reconcile
 *   gets (an error policy returns it for an error that may go away on its own).
 *
 * Whichever comes first wins: a change still triggers a reconcile before a requeue is due.
 */
export type Action = { kind: 'requeue'; afterMs: number } | { kind: 'await-change' } | { kind: 'retry' };

/** Constructors for {@link Action}. */
export const Action = {
  /** Reconcile again after `afterMs` milliseconds (negative values count as 0). */
  requeue(afterMs: number): Action {
    return { kind: 'requeue', afterMs: Math.max(0, Math.round(afterMs)) };
  },
  /** Wait for the next change of the object or of something mapped to it. */
  awaitChange(): Action {
    return { kind: 'await-change' };
  },
  /** Retry after the key's backoff (doubling with each failure in a row, reset by any other Action). */
  retry(): Action {
    return { kind: 'retry' };
  },
} as const;
