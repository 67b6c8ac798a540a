/**
 * The decision engine: from measured values to Continue, Pause, Rollback or
 * Inconclusive, as a pure function of plain data.
 *
 * Rules, in order (the first that applies decides):
 * 1. A check whose value breaches its threshold → **Rollback** (a hard failure),
 *    even if other queries failed: evidence of a bad canary is enough.
 * 2. A query that could not reach Prometheus (unreachable, timeout, HTTP error) →
 *    **Inconclusive**, outcome `unreachable`.
 * 3. A query without data (no requests in the window, NaN) or refused (bad PromQL) →
 *    **Inconclusive**, outcome `inconclusive`.
 *    A comparison (`metrics.compare`) with no number on either side is no data too,
 *    and says which side lacks it: a canary is never judged against nothing.
 * 4. Otherwise the weighted health score decides: **Continue** at `continueScore`
 *    (@default 80) or more, **Pause** at `pauseScore` (@default 60) or more, else
 *    **Rollback**.
 *
 * The health score is the weighted mean of the terms configured, normalised over
 * those terms only (an unconfigured metric neither helps nor hurts):
 * - `successRate` (@default weight 40) and `errorRate` (@default 30): their check's score;
 * - `latency` (@default 30): the *worst* score among p50/p90/p99, so one slow
 *   percentile is not averaged away;
 * - each custom check is its own term, weight `metrics.custom[].weight`
 *   (@default `decision.weights.custom`, itself @default 20).
 * If every configured weight is 0 the plain mean of the terms is used.
 * Per-check scores follow the curve in {@link ./score.ts}; comparisons are gates (100
 * within their tolerance of stable, 0 and breached outside it).
 */
import type { AnalysisRun, DecisionSpec, Decision, MetricResult } from '../api/canary-deployment.ts';
import {
  comparePasses,
  describeBound,
  describeComparison,
  formatValue,
  type Check,
  type WeightGroup,
} from './checks.ts';
import { isUnreachable, type QueryError } from './errors.ts';
import { scoreCheck } from './score.ts';

/** What one query produced; a comparison (`check.compare`) has one per side. */
export type Observation =
  | { kind: 'value'; value: number }
  | { kind: 'error'; error: QueryError }
  | {
      kind: 'pair';
      canary: Exclude<Observation, { kind: 'pair' }>;
      stable: Exclude<Observation, { kind: 'pair' }>;
    };

/** A check with what was measured for it. */
export interface Measurement {
  check: Check;
  observation: Observation;
}

/** Mirrors the API defaults of `spec.decision`. */
export const DECISION_DEFAULTS = {
  weights: { successRate: 40, latency: 30, errorRate: 30, custom: 20 },
  continueScore: 80,
  pauseScore: 60,
} as const;

/**
 * The analysis outcome the threshold state machine counts:
 * `healthy` (Continue), `degraded` (Pause), `failed` (Rollback), `inconclusive`
 * (no data or unusable query), `unreachable` (Prometheus not usable).
 */
export type Outcome = 'healthy' | 'degraded' | 'failed' | 'inconclusive' | 'unreachable';

export interface DecideInput {
  measurements: Measurement[];
  decision?: DecisionSpec | undefined;
  /** When the analysis ran (RFC 3339), copied into the run. */
  time: string;
  /** Step index the analysis belongs to. */
  step?: number | undefined;
}

export interface AnalysisResult {
  /** What goes into `status.analysis.last` and the Event. */
  run: AnalysisRun;
  outcome: Outcome;
}

