/**
 * What a traffic provider can do and needs, as plain data, so the rest of the controller
 * asks a question ("does it own the replicas?", "can it route by header?") instead of
 * comparing provider names. Each provider file declares its {@link ProviderDefinition};
 * `src/traffic/index.ts` lists them (`providerDefinition`, `capabilitiesOf`,
 * `providersThat`).
 *
 * Adding a provider is then one file, one line in the registry, and the shared
 * conformance suite (`test/integration/traffic/conformance.ts`).
 */
import type { TrafficProtocol, TrafficProviderName, TrafficRecord } from '../api/canary-deployment.ts';
import type { TrafficProvider, TrafficProviderOptions } from './provider.ts';

export type { TrafficProtocol } from '../api/canary-deployment.ts';

/** Capabilities and needs of one provider. Every field is required: a new provider says each. */
export interface ProviderCapabilities {
  /**
   * The `spec.traffic` block that names the provider's objects (`traffic.istio`, ...);
   * undefined when it needs none.
   */
  settingsField: 'istio' | 'nginx' | 'gatewayAPI' | undefined;
  /** Routes the stable Service's traffic, so that Service must exist (`spec.service.name`). */
  stableService: boolean;
  /**
   * Sends the canary's share to a Service of its own, `<service>-canary`, selecting only
   * canary pods; the controller makes it.
   */
  canaryService: boolean;
  /**
   * The stable Service selects the canary pods too (they keep its selector's labels):
   * the provider splits that one Service's endpoints (Istio subsets, replica counts).
   * When false, the canary pods lose the stable selector's labels so the stable Service
   * never reaches them.
   */
  stableSelectsCanary: boolean;
  /**
   * Routes to subsets of the stable Service told apart by pod labels, so it needs a
   * label only stable pods carry (`TrafficTarget.selectors.stable`, from the stable
   * ReplicaSet's `pod-template-hash`).
   */
  podLabelSubsets: boolean;
  /**
   * Owns `spec.replicas` of both Deployments during a release: the canary's size follows
   * the weight, and the controller's own writes leave replicas alone.
   */
  ownsReplicas: boolean;
  /**
   * `readWeight` reads back exactly the weight written, so a restarted controller can
   * compare it with status (false: the weight is approximated, e.g. by pod counts).
   */
  exactWeights: boolean;
  /**
   * Can hold a preview (weight 0) that takes no live traffic while being reachable on
   * its own Service: BlueGreen needs it.
   */
  preview: boolean;
  /** Can send the requests that match a header or cookie to the canary (`steps[].match`). */
  requestMatch: boolean;
  /** Can mirror a share of live traffic to the canary, responses discarded (`steps[].mirror`). */
  mirror: boolean;
  /** Protocols it can route (`traffic.protocol`). */
  protocols: readonly TrafficProtocol[];
}

/** The capabilities whose value is yes or no, for {@link ProviderCapabilities} questions. */
export type Capability = {
  [K in keyof ProviderCapabilities]: ProviderCapabilities[K] extends boolean ? K : never;
}[keyof ProviderCapabilities];

/** Which field of the analysis target a series label takes its value from. */
export type SeriesValue =
  | { literal: string }
  | {
      of: 'namespace' | 'canaryWorkload' | 'stableWorkload' | 'canaryVersion' | 'stableVersion' | 'ingress';
    };

/** One label matcher of a series selector. */
export interface SeriesMatcher {
  label: string;
  op: '=' | '!=';
  value: SeriesValue;
}

/**
 * The request metrics a provider's data plane exports, and how they tell the canary from
 * stable (what `src/analysis/queries.ts` builds its built-in queries from).
 */
export interface MetricSeries {
  /** Request counter, e.g. `istio_requests_total`. */
  requests: string;
  /** Label of `requests` holding the HTTP status code. */
  statusLabel: string;
  /** Latency histogram's `_bucket` series. */
  histogram: string;
  /** Factor from the histogram's unit to milliseconds (1 for ms, 1000 for seconds). */
  toMs: number;
  /** Matchers selecting the canary's requests. */
  canary: SeriesMatcher[];
  /** The matcher that replaces the canary matcher of the same label to select stable's requests. */
  stable: SeriesMatcher;
  /**
   * For `traffic.protocol: GRPC`, what differs: the counter and histogram, and the label
   * holding the gRPC status whose `ok` value is a success (any other is an error).
   */
  grpc: { requests: string; statusLabel: string; ok: string; histogram: string; toMs: number };
}

/** The plain metrics (`http_requests_total{app, version}`) of applications without a mesh or ingress series. */
export const PLAIN_HTTP_SERIES: MetricSeries = {
  requests: 'http_requests_total',
  statusLabel: 'status',
  histogram: 'http_request_duration_seconds_bucket',
  toMs: 1000,
  canary: [
    { label: 'namespace', op: '=', value: { of: 'namespace' } },
    { label: 'app', op: '=', value: { of: 'stableWorkload' } },
    { label: 'version', op: '=', value: { of: 'canaryVersion' } },
  ],
  stable: { label: 'version', op: '=', value: { of: 'stableVersion' } },
  // go-grpc-prometheus' server metrics, with the same app / version labels.
  grpc: {
    requests: 'grpc_server_handled_total',
    statusLabel: 'grpc_code',
    ok: 'OK',
    histogram: 'grpc_server_handling_seconds_bucket',
    toMs: 1000,
  },
};

/** Everything the controller knows about one provider: one per file, listed in `index.ts`. */
export interface ProviderDefinition {
  name: TrafficProviderName;
  capabilities: ProviderCapabilities;
  metrics: MetricSeries;
  /** Makes the provider (stateless; one per client is enough). */
  create(options: TrafficProviderOptions): TrafficProvider;
  /**
   * The objects the provider writes or makes for a release recorded as `record`, for
   * people reading `status.traffic.objects`.
   */
  objects(record: TrafficRecord, targetDeployment: string): NonNullable<TrafficRecord['objects']>;
  /** Why it lacks a capability, worded for the user who asked for it (the refusal says it). */
  lacks?: Partial<Record<Capability, string>>;
}
