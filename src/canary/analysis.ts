/**
 * Analyses of releases, run off the reconcile workers.
 *
 * A reconcile never waits for Prometheus. When an analysis is due, the reconcile asks
 * the {@link AnalysisRunner}: the first ask starts the round in the background and
 * returns `running`; when the round ends (or its deadline passes) the runner wakes the
 * release, and that reconcile takes the finished round. So a release whose Prometheus
 * hangs holds nothing but its own round: the workers keep turning for every other
 * release (crash rollbacks, steps, deletes).
 *
 * Guarantees:
 * - at most one round in flight per release; a round whose question is no longer asked
 *   (the release moved to another step, its spec changed) is aborted and dropped;
 * - every round ends by its deadline: the query timeout (`metrics.provider.timeout`,
 *   @default 5s) capped at {@link MAX_QUERY_TIMEOUT_MS}, plus {@link DEADLINE_GRACE_MS};
 *   one past it counts as a timeout (Prometheus unreachable);
 * - a result is counted once: a round is identified by what the stored status asks
 *   (generation, version, step, `analysis.nextAt`); counting it moves `nextAt` on in
 *   status, so the next ask is a new round. A status write that fails leaves the
 *   question, and the result, as they were;
 * - the verdict is taken when the result is consumed, from the streaks in the status
 *   at that moment (pure, ../analysis/verdict.ts); a restarted controller has no round
 *   in memory and simply asks again (`nextAt` is in status).
 *
 * The Prometheus address is `spec.metrics.provider.address`, else the controller's
 * `--prometheus-url`. With neither, the round counts as unreachable at once (and says
 * why), so the release holds and never promotes unjudged. An address the allow-list
 * refuses never gets here: the reconciler blocks the release first ({@link prometheusRefusal}).
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { PrometheusAllowList } from '../analysis/allowed.ts';
import { analyze, type AnalyzeResult } from '../analysis/analyzer.ts';
import { Agent, buildConnector } from 'undici';
import {
  resolveCredentials,
  type PrometheusCredentials,
  type SecretReader,
} from '../analysis/credentials.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from '../analysis/prometheus.ts';
import { metricSource, type MetricSource } from '../analysis/source.ts';
import { nextVerdict } from '../analysis/verdict.ts';
import { durationOr } from '../strategy/duration.ts';
import type { AnalysisObservation } from './model.ts';
import type { GateResult } from '../api/experiments.ts';
import { gateBudgetMs } from '../notify/gate.ts';
import { experimentWindowMs, isFinalJudgment, judgeExperiment } from './experiment.ts';
import { describeFailures, gatesOf } from './gates.ts';
import { canaryDeploymentName } from './workloads.ts';

/** Longest query timeout used, whatever the spec says (the schema refuses more too). */
export const MAX_QUERY_TIMEOUT_MS = 30_000;
/**
 * Connections per Prometheus address. Releases sharing an address share its pool, so
 * it is wide: queries that hang until their timeout hold a connection each, and a
 * narrow pool would make other releases' queries wait behind them.
 */
export const CONNECTIONS_PER_ADDRESS = 128;
/** Time a round gets beyond its query timeout before it is given up. */
export const DEADLINE_GRACE_MS = 1_000;

/** What the reconcile gets when it asks for the due analysis. */
export type AnalysisPoll =
  /** The round finished: count it. */
  | { kind: 'done'; observation: AnalysisObservation }
  /** The round is in flight; the release is woken when it ends. */
  | { kind: 'running' };

/** Settings of the runner. */
export interface AnalysisRunnerOptions {
  /** `--prometheus-url`: Prometheus of releases that name none. */
  defaultAddress?: string | undefined;
  /** Gives the Prometheus client for an address. @default one pooled client per address and credentials */
  prometheusFor?: (address: string, credentials: PrometheusCredentials) => MetricSource;
  /** Reads the Secret of `metrics.provider.secretRef` (../analysis/credentials.ts). @default none: a release naming one cannot be judged */
  readSecret?: SecretReader;
  /** Calls a release's Rollout gates at the start of each round (./gates.ts). @default none: Rollout gates are not called */
  callGates?: (cd: CanaryDeployment, type: 'Rollout', signal: AbortSignal) => Promise<GateResult[]>;
}

/** Clients kept (address × credentials); past this, the least recently used is closed. */
export const MAX_CLIENTS = 64;

/** Runs analyses in the background, one round per release at a time. */
export interface AnalysisRunner {
  /**
   * The due analysis of `cd`: the finished round, or `running` (started now if needed).
   * `wake` is called once when a round started here ends. Never throws.
   */
  poll(
    cd: CanaryDeployment,
    input: {
      canaryVersionLabel: string | undefined;
      stableVersionLabel?: string | undefined;
      now: Date;
      wake: () => void;
    },
  ): AnalysisPoll;
  /** Drops what is kept for release `uid` (finished or deleted), aborting its round. */
  forget(uid: string): void;
  /** Rounds in flight (for tests and metrics). */
  inFlight(): number;
}

