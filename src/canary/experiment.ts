/**
 * How an experiment (strategy.type Experiment, src/strategy/experiment.ts) is judged.
 *
 * An experiment is one step held for its duration. Analyses before the deadline guard
 * the canary as on any step (a breach rolls back early). The first analysis that starts
 * at or after the deadline is the **final judgment**: its queries look back over the
 * whole duration (`rate(...[duration])`, both sides over the same window), and its
 * result decides at once, whatever the streak thresholds say:
 *
 * | outcome of the final judgment | verdict | reason |
 * |---|---|---|
 * | healthy | promote | `ExperimentPassed` |
 * | failed or degraded | roll back (a pause when autoRollback is off) | `ExperimentFailed` |
 * | no data | pause: a person decides (`codedance promote --full` or `abort`); a later analysis with data decides too | `ExperimentInconclusive` |
 * | Prometheus unreachable | as any analysis: hold, rolled back after unreachableTimeout | `PrometheusUnreachable` |
 *
 * Pure: the state lives in status (`pauseUntil`, `analysis.last`).
 */
import type { CanaryDeployment, CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import type { Outcome } from '../analysis/decision.ts';
import type { VerdictResult } from '../analysis/verdict.ts';
import { experimentStep, formatDuration } from '../strategy/index.ts';

/** True when `cd` is an experiment and a round started at `time` (RFC 3339) is its final judgment. */
export function isFinalJudgment(cd: Pick<CanaryDeployment, 'spec' | 'status'>, time: string | Date): boolean {
  if (cd.spec.strategy?.type !== 'Experiment') return false;
  return judgedAfterDeadline(cd.status, time);
}

/** The window of the final judgment: the experiment's whole duration (undefined when not an experiment). */
export function experimentWindowMs(cd: Pick<CanaryDeployment, 'spec'>): number | undefined {
  if (cd.spec.strategy?.type !== 'Experiment') return undefined;
  const ms = experimentStep(cd.spec.strategy)?.pauseMs;
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** Turns the verdict of a final judgment into the experiment's decision (see the table above). */
export function judgeExperiment(
  cd: Pick<CanaryDeployment, 'spec'>,
  outcome: Outcome,
  verdict: VerdictResult,
  runMessage?: string,
): VerdictResult {
  const e = cd.spec.strategy?.experiment;
  const what = e
    ? `experiment over (${e.weight}% for ${formatDuration(experimentWindowMs(cd) ?? 0)})`
    : 'experiment over';
  // The round's own words (which check, both sides' numbers), not the streak's: the end decides alone.
  const detail = runMessage ?? verdict.message;
  switch (outcome) {
    case 'healthy':
      return {
        ...verdict,
        verdict: 'advance-allowed',
        reason: 'ExperimentPassed',
        message: `${what}: the canary passed, promoting; ${detail}`,
      };
    case 'failed':
    case 'degraded': {
      const auto = cd.spec.autoRollback;
      const enabled = (auto?.enabled ?? true) && (auto?.onMetricsFail ?? true);
      const message = `${what}: the canary did worse, ${enabled ? 'rolling back' : 'not rolled back: automatic rollback on metrics is off'}; ${detail}`;
      return { ...verdict, verdict: enabled ? 'rollback' : 'pause', reason: 'ExperimentFailed', message };
    }
    case 'inconclusive':
      return {
        ...verdict,
        verdict: 'pause',
        reason: 'ExperimentInconclusive',
        message: `${what}: no decision without data (${detail}); the next analysis with data decides, or \`codedance promote --full\` promotes and \`codedance abort\` rolls back`,
      };
    case 'unreachable':
      return verdict;
  }
}

/** Whether the experiment's final judgment passed (the condition to promote it). */
export function experimentPassed(status: CanaryDeploymentStatus): boolean {
  const last = status.analysis?.last;
  return last !== undefined && last.decision === 'Continue' && judgedAfterDeadline(status, last.time);
}

function judgedAfterDeadline(status: CanaryDeploymentStatus | undefined, time: string | Date): boolean {
  const deadline = status?.pauseUntil ? Date.parse(status.pauseUntil) : NaN;
  const at = typeof time === 'string' ? Date.parse(time) : time.getTime();
  return (
    (status?.currentStepIndex ?? 0) === 0 && !Number.isNaN(deadline) && !Number.isNaN(at) && at >= deadline
  );
}
