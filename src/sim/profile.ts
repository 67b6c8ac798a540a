/**
 * How each simulated version behaves: its error rate and latency, and how much
 * traffic its service receives.
 *
 * Profiles are keyed by namespace and a name, which may be the CanaryDeployment's name
 * or its target Deployment's, so a test can address a service by whichever it holds.
 * An update only changes the fields it carries; a version left out applies to both.
 */
import { EVENT_NAME } from './business.ts';
import type { Version } from './labels.ts';

/** Latency of one version, as two points of its distribution, in milliseconds. */
export interface LatencyProfile {
  p50: number;
  p99: number;
}

/** Behaviour of one version of a service. */
export interface VersionProfile {
  /** Share of requests answered with a 5xx, 0 to 1. */
  errorRate: number;
  latencyMs: LatencyProfile;
  /** CPU each pod uses, in cores (cAdvisor series, ./resources.ts). @default 0.05 */
  cpuCores?: number;
  /** Working-set memory of each pod when it starts, in MiB. @default 64 */
  memoryMiB?: number;
  /** Memory each pod gains per minute it runs, in MiB (a leak). @default 0 */
  memoryLeakMiBPerMinute?: number;
  /** Business events per request, by name (e.g. `{ impressions: 1, conversions: 0.05 }`; ./business.ts). @default none */
  business?: Record<string, number>;
}

/** Defaults: a healthy service. */
export const healthyProfile: Readonly<VersionProfile> = Object.freeze({
  errorRate: 0.001,
  latencyMs: Object.freeze({ p50: 20, p99: 80 }),
});

/** A change to a service's profile, as posted to `POST /profiles` or given to `setProfile`. */
export interface ProfileUpdate {
  namespace: string;
  /** The CanaryDeployment's name or its target Deployment's. */
  name: string;
  /** The version to change; both when unset. */
  version?: Version;
  errorRate?: number;
  latencyMs?: Partial<LatencyProfile>;
  /** Requests per second of the whole service (before the split by weight). */
  rps?: number;
  cpuCores?: number;
  memoryMiB?: number;
  memoryLeakMiBPerMinute?: number;
  /** Business events per request, merged by name into the version's (./business.ts). */
  business?: Record<string, number>;
}

/** What is stored for one service: its overrides per version and its rate. */
export interface ServiceProfile {
  namespace: string;
  name: string;
  rps?: number;
  stable: VersionProfile;
  canary: VersionProfile;
}

/** The profiles of every service that has been told something. */
export interface ProfileBook {
  /** Applies an update; returns the service's resulting profile. */
  set(update: ProfileUpdate): ServiceProfile;
  /** Forgets a service's overrides (or every service's, when `namespace` is unset). */
  reset(namespace?: string, name?: string): void;
  /** The profile that applies to a service known by any of `names` (first match wins). */
  resolve(namespace: string, names: readonly string[]): ServiceProfile | undefined;
  list(): ServiceProfile[];
}

/**
 * Checks a posted update and returns it typed, or a message saying what is wrong.
 * Every check names the field so a caller fixing a script sees what to change.
 */
