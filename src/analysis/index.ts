/**
 * Metric analysis: the Prometheus client, the queries per traffic provider, the
 * decision engine and the consecutive-threshold state machine.
 *
 * The reconciler's loop, per analysis tick:
 * ```ts
 * const result = await analyze({ spec, namespace, canaryName, prometheus, now, step });
 * const next = nextVerdict({ previous: status.analysis, outcome: result.outcome, detail: result.run.message,
 *                            analysis: spec.analysis, autoRollback: spec.autoRollback, now });
 * // status.analysis = { ...next.counters, last: result.run }; act on next.verdict
 * ```
 */
export { analyze, type AnalyzeInput, type AnalyzeResult } from './analyzer.ts';
export { checksFor, hasChecks, describeBound, formatValue, type Check, type CheckKind, type CheckProblem, type WeightGroup } from './checks.ts';
export { decide, resolveDecision, DECISION_DEFAULTS, type AnalysisResult, type DecideInput, type Measurement, type Observation, type Outcome } from './decision.ts';
export { isUnreachable, type QueryError, type QueryErrorKind } from './errors.ts';
export { resolveCredentials, SECRET_KEYS, type CredentialsProblemReason, type CredentialsResult, type PrometheusCredentials, type SecretReader } from './credentials.ts';
export { createPrometheusClient, DEFAULT_QUERY_TIMEOUT_MS, type PrometheusClient, type PrometheusOptions, type QueryResult } from './prometheus.ts';
export { builtInQuery, canarySeries, podPattern, podResourceQuery, resourceQuery, CADVISOR, escapePromQLString, promDuration, queryFor, renderCustomQuery, canaryVersionLabelOf, versionLabel, DEFAULT_CANARY_VERSION_LABEL, type QueryTarget } from './queries.ts';
export { COMFORT_SHARE, scoreCheck, type CheckScore } from './score.ts';
export { ANALYSIS_DEFAULTS, countersAtNewStep, nextVerdict, type AnalysisCounters, type Verdict, type VerdictInput, type VerdictReason, type VerdictResult } from './verdict.ts';
