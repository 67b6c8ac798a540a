/**
 * A backtest: a release's analysis replayed on past Prometheus data (./replay.ts), and
 * thresholds suggested from stable's own behaviour over the same window (./suggest.ts),
 * replayed too so one sees how the suggestion would have decided.
 *
 * The PromQL is the live analysis' own (../analysis/queries.ts via `queryTargetOf`), run
 * as range queries stepped at the analysis interval: the value at each step is what an
 * analysis at that moment would have read. Stable's side is queried for comparisons and
 * for the suggestions (the same series with stable's selector; a custom query through
 * its `{{version}}` / `{{workload}}` placeholders, skipped when it has none).
 */
import type { CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import { queryTargetOf } from '../analysis/analyzer.ts';
import { checksFor, type Check, type CheckProblem } from '../analysis/checks.ts';
import { podResourceQuery, queryFor, renderCustomQuery, type QueryTarget } from '../analysis/queries.ts';
import { queryRange, type RangeQuery, type RangeResult } from '../analysis/range.ts';
import { ANALYSIS_DEFAULTS } from '../analysis/verdict.ts';
import { durationOr } from '../strategy/duration.ts';
import { analysisTimes, replay, type ReplayResult, type SeriesResult } from './replay.ts';
import { suggestThresholds, withSuggestions, type SuggestOptions, type Suggestion } from './suggest.ts';

/** Most analysis rounds one backtest replays (Prometheus answers at most 11,000 points per series). */
export const MAX_ROUNDS = 11_000;

export interface BacktestOptions {
  spec: CanaryDeploymentSpec;
  namespace: string;
  /** The release's name, for the report. */
  name?: string | undefined;
  /** Prometheus base URL. */
  address: string;
  /** ms since the epoch. */
  from: number;
  to: number;
  /** Time between rounds. @default spec.analysis.interval (30s) */
  stepMs?: number | undefined;
  /** The canary pods' `version` label (plain metrics). @default 'canary' */
  canaryVersionLabel?: string | undefined;
  /** Stable's `version` label (plain metrics). @default 'stable' */
  stableVersionLabel?: string | undefined;
  suggest?: SuggestOptions | undefined;
  /** @default ../analysis/range.ts queryRange */
  query?: ((q: RangeQuery) => Promise<RangeResult>) | undefined;
  /** Budget of each range query. @default 30_000 */
  timeoutMs?: number | undefined;
}

export interface BacktestReport {
  release: { namespace: string; name?: string | undefined; target: string; provider: string };
  from: string;
  to: string;
  stepMs: number;
  /** The PromQL run per check (`stable` when stable's side was asked too). */
  queries: Record<string, { canary: string; stable?: string | undefined }>;
  /** Spec fields that could not become checks, as the live analysis reports them. */
  problems: CheckProblem[];
  /** The release's own thresholds over the window. */
  result: ReplayResult;
  suggestions: Suggestion[];
  /** The same window judged with the suggested thresholds (undefined without suggestions). */
  withSuggested?: ReplayResult | undefined;
}

/** Runs a backtest; rejects only on bad options (a failed query is inconclusive rounds, as live). */
export async function backtest(options: BacktestOptions): Promise<BacktestReport> {
  const { spec } = options;
  const stepMs = options.stepMs ?? durationOr(spec.analysis?.interval, ANALYSIS_DEFAULTS.interval);
  if (!(stepMs >= 1000)) throw new Error(`the step must be at least 1s, got ${stepMs}ms`);
  if (!(options.to > options.from)) throw new Error('--to must be after --from');
  const rounds = Math.floor((options.to - options.from) / stepMs) + 1;
  if (rounds > MAX_ROUNDS)
    throw new Error(
      `${rounds} analysis rounds from --from to --to at ${stepMs / 1000}s: at most ${MAX_ROUNDS}; give a shorter window or a longer --step`,
    );
  const { checks, problems } = checksFor(spec.metrics);
  if (checks.length === 0)
    throw new Error('the release has no metrics to analyse (spec.metrics is empty): nothing to backtest');
  const target = queryTargetOf(spec, {
    namespace: options.namespace,
    canaryVersionLabel: options.canaryVersionLabel,
    stableVersionLabel: options.stableVersionLabel,
  });
  const query = options.query ?? queryRange;
  const ask = (promql: string): Promise<SeriesResult> =>
    query({
      address: options.address,
      promql,
      start: options.from,
      end: options.to,
      stepSeconds: stepMs / 1000,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  const queries: BacktestReport['queries'] = {};
  const canary = new Map<string, SeriesResult>();
  const stable = new Map<string, SeriesResult>();
  await Promise.all(
    checks.map(async (check) => {
      const canaryQuery = queryFor(check, target, 'canary');
      const stableQuery = stableQueryOf(check, target);
      queries[check.name] = { canary: canaryQuery, ...(stableQuery ? { stable: stableQuery } : {}) };
      const [c, s] = await Promise.all([ask(canaryQuery), stableQuery ? ask(stableQuery) : undefined]);
      canary.set(check.name, c);
      if (s) stable.set(check.name, s);
    }),
  );
  const times = analysisTimes(options.from, options.to, stepMs, MAX_ROUNDS);
  const base = {
    canary,
    stable,
    times,
    decision: spec.decision,
    analysis: spec.analysis,
    autoRollback: spec.autoRollback,
  };
  const result = replay({ ...base, checks });
  const stableValues = new Map<string, number[]>();
  for (const [name, series] of stable)
    if (series.ok)
      stableValues.set(
        name,
        series.points.map(([, v]) => v),
      );
  const suggestions = suggestThresholds(checks, stableValues, options.suggest);
  return {
    release: {
      namespace: options.namespace,
      name: options.name,
      target: target.target,
      provider: target.provider,
    },
    from: new Date(options.from).toISOString(),
    to: new Date(options.to).toISOString(),
    stepMs,
    queries,
    problems,
    result,
    suggestions,
    withSuggested:
      suggestions.length > 0 ? replay({ ...base, checks: withSuggestions(checks, suggestions) }) : undefined,
  };
}

/**
 * Stable's PromQL for `check`: the built-in query with stable's selector, the busiest
 * stable pod for CPU and memory, a custom query through its side placeholders;
 * undefined where stable cannot be told apart (a custom query without them, ratios).
 */
export function stableQueryOf(check: Check, target: QueryTarget): string | undefined {
  switch (check.kind) {
    case 'cpu':
    case 'memory':
      return podResourceQuery(check.kind, target.namespace, target.target, target.windowMs);
    case 'cpuVsStable':
    case 'memoryVsStable':
      return undefined;
    case 'custom': {
      const query = renderCustomQuery(check.query ?? '', target, 'stable');
      return query === renderCustomQuery(check.query ?? '', target, 'canary') ? undefined : query;
    }
    default:
      return queryFor(check, target, 'stable');
  }
}
