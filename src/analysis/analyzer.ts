/**
 * One analysis round: run the checks of `spec.metrics` against Prometheus, in
 * parallel, and judge them with the decision engine.
 *
 * Guarantees: never throws; every query is bounded by the Prometheus client's
 * timeout, so a round takes at most about one query timeout; a spec field that
 * cannot become a check (an unreadable latency bound) is reported in `problems`
 * and in the run's message, never silently skipped.
 */
import type { CanaryDeploymentSpec, TrafficProviderName } from '../api/canary-deployment.ts';
import { durationOr } from '../strategy/duration.ts';
import { checksFor, type CheckProblem } from './checks.ts';
import { decide, type AnalysisResult, type Measurement, type Observation } from './decision.ts';
import type { MetricSource } from './source.ts';
import { queryFor, stableQueryFor, type QueryTarget } from './queries.ts';
import { ANALYSIS_DEFAULTS } from './verdict.ts';

export interface AnalyzeInput {
  spec: CanaryDeploymentSpec;
  /** @default spec.traffic.provider, else Replicas */
  provider?: TrafficProviderName | undefined;
  namespace: string;
  /** The target Deployment. @default spec.targetDeployment */
  target?: string | undefined;
  /** The canary Deployment's name (Istio `destination_workload`). @default `${target}-canary` */
  canaryName?: string | undefined;
  /** The canary pods' `version` label value (plain metrics). @default 'canary' */
  canaryVersionLabel?: string | undefined;
  /** Stable's `version` label value in plain metrics (comparisons). @default 'stable' */
  stableVersionLabel?: string | undefined;
  /** Range of the queries' `rate()`, overriding `analysis.window` (an experiment's final judgment looks back over its whole duration). */
  windowMs?: number | undefined;
  prometheus: MetricSource;
  now: Date;
  /** Step index, recorded in the run. */
  step?: number | undefined;
  /** Ends every query of the round early (e.g. the round's deadline passed, or its result is no longer wanted). */
  signal?: AbortSignal | undefined;
  /** Budget of each query. @default the Prometheus client's */
  timeoutMs?: number | undefined;
}

export interface AnalyzeResult extends AnalysisResult {
  /** Spec fields that could not be turned into checks. */
  problems: CheckProblem[];
  /** The PromQL run, by check name (for Events, debugging and tests). */
  queries: Record<string, string>;
}

/**
 * Where the canary's numbers are for a release: the analysis asks this, and so does the
 * dashboard's charts (the same PromQL over a range), so the two never disagree.
 */
export function queryTargetOf(
  spec: CanaryDeploymentSpec,
  input: {
    namespace: string;
    provider?: TrafficProviderName | undefined;
    target?: string | undefined;
    canaryName?: string | undefined;
    canaryVersionLabel?: string | undefined;
    stableVersionLabel?: string | undefined;
    windowMs?: number | undefined;
  },
): QueryTarget {
  return {
    provider: input.provider ?? spec.traffic?.provider ?? 'Replicas',
    protocol: spec.traffic?.protocol,
    namespace: input.namespace,
    target: input.target ?? spec.targetDeployment,
    canaryName: input.canaryName ?? `${input.target ?? spec.targetDeployment}-canary`,
    canaryVersionLabel: input.canaryVersionLabel,
    stableVersionLabel: input.stableVersionLabel,
    ingress: spec.traffic?.nginx?.ingress,
    windowMs: input.windowMs ?? durationOr(spec.analysis?.window, ANALYSIS_DEFAULTS.window),
  };
}

/** Runs every configured check once and decides. */
export async function analyze(input: AnalyzeInput): Promise<AnalyzeResult> {
  const { spec } = input;
  const { checks, problems } = checksFor(spec.metrics);
  const target = queryTargetOf(spec, input);
  const queries: Record<string, string> = {};
  const measurements = await Promise.all(
    checks.map(async (check): Promise<Measurement> => {
      // Evaluated at Prometheus' own "now": our clock (possibly a test's fake one)
      // must not decide which samples exist.
      const ask = async (promql: string): Promise<Exclude<Observation, { kind: 'pair' }>> => {
        const result = await input.prometheus.query(promql, {
          ...(input.signal ? { signal: input.signal } : {}),
          ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
        });
        return result.ok ? { kind: 'value', value: result.value } : { kind: 'error', error: result.error };
      };
      if (check.compare) {
        // Both sides over the same window, at the same moment.
        const canaryQuery = queryFor(check, target, 'canary');
        const stableQuery = stableQueryFor(check, target) ?? queryFor(check, target, 'stable');
        queries[check.name] = canaryQuery;
        queries[`${check.name}:stable`] = stableQuery;
        const [canary, stable] = await Promise.all([ask(canaryQuery), ask(stableQuery)]);
        return { check, observation: { kind: 'pair', canary, stable } };
      }
      const promql = queryFor(check, target);
      queries[check.name] = promql;
      return { check, observation: await ask(promql) };
    }),
  );
  const result = decide({
    measurements,
    decision: spec.decision,
    time: input.now.toISOString(),
    step: input.step,
  });
  if (problems.length > 0) {
    const note = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    result.run.message = result.run.message ? `${result.run.message} (ignored: ${note})` : `ignored: ${note}`;
  }
  return { ...result, problems, queries };
}
