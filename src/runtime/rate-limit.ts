/**
 * A token bucket: on average `qps` per second, up to `burst` at once (client-go's
 * `flowcontrol.NewTokenBucketRateLimiter` and `workqueue.BucketRateLimiter`).
 *
 * The bucket starts full. Taking a token that is not there yet reserves it: the caller
 * learns how long to wait, and the next caller waits behind it, so waiters leave in
 * order, spaced by `1000 / qps` ms, and nobody is starved.
 */
import { sleep, realClock, type Clock } from './clock.ts';

/** Bucket settings. */
export interface TokenBucketOptions {
  /** Tokens added per second; `Infinity` or 0 or less disables the limit. */
  qps: number;
  /** Bucket size (at least 1). */
  burst: number;
  /** @default realClock */
  clock?: Clock;
}

/** A token bucket. */
export interface TokenBucket {
  /** Takes a token now; returns the milliseconds to wait before using it (0 when it was there). */
  reserve(): number;
  /** Takes a token and resolves when it may be used (at once when `signal` aborts). */
  take(signal?: AbortSignal): Promise<void>;
  /** Whether the bucket limits anything (`qps` finite and positive). */
  readonly limited: boolean;
}

/** Creates a token bucket. */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const clock = options.clock ?? realClock;
  const limited = Number.isFinite(options.qps) && options.qps > 0;
  const burst = Math.max(1, Math.floor(options.burst));
  const intervalMs = limited ? 1000 / options.qps : 0;
  let tokens = burst;
  let last = clock.now();

  function reserve(): number {
    if (!limited) return 0;
    const now = clock.now();
    tokens = Math.min(burst, tokens + (now - last) / intervalMs);
    last = now;
    tokens -= 1;
    // A negative balance is the queue of reservations ahead of (and including) this one.
    return tokens >= 0 ? 0 : Math.ceil(-tokens * intervalMs);
  }

  return {
    limited,
    reserve,
    async take(signal) {
      const wait = reserve();
      if (wait > 0) await sleep(clock, wait, signal);
    },
  };
}
