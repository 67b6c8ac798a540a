/**
 * The simulator as a load tester: a Rollout (or PreRollout) webhook gate pointed at
 * `POST /loadtest` makes the simulator send extra requests to the release's service for
 * a while, so a release in a quiet environment still has traffic to judge (what
 * Flagger's load tester does with `hey`).
 *
 * The body is the gate's payload (docs/webhooks.md): the release comes from `release`,
 * the load from `metadata`: `rps` (@default 50) and `duration` (@default 1m), both
 * strings as gate metadata are. Calling again while a load runs replaces it (the end
 * moves on), so a gate called every analysis keeps the traffic going.
 */
import { parseDuration } from '../strategy/duration.ts';

/** One load being played. */
export interface LoadTest {
  namespace: string;
  name: string;
  rps: number;
  /** ms since the epoch. */
  until: number;
}

/** @default rps of a load test */
export const DEFAULT_LOAD_RPS = 50;
/** @default duration of a load test */
export const DEFAULT_LOAD_DURATION = '1m';
/** Longest load one call starts. */
export const MAX_LOAD_MS = 60 * 60_000;

/** Reads a gate payload into a load test starting `now`, or says what is wrong. */
export function parseLoadTest(body: unknown, now: number): LoadTest | { error: string } {
  if (typeof body !== 'object' || body === null)
    return { error: 'body must be a JSON object (a webhook gate payload)' };
  const input = body as {
    release?: { namespace?: unknown; name?: unknown };
    metadata?: Record<string, unknown>;
  };
  const namespace = input.release?.namespace;
  const name = input.release?.name;
  if (typeof namespace !== 'string' || !namespace || typeof name !== 'string' || !name)
    return { error: 'release.namespace and release.name must be non-empty strings' };
  const rpsText = input.metadata?.['rps'];
  const rps = rpsText === undefined ? DEFAULT_LOAD_RPS : Number(rpsText);
  if (!(rps >= 0 && rps <= 100_000))
    return { error: 'metadata.rps must be a number of requests per second from 0 to 100000' };
  const durationText = input.metadata?.['duration'] ?? DEFAULT_LOAD_DURATION;
  const ms = typeof durationText === 'string' ? parseDuration(durationText) : undefined;
  if (ms === undefined || ms <= 0 || ms > MAX_LOAD_MS)
    return { error: 'metadata.duration must be a duration up to 1h, e.g. 30s or 5m' };
  return { namespace, name, rps, until: now + ms };
}

/** The load tests running, by service. */
export interface LoadTests {
  start(test: LoadTest): void;
  /** Extra requests per second for a service known by any of `names` at `now` (0 when none). */
  rpsOf(namespace: string, names: readonly string[], now: number): number;
  list(now: number): LoadTest[];
}

export function createLoadTests(): LoadTests {
  const tests = new Map<string, LoadTest>();
  return {
    start(test) {
      tests.set(`${test.namespace}/${test.name}`, test);
    },
    rpsOf(namespace, names, now) {
      for (const name of names) {
        const key = `${namespace}/${name}`;
        const test = tests.get(key);
        if (!test) continue;
        if (test.until <= now) {
          tests.delete(key);
          continue;
        }
        return test.rps;
      }
      return 0;
    },
    list(now) {
      return [...tests.values()].filter((t) => t.until > now);
    },
  };
}
