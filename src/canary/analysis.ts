/**
 * One analysis for a release: the analyzer's round against Prometheus, then the
 * consecutive-threshold verdict over the streaks stored in status. The Prometheus
 * address is `spec.metrics.provider.address`, else the controller's `--prometheus-url`;
 * with neither, the round counts as unreachable (and says why), so the release holds
 * and never promotes unjudged.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { analyze } from '../analysis/analyzer.ts';
import { createPrometheusClient, type PrometheusClient } from '../analysis/prometheus.ts';
import { nextVerdict } from '../analysis/verdict.ts';
import { durationOr } from '../strategy/duration.ts';
import type { AnalysisObservation } from './phases.ts';
import { canaryDeploymentName } from './workloads.ts';

/** Prometheus clients by address and timeout (plain objects over one shared HTTP pool). */
const clients = new Map<string, PrometheusClient>();

function prometheusFor(address: string, timeoutMs: number): PrometheusClient {
  const key = `${address}|${timeoutMs}`;
  let client = clients.get(key);
  if (!client) {
    client = createPrometheusClient({ address, timeoutMs });
    clients.set(key, client);
  }
  return client;
}

/** Runs one analysis of `cd` at its current step. Never throws. */
export async function runAnalysis(
  cd: CanaryDeployment,
  /** The canary pods' `version` label, if they carry one (plain metrics tell versions apart by it). */
  canaryVersionLabel: string | undefined,
  defaultAddress: string | undefined,
  now: Date,
): Promise<AnalysisObservation> {
  const { spec } = cd;
  const previous = cd.status?.analysis;
  const step = cd.status?.currentStepIndex;
  const address = spec.metrics?.provider?.address ?? defaultAddress;
  if (!address) {
    const verdict = nextVerdict({
      previous,
      outcome: 'unreachable',
      detail: 'no Prometheus address: set spec.metrics.provider.address or start the controller with --prometheus-url',
      analysis: spec.analysis,
      autoRollback: spec.autoRollback,
      now,
    });
    return { run: { time: now.toISOString(), step, metrics: [], decision: 'Inconclusive', message: verdict.message }, verdict };
  }
  const prometheus = prometheusFor(address, durationOr(spec.metrics?.provider?.timeout, '5s'));
  const result = await analyze({
    spec,
    namespace: cd.metadata.namespace ?? '',
    canaryName: canaryDeploymentName(spec.targetDeployment),
    canaryVersionLabel,
    prometheus,
    now,
    step,
  });
  const verdict = nextVerdict({ previous, outcome: result.outcome, detail: result.run.message, analysis: spec.analysis, autoRollback: spec.autoRollback, now });
  return { run: result.run, verdict };
}