export function parseProfileUpdate(body: unknown): ProfileUpdate | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { error: 'body must be a JSON object' };
  const input = body as Record<string, unknown>;
  const { namespace, name, version, errorRate, latencyMs, rps } = input;
  const resources: Partial<Record<'cpuCores' | 'memoryMiB' | 'memoryLeakMiBPerMinute', number>> = {};
  for (const key of ['cpuCores', 'memoryMiB', 'memoryLeakMiBPerMinute'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
      return { error: `${key} must be a number >= 0` };
    resources[key] = value;
  }
  let business: Record<string, number> | undefined;
  if (input['business'] !== undefined) {
    const given = input['business'];
    if (typeof given !== 'object' || given === null || Array.isArray(given))
      return {
        error: 'business must be an object of event name to events per request, e.g. {"conversions": 0.05}',
      };
    business = {};
    for (const [event, rate] of Object.entries(given)) {
      if (!EVENT_NAME.test(event))
        return {
          error: `business: ${JSON.stringify(event)} is not an event name (letters, digits and _, not starting with a digit)`,
        };
      if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1000))
        return { error: `business.${event} must be a number of events per request from 0 to 1000` };
      business[event] = rate;
    }
  }
  if (typeof namespace !== 'string' || namespace === '')
    return { error: 'namespace must be a non-empty string' };
  if (typeof name !== 'string' || name === '') return { error: 'name must be a non-empty string' };
  const update: ProfileUpdate = { namespace, name };
  if (version !== undefined) {
    if (version !== 'stable' && version !== 'canary')
      return { error: "version must be 'stable' or 'canary'" };
    update.version = version;
  }
  if (errorRate !== undefined) {
    if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1))
      return { error: 'errorRate must be a number from 0 to 1' };
    update.errorRate = errorRate;
  }
  if (latencyMs !== undefined) {
    if (typeof latencyMs !== 'object' || latencyMs === null)
      return { error: 'latencyMs must be an object { p50, p99 }' };
    const { p50, p99 } = latencyMs as Record<string, unknown>;
    const latency: Partial<LatencyProfile> = {};
    for (const [key, value] of [
      ['p50', p50],
      ['p99', p99],
    ] as const) {
      if (value === undefined) continue;
      if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
        return { error: `latencyMs.${key} must be a positive number of milliseconds` };
      latency[key] = value;
    }
    update.latencyMs = latency;
  }
  if (rps !== undefined) {
    if (typeof rps !== 'number' || !(rps >= 0) || !Number.isFinite(rps))
      return { error: 'rps must be a number >= 0' };
    update.rps = rps;
  }
  return { ...update, ...resources, ...(business ? { business } : {}) };
}

/** Creates an empty book; services not in it behave as `defaults`. */
export function createProfileBook(defaults: VersionProfile = healthyProfile): ProfileBook {
  const services = new Map<string, ServiceProfile>();
  const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

  function apply(current: VersionProfile, update: ProfileUpdate): VersionProfile {
    const latencyMs = { ...current.latencyMs, ...update.latencyMs };
    // A p99 below the median makes no distribution; lift it rather than refuse a partial update.
    if (latencyMs.p99 < latencyMs.p50) latencyMs.p99 = latencyMs.p50;
    const resources = Object.fromEntries(
      (['cpuCores', 'memoryMiB', 'memoryLeakMiBPerMinute'] as const).flatMap((key) => {
        const value = update[key] ?? current[key];
        return value === undefined ? [] : [[key, value]];
      }),
    );
    const business =
      update.business || current.business ? { business: { ...current.business, ...update.business } } : {};
    return { errorRate: update.errorRate ?? current.errorRate, latencyMs, ...resources, ...business };
  }

  return {
    set(update) {
      const key = keyOf(update.namespace, update.name);
      const current = services.get(key) ?? {
        namespace: update.namespace,
        name: update.name,
        stable: cloneProfile(defaults),
        canary: cloneProfile(defaults),
      };
      const next: ServiceProfile = {
        ...current,
        stable: update.version === 'canary' ? current.stable : apply(current.stable, update),
        canary: update.version === 'stable' ? current.canary : apply(current.canary, update),
      };
      if (update.rps !== undefined) next.rps = update.rps;
      services.set(key, next);
      return next;
    },
    reset(namespace, name) {
      if (namespace === undefined) services.clear();
      else if (name !== undefined) services.delete(keyOf(namespace, name));
      else for (const [key, profile] of services) if (profile.namespace === namespace) services.delete(key);
    },
    resolve(namespace, names) {
      for (const name of names) {
        const found = services.get(keyOf(namespace, name));
        if (found) return found;
      }
      return undefined;
    },
    list() {
      return [...services.values()];
    },
  };
}

function cloneProfile(profile: VersionProfile): VersionProfile {
  return {
    ...profile,
    latencyMs: { ...profile.latencyMs },
    ...(profile.business ? { business: { ...profile.business } } : {}),
  };
}
