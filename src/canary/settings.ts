/**
 * From a CanaryDeployment spec to the {@link ReleaseSettings} the state machine walks:
 * strategies planned, durations in milliseconds, defaults resolved in this one place.
 * Pure; problems the API schema cannot catch come back as values for the reconciler to
 * report (a condition and an Event), never as exceptions.
 */
import type { CanaryDeploymentSpec, Step, TrafficProviderName } from '../api/canary-deployment.ts';
import type { GateType } from '../api/experiments.ts';
import { durationOr, plan, validateStrategy } from '../strategy/index.ts';
import { ANALYSIS_DEFAULTS } from '../analysis/verdict.ts';
import {
  DEFAULT_PROVIDER,
  capabilitiesOf,
  orList,
  providerDefinition,
  providersRouting,
  providersThat,
} from '../traffic/index.ts';
import { regexProblems } from '../traffic/match.ts';
import type { RequestMatch } from '../api/routing.ts';
import type { ExperimentSpec } from '../api/experiments.ts';
import type { ReleaseSettings } from './model.ts';
import { trafficRecordOf } from './traffic-record.ts';

/** Mirrors the API default of `autoRollback.notReadyGracePeriod`. */
export const NOT_READY_GRACE_DEFAULT = '2m';

export type SettingsResult = { ok: true; settings: ReleaseSettings } | { ok: false; problems: string[] };

/** Whether `spec.metrics` asks for any analysis. */
export function hasMetrics(spec: CanaryDeploymentSpec): boolean {
  const m = spec.metrics;
  if (!m) return false;
  const compare = m.compare;
  const compares = Boolean(
    compare &&
      (compare.successRate ||
        compare.errorRate ||
        compare.latency?.p50 ||
        compare.latency?.p90 ||
        compare.latency?.p99 ||
        (compare.custom && compare.custom.length > 0)),
  );
  return (
    compares ||
    Boolean(
      m.successRate ||
        m.errorRate ||
        m.latency?.p50 ||
        m.latency?.p90 ||
        m.latency?.p99 ||
        (m.custom && m.custom.length > 0),
    )
  );
}

/** The release settings of `spec`, or what is wrong with it. */
export function releaseSettings(spec: CanaryDeploymentSpec): SettingsResult {
  const problems = validateStrategy(spec.strategy).map((p) => `${p.field}: ${p.message}`);
  const provider = spec.traffic?.provider ?? DEFAULT_PROVIDER;
  const caps = capabilitiesOf(provider);
  const p = plan(spec.strategy);
  if (p.kind === 'blueGreen' && !caps.preview) {
    // With replica-ratio routing every new pod sits behind the stable Service, so a
    // preview would take live traffic before the switch: that is a canary, not BlueGreen.
    problems.push(
      `strategy.type: BlueGreen needs traffic.provider ${orList(providersThat('preview'))} (with ${provider} the preview pods would take live traffic before the switch)`,
    );
  }
  problems.push(...routingProblems(spec, provider), ...protocolProblems(spec, provider));
  if (caps.settingsField && spec.traffic?.[caps.settingsField] === undefined) {
    problems.push(`traffic.${caps.settingsField}: required when traffic.provider is ${provider}`);
  }
  if (spec.strategy?.type === 'Experiment' && !hasMetrics(spec)) {
    problems.push(
      'strategy.type: an Experiment is decided by its checks: add metrics (e.g. metrics.compare) for it to judge',
    );
  }
  if (problems.length > 0) return { ok: false, problems };

  const steps =
    p.kind === 'canary'
      ? p.steps
      : [
          {
            weight: 0,
            pauseMs: p.autoPromote ? p.previewPauseMs : undefined,
            requiresApproval: !p.autoPromote,
          },
          { weight: 100, pauseMs: p.scaleDownDelayMs, requiresApproval: false },
        ];
  const auto = spec.autoRollback ?? {};
  const analysis = spec.analysis ?? {};
  return {
    ok: true,
    settings: {
      version: spec.canaryVersion,
      steps,
      blueGreen: p.kind === 'blueGreen',
      provider,
      traffic: trafficRecordOf(spec),
      scalesWithWeight: caps.ownsReplicas,
      paused: spec.paused === true,
      experiment: spec.strategy?.type === 'Experiment' ? { durationMs: steps[0]?.pauseMs ?? 0 } : undefined,
      autoRollback: {
        enabled: auto.enabled ?? true,
        onPodCrash: auto.onPodCrash ?? true,
        notReadyGraceMs: durationOr(auto.notReadyGracePeriod, NOT_READY_GRACE_DEFAULT),
      },
      gates: gateSettings(spec),
      analysis:
        hasMetrics(spec) || hasGates(spec, 'Rollout')
          ? {
              // The schema refuses less than 1s; a CRD installed before that rule still gets the floor.
              intervalMs: Math.max(1_000, durationOr(analysis.interval, ANALYSIS_DEFAULTS.interval)),
              successThreshold: analysis.successThreshold ?? ANALYSIS_DEFAULTS.successThreshold,
            }
          : undefined,
    },
  };
}