/** Judge one round of measurements. Never throws. */
export function decide(input: DecideInput): AnalysisResult {
  const { measurements } = input;
  const cfg = resolveDecision(input.decision);
  const metrics: MetricResult[] = [];
  const breached: string[] = [];
  const unreachable: string[] = [];
  const missing: string[] = [];
  const terms = new Map<string, { weight: number; score: number }>();

  for (const { check, observation } of measurements) {
    if (observation.kind === 'pair') {
      // A comparison: both sides must have a number, or the round says nothing about it.
      const sides = { canary: numberOf(observation.canary), stable: numberOf(observation.stable) };
      const threshold = describeComparison(check, sides.stable.value);
      const gaps = (['canary', 'stable'] as const).filter((side) => sides[side].value === undefined);
      if (gaps.length > 0) {
        const errors = gaps.map((side) => ({
          side,
          error: sides[side].error ?? { kind: 'no-data' as const, message: 'the query returned NaN' },
        }));
        const text = errors.map((e) => `${e.side}: ${e.error.kind}: ${e.error.message}`).join('; ');
        (errors.some((e) => isUnreachable(e.error)) ? unreachable : missing).push(`${check.name} (${text})`);
        metrics.push({
          name: check.name,
          threshold,
          message: text,
          ...finite('value', sides.canary.value),
          ...finite('stableValue', sides.stable.value),
        });
        continue;
      }
      const canary = sides.canary.value ?? NaN;
      const stable = sides.stable.value ?? NaN;
      const passed = comparePasses(check, canary, stable);
      if (!passed)
        breached.push(
          `${check.name} ${formatValue(canary, check.unit)} vs stable ${formatValue(stable, check.unit)} breached ${threshold}`,
        );
      const score = passed ? 100 : 0;
      metrics.push({
        name: check.name,
        ...finite('value', canary),
        ...finite('stableValue', stable),
        threshold,
        score,
        passed,
        ...(Number.isFinite(canary) && Number.isFinite(stable)
          ? {}
          : {
              message: `canary ${formatValue(canary, check.unit)}, stable ${formatValue(stable, check.unit)}`,
            }),
      });
      addTerm(terms, check, score, cfg.weights);
      continue;
    }
    const threshold = describeBound(check);
    // NaN is "no data"; ±Inf is a value (histogram_quantile beyond the last bucket).
    const value =
      observation.kind === 'value' && !Number.isNaN(observation.value) ? observation.value : undefined;
    if (value === undefined) {
      const error: QueryError =
        observation.kind === 'error'
          ? observation.error
          : { kind: 'no-data', message: 'the query returned NaN' };
      (isUnreachable(error) ? unreachable : missing).push(`${check.name}: ${error.message}`);
      metrics.push({ name: check.name, threshold, message: `${error.kind}: ${error.message}` });
      continue;
    }
    const { score, passed } = scoreCheck(check, value);
    const shown = formatValue(value, check.unit);
    if (!passed) breached.push(`${check.name} ${shown} breached ${threshold}`);
    // JSON has no Infinity: an infinite value is only shown in the message.
    metrics.push({
      name: check.name,
      ...(Number.isFinite(value) ? { value } : { message: shown }),
      threshold,
      score: round(score),
      passed,
    });
    addTerm(terms, check, score, cfg.weights);
  }

  const score =
    terms.size > 0 && unreachable.length === 0 && missing.length === 0
      ? weightedScore([...terms.values()])
      : undefined;
  const make = (decision: Decision, outcome: Outcome, message: string): AnalysisResult => ({
    run: {
      time: input.time,
      ...(input.step === undefined ? {} : { step: input.step }),
      metrics,
      ...(score === undefined ? {} : { score: round(score) }),
      decision,
      message,
    },
    outcome,
  });

  if (measurements.length === 0)
    return {
      run: {
        time: input.time,
        ...(input.step === undefined ? {} : { step: input.step }),
        metrics,
        score: 100,
        decision: 'Continue',
        message: 'no metrics configured',
      },
      outcome: 'healthy',
    };
  if (breached.length > 0) return make('Rollback', 'failed', breached.join('; '));
  if (unreachable.length > 0)
    return make('Inconclusive', 'unreachable', `Prometheus not usable: ${unreachable.join('; ')}`);
  if (missing.length > 0) return make('Inconclusive', 'inconclusive', `no data: ${missing.join('; ')}`);
  const s = score ?? 100;
  const shown = round(s);
  if (s >= cfg.continueScore)
    return make('Continue', 'healthy', `health score ${shown} >= ${cfg.continueScore}`);
  if (s >= cfg.pauseScore)
    return make(
      'Pause',
      'degraded',
      `health score ${shown} is below ${cfg.continueScore} (continue) but at least ${cfg.pauseScore} (pause)`,
    );
  return make('Rollback', 'failed', `health score ${shown} is below ${cfg.pauseScore}`);
}

/** `spec.decision` with every default filled in; a pauseScore above continueScore is capped to it. */
export function resolveDecision(spec: DecisionSpec | undefined): {
  weights: Record<WeightGroup, number>;
  continueScore: number;
  pauseScore: number;
} {
  const d = DECISION_DEFAULTS;
  const continueScore = spec?.continueScore ?? d.continueScore;
  return {
    weights: {
      successRate: spec?.weights?.successRate ?? d.weights.successRate,
      latency: spec?.weights?.latency ?? d.weights.latency,
      errorRate: spec?.weights?.errorRate ?? d.weights.errorRate,
      custom: spec?.weights?.custom ?? d.weights.custom,
    },
    continueScore,
    pauseScore: Math.min(spec?.pauseScore ?? d.pauseScore, continueScore),
  };
}

function addTerm(
  terms: Map<string, { weight: number; score: number }>,
  check: Check,
  score: number,
  weights: Record<WeightGroup, number>,
): void {
  // Custom checks are separate terms; the latency percentiles share one term scored by the worst.
  const key = check.group === 'custom' ? `custom:${check.name}` : check.group;
  const weight = check.group === 'custom' ? (check.weight ?? weights.custom) : weights[check.group];
  const existing = terms.get(key);
  terms.set(key, { weight, score: existing ? Math.min(existing.score, score) : score });
}

function weightedScore(terms: { weight: number; score: number }[]): number {
  const total = terms.reduce((sum, t) => sum + t.weight, 0);
  if (total <= 0) return terms.reduce((sum, t) => sum + t.score, 0) / terms.length;
  return terms.reduce((sum, t) => sum + t.weight * t.score, 0) / total;
}

/** The number of one side's observation (NaN is no data), or its error. */
function numberOf(o: Exclude<Observation, { kind: 'pair' }>): { value?: number; error?: QueryError } {
  if (o.kind === 'error') return { error: o.error };
  return Number.isNaN(o.value) ? {} : { value: o.value };
}

/** `{ [key]: value }` when `value` is a finite number (JSON has no Infinity), else nothing. */
function finite(
  key: 'value' | 'stableValue',
  value: number | undefined,
): Partial<Record<'value' | 'stableValue', number>> {
  return value !== undefined && Number.isFinite(value) ? { [key]: value } : {};
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
