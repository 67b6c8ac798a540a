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
 */
import type { CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import { mergeConditions, type ConditionUpdate } from '../runtime/conditions.ts';

const ROLLBACK_REASONS_OF_HEALTH = new Set(['PodCrashLoop', 'PodOOMKilled', 'PodNotReady', 'MetricsFailed', 'PrometheusUnreachableTimeout', 'NoDataLimitReached', 'MetricsDegraded']);

/** `status` with its conditions brought up to date. */
export function withConditions(status: CanaryDeploymentStatus, generation: number, now: Date): CanaryDeploymentStatus {
  const phase = status.phase ?? 'Initializing';
  const reason = status.reason ?? phase;
  const message = status.message ?? '';
  const active = phase === 'Initializing' || phase === 'Progressing' || phase === 'Paused';
  const updates: ConditionUpdate[] = [
    { type: 'Progressing', status: active ? 'True' : 'False', reason, message, observedGeneration: generation },
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
  ];
  return { ...status, conditions: mergeConditions(status.conditions, updates, now) };
}

function health(status: CanaryDeploymentStatus): Omit<ConditionUpdate, 'observedGeneration'> {
  const last = status.analysis?.last;
  if (status.phase === 'Failed' && status.reason && ROLLBACK_REASONS_OF_HEALTH.has(status.reason)) {
    return { type: 'Healthy', status: 'False', reason: status.reason, message: status.message ?? '' };
  }
  if (status.analysis?.unreachableSince) {
    return { type: 'Healthy', status: 'Unknown', reason: 'PrometheusUnreachable', message: `Prometheus unreachable since ${status.analysis.unreachableSince}: the release holds, and rolls back after analysis.unreachableTimeout` };
  }
  if (last && (last.decision === 'Rollback' || last.decision === 'Pause')) {
    return { type: 'Healthy', status: 'False', reason: `Metrics${last.decision === 'Pause' ? 'Degraded' : 'Failing'}`, message: last.message ?? '' };
  }
  if (last?.decision === 'Inconclusive') {
    return { type: 'Healthy', status: 'Unknown', reason: 'NoData', message: last.message ?? 'analysis inconclusive' };
  }
  return { type: 'Healthy', status: 'True', reason: last ? 'AnalysisHealthy' : 'PodsHealthy', message: last?.message ?? '' };
}
