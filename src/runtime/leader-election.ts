/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection).
 *
 * - A candidate takes the lease when it is free (no holder) or when the holder has not
 *   renewed it for `leaseDurationMs`, measured on this process's own clock from the last
 *   time it saw the lease change (so clock skew between machines does not matter).
 * - The leader renews every `retryPeriodMs`; if it cannot renew for `renewDeadlineMs`, it
 *   has lost the lease and `onStoppedLeading` runs (the process should exit, as
 *   controller-runtime does: another leader may already be acting).
 * - `release()` hands the lease over at once: holder cleared, duration 1s.
 * - Every API call is bounded by `apiTimeoutMs` (half the renew deadline), so one hung
 *   request cannot eat the whole renew deadline.
 * Writes are optimistic (resourceVersion): two candidates never both win one round.
 */
import { isConflict, resourcePath, type KubeClient, type KubeObject } from './client.ts';
import { Lease, apiVersionOf } from './kinds.ts';
import { realClock, sleep, type Clock } from './clock.ts';
import { formatMicroTime } from './events.ts';
import { RuntimeError, describeError } from './errors.ts';
import type { Logger } from './logging.ts';

/** A Lease object. */
export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** Failed steps of leader election. */
export type LeaderElectionErrorKind = 'GetLease' | 'CreateLease' | 'UpdateLease' | 'Timeout';

/** An error of one election round (logged; the election keeps going). */
export class LeaderElectionError extends RuntimeError<LeaderElectionErrorKind> {
  constructor(kind: LeaderElectionErrorKind, message: string, cause?: unknown) {
    super(kind, message, cause);
    this.name = 'LeaderElectionError';
  }
}

/** Election settings. `undefined` means unset. */
export interface LeaderElectionOptions {
  /** Client for the Lease calls; give it a request timeout of `apiTimeoutMs`. */
  client: KubeClient;
  /** Lease namespace. */
  namespace: string;
  /** Lease name (explicit: two deployments must not share one by accident). */
  name: string;
  /** Unique per process: hostname plus a random id. */
  identity: string;
  /** @default 15000 */
  leaseDurationMs?: number;
  /** @default 10000 */
  renewDeadlineMs?: number;
  /** @default 2000 */
  retryPeriodMs?: number;
  /** Timeout of each Lease API call. @default renewDeadlineMs / 2 */
  apiTimeoutMs?: number;
  clock?: Clock;
  log?: Logger;
  /** This process became the leader. */
  onStartedLeading(): void;
  /** This process lost the lease (not called after `release`). */
  onStoppedLeading(): void;
  /** Someone (maybe this process) was seen holding the lease. */
  onNewLeader?(identity: string): void;
}

/** A running election. */
export interface LeaderElector {
  /** Campaigns, then renews, until `signal` aborts or the lease is lost. */
  run(signal: AbortSignal): Promise<void>;
  isLeader(): boolean;
  /** Gives the lease up (if held) so another candidate takes over at once. */
  release(): Promise<void>;
}

/** Resolved timing of an election. */
export interface LeaderElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  apiTimeoutMs: number;
}

/** Fills in the election defaults (the only place they live) and checks their order. */
export function resolveLeaderElectionTiming(options: Partial<LeaderElectionTiming>): LeaderElectionTiming {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
    throw new Error(
      `leader election needs leaseDuration > renewDeadline > retryPeriod > 0 (got ${leaseDurationMs}, ${renewDeadlineMs}, ${retryPeriodMs})`,
    );
  }
  return {
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    apiTimeoutMs: options.apiTimeoutMs ?? renewDeadlineMs / 2,
  };
}

