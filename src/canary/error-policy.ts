/**
 * What the canary controller does with an error a reconcile ends in: the one table that
 * maps each error to a condition, a Warning Event and either a retry or a stop. The
 * reconciler's `errorPolicy` (kube-runtime's `error_policy`) carries it out.
 *
 * - `retry`: the condition goes False with the error and what to do about it, a Warning
 *   Event says the same, and the reconcile is retried with the key's exponential backoff
 *   (1s doubling to 5 minutes). The release holds where it is: the failed write moved no
 *   traffic, and what the canary already had stays on a canary that still has its pods.
 * - `stop`: retrying cannot help (the spec or the status asks for something that cannot
 *   be done). An active release is stopped like a rollback: all traffic back to stable
 *   through the provider and objects recorded when it started, then phase Failed with
 *   the reason, then the canary goes. Nothing more happens until the object changes
 *   (`codedance retry`, a new canaryVersion, a fixed spec).
 *
 * The API server's refusals of a request of the controller (a 403: a full ResourceQuota,
 * a denying webhook, a missing right; a 400 or 422: an admission policy, a LimitRange)
 * are retried the same way, with the `Ready` condition and a Warning Event saying which
 * request was refused and why: the release holds where it is until the cause is gone.
 *
 * Errors the table does not name (the API server unreachable or overloaded, a 500...)
 * are transient: retried with backoff and logged by the runtime's default policy (a
 * status write could not say more while the API server fails).
 */
import type { TrafficErrorKind } from '../traffic/index.ts';
import { isTrafficError } from '../traffic/index.ts';
import { KubeApiError } from '../runtime/api-error.ts';
import { isTerminal, describeError } from '../runtime/errors.ts';

/** Condition a traffic error sets False (True again once the traffic is as the release wants). */
export const TrafficCondition = 'TrafficReady';

/**
 * Condition an invalid spec (with the default policy, when no release is running) or a
 * refused API request sets False; the release's next status sets it again.
 */
export const SpecCondition = 'Ready';

/** One row of the table. */
export interface ErrorRule {
  /** PascalCase reason of the condition and of the Warning Event. */
  reason: string;
  then: 'retry' | 'stop';
  /** What the user should do, said after the error in the condition and the Event. */
  advice: string;
}

/** Every {@link TrafficErrorKind}, and what the controller does with it. */
export const trafficErrorRules: Readonly<Record<TrafficErrorKind, ErrorRule>> = {
  InvalidTarget: {
    reason: 'TrafficInvalidTarget',
    then: 'stop',
    advice:
      'the release asks the provider for something it cannot do (a weight outside 0-100, a missing traffic block); retrying cannot fix it, so the release stopped with all traffic on stable. Fix the spec or status and run `codedance retry`',
  },
  NotFound: {
    reason: 'TrafficObjectNotFound',
    then: 'retry',
    advice:
      'create it or fix its name in spec.traffic; no traffic moved, and the release goes on once it exists (retried with backoff)',
  },
  NoRoutes: {
    reason: 'TrafficNoRoutes',
    then: 'retry',
    advice:
      'give it a route to the stable Service (or fix traffic.istio.routes); no traffic moved, retried with backoff',
  },
  UnsupportedRoute: {
    reason: 'TrafficUnsupportedRoute',
    then: 'retry',
    advice:
      'nothing was written: split the route so the stable Service has one of its own; retried with backoff',
  },
  NameTaken: {
    reason: 'TrafficNameTaken',
    then: 'retry',
    advice:
      'it was not changed and no traffic moved: rename or remove it (or pick other names in the spec); retried with backoff',
  },
  Conflict: {
    reason: 'TrafficConflict',
    then: 'retry',
    advice: 'someone else keeps writing the object; retried with backoff',
  },
  ReadBackMismatch: {
    reason: 'TrafficReadBackMismatch',
    then: 'retry',
    advice:
      'the API server stored something other than what was written: a mutating admission policy or webhook, or another controller, rewrites it; retried with backoff',
  },
};

/** The API server's refusals the table names, by HTTP status: 403, and 400 or 422. */
export type ApiRefusal = 'Forbidden' | 'Rejected';

/** Every {@link ApiRefusal}, and what the controller does with it. */
export const apiRefusalRules: Readonly<Record<ApiRefusal, ErrorRule>> = {
  Forbidden: {
    reason: 'ApiForbidden',
    then: 'retry',
    advice:
      "the API server forbade the controller's request (a full ResourceQuota, a denying admission webhook, or a right the controller's role lacks: see deploy/rbac.yaml); the release holds where it is and goes on once that is fixed (retried with backoff)",
  },
  Rejected: {
    reason: 'ApiRejected',
    then: 'retry',
    advice:
      'the API server rejected what the controller wrote (an admission policy or webhook, a LimitRange); the release holds where it is and goes on once the policy lets it through (retried with backoff)',
  },
};

/** The refusal `err` is, or undefined for any other error (a transport failure, a 5xx, a 409...). */
export function apiRefusalOf(err: unknown): ApiRefusal | undefined {
  if (!(err instanceof KubeApiError)) return undefined;
  if (err.statusCode === 403) return 'Forbidden';
  if (err.statusCode === 400 || err.statusCode === 422) return 'Rejected';
  return undefined;
}

/** What to do about one error: the rule, the condition it sets, and the full message. */
export interface ErrorDecision extends ErrorRule {
  condition: string;
  /** The error and the advice, for the condition, the Event and the status message. */
  message: string;
}

/**
 * The decision for `err`, or `undefined` for errors the table leaves to the runtime's
 * default policy (retried with backoff).
 */
export function decideError(err: unknown): ErrorDecision | undefined {
  if (isTrafficError(err)) {
    const rule = trafficErrorRules[err.kind];
    return { ...rule, condition: TrafficCondition, message: `${describeError(err)}: ${rule.advice}` };
  }
  const refusal = apiRefusalOf(err);
  if (refusal) {
    const rule = apiRefusalRules[refusal];
    return { ...rule, condition: SpecCondition, message: `${describeError(err)}: ${rule.advice}` };
  }
  if (isTerminal(err)) {
    // A spec the controller cannot run (the schema could not refuse it).
    return {
      reason: err.reason,
      then: 'stop',
      condition: SpecCondition,
      advice: '',
      message: describeError(err),
    };
  }
  return undefined;
}
