/**
 * The work queue: a set of keys, each due at a time, handed to a worker with bounded
 * concurrency (client-go's rate-limited workqueue and kube-runtime's scheduler in one).
 *
 * Guarantees:
 * - deduplication: a key is held at most once; adding it again keeps the earliest due time;
 * - exclusivity: a key is never handled twice at once; a key added while it runs is run
 *   again after the current run ends (at its due time);
 * - per-key exponential backoff: an outcome of `retry` delays the key by
 *   `backoff(failures)`; any other outcome resets the key's failure count;
 * - an overall limit on retries besides (client-go's `DefaultControllerRateLimiter`):
 *   every retry also takes a token from one bucket (`retryRate`, @default 10/s, burst
 *   100), and waits for the later of the two. So when many keys fail at once (the API
 *   server down, a bad rollout of RBAC) their retries are spread out instead of all
 *   coming back together. First runs and requeues a handler asks for are not failures
 *   and are not limited: a release's crash rollback never waits for someone's retries;
 * - bounded concurrency: at most `concurrency` handlers run at a time;
 * - due keys run in due-time order (ties in insertion order).
 *
 * Caveat: picking the next key scans the pending set (O(n)); fine for thousands of keys.
 */
import { backoffDelay, resolveBackoff, type Backoff, type BackoffOptions } from './backoff.ts';
import { realClock, type CancelTimer, type Clock } from './clock.ts';
import { createTokenBucket } from './rate-limit.ts';

/** What the handler says about one run of a key. */
export type QueueOutcome =
  | { kind: 'done' }
  | { kind: 'requeue'; afterMs: number }
  /** Failed: run again after the key's backoff. */
  | { kind: 'retry' };

/** Queue settings. */
export interface WorkQueueOptions {
  /** Handles one key; a throw counts as `retry`. */
  handle: (key: string) => Promise<QueueOutcome>;
  /** Maximum handlers running at once. @default 1 */
  concurrency?: number;
  /** Per-key retry backoff. @default { initialMs: 1000, maxMs: 60000, factor: 2 } */
  backoff?: BackoffOptions;
  /** Overall limit on retries, all keys together (0 disables it). @default { qps: 10, burst: 100 } */
  retryRate?: { qps: number; burst: number };
  /** @default realClock */
  clock?: Clock;
  /** Called when a handler throws (the key is retried anyway). */
  onHandlerError?: (key: string, err: unknown) => void;
  /** Called as a key starts, with how long it waited past its due time for a worker. */
  onStart?: (key: string, waitedMs: number) => void;
}

/** A running queue. */
export interface WorkQueue {
  /** Schedules `key` after `afterMs` (default now); an earlier pending due time wins. */
  add(key: string, afterMs?: number): void;
  /** Keys waiting (due or delayed), not counting running ones. */
  depth(): number;
  /** Keys being handled right now. */
  running(): number;
  /** Failures recorded for `key` since its last success. */
  failures(key: string): number;
  /** Stops starting new runs; resolves when running handlers have finished. */
  shutdown(): Promise<void>;
}

/** The overall retry limit of client-go's default controller rate limiter. */
export const DEFAULT_RETRY_RATE = { qps: 10, burst: 100 } as const;

/** Creates and starts a {@link WorkQueue}. */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const clock = options.clock ?? realClock;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const backoff: Backoff = resolveBackoff(options.backoff);
  const retryBucket = createTokenBucket({ ...(options.retryRate ?? DEFAULT_RETRY_RATE), clock });
  /** key -> due time; insertion order breaks ties. */
  const pending = new Map<string, number>();
  const active = new Set<string>();
  const failureCounts = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: { due: number; cancel: CancelTimer } | undefined;

  function add(key: string, afterMs = 0): void {
    if (stopped) return;
    const due = clock.now() + Math.max(0, afterMs);
    const current = pending.get(key);
    if (current === undefined || due < current) pending.set(key, due);
    dispatch();
  }

  /** Starts every due, idle key the concurrency allows, then arms a timer for the next due one. */
  function dispatch(): void {
    if (stopped) return;
    const now = clock.now();
    while (active.size < concurrency) {
      let pick: string | undefined;
      let pickDue = Infinity;
      for (const [key, due] of pending) {
        if (due <= now && due < pickDue && !active.has(key)) {
          pick = key;
          pickDue = due;
        }
      }
      if (pick === undefined) break;
      pending.delete(pick);
      options.onStart?.(pick, now - pickDue);
      start(pick);
    }
    arm();
  }

  function arm(): void {
    let next = Infinity;
    if (active.size < concurrency) {
      for (const [key, due] of pending) if (!active.has(key) && due < next) next = due;
    }
    if (timer && timer.due === next) return;
    timer?.cancel();
    timer = undefined;
    if (next === Infinity) return;
    const due = next;
    timer = {
      due,
      cancel: clock.setTimer(due - clock.now(), () => {
        timer = undefined;
        dispatch();
      }),
    };
  }

  function start(key: string): void {
    active.add(key);
    const run = (async () => {
      let outcome: QueueOutcome;
      try {
        outcome = await options.handle(key);
      } catch (err) {
        options.onHandlerError?.(key, err);
        outcome = { kind: 'retry' };
      }
      active.delete(key);
      if (outcome.kind === 'retry') {
        const failures = (failureCounts.get(key) ?? 0) + 1;
        failureCounts.set(key, failures);
        add(key, Math.max(backoffDelay(backoff, failures), retryBucket.reserve()));
      } else {
        failureCounts.delete(key);
        if (outcome.kind === 'requeue') add(key, outcome.afterMs);
      }
      dispatch();
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  }

  return {
    add,
    depth: () => pending.size,
    running: () => active.size,
    failures: (key) => failureCounts.get(key) ?? 0,
    async shutdown() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
