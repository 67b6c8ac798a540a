/**
 * What in a release's spec the controller refuses to act on, although the schema lets
 * it through: addresses that would let one release reach where the operator did not
 * allow (pure; the reconciler reports them).
 *
 * - `PrometheusNotAllowed`: `metrics.provider.address` is not on the allow-list
 *   (`--prometheus-url`, `--allowed-prometheus-url`). It blocks the release: nothing
 *   is judged against that address, so no traffic moves and nothing promotes (see
 *   `obs.blocked` in ./phases.ts).
 * - `NotificationURLRefused`: a `notifications[].url` points at a cluster-internal host
 *   (../notify/url-policy.ts) and the controller runs without
 *   `--allow-internal-notification-urls`. That receiver is left out; the release goes on.
 *   (URLs held in Secrets are judged when sent, and reported by an Event.)
 *
 * Both are reported in the `Accepted` condition (False, with the first refusal's reason,
 * every refusal in the message) and a Warning Event when that condition changes.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { PrometheusAllowList } from '../analysis/allowed.ts';
import { refuseNotificationUrl } from '../notify/url-policy.ts';
import type { ConditionUpdate } from '../runtime/conditions.ts';

/** The condition type reporting refusals. */
export const AcceptedCondition = 'Accepted';

/** One refused field. */
export interface Refusal {
  /** Path of the field, e.g. `spec.notifications[1].url`. */
  field: string;
  reason: 'PrometheusNotAllowed' | 'NotificationURLRefused';
  message: string;
  /** Whether the release may not proceed while this stands. */
  blocks: boolean;
}

/** The operator's limits on what a release may point at. */
export interface AdmissionPolicy {
  prometheus: PrometheusAllowList;
  /** `--allow-internal-notification-urls` @default false */
  allowInternalNotificationUrls?: boolean | undefined;
}

/** What the controller refuses in `cd`'s spec (empty when everything is acceptable). */
export function refusals(cd: CanaryDeployment, policy: AdmissionPolicy): Refusal[] {
  const out: Refusal[] = [];
  const address = cd.spec.metrics?.provider?.address;
  if (address !== undefined) {
    const decision = policy.prometheus.check(address);
    if (!decision.allowed)
      out.push({
        field: 'spec.metrics.provider.address',
        reason: 'PrometheusNotAllowed',
        message: decision.message,
        blocks: true,
      });
  }
  if (!policy.allowInternalNotificationUrls) {
    for (const [index, receiver] of (cd.spec.notifications ?? []).entries()) {
      if (receiver.url === undefined) continue;
      const why = refuseNotificationUrl(receiver.url.trim());
      if (why)
        out.push({
          field: `spec.notifications[${index}].url`,
          reason: 'NotificationURLRefused',
          message: `${receiver.name ?? receiver.type}: ${why}`,
          blocks: false,
        });
    }
  }
  return out;
}

/** The `Accepted` condition for `found`. */
export function acceptedCondition(found: readonly Refusal[], generation: number): ConditionUpdate {
  const first = found[0];
  if (!first)
    return {
      type: AcceptedCondition,
      status: 'True',
      reason: 'Accepted',
      message: 'every address in the spec is allowed',
      observedGeneration: generation,
    };
  return {
    type: AcceptedCondition,
    status: 'False',
    reason: first.reason,
    message: found.map((r) => `${r.field}: ${r.message}`).join('; '),
    observedGeneration: generation,
  };
}
