/**
 * The consecutive-threshold state machine: what a release may do after one more
 * analysis, given the streaks so far. Pure; the counters live in
 * `status.analysis`, so a restarted controller continues the same streaks.
 *
 * | outcome       | successes | failures | inconclusive | unreachableSince | verdict |
 * |---------------|-----------|----------|--------------|------------------|---------|
 * | healthy       | +1        | 0        | 0            | cleared          | `advance-allowed` once successes >= successThreshold, else `hold` |
 * | degraded      | 0         | 0        | 0            | cleared          | `pause` (the release holds until a healthy result) |
 * | failed        | 0         | +1       | 0            | cleared          | `rollback` once failures >= failureThreshold, else `hold` |
 * | inconclusive  | 0         | kept     | +1           | cleared          | `pause` once inconclusive >= inconclusiveLimit, else `hold` |
 * | unreachable   | 0         | kept     | kept         | set if unset     | `rollback` once unreachable for unreachableTimeout, else `hold` |
 *
 * Why: health must be shown in a row, so anything but a healthy result resets the
 * success streak. Failures are kept across results that say nothing (no data,
 * Prometheus down), so a bad canary cannot escape its failure streak by flapping
 * into silence; a degraded (Pause) result is evidence the canary is not failing, so
 * it resets the failure streak. An unreachable Prometheus never allows advancing.
 *
 * When `autoRollback.enabled` or `autoRollback.onMetricsFail` is false, a would-be
 * rollback becomes `pause` (the reason says so), so a person decides.
 */
import type { AnalysisSpec, AutoRollbackSpec } from '../api/canary-deployment.ts';
import { durationOr, formatDuration } from '../strategy/duration.ts';
import type { Outcome } from './decision.ts';

/** Mirrors the API defaults of `spec.analysis`. */
export const ANALYSIS_DEFAULTS = {
  interval: '30s',
  window: '1m',
  successThreshold: 1,
  failureThreshold: 2,
  inconclusiveLimit: 3,
  unreachableTimeout: '5m',
} as const;

/** The streaks, as stored in `status.analysis`. Unset counters count as 0. */
export interface AnalysisCounters {
  consecutiveSuccesses?: number | undefined;
  consecutiveFailures?: number | undefined;
  consecutiveInconclusive?: number | undefined;
  /** RFC 3339 time of the first unreachable result of the current outage. */
  unreachableSince?: string | undefined;
}

/**
 * - `advance-allowed`: analysis has nothing against the next step (timers and approvals still apply);
 * - `hold`: stay on this step and analyse again;
 * - `pause`: stop the release (phase Paused) until analysis is healthy again or a person acts;
 * - `rollback`: roll back now.
 */
export type Verdict = 'advance-allowed' | 'hold' | 'pause' | 'rollback';

/** Machine-readable cause of a verdict, for conditions and Events (PascalCase). */
export type VerdictReason =
  | 'AnalysisHealthy'
  | 'AwaitingSuccesses'
  | 'MetricsDegraded'
  | 'MetricsFailing'
  | 'MetricsFailed'
  | 'NoData'
  | 'NoDataLimitReached'
  | 'PrometheusUnreachable'
  | 'PrometheusUnreachableTimeout'
  /** An experiment's final judgment (src/canary/experiment.ts). */
  | 'ExperimentPassed'
  | 'ExperimentFailed'
  | 'ExperimentInconclusive';

export interface VerdictResult {
  counters: Required<Omit<AnalysisCounters, 'unreachableSince'>> & { unreachableSince?: string };
  verdict: Verdict;
  reason: VerdictReason;
  /** A sentence for status.message and the Event note. */
  message: string;
}

export interface VerdictInput {
  previous: AnalysisCounters | undefined;
  outcome: Outcome;
  /** The analysis' own message (e.g. which metric breached), woven into ours. */
  detail?: string | undefined;
  analysis?: AnalysisSpec | undefined;
  autoRollback?: AutoRollbackSpec | undefined;
  now: Date;
}

