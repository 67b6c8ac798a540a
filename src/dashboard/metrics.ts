/**
 * The charts' data: each check of a release's `spec.metrics`, asked of Prometheus as a
 * range query over the release's life, the canary's line and, where stable has series of
 * its own, stable's beside it. The PromQL is the analysis' own (`queryTargetOf` +
 * `queryFor` / `stableQueryFor`), so a chart shows exactly what the controller judged.
 *
 * Prometheus has no Kubernetes RBAC, so the handler answers only for a release the
 * person may read (checked with the same access layer as the list, before this runs),
 * and only asks the Prometheus the controller itself would: the release's own address
 * when the allow-list admits it, else the default one.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { PrometheusAllowList } from '../analysis/allowed.ts';
import { queryTargetOf } from '../analysis/analyzer.ts';
import { checksFor, describeComparison, limitOf } from '../analysis/checks.ts';
import { queryFor, stableQueryFor } from '../analysis/queries.ts';
import { queryRange, type RangeQuery, type RangeResult } from '../analysis/range.ts';
import { prometheusAddress, prometheusRefusal } from '../canary/analysis.ts';
import type { ChartLine, MetricChart, MetricsAnswer } from './contract.ts';

/** Where the dashboard's charts come from. */
export interface MetricsSettings {
  /** `--prometheus-url`: the Prometheus of releases that name none. */
  defaultAddress: string | undefined;
  /** The addresses a release may name (as the controller's `--allowed-prometheus-url`). */
  allowList: PrometheusAllowList;
  /** Runs one range query. @default {@link queryRange} */
  query?: (q: RangeQuery) => Promise<RangeResult>;
}

/** Points per chart at most: enough for a smooth line, few enough for a fast page. */
const MAX_POINTS = 240;
/** Range shown before a release has started. */
const DEFAULT_RANGE_MS = 15 * 60_000;

/** The charts of `release` from its start (or the last 15 minutes) until its end (or now). */
export async function releaseMetrics(
  release: CanaryDeployment,
  settings: MetricsSettings,
  options: { now: number; canaryVersionLabel?: string | undefined },
): Promise<MetricsAnswer> {
  const status = release.status ?? {};
  const end = status.completedAt
    ? Math.min(options.now, Date.parse(status.completedAt) + 60_000)
    : options.now;
  const started = status.startedAt ? Date.parse(status.startedAt) - 60_000 : end - DEFAULT_RANGE_MS;
  const start = Math.min(started, end - 60_000);
  const stepSeconds = Math.max(1, Math.ceil((end - start) / 1000 / MAX_POINTS));
  const answer: MetricsAnswer = { start, end, stepSeconds, charts: [] };
  const { checks } = checksFor(release.spec.metrics);
  if (checks.length === 0)
    return { ...answer, problem: 'this release has no metrics to analyse (spec.metrics is empty)' };
  const refusal = prometheusRefusal(release, settings.allowList);
  if (refusal) return { ...answer, problem: refusal };
  const address = prometheusAddress(release, settings.defaultAddress);
  if (!address)
    return { ...answer, problem: 'no Prometheus is configured for the dashboard (--prometheus-url)' };
  const target = queryTargetOf(release.spec, {
    namespace: release.metadata.namespace ?? '',
    provider: status.traffic?.provider,
    canaryVersionLabel: options.canaryVersionLabel,
  });
  const run = settings.query ?? queryRange;
  const unreachable: string[] = [];
  const line = async (version: ChartLine['version'], query: string): Promise<ChartLine> => {
    const result = await run({ address, promql: query, start, end, stepSeconds });
    if (!result.ok) {
      if (result.unreachable) unreachable.push(result.message);
      return { version, query, points: [], error: result.message };
    }
    // JSON has no Infinity (a latency beyond the highest bucket): such a point would
    // arrive as null, so it is left out and the line shows a gap there.
    return { version, query, points: result.points.filter(([, v]) => Number.isFinite(v)) };
  };
  answer.charts = await Promise.all(
    checks.map(async (check): Promise<MetricChart> => {
      const stableQuery = stableQueryFor(check, target);
      const [canary, stable] = await Promise.all([
        line('canary', queryFor(check, target)),
        stableQuery === undefined ? undefined : line('stable', stableQuery),
      ]);
      return {
        name: check.name,
        unit: check.unit,
        threshold: check.threshold,
        bound: check.bound,
        rule: describeComparison(check),
        // A comparison's bound moves with stable: the canary's limit at each of stable's points.
        ...(check.compare && stable ? { limit: stable.points.map(([t, v]) => [t, limitOf(check, v)]) } : {}),
        lines: stable ? [canary, stable] : [canary],
      };
    }),
  );
  // Every query failed without an answer: one message for the page, not one per chart.
  const asked = answer.charts.reduce((n, c) => n + c.lines.length, 0);
  if (asked > 0 && unreachable.length === asked)
    answer.unreachable = `Prometheus at ${address} did not answer: ${unreachable[0]}`;
  return answer;
}
