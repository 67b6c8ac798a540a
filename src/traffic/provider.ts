/**
 * The traffic provider contract: how a release moves a share of live traffic to the
 * canary, whatever carries that traffic (Istio, ingress-nginx, Gateway API, or plain
 * replica counts behind one Service).
 *
 * A provider is a plain object made by a factory (`src/traffic/<name>.ts`); it keeps no
 * state between calls. Everything it needs arrives in a {@link TrafficTarget}, so the
 * reconciler can call any method at any time, after any restart, and get the same result
 * (level-triggered, idempotent).
 *
 * Guarantees every provider keeps (checked by `test/integration/traffic/conformance.ts`):
 * - `setWeight` writes only when something changes: the same weight twice leaves every
 *   object's resourceVersion as it was;
 * - what is written is read back and checked: the API server's answer to the write is
 *   the object as stored (after admission, defaulting and any mutating webhook), and one
 *   that does not carry what was asked rejects with a {@link TrafficError} of kind
 *   `ReadBackMismatch` (a separate GET would see the same object, one request later);
 * - objects and parts of objects that are not the release's (other routes, other
 *   subsets, other rules) are never changed;
 * - `reset` is safe while canary pods still run: it sends 100% to stable, it does not
 *   route to "the Service" in general.
 */
import type { TrafficProviderName, TrafficSpec } from '../api/canary-deployment.ts';
import type { KubeClient, KubeObject, OwnerReference } from '../runtime/client.ts';
import type { ResourceKind } from '../runtime/kinds.ts';
import { apiVersionOf } from '../runtime/kinds.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import type { RouteOptions } from './match.ts';

export type { RouteOptions } from './match.ts';

export type { TrafficProviderName } from '../api/canary-deployment.ts';

/**
 * Everything a provider needs to know about one release, as plain data. The reconciler
 * builds it from the CanaryDeployment, its status and the objects it made.
 */
export interface TrafficTarget {
  /** Namespace of the CanaryDeployment and of every object involved. */
  namespace: string;
  /** The CanaryDeployment: owner of the objects a provider creates (garbage collected with it). */
  owner: { name: string; uid: string };
  /**
   * The stable Service the users' traffic is addressed to. Routes are recognised by its
   * name; the providers keep the port each route already names, `port` is informational.
   */
  service: { name: string; port: number };
  /** Service that selects only the canary pods (Nginx and Gateway API send the canary share to it). */
  canaryService: string;
  /** The user's Deployment, which keeps running the stable version. */
  stableDeployment: string;
  /** The canary Deployment the controller made (by convention `<target>-canary`). */
  canaryDeployment: string;
  /** The CanaryDeployment's `spec.traffic` (which provider, which objects). */
  traffic: TrafficSpec;
  /**
   * Pod labels that tell the versions apart: each must select only its own version's
   * pods (Istio turns them into DestinationRule subsets, so the stable one must be a
   * label the canary pods lack: the canary controller gives the `pod-template-hash` of
   * the stable Deployment's current ReplicaSet, which no canary pod carries).
   */
  selectors: { stable: Record<string, string>; canary: Record<string, string> };
  /**
   * Replicas of the stable Deployment when the release started (store it in status: once
   * the Replicas provider has scaled stable down, it cannot be read back from the cluster).
   * Required by the Replicas provider, ignored by the others.
   */
  totalReplicas?: number;
}

/** What a weight change did. */
export interface WeightChange {
  /** False when every object already carried the weight, so nothing was written. */
  changed: boolean;
  /**
   * The canary weight now in force, as read back. Equal to the requested weight except
   * with the Replicas provider, where it is the replica ratio (e.g. 10% of 4 pods is 1
   * pod, 25%).
   */
  weight: number;
}

/** The contract every traffic provider implements. Its methods reject, never throw. */
export interface TrafficProvider {
  readonly name: TrafficProviderName;
  /**
   * Creates or completes what later calls rely on (DestinationRule subsets, the canary
   * Ingress at weight 0, ...). Idempotent; call it on every reconcile of a release
   * before `setWeight`, it writes nothing when all is in place.
   */
  prepare(target: TrafficTarget): Promise<void>;
  /**
   * Sends `canaryWeight` percent (an integer 0-100) of the traffic to the canary, and
   * with `options` the requests that match (`match`) and a mirrored share (`mirror`);
   * what `options` leaves out is removed (a step without a match drops the previous
   * step's). A provider without the capability (`capabilities.requestMatch`, `mirror`)
   * rejects them with `InvalidTarget`.
   */
  setWeight(target: TrafficTarget, canaryWeight: number, options?: RouteOptions): Promise<WeightChange>;
  /**
   * The canary weight in force, or `undefined` when the provider's objects do not tell
   * (the routed object is missing, or has no route of the release). When several routes
   * disagree (someone edited one), the highest canary weight: the exposure that counts.
   * Routes that only carry matching requests do not count.
   */
  readWeight(target: TrafficTarget): Promise<number | undefined>;
  /**
   * 100% of the traffic to stable, at once, no match nor mirror left; safe while canary pods still run (rollback
   * calls it first, then removes the canary). Removes whatever can go without routing
   * to canary pods (the canary Ingress; the canary backendRef).
   */
  reset(target: TrafficTarget): Promise<WeightChange>;
  /**
   * Removes every trace `prepare` and `setWeight` left, restoring the user's objects to a
   * plain shape. Call it after `reset` once the canary pods are gone: with Istio it points
   * the routes back at the whole Service, which would reach canary pods still running.
   */
  cleanup(target: TrafficTarget): Promise<void>;
}

