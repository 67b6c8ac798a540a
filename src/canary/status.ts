/**
 * The conditions a release reports, derived from its status (pure): what `kubectl
 * describe` and automation read. Each carries the generation it was computed for.
 *
 * - `Progressing`: True while the release moves (Initializing, Progressing, Paused);
 *   False once it ended, with the ending's reason.
 * - `Paused`: True while held (a user, a metrics pause, no data).
 * - `Healthy`: False when the canary is judged bad (pods, metrics) or cannot be judged
 *   (Prometheus unreachable: the reason says so and how long until rollback).
 * - `Ready`: True when the release is Completed: the new version serves everything.
 * - `TrafficReady`: True when the traffic is as the release wants (the reconcile's writes
 *   went through); False with the provider error's reason while one holds the release
 *   (set by the error policy, see ./error-policy.ts), or while an autoscaler refuses it.
 *
 * A release that has not started because of something the user must fix (no target
 * Deployment, an autoscaler in the way), or that waits for its turn in a ReleaseGroup,
 * is not Progressing.
 */
import type { CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import { mergeConditions, type ConditionUpdate } from '../runtime/conditions.ts';

const ROLLBACK_REASONS_OF_HEALTH = new Set([
  'PodCrashLoop',
  'PodOOMKilled',
  'PodNotReady',
  'MetricsFailed',
  'PrometheusUnreachableTimeout',
  'NoDataLimitReached',
  'MetricsDegraded',
  'ExperimentFailed',
  'PreRolloutGateFailed',
]);

/** `status` with its conditions brought up to date. */
export function withConditions(
  status: CanaryDeploymentStatus,
  generation: number,
  now: Date,
  trafficProblem?: { reason: string; message: string },
): CanaryDeploymentStatus {
  const phase = status.phase ?? 'Initializing';
  const reason = status.reason ?? phase;
  const message = status.message ?? '';
  const waiting =
    status.phase === undefined &&
    (reason === 'TargetNotFound' || reason === 'AutoscalerConflict' || reason === 'WaitingForGroup');
  const active = !waiting && (phase === 'Initializing' || phase === 'Progressing' || phase === 'Paused');
  const updates: ConditionUpdate[] = [
    {
      type: 'Progressing',
      status: active ? 'True' : 'False',
      reason,
      message,
      observedGeneration: generation,
    },
    {
      type: 'Paused',
      status: phase === 'Paused' ? 'True' : 'False',
      reason: phase === 'Paused' ? reason : 'NotPaused',
      message: phase === 'Paused' ? message : '',
      observedGeneration: generation,
    },
    { ...health(status), observedGeneration: generation },
    {
      type: 'Ready',
      status: phase === 'Completed' ? 'True' : 'False',
      reason: phase === 'Completed' ? reason : phase,
      message,
      observedGeneration: generation,
    },
    { ...traffic(status, trafficProblem), observedGeneration: generation },
  ];
  return { ...status, conditions: mergeConditions(status.conditions, updates, now) };
}

function traffic(
  status: CanaryDeploymentStatus,
  problem: { reason: string; message: string } | undefined,
): Omit<ConditionUpdate, 'observedGeneration'> {
  if (problem)
    return { type: 'TrafficReady', status: 'False', reason: problem.reason, message: problem.message };
  if (status.phase === undefined && status.reason === 'AutoscalerConflict') {
    return {
      type: 'TrafficReady',
      status: 'False',
      reason: 'AutoscalerConflict',
      message: status.message ?? '',
    };
  }
  const record = status.traffic;
  if (!record)
    return {
      type: 'TrafficReady',
      status: 'True',
      reason: 'NoTrafficMoved',
      message: 'no traffic has been moved',
    };
  return {
    type: 'TrafficReady',
    status: 'True',
    reason: 'InSync',
    message: `${record.provider}: ${status.currentWeight ?? 0}% of traffic on the canary`,
  };
}

/**
 * Why Prometheus cannot be used, as a condition reason: a metrics Secret problem by its
 * own reason (../analysis/credentials.ts), credentials the server refused, else unreachable.
 */
function unusableReason(message: string | undefined): string {
  const secret = /\b(MetricsSecret[A-Za-z]+):/.exec(message ?? '');
  if (secret) return secret[1]!;
  if (/HTTP 40[13]\b/.test(message ?? '')) return 'PrometheusUnauthorized';
  return 'PrometheusUnreachable';
}

function health(status: CanaryDeploymentStatus): Omit<ConditionUpdate, 'observedGeneration'> {
  const last = status.analysis?.last;
  if (status.phase === 'Failed' && status.reason && ROLLBACK_REASONS_OF_HEALTH.has(status.reason)) {
    return { type: 'Healthy', status: 'False', reason: status.reason, message: status.message ?? '' };
  }
  if (status.analysis?.unreachableSince) {
    const why = last?.decision === 'Inconclusive' ? last.message : undefined;
    return {
      type: 'Healthy',
      status: 'Unknown',
      reason: unusableReason(why),
      message: `Prometheus unusable (unreachable, refusing the credentials or misconfigured) since ${status.analysis.unreachableSince}${why ? ` (${why})` : ''}: the release holds, and rolls back after analysis.unreachableTimeout`,
    };
  }
  if (last && (last.decision === 'Rollback' || last.decision === 'Pause')) {
    return {
      type: 'Healthy',
      status: 'False',
      reason: `Metrics${last.decision === 'Pause' ? 'Degraded' : 'Failing'}`,
      message: last.message ?? '',
    };
  }
  if (last?.decision === 'Inconclusive') {
    return {
      type: 'Healthy',
      status: 'Unknown',
      reason: 'NoData',
      message: last.message ?? 'analysis inconclusive',
    };
  }
  return {
    type: 'Healthy',
    status: 'True',
    reason: last ? 'AnalysisHealthy' : 'PodsHealthy',
    message: last?.message ?? '',
  };
}