interface Round {
  question: string;
  abort: AbortController;
  result?: AnalyzeResult;
}

/** The address `cd` is analysed against, or undefined when there is none. */
export function prometheusAddress(
  cd: CanaryDeployment,
  defaultAddress: string | undefined,
): string | undefined {
  return cd.spec.metrics?.provider?.address ?? defaultAddress;
}

/** Why the release's own Prometheus address may not be used, or undefined when it may (or none is set). */
export function prometheusRefusal(cd: CanaryDeployment, allowList: PrometheusAllowList): string | undefined {
  const address = cd.spec.metrics?.provider?.address;
  if (address === undefined) return undefined;
  const decision = allowList.check(address);
  return decision.allowed ? undefined : decision.message;
}

/** The query timeout of `cd`, capped. */
export function queryTimeoutMs(cd: CanaryDeployment): number {
  return Math.min(
    Math.max(1, durationOr(cd.spec.metrics?.provider?.timeout, `${DEFAULT_QUERY_TIMEOUT_MS}ms`)),
    MAX_QUERY_TIMEOUT_MS,
  );
}

/** What the stored status asks: a round answers exactly this question. */
function questionOf(cd: CanaryDeployment): string {
  const s = cd.status;
  return `${cd.metadata.generation ?? 0}|${s?.releaseVersion ?? ''}|${s?.currentStepIndex ?? 0}|${s?.analysis?.nextAt ?? ''}`;
}

/** Creates a runner. */
export function createAnalysisRunner(options: AnalysisRunnerOptions = {}): AnalysisRunner {
  const rounds = new Map<string, Round>();
  const clients = new Map<string, MetricSource>();
  const prometheusFor =
    options.prometheusFor ??
    ((address: string, credentials: PrometheusCredentials): MetricSource => {
      // One pool per address and credentials (the allow-list bounds the addresses; a
      // rotated Secret makes a new pool and the old one ages out); each query carries its
      // own timeout.
      const key = `${address}\0${credentials.fingerprint}`;
      let client = clients.get(key);
      if (client) {
        clients.delete(key);
      } else {
        const connect = unrefConnector(credentials.ca === undefined ? {} : { ca: credentials.ca });
        // The spec's metrics.provider speaks the Prometheus HTTP API (VictoriaMetrics,
        // Thanos and Mimir serve it too): the registry's Prometheus source.
        client = metricSource('Prometheus', {
          address,
          headers: credentials.headers,
          dispatcher: new Agent({ keepAliveTimeout: 30_000, connections: CONNECTIONS_PER_ADDRESS, connect }),
        });
      }
      clients.set(key, client);
      for (const [oldKey, old] of clients) {
        if (clients.size <= MAX_CLIENTS) break;
        clients.delete(oldKey);
        void old.close();
      }
      return client;
    });
  const noSecrets: SecretReader = async () => {
    throw new Error('this controller reads no Secrets for metrics');
  };

  function observe(
    cd: CanaryDeployment,
    result: Pick<AnalyzeResult, 'outcome' | 'run'>,
    now: Date,
  ): AnalysisObservation {
    const { spec } = cd;
    const verdict = nextVerdict({
      previous: cd.status?.analysis,
      outcome: result.outcome,
      detail: result.run.message,
      analysis: spec.analysis,
      autoRollback: spec.autoRollback,
      now,
    });
    // An experiment's first round past its deadline decides it (./experiment.ts).
    if (isFinalJudgment(cd, result.run.time))
      return { run: result.run, verdict: judgeExperiment(cd, result.outcome, verdict, result.run.message) };
    return { run: result.run, verdict };
  }

  function poll(
    cd: CanaryDeployment,
    input: {
      canaryVersionLabel: string | undefined;
      stableVersionLabel?: string | undefined;
      now: Date;
      wake: () => void;
    },
  ): AnalysisPoll {
    const uid = cd.metadata.uid ?? '';
    const question = questionOf(cd);
    const step = cd.status?.currentStepIndex;
    const current = rounds.get(uid);
    if (current?.question === question) {
      return current.result
        ? { kind: 'done', observation: observe(cd, current.result, input.now) }
        : { kind: 'running' };
    }
    current?.abort.abort();
    rounds.delete(uid);

    const address = prometheusAddress(cd, options.defaultAddress);
    if (!address) {
      const message =
        'no Prometheus address: set spec.metrics.provider.address or start the controller with --prometheus-url';
      return {
        kind: 'done',
        observation: observe(
          cd,
          {
            outcome: 'unreachable',
            run: { time: input.now.toISOString(), step, metrics: [], decision: 'Inconclusive', message },
          },
          input.now,
        ),
      };
    }

    const timeoutMs = queryTimeoutMs(cd);
    const round: Round = { question, abort: new AbortController() };
    rounds.set(uid, round);
    const started = input.now;
    // Rollout gates are called first, each within its own budget (timeout and retries).
    const rolloutGates = options.callGates ? gatesOf(cd, 'Rollout') : [];
    const deadlineMs = timeoutMs + DEADLINE_GRACE_MS + Math.max(0, ...rolloutGates.map(gateBudgetMs));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const overdue = new Promise<AnalyzeResult>((resolve) => {
      timer = setTimeout(() => {
        round.abort.abort();
        resolve(timedOut(started, step, address, deadlineMs));
      }, deadlineMs);
      timer.unref?.();
    });
    const work = (async (): Promise<AnalyzeResult> => {
      const creds = await resolveCredentials(
        options.readSecret ?? noSecrets,
        cd.metadata.namespace ?? '',
        cd.spec.metrics?.provider,
      );
      // A Secret that cannot be used is a Prometheus that cannot be used: never promote on it.
      if (!creds.ok) return unusable(started, step, `${creds.reason}: ${creds.message}`);
      // Before the metric queries: a load-test gate starts the traffic they judge.
      const gates =
        rolloutGates.length > 0 && options.callGates
          ? await options.callGates(cd, 'Rollout', round.abort.signal)
          : [];
      const analyzed = await analyze({
        spec: cd.spec,
        namespace: cd.metadata.namespace ?? '',
        canaryName: canaryDeploymentName(cd.spec.targetDeployment),
        canaryVersionLabel: input.canaryVersionLabel,
        stableVersionLabel: input.stableVersionLabel,
        // The final judgment of an experiment looks back over its whole duration.
        windowMs: isFinalJudgment(cd, started) ? experimentWindowMs(cd) : undefined,
        prometheus: prometheusFor(address, creds.credentials),
        now: started,
        step,
        signal: round.abort.signal,
        timeoutMs,
      });
      return withGates(analyzed, gates);
    })().catch((cause: unknown): AnalyzeResult => failed(started, step, cause));
    void Promise.race([work, overdue]).then((result) => {
      clearTimeout(timer);
      // A round dropped meanwhile (another question, forget) is not reported.
      if (rounds.get(uid) !== round) return;
      round.result = result;
      input.wake();
    });
    return { kind: 'running' };
  }

  return {
    poll,
    forget(uid) {
      rounds.get(uid)?.abort.abort();
      rounds.delete(uid);
    },
    inFlight: () => [...rounds.values()].filter((r) => !r.result).length,
  };
}