/** Reads one object; `undefined` when it does not exist. */
export type ObjectReader = <T extends KubeObject>(
  kind: ResourceKind<T>,
  namespace: string,
  name: string,
) => Promise<T | undefined>;

/** Options every provider factory takes. */
export interface TrafficProviderOptions {
  /** Client with the controller's identity; every write goes through it. */
  client: KubeClient;
  /**
   * How many times a read-modify-write is retried after a 409 Conflict (someone else
   * wrote the object between our read and our write).
   * @default 5
   */
  conflictRetries?: number;
  /**
   * Where a provider's first read of an object comes from: a cache its caller keeps
   * current (the canary controller's reference cache of the Deployments a release names),
   * falling back to a GET for what it does not hold. The guarded updates re-read with a
   * GET after a 409, so a cache a write behind costs a retry, never a lost edit.
   * @default a GET through `client`
   */
  read?: ObjectReader;
}

/**
 * Why a provider call failed, and so what the caller does next (the canary controller's
 * table of condition, Event and retry-or-stop per kind is `src/canary/error-policy.ts`):
 * - `InvalidTarget`: the target lacks what the provider needs (no `traffic.istio`, no
 *   `totalReplicas`, a weight outside 0-100): a spec or controller bug; do not retry.
 * - `NotFound`: an object the spec names does not exist: report it, retry with backoff
 *   (the user may create it).
 * - `NoRoutes`: the routed object has no route/rule/path that sends traffic to the
 *   stable Service (or a named route is missing): report, retry with backoff.
 * - `UnsupportedRoute`: a route of the release also sends traffic elsewhere, so no
 *   weight split can be written without changing someone else's share: report it.
 * - `NameTaken`: an object the provider would make (the canary Ingress) exists and is
 *   not the release's: it is never overwritten nor deleted; report it.
 * - `Conflict`: the object kept changing under us for every retry: retry later.
 * - `ReadBackMismatch`: the API server kept something other than what was written
 *   (a mutating webhook, another controller): retry later, and say so.
 */
export type TrafficErrorKind =
  | 'InvalidTarget'
  | 'NotFound'
  | 'NoRoutes'
  | 'UnsupportedRoute'
  | 'NameTaken'
  | 'Conflict'
  | 'ReadBackMismatch';

/** The one error type of the traffic layer; the message starts with the provider's name. */
export class TrafficError extends Error {
  readonly kind: TrafficErrorKind;
  readonly provider: TrafficProviderName;
  constructor(
    provider: TrafficProviderName,
    kind: TrafficErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: ${message}`, options);
    this.name = 'TrafficError';
    this.kind = kind;
    this.provider = provider;
  }
}

/** True when `err` is a {@link TrafficError}, of the given kind if one is named. */
export function isTrafficError(err: unknown, kind?: TrafficErrorKind): err is TrafficError {
  return err instanceof TrafficError && (kind === undefined || err.kind === kind);
}

/** Rejects weights that are not an integer percentage; every provider calls it first. */
export function checkWeight(provider: TrafficProviderName, weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new TrafficError(
      provider,
      'InvalidTarget',
      `weight must be an integer from 0 to 100, got ${weight}`,
    );
  }
}

/** The reader a provider uses: `options.read`, else a GET through the client. */
export function readerOf(options: TrafficProviderOptions): ObjectReader {
  return options.read ?? ((kind, namespace, name) => options.client.get(kind, namespace, name));
}

/** The ownerReference that ties an object a provider creates to its CanaryDeployment. */
export function ownerReference(target: TrafficTarget): OwnerReference {
  return {
    apiVersion: apiVersionOf(CanaryDeploymentKind),
    kind: CanaryDeploymentKind.kind,
    name: target.owner.name,
    uid: target.owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Refuses `options` a provider lacks the capability for (the schema and the release's
 * settings refuse them first; this is the provider's own guard).
 */
export function refuseUnsupported(
  provider: TrafficProviderName,
  options: RouteOptions | undefined,
  supports: { match: boolean; mirror: boolean },
): void {
  if (options?.match?.length && !supports.match)
    throw new TrafficError(provider, 'InvalidTarget', 'cannot route requests by header or cookie');
  if (options?.mirror && !supports.mirror)
    throw new TrafficError(provider, 'InvalidTarget', 'cannot mirror traffic');
}
