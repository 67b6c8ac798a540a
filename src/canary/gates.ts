/**
 * Webhook gates of releases (`spec.webhooks`, docs/webhooks.md), called off the
 * reconcile workers as analyses are (./analysis.ts).
 *
 * | type | when | a no / a failure |
 * |---|---|---|
 * | PreRollout | Initializing, once the canary is up, before the first weight; again every interval until it passes | counts as a failed analysis: rolled back at `analysis.failureThreshold` failures in a row (`PreRolloutGateFailed`) |
 * | Rollout | at the start of every analysis round, before the metric queries | the round fails (as a breached check) |
 * | ConfirmPromotion | after the last step passed, every interval until each says yes | the release waits (reason `WaitingForConfirmation`, `status.gates.state` Waiting); analyses go on |
 * | PostRollout | once the release Completed or rolled back | a Warning Event, nothing else |
 * | Rollback | once the release rolled back | a Warning Event, nothing else |
 *
 * Guarantees: one round per release at a time, answering the question the stored status
 * asks (`status.gates.awaiting` and `nextAt`, like `analysis.nextAt`), so a result is
 * counted once and a restarted controller simply asks again; every call is bounded
 * (timeout × (retries + 1) plus the waits between).
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { GateResult, GateType, WebhookGate } from '../api/experiments.ts';
import type { KubeClient } from '../runtime/client.ts';
import { callGate, resolveGate, type GatePayload } from '../notify/gate.ts';

/** What the reconcile gets for the gates a release awaits. */
export type GatePoll = { kind: 'done'; results: GateResult[] } | { kind: 'running' };

export interface GateRunnerOptions {
  /** Reads the Secrets of `secretRef` (the controller's client). */
  client: Pick<KubeClient, 'get'>;
  /** `--allow-internal-notification-urls`. @default false */
  allowInternal?: boolean | undefined;
  /** @default () => new Date() */
  now?: () => Date;
}

export interface GateRunner {
  /** The answers of `cd`'s gates of `type` for the question its status asks, or `running` (started now if needed). */
  poll(cd: CanaryDeployment, type: 'PreRollout' | 'ConfirmPromotion', wake: () => void): GatePoll;
  /** Calls every gate of `type` now and resolves with their answers (empty when it has none). */
  call(cd: CanaryDeployment, type: GateType, signal?: AbortSignal): Promise<GateResult[]>;
  forget(uid: string): void;
}

/** The gates of `type` in `cd`'s spec. */
export function gatesOf(cd: Pick<CanaryDeployment, 'spec'>, type: GateType): WebhookGate[] {
  return (cd.spec.webhooks ?? []).filter((g) => g.type === type);
}

/** The payload of a call of `gate` about `cd` as it is now. */
export function gatePayload(cd: CanaryDeployment, gate: WebhookGate, now: Date): GatePayload {
  const s = cd.status ?? {};
  const step = s.currentStepIndex;
  return {
    type: gate.type,
    name: gate.name,
    release: { namespace: cd.metadata.namespace ?? '', name: cd.metadata.name ?? '' },
    version: cd.spec.canaryVersion,
    ...(s.stableRevision ? { stableVersion: s.stableRevision } : {}),
    ...(s.phase ? { phase: s.phase } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
    ...(step === undefined ? {} : { step: Math.min(step + 1, s.totalSteps ?? step + 1) }),
    ...(s.totalSteps === undefined ? {} : { totalSteps: s.totalSteps }),
    ...(s.currentWeight === undefined ? {} : { weight: s.currentWeight }),
    ...(gate.metadata ? { metadata: gate.metadata } : {}),
    time: now.toISOString(),
  };
}

/** Creates a runner. */
export function createGateRunner(options: GateRunnerOptions): GateRunner {
  const now = options.now ?? (() => new Date());
  const rounds = new Map<string, { question: string; abort: AbortController; results?: GateResult[] }>();

  async function call(cd: CanaryDeployment, type: GateType, signal?: AbortSignal): Promise<GateResult[]> {
    const namespace = cd.metadata.namespace ?? '';
    return Promise.all(
      gatesOf(cd, type).map(async (gate): Promise<GateResult> => {
        const time = now().toISOString();
        const resolved = await resolveGate(options.client, namespace, gate, {
          allowInternal: options.allowInternal,
        });
        if ('error' in resolved)
          return {
            name: gate.name,
            type,
            passed: false,
            time,
            message: resolved.error.slice(0, 1000),
            attempts: 0,
          };
        const answer = await callGate(resolved.call, gatePayload(cd, gate, now()), signal);
        return {
          name: gate.name,
          type,
          passed: answer.passed,
          time,
          message: answer.message.slice(0, 1000),
          attempts: answer.attempts,
        };
      }),
    ).catch((cause: unknown) => [
      {
        name: '*',
        type,
        passed: false,
        time: now().toISOString(),
        message: `gates failed: ${String(cause)}`.slice(0, 1000),
      },
    ]);
  }

  return {
    poll(cd, type, wake) {
      const uid = cd.metadata.uid ?? '';
      const s = cd.status;
      const question = `${type}|${s?.releaseVersion ?? ''}|${s?.startedAt ?? ''}|${s?.gates?.nextAt ?? ''}`;
      const current = rounds.get(uid);
      if (current?.question === question)
        return current.results ? { kind: 'done', results: current.results } : { kind: 'running' };
      current?.abort.abort();
      const round: { question: string; abort: AbortController; results?: GateResult[] } = {
        question,
        abort: new AbortController(),
      };
      rounds.set(uid, round);
      void call(cd, type, round.abort.signal).then((results) => {
        if (rounds.get(uid) !== round) return;
        round.results = results;
        wake();
      });
      return { kind: 'running' };
    },
    call,
    forget(uid) {
      rounds.get(uid)?.abort.abort();
      rounds.delete(uid);
    },
  };
}

/** One sentence about failed answers: `smoke-test: HTTP 500: down; ...`. */
export function describeFailures(results: readonly GateResult[]): string {
  return results
    .filter((r) => !r.passed)
    .map((r) => `${r.name}: ${r.message ?? 'no answer'}`)
    .join('; ');
}

/** `results` merged into `previous` by gate name (newest wins), at most 20. */
export function mergeResults(
  previous: readonly GateResult[] | undefined,
  results: readonly GateResult[],
): GateResult[] {
  const byName = new Map((previous ?? []).map((r) => [r.name, r]));
  for (const r of results) byName.set(r.name, r);
  return [...byName.values()].slice(-20);
}
