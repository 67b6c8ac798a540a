/**
 * What a notification says, as plain data every receiver renders in its own format.
 *
 * One {@link NotificationMessage} per release event; the generic webhook sends it as
 * is (docs/notifications.md), chat receivers turn it into a few lines of text.
 */
import type { CanaryDeployment, NotificationEvent, Phase } from '../api/canary-deployment.ts';

/** The facts of one release event. Unknown facts are left out, never guessed. */
export interface NotificationMessage {
  /** Started, Advanced, Paused, RolledBack or Completed. */
  event: NotificationEvent;
  release: { name: string; namespace: string };
  /** The image being released (`spec.canaryVersion`). */
  version: string;
  /** 1-based number of the current step. */
  step?: number;
  totalSteps?: number;
  /** Canary share of traffic, in percent. */
  weight?: number;
  phase?: Phase;
  /** Machine-readable cause (e.g. `MetricsFailed`). */
  reason?: string;
  /** A sentence for people. */
  message?: string;
  /** When the event happened (RFC 3339). */
  time: string;
}

/** The message for `event` on `release`, from its spec and status. */
export function messageOf(
  event: NotificationEvent,
  release: CanaryDeployment,
  now: Date,
): NotificationMessage {
  const status = release.status ?? {};
  const step = status.currentStepIndex;
  return {
    event,
    release: { name: release.metadata.name ?? '', namespace: release.metadata.namespace ?? '' },
    version: release.spec.canaryVersion,
    ...(step === undefined ? {} : { step: step + 1 }),
    ...(status.totalSteps === undefined ? {} : { totalSteps: status.totalSteps }),
    ...(status.currentWeight === undefined ? {} : { weight: status.currentWeight }),
    ...(status.phase === undefined ? {} : { phase: status.phase }),
    ...(status.reason ? { reason: status.reason } : {}),
    ...(status.message ? { message: status.message } : {}),
    time: now.toISOString(),
  };
}

/** A one-line headline: `Rolled back production/myapp (myapp:v2.0.0)`. */
export function headline(m: NotificationMessage): string {
  return `${EVENT_TITLES[m.event]} ${m.release.namespace}/${m.release.name} (${m.version})`;
}

/** The facts as label/value pairs, in reading order, only those known. */
export function facts(m: NotificationMessage): [label: string, value: string][] {
  const out: [string, string][] = [];
  if (m.step !== undefined)
    out.push(['Step', m.totalSteps === undefined ? String(m.step) : `${m.step}/${m.totalSteps}`]);
  if (m.weight !== undefined) out.push(['Canary weight', `${m.weight}%`]);
  if (m.phase) out.push(['Phase', m.phase]);
  if (m.reason) out.push(['Reason', m.reason]);
  return out;
}

/** How bad the event is, for receivers that colour messages. */
export function severity(event: NotificationEvent): 'good' | 'info' | 'warning' | 'danger' {
  switch (event) {
    case 'Completed':
      return 'good';
    case 'Started':
    case 'Advanced':
      return 'info';
    case 'Paused':
      return 'warning';
    case 'RolledBack':
      return 'danger';
  }
}

const EVENT_TITLES: Record<NotificationEvent, string> = {
  Started: 'Release started:',
  Advanced: 'Release advanced:',
  Paused: 'Release paused:',
  RolledBack: 'Rolled back:',
  Completed: 'Release completed:',
};
