/**
 * The dashboard's backtest (`GET /api/releases/<ns>/<name>/backtest`): the release's own
 * policy replayed on Prometheus' history of it (../backtest/run.ts), by default over the
 * release's life, with threshold suggestions from stable.
 *
 * As for the charts (./metrics.ts): the handler answers only for a release the person
 * may read, and asks only the Prometheus the controller itself would.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { prometheusAddress, prometheusRefusal } from '../canary/analysis.ts';
import { checksFor } from '../analysis/checks.ts';
import { ANALYSIS_DEFAULTS } from '../analysis/verdict.ts';
import { backtest } from '../backtest/run.ts';
import { outcome } from '../backtest/render.ts';
import { durationOr } from '../strategy/duration.ts';
import type { BacktestAnswer } from './contract.ts';
import type { MetricsSettings } from './metrics.ts';

/** Rounds one dashboard backtest replays at most (the step grows past it). */
const MAX_ROUNDS = 2_000;
/** Window before a release has started. */
const DEFAULT_RANGE_MS = 60 * 60_000;

/** Backtests `release` over `[from, to]` (default: its life, or the last hour). */
export async function releaseBacktest(
  release: CanaryDeployment,
  settings: MetricsSettings,
  options: { now: number; from?: number | undefined; to?: number | undefined },
): Promise<BacktestAnswer> {
  const status = release.status ?? {};
  const to =
    options.to ??
    (status.completedAt ? Math.min(options.now, Date.parse(status.completedAt) + 60_000) : options.now);
  const from =
    options.from ?? (status.startedAt ? Date.parse(status.startedAt) - 60_000 : to - DEFAULT_RANGE_MS);
  const interval = durationOr(release.spec.analysis?.interval, ANALYSIS_DEFAULTS.interval);
  const stepMs = Math.max(interval, Math.ceil((to - from) / (MAX_ROUNDS - 1) / 1000) * 1000);
  const empty: BacktestAnswer = {
    from,
    to,
    stepSeconds: stepMs / 1000,
    rounds: [],
    outcome: '',
    suggestions: [],
  };
  if (!(to > from)) return { ...empty, problem: 'the window is empty: `to` must be after `from`' };
  if (checksFor(release.spec.metrics).checks.length === 0)
    return { ...empty, problem: 'this release has no metrics to analyse (spec.metrics is empty)' };
  const refusal = prometheusRefusal(release, settings.allowList);
  if (refusal) return { ...empty, problem: refusal };
  const address = prometheusAddress(release, settings.defaultAddress);
  if (!address)
    return { ...empty, problem: 'no Prometheus is configured for the dashboard (--prometheus-url)' };
  const spec = status.traffic?.provider
    ? { ...release.spec, traffic: { ...release.spec.traffic, provider: status.traffic.provider } }
    : release.spec;
  const report = await backtest({
    spec,
    namespace: release.metadata.namespace ?? '',
    name: release.metadata.name,
    address,
    from,
    to,
    stepMs,
    query: settings.query,
  });
  return {
    from,
    to,
    stepSeconds: stepMs / 1000,
    // JSON has no Infinity (a latency past the highest bucket): such a value is left out.
    rounds: report.result.ticks.map((t) => ({
      ...t,
      metrics: t.metrics.map((m) =>
        m.value === undefined || Number.isFinite(m.value) ? m : { ...m, value: undefined },
      ),
    })),
    rollbackAt: report.result.rollbackAt?.time,
    pauseAt: report.result.pauseAt?.time,
    outcome: outcome(report.result),
    suggestions: report.suggestions,
    suggestedOutcome: report.withSuggested ? outcome(report.withSuggested) : undefined,
  };
}