/**
 * Connections that never keep the process alive: a round still waiting on a silent
 * Prometheus must not hold up a controller that was asked to stop (its result would be
 * dropped anyway).
 */
function unrefConnector(tls: { ca?: string }): buildConnector.connector {
  const connect = buildConnector(tls);
  return (options, callback) =>
    connect(options, (...args) => {
      args[1]?.unref();
      callback(...args);
    });
}

/**
 * A round with its Rollout gates' answers: each is a line of the run (`webhook/<name>`),
 * and one that failed fails the round as a breached check does.
 */
export function withGates(result: AnalyzeResult, gates: readonly GateResult[]): AnalyzeResult {
  if (gates.length === 0) return result;
  const lines = gates.map((g) => ({
    name: `webhook/${g.name}`,
    passed: g.passed,
    ...(g.message ? { message: g.message } : {}),
  }));
  const run = { ...result.run, metrics: [...lines, ...result.run.metrics] };
  if (gates.every((g) => g.passed)) return { ...result, run };
  const why = `rollout gate failed: ${describeFailures(gates)}`;
  return {
    ...result,
    outcome: 'failed',
    run: {
      ...run,
      decision: 'Rollback',
      message: result.run.message ? `${why}; ${result.run.message}` : why,
    },
  };
}

function timedOut(
  started: Date,
  step: number | undefined,
  address: string,
  deadlineMs: number,
): AnalyzeResult {
  const message = `no answer from ${address} within ${deadlineMs}ms`;
  return {
    outcome: 'unreachable',
    run: { time: started.toISOString(), step, metrics: [], decision: 'Inconclusive', message },
    problems: [],
    queries: {},
  };
}

function unusable(started: Date, step: number | undefined, message: string): AnalyzeResult {
  return {
    outcome: 'unreachable',
    run: { time: started.toISOString(), step, metrics: [], decision: 'Inconclusive', message },
    problems: [],
    queries: {},
  };
}

function failed(started: Date, step: number | undefined, cause: unknown): AnalyzeResult {
  // analyze() does not throw; should it ever, the round still ends, as unusable.
  const message = `analysis failed: ${cause instanceof Error ? cause.message : String(cause)}`.slice(0, 200);
  return {
    outcome: 'unreachable',
    run: { time: started.toISOString(), step, metrics: [], decision: 'Inconclusive', message },
    problems: [],
    queries: {},
  };
}
