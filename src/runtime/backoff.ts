/**
 * Exponential backoff as a pure function of the failure count, so the queue and the
 * watcher share one rule and tests can compute expected delays.
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** Delay after the first failure. @default 1000 */
  initialMs?: number;
  /** Upper bound of any delay. @default 60000 */
  maxMs?: number;
  /** Growth per failure. @default 2 */
  factor?: number;
  /** Fraction of random spread added (0 = none, 0.2 = up to +20%). @default 0 */
  jitter?: number;
}

/** Resolved {@link BackoffOptions}. */
export type Backoff = Required<BackoffOptions>;

/** Fills in the defaults of {@link BackoffOptions}. */
export function resolveBackoff(options: BackoffOptions = {}): Backoff {
  return {
    initialMs: options.initialMs ?? 1000,
    maxMs: options.maxMs ?? 60_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0,
  };
}

/**
 * Delay before retry number `failures` (1 = after the first failure). 0 failures means no delay.
 * `random` is injectable so jittered delays stay testable.
 */
export function backoffDelay(backoff: Backoff, failures: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (failures - 1));
  const spread = backoff.jitter > 0 ? base * backoff.jitter * random() : 0;
  return Math.min(backoff.maxMs, Math.round(base + spread));
}
