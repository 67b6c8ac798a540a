/**
 * Replays a release's analysis over past metrics (pure): at each analysis interval, the
 * value of every check, the health score and decision the live analysis would have
 * computed (../analysis/decision.ts), and the verdict its streaks would have led to
 * (../analysis/verdict.ts): continue, pause or roll back, and when.
 *
 * The series come from range queries of the same PromQL the live analysis runs
 * (./run.ts), so the value at time T here is what an analysis at T would have read.
 * Steps and weights are not replayed: the past data already carries whatever traffic
 * the canary had then; what is judged is the data. Rounds before the canary's first data
 * (a window opening before the release) count towards no streak.
 */
import type {
  AnalysisSpec,
  AutoRollbackSpec,
  DecisionSpec,
  Decision,
  MetricResult,
} from '../api/canary-deployment.ts';
import type { Check } from '../analysis/checks.ts';
import { decide, type Measurement, type Observation } from '../analysis/decision.ts';
import type { QueryError } from '../analysis/errors.ts';
import { nextVerdict, type AnalysisCounters, type Verdict } from '../analysis/verdict.ts';

/** One side's series of one check: points `[ms since epoch, value]`, or why there are none. */
export type SeriesResult = { ok: true; points: [number, number][] } | { ok: false; message: string };

export interface ReplayInput {
  checks: Check[];
  /** Per check name: the canary's series (and stable's, for comparisons). */
  canary: ReadonlyMap<string, SeriesResult>;
  stable: ReadonlyMap<string, SeriesResult>;
  /** Times analysed (ms since epoch), in order. */
  times: readonly number[];
  decision?: DecisionSpec | undefined;
  analysis?: AnalysisSpec | undefined;
  autoRollback?: AutoRollbackSpec | undefined;
}

/** One analysis interval as the live analysis would have seen it. */
export interface ReplayTick {
  time: string;
  metrics: MetricResult[];
  score?: number | undefined;
  /** The round's decision (Continue, Pause, Rollback, Inconclusive). */
  decision: Decision;
  /** What the release would have done after it (its streaks counted). */
  verdict: Verdict;
  reason: string;
  message: string;
}

export interface ReplayResult {
  ticks: ReplayTick[];
  /** The first interval whose verdict was a rollback: where the release would have been rolled back. */
  rollbackAt?: ReplayTick | undefined;
  /** The first pause, if before any rollback. */
  pauseAt?: ReplayTick | undefined;
  /** Rounds by decision. */
  decisions: Record<Decision, number>;
}

/**
 * Replays `input`; never throws. The rounds after the first rollback are judged on (the
 * streaks carried on), to show how long the bad period lasted; the release itself would
 * have ended at `rollbackAt`.
 */
export function replay(input: ReplayInput): ReplayResult {
  const ticks: ReplayTick[] = [];
  const decisions: Record<Decision, number> = { Continue: 0, Pause: 0, Rollback: 0, Inconclusive: 0 };
  let counters: AnalysisCounters | undefined;
  let rollbackAt: ReplayTick | undefined;
  let pauseAt: ReplayTick | undefined;
  let seenData = false;
  const lookups = new Map<string, { canary: PointLookup; stable: PointLookup }>();
  for (const check of input.checks)
    lookups.set(check.name, {
      canary: pointLookup(input.canary.get(check.name)),
      stable: pointLookup(input.stable.get(check.name)),
    });
  for (const at of input.times) {
    const time = new Date(at).toISOString();
    const measurements: Measurement[] = input.checks.map((check) => {
      const series = lookups.get(check.name);
      const canary = series?.canary(at) ?? missing('no series');
      if (!check.compare) return { check, observation: canary };
      return {
        check,
        observation: { kind: 'pair', canary, stable: series?.stable(at) ?? missing('no series') },
      };
    });
    const { run, outcome } = decide({ measurements, decision: input.decision, time });
    seenData ||= !measurements.every((m) => noData(m.observation));
    if (!seenData) {
      // A window that opens before the canary had any traffic: no release was running
      // yet, so these rounds count towards nothing (no inconclusive streak, no pause).
      decisions[run.decision]++;
      ticks.push({
        time,
        metrics: run.metrics,
        decision: run.decision,
        verdict: 'hold',
        reason: 'NoData',
        message: 'no canary data yet: before the release started, or before its first traffic',
      });
      continue;
    }
    const verdict = nextVerdict({
      previous: counters,
      outcome,
      detail: run.message,
      analysis: input.analysis,
      autoRollback: input.autoRollback,
      now: new Date(at),
    });
    counters = verdict.counters;
    const tick: ReplayTick = {
      time,
      metrics: run.metrics,
      score: run.score,
      decision: run.decision,
      verdict: verdict.verdict,
      reason: verdict.reason,
      message: verdict.message,
    };
    decisions[run.decision]++;
    ticks.push(tick);
    if (verdict.verdict === 'rollback') rollbackAt ??= tick;
    if (verdict.verdict === 'pause' && !rollbackAt) pauseAt ??= tick;
  }
  return { ticks, rollbackAt, pauseAt, decisions };
}

/** The analysis times from `from` to `to` (ms), every `stepMs`, at most `limit` of them. */
export function analysisTimes(from: number, to: number, stepMs: number, limit = 11_000): number[] {
  const times: number[] = [];
  for (let t = from; t <= to && times.length < limit; t += stepMs) times.push(t);
  return times;
}

type PointLookup = (at: number) => Exclude<Observation, { kind: 'pair' }>;

/**
 * The value of a series at `at`: the point at exactly that time (a range answer's points
 * sit at start + k × step, the times asked for). No point: no data, as an instant query
 * that returned NaN; a failed query: the query's error (inconclusive, as live).
 */
function pointLookup(series: SeriesResult | undefined): PointLookup {
  if (!series) return () => missing('no series');
  if (!series.ok) return () => ({ kind: 'error', error: { kind: 'bad-query', message: series.message } });
  const byTime = new Map(series.points.map(([t, v]) => [t, v]));
  return (at) => {
    const value = byTime.get(at);
    return value === undefined ? missing('no data at this time') : { kind: 'value', value };
  };
}

/**
 * True when the canary's side has no data only (not a failed query: that is a finding of
 * its own); stable serving before the release does not make the canary started.
 */
function noData(observation: Observation): boolean {
  if (observation.kind === 'pair') return noData(observation.canary);
  return observation.kind === 'error' && observation.error.kind === 'no-data';
}

function missing(message: string): { kind: 'error'; error: QueryError } {
  return { kind: 'error', error: { kind: 'no-data', message } };
}
