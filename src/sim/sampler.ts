/**
 * The synthetic traffic itself: how many requests a service gets in one tick, how they
 * split between stable and canary, and the status and latency of each.
 *
 * Everything here is a plain function of its inputs (plus a seeded {@link Random}), so it
 * is tested without a cluster or a clock. Requests are never objects: a tick yields counts,
 * and each sampled request goes straight to a sink that bumps counters.
 */
import { standardNormal, type Random } from './random.ts';
import type { LatencyProfile, VersionProfile } from './profile.ts';

/** z of the 99th percentile of the standard normal distribution. */
const Z99 = 2.3263478740408408;

/** Parameters of a log-normal distribution: ln(latency) ~ N(mu, sigma). */
export interface LogNormal {
  mu: number;
  sigma: number;
}

/**
 * The log-normal whose median is `p50` and whose 99th percentile is `p99`.
 * Latency is skewed with a long right tail, which a log-normal captures with two numbers.
 */
export function logNormalFor(latency: LatencyProfile): LogNormal {
  const mu = Math.log(latency.p50);
  const sigma = latency.p99 > latency.p50 ? (Math.log(latency.p99) - mu) / Z99 : 0;
  return { mu, sigma };
}

/** One latency, in milliseconds. */
export function sampleLatencyMs(distribution: LogNormal, random: Random): number {
  if (distribution.sigma === 0) return Math.exp(distribution.mu);
  return Math.exp(distribution.mu + distribution.sigma * standardNormal(random));
}

/**
 * Fractions of a request carried from one tick to the next, so that a rate of 2.5 req/s
 * over 1 s ticks gives 2, 3, 2, 3 ... and a 20% share gives exactly 20% in the long run,
 * without the jitter of drawing each split at random.
 */
export interface PaceState {
  carry: number;
  canaryCarry: number;
  /** Fraction of a mirrored request carried to the next tick. */
  mirrorCarry: number;
}

export function newPaceState(): PaceState {
  return { carry: 0, canaryCarry: 0, mirrorCarry: 0 };
}

/**
 * Copies of `stableCount` requests a mirror of `mirrorShare` (0 to 1) sends to the
 * canary this tick; fractions carry over. Updates `state` in place.
 */
export function mirroredCount(state: PaceState, stableCount: number, mirrorShare: number): number {
  const share = Math.min(1, Math.max(0, mirrorShare));
  if (share === 0) {
    state.mirrorCarry = 0;
    return 0;
  }
  const due = state.mirrorCarry + stableCount * share;
  const count = Math.floor(due);
  state.mirrorCarry = due - count;
  return count;
}

/** Requests of one tick, per version. */
export interface TickCounts {
  stable: number;
  canary: number;
}

/**
 * Requests a service receives in `elapsedMs` at `rps`, split so the canary gets
 * `canaryShare` (0 to 1) of them. Updates `state` in place.
 */
export function paceTick(state: PaceState, rps: number, elapsedMs: number, canaryShare: number): TickCounts {
  const due = state.carry + (rps * Math.max(0, elapsedMs)) / 1000;
  const total = Math.floor(due);
  state.carry = due - total;
  const share = Math.min(1, Math.max(0, canaryShare));
  // At the ends the split is exact; dropping the carry there means a canary that was
  // just taken out of traffic gets no stray request from an old remainder.
  if (share === 0 || share === 1) {
    state.canaryCarry = 0;
    const canary = share === 1 ? total : 0;
    return { stable: total - canary, canary };
  }
  const canaryDue = state.canaryCarry + total * share;
  const canary = Math.min(total, Math.floor(canaryDue));
  state.canaryCarry = canaryDue - canary;
  return { stable: total - canary, canary };
}

/** Receives each sampled request; called once per request, with no object made. */
export type RequestSink = (failed: boolean, latencyMs: number) => void;

/**
 * Samples `count` requests of a version with `profile`: each fails (5xx) with the
 * profile's error rate and takes a latency drawn from its log-normal.
 */
export function sampleRequests(
  count: number,
  profile: VersionProfile,
  random: Random,
  sink: RequestSink,
): void {
  if (count <= 0) return;
  const distribution = logNormalFor(profile.latencyMs);
  for (let i = 0; i < count; i++) {
    const failed = random() < profile.errorRate;
    sink(failed, sampleLatencyMs(distribution, random));
  }
}
