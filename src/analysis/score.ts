/**
 * The scoring curve: how healthy one measured value is, from 0 to 100.
 *
 * Built-in checks have a known ideal (100% success, 0% errors, 0ms latency), so a
 * value is scored by where it sits between the ideal and the threshold:
 *
 * ```
 *   score
 *   100 |■■■■■■■■■■■■■■■■\
 *       |   comfortable    \   linear
 *       |                   \
 *     0 +-------------------+■■■■■■■■■■  (beyond the threshold: breached, a failure)
 *     ideal        ideal+½·room   threshold
 * ```
 *
 * - The "room" is the distance from the ideal to the threshold (`threshold` for
 *   error rate and latency, `100 - threshold` for success rate).
 * - In the half of the room nearest the ideal the score is 100 ({@link COMFORT_SHARE}).
 * - It then falls linearly to 0 at the threshold itself: a value right at the limit is
 *   still *passed* (not breached) but contributes nothing to the health score, so a
 *   canary drifting toward its limits pauses or rolls back on the weighted score
 *   before any single hard threshold is crossed.
 * - Past the threshold the check is breached: score 0 and a failure on its own.
 *
 * Examples: error rate threshold 1% → 0.5% scores 100, 0.75% scores 50, 1% scores 0
 * (passed), 1.2% is breached. Success rate threshold 99% → 99.5% and up score 100,
 * 99.25% scores 50. p99 threshold 500ms → up to 250ms scores 100, 400ms scores 40.
 *
 * Custom checks have no known ideal (a GT check on a ratio has no "comfortably
 * above"), so they are gates: 100 while they pass, 0 (and breached) when they do not.
 * A threshold with no room (success rate threshold 100, error rate threshold 0) is a
 * gate too.
 */
import type { Check } from './checks.ts';

/** Share of the room, nearest the ideal, that scores a full 100. @default 0.5 */
export const COMFORT_SHARE = 0.5;

export interface CheckScore {
  /** 0-100. */
  score: number;
  /** Whether the value is inside its threshold (not breached). */
  passed: boolean;
}

/** Score of `value` for `check` (a finite number; callers treat NaN as no data). */
export function scoreCheck(check: Check, value: number): CheckScore {
  const t = check.threshold;
  switch (check.bound) {
    case 'lt':
      return gate(value < t);
    case 'gt':
      return gate(value > t);
    case 'max':
      // Ideal 0 (errors, latency); room = threshold.
      return curve(t - value, t, value <= t);
    case 'min':
      // Ideal 100 (success rate, percent); room = 100 - threshold.
      return curve(value - t, 100 - t, value >= t);
  }
}

/** `headroom`: distance from the value to the threshold (positive inside); `room`: ideal to threshold. */
function curve(headroom: number, room: number, passed: boolean): CheckScore {
  if (!passed) return { score: 0, passed };
  if (!(room > 0)) return gate(passed);
  const score = (100 * headroom) / (room * (1 - COMFORT_SHARE));
  return { score: clamp(score, 0, 100), passed };
}

function gate(passed: boolean): CheckScore {
  return { score: passed ? 100 : 0, passed };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
