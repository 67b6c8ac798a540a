/**
 * Time as a dependency: every runtime module that waits takes a {@link Clock}, so its
 * tests run on virtual time ({@link fakeClock}) instead of sleeping.
 */

/** Cancels a timer made by {@link Clock.setTimer}; calling it twice is harmless. */
export type CancelTimer = () => void;

/** Wall time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. Real timers are unref'd: they never keep the process alive. */
  setTimer(ms: number, fn: () => void): CancelTimer;
}

/** The process clock (`Date.now`, `setTimeout`). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** A virtual clock for tests: time moves only when {@link FakeClock.advance} is called. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in due order; awaits microtasks between timers. */
  advance(ms: number): Promise<void>;
  /** Timers not yet fired. */
  pending(): number;
}

/** Creates a {@link FakeClock} starting at `start` (ms since the epoch). @default start 0 */
export function fakeClock(start = 0): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { due: number; fn: () => void }>();
  const next = (limit: number): [number, { due: number; fn: () => void }] | undefined => {
    let best: [number, { due: number; fn: () => void }] | undefined;
    for (const entry of timers) {
      if (entry[1].due > limit) continue;
      // Earliest due first; timers set earlier win ties, like real timers.
      if (!best || entry[1].due < best[1].due) best = entry;
    }
    return best;
  };
  return {
    now: () => now,
    setTimer(ms, fn) {
      const id = ++seq;
      timers.set(id, { due: now + Math.max(0, ms), fn });
      return () => {
        timers.delete(id);
      };
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (let entry = next(target); entry; entry = next(target)) {
        timers.delete(entry[0]);
        now = Math.max(now, entry[1].due);
        entry[1].fn();
        await settle();
      }
      now = target;
      await settle();
    },
    pending: () => timers.size,
  };
}

/** Lets pending promise callbacks run (a few macrotask turns, enough for chained awaits). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