/** The next counters and verdict after one analysis. Never throws. */
export function nextVerdict(input: VerdictInput): VerdictResult {
  const prev = input.previous ?? {};
  const spec = input.analysis ?? {};
  const successes = prev.consecutiveSuccesses ?? 0;
  const failures = prev.consecutiveFailures ?? 0;
  const inconclusive = prev.consecutiveInconclusive ?? 0;
  const successThreshold = spec.successThreshold ?? ANALYSIS_DEFAULTS.successThreshold;
  const failureThreshold = spec.failureThreshold ?? ANALYSIS_DEFAULTS.failureThreshold;
  const inconclusiveLimit = spec.inconclusiveLimit ?? ANALYSIS_DEFAULTS.inconclusiveLimit;
  const detail = input.detail ? `: ${input.detail}` : '';

  switch (input.outcome) {
    case 'healthy': {
      const n = successes + 1;
      const counters = { consecutiveSuccesses: n, consecutiveFailures: 0, consecutiveInconclusive: 0 };
      if (n >= successThreshold)
        return {
          counters,
          verdict: 'advance-allowed',
          reason: 'AnalysisHealthy',
          message: `analysis healthy (${n}/${successThreshold})${detail}`,
        };
      return {
        counters,
        verdict: 'hold',
        reason: 'AwaitingSuccesses',
        message: `analysis healthy ${n} of ${successThreshold} times in a row${detail}`,
      };
    }
    case 'degraded':
      return {
        counters: { consecutiveSuccesses: 0, consecutiveFailures: 0, consecutiveInconclusive: 0 },
        verdict: 'pause',
        reason: 'MetricsDegraded',
        message: `metrics degraded${detail}`,
      };
    case 'failed': {
      const n = failures + 1;
      const counters = { consecutiveSuccesses: 0, consecutiveFailures: n, consecutiveInconclusive: 0 };
      if (n >= failureThreshold)
        return rollback(input.autoRollback, {
          counters,
          reason: 'MetricsFailed',
          message: `analysis failed ${n} of ${failureThreshold} times in a row${detail}`,
        });
      return {
        counters,
        verdict: 'hold',
        reason: 'MetricsFailing',
        message: `analysis failed ${n} of ${failureThreshold} times in a row${detail}`,
      };
    }
    case 'inconclusive': {
      const n = inconclusive + 1;
      const counters = { consecutiveSuccesses: 0, consecutiveFailures: failures, consecutiveInconclusive: n };
      if (n >= inconclusiveLimit)
        return {
          counters,
          verdict: 'pause',
          reason: 'NoDataLimitReached',
          message: `analysis inconclusive ${n} times in a row (limit ${inconclusiveLimit})${detail}`,
        };
      return {
        counters,
        verdict: 'hold',
        reason: 'NoData',
        message: `analysis inconclusive ${n} of ${inconclusiveLimit} times${detail}`,
      };
    }
    case 'unreachable': {
      const since = validTime(prev.unreachableSince) ?? input.now;
      const timeoutMs = durationOr(spec.unreachableTimeout, ANALYSIS_DEFAULTS.unreachableTimeout);
      const downMs = Math.max(0, input.now.getTime() - since.getTime());
      const counters = {
        consecutiveSuccesses: 0,
        consecutiveFailures: failures,
        consecutiveInconclusive: inconclusive,
        unreachableSince: since.toISOString(),
      };
      const message = `Prometheus unreachable for ${formatDuration(downMs)} (rollback after ${formatDuration(timeoutMs)})${detail}`;
      if (downMs >= timeoutMs)
        return rollback(input.autoRollback, { counters, reason: 'PrometheusUnreachableTimeout', message });
      return { counters, verdict: 'hold', reason: 'PrometheusUnreachable', message };
    }
  }
}

/** A rollback, unless automatic rollback on metrics is off: then a pause for a person. */
function rollback(auto: AutoRollbackSpec | undefined, result: Omit<VerdictResult, 'verdict'>): VerdictResult {
  const enabled = (auto?.enabled ?? true) && (auto?.onMetricsFail ?? true);
  if (enabled) return { ...result, verdict: 'rollback' };
  return {
    ...result,
    verdict: 'pause',
    message: `${result.message}; not rolled back: automatic rollback on metrics is off`,
  };
}

function validTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * The streaks to store when a release moves to a new step: each step must show its
 * own `successThreshold` healthy analyses at its own weight, so successes (and the
 * no-data count) start again; failures and an ongoing Prometheus outage carry over.
 */
export function countersAtNewStep(previous: AnalysisCounters | undefined): VerdictResult['counters'] {
  return {
    consecutiveSuccesses: 0,
    consecutiveFailures: previous?.consecutiveFailures ?? 0,
    consecutiveInconclusive: 0,
    ...(previous?.unreachableSince ? { unreachableSince: previous.unreachableSince } : {}),
  };
}