/** Whether `spec.webhooks` has a gate of `type`. */
export function hasGates(spec: CanaryDeploymentSpec, type: GateType): boolean {
  return (spec.webhooks ?? []).some((g) => g.type === type);
}

/** What the state machine needs of the gates it waits for; undefined when it waits for none. */
function gateSettings(spec: CanaryDeploymentSpec): ReleaseSettings['gates'] {
  const preRollout = hasGates(spec, 'PreRollout');
  const confirmPromotion = hasGates(spec, 'ConfirmPromotion');
  if (!preRollout && !confirmPromotion) return undefined;
  return {
    preRollout,
    confirmPromotion,
    // Asked again at the analysis interval, as Flagger does; at least every second.
    intervalMs: Math.max(1_000, durationOr(spec.analysis?.interval, ANALYSIS_DEFAULTS.interval)),
    failureThreshold: spec.analysis?.failureThreshold ?? ANALYSIS_DEFAULTS.failureThreshold,
  };
}

/**
 * What the provider cannot do of the steps' (or the experiment's) match and mirror, and
 * regular expressions that do not compile; each names the field and says why.
 */
function routingProblems(spec: CanaryDeploymentSpec, provider: TrafficProviderName): string[] {
  const caps = capabilitiesOf(provider);
  const lacks = providerDefinition(provider).lacks ?? {};
  const problems: string[] = [];
  const routed: [string, { match?: RequestMatch[] | undefined; mirror?: number | undefined }][] = [
    ...(spec.strategy?.steps ?? []).map((s, i): [string, Step] => [`strategy.steps[${i}]`, s]),
    ...(spec.strategy?.experiment
      ? [['strategy.experiment', spec.strategy.experiment] as [string, ExperimentSpec]]
      : []),
  ];
  const refuse = (field: string, capability: 'requestMatch' | 'mirror', what: string) =>
    problems.push(
      `${field}: traffic.provider ${provider} cannot ${what}${lacks[capability] ? ` (${lacks[capability]})` : ''}; use ${orList(providersThat(capability))}`,
    );
  for (const [field, step] of routed) {
    if (step.match?.length && !caps.requestMatch)
      refuse(`${field}.match`, 'requestMatch', 'route requests by header or cookie');
    if (step.mirror && !caps.mirror) refuse(`${field}.mirror`, 'mirror', 'mirror traffic');
    problems.push(...regexProblems(step.match, `${field}.match`));
  }
  return problems;
}

/**
 * A protocol the provider does not route, and checks a TCP service cannot answer (it has
 * no request status nor latency per request: pod health and custom PromQL judge it).
 */
function protocolProblems(spec: CanaryDeploymentSpec, provider: TrafficProviderName): string[] {
  const protocol = spec.traffic?.protocol ?? 'HTTP';
  const problems: string[] = [];
  if (!capabilitiesOf(provider).protocols.includes(protocol)) {
    problems.push(
      `traffic.protocol: ${provider} does not route ${protocol}; use ${orList(providersRouting(protocol))}`,
    );
  }
  if (protocol === 'TCP') {
    const m = spec.metrics ?? {};
    const c = m.compare ?? {};
    const builtIn: [string, unknown][] = [
      ['metrics.successRate', m.successRate],
      ['metrics.errorRate', m.errorRate],
      ['metrics.latency', m.latency?.p50 ?? m.latency?.p90 ?? m.latency?.p99],
      ['metrics.compare.successRate', c.successRate],
      ['metrics.compare.errorRate', c.errorRate],
      ['metrics.compare.latency', c.latency?.p50 ?? c.latency?.p90 ?? c.latency?.p99],
    ];
    for (const [field, set] of builtIn) {
      if (set !== undefined)
        problems.push(
          `${field}: a TCP service has no request status or per-request latency to judge; use pod health (autoRollback) and metrics.custom`,
        );
    }
  }
  return problems;
}