/** Creates an elector (call `run` to campaign). */
export function createLeaderElector(options: LeaderElectionOptions): LeaderElector {
  const clock = options.clock ?? realClock;
  const timing = resolveLeaderElectionTiming(options);
  const path = resourcePath(Lease, options.namespace, options.name);
  let leading = false;
  let released = false;
  /** Last lease record seen and when (our clock) it was first seen. */
  let observed: { record: string; at: number; holder: string } | undefined;
  let lastLeader = '';

  function bounded<V>(what: string, promise: Promise<V>): Promise<V> {
    return new Promise((resolve, reject) => {
      const cancel = clock.setTimer(timing.apiTimeoutMs, () =>
        reject(new LeaderElectionError('Timeout', `${what}: no answer within ${timing.apiTimeoutMs}ms`)),
      );
      promise.then(
        (v) => {
          cancel();
          resolve(v);
        },
        (e: unknown) => {
          cancel();
          reject(e);
        },
      );
    });
  }

  function spec(
    now: number,
    previous: LeaseObject['spec'],
    keepAcquire: boolean,
  ): NonNullable<LeaseObject['spec']> {
    return {
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000),
      acquireTime: keepAcquire && previous?.acquireTime ? previous.acquireTime : formatMicroTime(now),
      renewTime: formatMicroTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (keepAcquire ? 0 : 1),
    };
  }

  /** One round: true when this process holds the lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = clock.now();
    let lease: LeaseObject | undefined;
    try {
      lease = await bounded(
        'get lease',
        options.client.get<LeaseObject>(Lease, options.namespace, options.name),
      );
    } catch (err) {
      throw new LeaderElectionError('GetLease', `get lease ${options.namespace}/${options.name}`, err);
    }
    if (!lease) {
      try {
        await bounded(
          'create lease',
          options.client.create<LeaseObject>(Lease, {
            apiVersion: apiVersionOf(Lease),
            kind: Lease.kind,
            metadata: { name: options.name, namespace: options.namespace },
            spec: { ...spec(now, undefined, false), leaseTransitions: 0 },
          }),
        );
      } catch (err) {
        if (isConflict(err)) return false; // someone else created it first
        throw new LeaderElectionError(
          'CreateLease',
          `create lease ${options.namespace}/${options.name}`,
          err,
        );
      }
      observed = { record: '', at: now, holder: options.identity };
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = JSON.stringify([
      holder,
      lease.spec?.renewTime,
      lease.spec?.leaseTransitions,
      lease.spec?.leaseDurationSeconds,
    ]);
    if (!observed || observed.record !== record) observed = { record, at: now, holder };
    if (holder !== lastLeader) {
      lastLeader = holder;
      if (holder) options.onNewLeader?.(holder);
    }
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(timing.leaseDurationMs / 1000)) * 1000;
    if (holder && holder !== options.identity && observed.at + durationMs > now) return false;
    const next: LeaseObject = {
      apiVersion: apiVersionOf(Lease),
      kind: Lease.kind,
      metadata: { ...lease.metadata, managedFields: undefined },
      spec: spec(now, lease.spec, holder === options.identity),
    };
    try {
      // A PUT carrying the read resourceVersion: a concurrent writer makes it fail with 409.
      await bounded('update lease', options.client.raw<LeaseObject>('PUT', path, next));
    } catch (err) {
      if (isConflict(err)) return false;
      throw new LeaderElectionError('UpdateLease', `update lease ${options.namespace}/${options.name}`, err);
    }
    return true;
  }

  async function round(): Promise<boolean> {
    try {
      return await tryAcquireOrRenew();
    } catch (err) {
      options.log?.warn(
        { err, lease: `${options.namespace}/${options.name}` },
        `leader election round failed: ${describeError(err)}`,
      );
      return false;
    }
  }

  const jittered = (): number => timing.retryPeriodMs * (1 + Math.random() * 0.2);

  return {
    isLeader: () => leading,
    async run(signal) {
      // Campaign.
      while (!signal.aborted && !leading) {
        if (await round()) {
          leading = true;
          break;
        }
        await sleep(clock, jittered(), signal);
      }
      if (!leading || signal.aborted) return;
      options.log?.info(
        { lease: `${options.namespace}/${options.name}`, identity: options.identity },
        'started leading',
      );
      if (lastLeader !== options.identity) {
        lastLeader = options.identity;
        options.onNewLeader?.(options.identity);
      }
      options.onStartedLeading();
      // Renew; a renewal may retry until the renew deadline, then leadership is lost.
      while (!signal.aborted && !released) {
        await sleep(clock, timing.retryPeriodMs, signal);
        if (signal.aborted || released) return;
        const deadline = clock.now() + timing.renewDeadlineMs;
        let renewed = false;
        while (!renewed && clock.now() < deadline && !signal.aborted && !released) {
          renewed = await round();
          if (!renewed && clock.now() + timing.retryPeriodMs < deadline)
            await sleep(clock, timing.retryPeriodMs, signal);
          else if (!renewed) break;
        }
        if (signal.aborted || released) return;
        if (!renewed) {
          leading = false;
          options.log?.error(
            { lease: `${options.namespace}/${options.name}`, identity: options.identity },
            'leader election lost',
          );
          options.onStoppedLeading();
          return;
        }
      }
    },
    async release() {
      if (!leading || released) return;
      released = true;
      leading = false;
      try {
        const lease = await bounded(
          'get lease',
          options.client.get<LeaseObject>(Lease, options.namespace, options.name),
        );
        if (!lease || lease.spec?.holderIdentity !== options.identity) return;
        const now = formatMicroTime(clock.now());
        await bounded(
          'release lease',
          options.client.raw('PUT', path, {
            apiVersion: apiVersionOf(Lease),
            kind: Lease.kind,
            metadata: { ...lease.metadata, managedFields: undefined },
            spec: {
              holderIdentity: null,
              leaseDurationSeconds: 1,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: lease.spec?.leaseTransitions ?? 0,
            },
          }),
        );
        options.log?.info({ lease: `${options.namespace}/${options.name}` }, 'lease released');
      } catch (err) {
        options.log?.warn({ err }, `could not release the lease: ${describeError(err)}`);
      }
    },
  };
}
