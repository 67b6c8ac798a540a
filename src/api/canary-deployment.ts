/**
 * The CanaryDeployment API (deploy.codedance.io/v1alpha1): the single source of
 * truth for its TypeScript types and its CRD schema.
 *
 * Each field is a TypeBox schema; `Static<>` gives the type the controller uses and
 * `npm run gen` turns the same objects into the CRD's OpenAPI schema. Defaults and
 * validation (ranges, patterns, CEL rules) live here so the API server applies them.
 *
 * Blocks whose fields have defaults (strategy, traffic, analysis, metrics, decision,
 * autoRollback) default to `{}` themselves: the API server then fills their fields even
 * when the user left the whole block out, as the seed sample does. `withDefaults()` in
 * `defaults.ts` applies the same defaults in memory.
 *
 * Decisions a user could trip over: `strategy.steps` with `type: BlueGreen` is refused
 * (a blue-green release has no ladder), as are provider settings for a provider that is
 * not selected (`traffic.nginx` without `provider: Nginx`), so nothing is silently ignored.
 */
import Type from 'typebox';
import {
  cel,
  Conditions,
  Duration,
  DurationPattern,
  DnsLabel,
  ObjectMetaSchema,
  type CelRule,
} from './common.ts';
import type { ObjectMeta } from '../runtime/client.ts';

import { GROUP, VERSION } from './names.ts';
import { CompareSpec, ExperimentSpec, experimentStrategyRules, GateStatus, Webhooks } from './experiments.ts';
import { Match, Mirror, protocolRules, routingSpecRules } from './routing.ts';

export { GROUP, VERSION };

export const StrategyTypes = ['Linear', 'Exponential', 'Manual', 'BlueGreen', 'Experiment'] as const;
export type StrategyType = (typeof StrategyTypes)[number];

export const TrafficProviders = ['Replicas', 'Istio', 'Nginx', 'GatewayAPI'] as const;
export type TrafficProviderName = (typeof TrafficProviders)[number];

/** What a Service speaks (`traffic.protocol`). HTTPS is HTTP to a provider. */
export const TrafficProtocols = ['HTTP', 'GRPC', 'TCP'] as const;
export type TrafficProtocol = (typeof TrafficProtocols)[number];

export const Phases = ['Initializing', 'Progressing', 'Paused', 'Completed', 'Failed'] as const;
export type Phase = (typeof Phases)[number];

export const Decisions = ['Continue', 'Pause', 'Rollback', 'Inconclusive'] as const;
export type Decision = (typeof Decisions)[number];

export const NotificationTypes = ['Slack', 'DingTalk', 'WeCom', 'Webhook'] as const;
export const NotificationEvents = ['Started', 'Advanced', 'Paused', 'RolledBack', 'Completed'] as const;
export type NotificationEvent = (typeof NotificationEvents)[number];

export const Step = Type.Object({
  weight: Type.Integer({
    minimum: 0,
    maximum: 100,
    description: 'Share of traffic, in percent, the canary gets at this step.',
  }),
  pause: Type.Optional(
    Type.Unsafe<string>({
      ...Duration,
      description:
        'How long to hold this step before advancing (e.g. 30s, 5m). Omitted: wait until promoted.',
    }),
  ),
  match: Type.Optional(Match),
  mirror: Type.Optional(Mirror),
});
export type Step = Type.Static<typeof Step>;

export const BlueGreenSpec = Type.Object({
  previewService: Type.Optional(
    Type.String({
      ...DnsLabel,
      description: 'Service that selects the new version before the switch. @default <service>-preview',
    }),
  ),
  autoPromote: Type.Optional(
    Type.Boolean({
      default: true,
      description:
        'Switch traffic on its own once the preview is healthy (after previewPause); false waits for `codedance promote`.',
    }),
  ),
  previewPause: Type.Optional(
    Type.Unsafe<string>({
      ...Duration,
      default: '30s',
      description: 'How long the preview is observed before the switch.',
    }),
  ),
  scaleDownDelay: Type.Optional(
    Type.Unsafe<string>({
      ...Duration,
      default: '30s',
      description: 'How long the old version is kept after the switch.',
    }),
  ),
});

export const StrategySpec = Type.Object(
  {
    type: Type.Optional(
      Type.Enum(StrategyTypes, {
        default: 'Linear',
        description:
          'Linear (5,10,25,50,75,100), Exponential (1,5,10,25,50,100), Manual (every step waits for approval), BlueGreen, Experiment (one split held, then judged).',
      }),
    ),
    steps: Type.Optional(
      Type.Array(Step, {
        minItems: 1,
        // Bounds the CEL cost estimate: the uniqueness check below is quadratic in the length.
        maxItems: 50,
        description:
          'Custom steps; they replace the preset ladder of Linear, Exponential and Manual. Weights must strictly increase.',
        ...cel({
          rule: 'self.map(s, s.weight).isSorted() && self.all(s, self.exists_one(t, t.weight == s.weight))',
          message:
            'strategy.steps: step weights must strictly increase (each step gives the canary more traffic than the one before), e.g. 10, 50, 100',
        }),
      }),
    ),
    stepPause: Type.Optional(
      Type.Unsafe<string>({
        ...Duration,
        default: '1m',
        description: 'Pause of each preset step (ignored for custom steps, which carry their own).',
      }),
    ),
    blueGreen: Type.Optional(BlueGreenSpec),
    experiment: Type.Optional(ExperimentSpec),
  },
  {
    default: {},
    ...cel(
      ...experimentStrategyRules,
      {
        // A blue-green release switches all traffic at once; a ladder of weights has no meaning there,
        // and silently ignoring it would hide the user's mistake.
        rule: "!(has(self.type) && self.type == 'BlueGreen' && has(self.steps))",
        message:
          'strategy.steps cannot be used with type BlueGreen: a blue-green release switches all traffic at once (tune it with strategy.blueGreen, or pick Linear, Exponential or Manual for steps)',
        fieldPath: '.steps',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!has(self.blueGreen) || (has(self.type) && self.type == 'BlueGreen')",
        message:
          'strategy.blueGreen is only used when strategy.type is BlueGreen: set type: BlueGreen or remove blueGreen',
        fieldPath: '.blueGreen',
        reason: 'FieldValueForbidden',
      },
    ),
  },
);
export type StrategySpec = Type.Static<typeof StrategySpec>;

export const ServiceRef = Type.Object({
  name: Type.Optional(
    Type.String({ ...DnsLabel, description: 'The stable Service. @default targetDeployment' }),
  ),
  port: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'Service port. @default the first port of the Service',
    }),
  ),
});

/**
 * The two CEL rules tying a traffic provider to its settings block: the block is required
 * when the provider is chosen, and refused when another provider is (a `traffic.nginx`
 * without `provider: Nginx` would otherwise be silently ignored in favour of Replicas).
 */
function providerRules(
  provider: TrafficProviderName,
  field: 'istio' | 'nginx' | 'gatewayAPI',
  what: string,
): CelRule[] {
  return [
    {
      rule: `!has(self.provider) || self.provider != '${provider}' || has(self.${field})`,
      message: `traffic.${field} is required when traffic.provider is ${provider}: it names ${what}`,
      fieldPath: `.${field}`,
      reason: 'FieldValueRequired',
    },
    {
      rule: `!has(self.${field}) || (has(self.provider) && self.provider == '${provider}')`,
      message: `traffic.${field} is only used when traffic.provider is ${provider}: set provider: ${provider} or remove traffic.${field}`,
      fieldPath: `.${field}`,
      reason: 'FieldValueForbidden',
    },
  ];
}

/** The objects of each routing provider (shared by `spec.traffic` and its record in `status.traffic`). */
export const IstioTraffic = Type.Object({
  virtualService: Type.String({ ...DnsLabel, description: 'VirtualService whose routes are weighted.' }),
  destinationRule: Type.Optional(
    Type.String({
      ...DnsLabel,
      description:
        'DestinationRule that gets the stable and canary subsets. @default the VirtualService name',
    }),
  ),
  routes: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      maxItems: 32,
      'x-kubernetes-list-type': 'set',
      description:
        'Names of the HTTP routes to weight. @default every route whose destination is the service',
    }),
  ),
});
export const NginxTraffic = Type.Object({
  ingress: Type.String({ ...DnsLabel, description: 'The stable Ingress the canary Ingress is made from.' }),
});
export const GatewayAPITraffic = Type.Object(
  {
    httpRoute: Type.Optional(
      Type.String({ ...DnsLabel, description: 'HTTPRoute whose backendRefs are weighted (protocol HTTP).' }),
    ),
    grpcRoute: Type.Optional(
      Type.String({ ...DnsLabel, description: 'GRPCRoute whose backendRefs are weighted (protocol GRPC).' }),
    ),
    tcpRoute: Type.Optional(
      Type.String({
        ...DnsLabel,
        description:
          "TCPRoute whose backendRefs are weighted (protocol TCP; the Gateway API's experimental channel must be installed).",
      }),
    ),
  },
  {
    ...cel({
      rule: '(has(self.httpRoute) ? 1 : 0) + (has(self.grpcRoute) ? 1 : 0) + (has(self.tcpRoute) ? 1 : 0) == 1',
      message:
        'traffic.gatewayAPI: name exactly one route: httpRoute, grpcRoute or tcpRoute (as traffic.protocol says)',
    }),
  },
);

export const TrafficSpec = Type.Object(
  {
    provider: Type.Optional(
      Type.Enum(TrafficProviders, {
        default: 'Replicas',
        description: 'How weights are enforced. Replicas approximates them with replica counts.',
      }),
    ),
    protocol: Type.Optional(
      Type.Enum(TrafficProtocols, {
        default: 'HTTP',
        description:
          'What the Service speaks: HTTP (HTTPS too), GRPC (weighted like HTTP, built-in checks read gRPC status codes) or TCP (connections weighted; judged on pod health and custom metrics).',
      }),
    ),
    istio: Type.Optional(IstioTraffic),
    nginx: Type.Optional(NginxTraffic),
    gatewayAPI: Type.Optional(GatewayAPITraffic),
  },
  {
    default: {},
    ...cel(
      ...protocolRules,
      ...providerRules('Istio', 'istio', 'the VirtualService whose routes are weighted'),
      ...providerRules('Nginx', 'nginx', 'the stable Ingress the canary Ingress is made from'),
      ...providerRules('GatewayAPI', 'gatewayAPI', 'the HTTPRoute whose backendRefs are weighted'),
    ),
  },
);
export type TrafficSpec = Type.Static<typeof TrafficSpec>;

/**
 * A {@link Duration} with a bound checked by CEL (`duration()` parses the same
 * Go-style text); the rule is skipped for text that is not a duration, which the
 * pattern rule already reports.
 */
function boundedDuration(bound: { op: '<=' | '>='; limit: string }, message: string) {
  return {
    ...Duration,
    'x-kubernetes-validations': [
      ...Duration['x-kubernetes-validations'],
      {
        rule: `!self.matches('${DurationPattern.replaceAll('\\', '\\\\')}') || duration(self) ${bound.op} duration('${bound.limit}')`,
        message,
      },
    ],
  };
}

/** Shortest `analysis.interval`: one release may not keep the controller querying Prometheus back to back. */
export const MIN_ANALYSIS_INTERVAL = '1s';
/** Longest `metrics.provider.timeout`: how long one release's analysis round may take. */
export const MAX_QUERY_TIMEOUT = '30s';

export const AnalysisSpec = Type.Object(
  {
    interval: Type.Optional(
      Type.Unsafe<string>({
        ...boundedDuration(
          { op: '>=', limit: MIN_ANALYSIS_INTERVAL },
          `must be at least ${MIN_ANALYSIS_INTERVAL}: analyses closer together only load Prometheus and the controller`,
        ),
        default: '30s',
        description: `Time between two analyses (at least ${MIN_ANALYSIS_INTERVAL}).`,
      }),
    ),
    window: Type.Optional(
      Type.Unsafe<string>({
        ...Duration,
        default: '1m',
        description: 'Range of the rate() in built-in queries.',
      }),
    ),
    successThreshold: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 1,
        description: 'Consecutive healthy analyses needed before a step may advance.',
      }),
    ),
    failureThreshold: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 2,
        description: 'Consecutive failed analyses that roll back.',
      }),
    ),
    inconclusiveLimit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 3,
        description: 'Consecutive analyses without data before the release pauses.',
      }),
    ),
    unreachableTimeout: Type.Optional(
      Type.Unsafe<string>({
        ...Duration,
        default: '5m',
        description: 'How long an unreachable Prometheus holds the release before it is rolled back.',
      }),
    ),
  },
  { default: {} },
);
export type AnalysisSpec = Type.Static<typeof AnalysisSpec>;

export const CustomMetric = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63, description: 'Name shown in status and Events.' }),
  query: Type.String({
    minLength: 1,
    maxLength: 4096,
    description:
      'PromQL returning one number. {{namespace}}, {{target}}, {{canary}}, {{window}} are substituted (escaped).',
  }),
  threshold: Type.Number({ description: 'Value the result is compared with.' }),
  compare: Type.Enum(['LT', 'GT'], {
    description: 'LT: healthy while result < threshold; GT: healthy while result > threshold.',
  }),
  weight: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 100,
      description: 'Weight in the health score. @default the decision weight for custom metrics',
    }),
  ),
});
export type CustomMetric = Type.Static<typeof CustomMetric>;

/**
 * Label a Secret must carry (value `"true"`) before a release may use it for Prometheus
 * credentials: RBAC cannot narrow `get` on Secrets to a label, so this opt-in is what
 * keeps a release from sending another Secret of its namespace to an address it chose.
 */
export const MetricsSecretLabel = 'deploy.codedance.io/metrics';

export const MetricsSpec = Type.Object(
  {
    provider: Type.Optional(
      Type.Object(
        {
          address: Type.Optional(
            Type.String({
              pattern: '^https?://',
              maxLength: 2048,
              description: 'Prometheus base URL. @default the controller flag --prometheus-url',
            }),
          ),
          timeout: Type.Optional(
            Type.Unsafe<string>({
              ...boundedDuration(
                { op: '<=', limit: MAX_QUERY_TIMEOUT },
                `must be at most ${MAX_QUERY_TIMEOUT}: a Prometheus slower than that counts as unreachable`,
              ),
              default: '5s',
              description: `Timeout of one query (at most ${MAX_QUERY_TIMEOUT}).`,
            }),
          ),
          secretRef: Type.Optional(
            Type.Object(
              {
                name: Type.String({
                  minLength: 1,
                  maxLength: 253,
                  pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
                  description: `Secret in the release's namespace, labelled ${MetricsSecretLabel}: "true"; keys: token (bearer), or username and password (basic auth), and ca.crt (PEM CA bundle).`,
                }),
              },
              {
                description:
                  'Credentials and CA bundle for the Prometheus API. Never logged, never copied into status.',
              },
            ),
          ),
          headers: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  name: Type.String({
                    minLength: 1,
                    maxLength: 128,
                    pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
                    description: 'Header name, e.g. X-Scope-OrgID.',
                  }),
                  value: Type.String({
                    maxLength: 1024,
                    pattern: '^[^\\r\\n]*$',
                    description: 'Header value (not secret: it is part of the spec).',
                  }),
                },
                cel({
                  rule: "!(self.name.lowerAscii() in ['authorization', 'host', 'content-type', 'content-length', 'connection', 'transfer-encoding'])",
                  message:
                    'this header is set by the controller: put credentials in the Secret of metrics.provider.secretRef, not in headers',
                  fieldPath: '.name',
                }),
              ),
              {
                maxItems: 10,
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['name'],
                description:
                  'Extra request headers, e.g. a tenant header for Mimir or Cortex (X-Scope-OrgID).',
              },
            ),
          ),
        },
        { default: {} },
      ),
    ),
    successRate: Type.Optional(
      Type.Object({
        threshold: Type.Number({
          minimum: 0,
          maximum: 100,
          description: 'Minimum share of non-5xx responses, in percent.',
        }),
      }),
    ),
    latency: Type.Optional(
      Type.Object({
        p50: Type.Optional(Type.Unsafe<string>({ ...Duration, description: 'Maximum median latency.' })),
        p90: Type.Optional(
          Type.Unsafe<string>({ ...Duration, description: 'Maximum 90th percentile latency.' }),
        ),
        p99: Type.Optional(
          Type.Unsafe<string>({ ...Duration, description: 'Maximum 99th percentile latency.' }),
        ),
      }),
    ),
    errorRate: Type.Optional(
      Type.Object({
        threshold: Type.Number({
          minimum: 0,
          maximum: 100,
          description: 'Maximum share of 5xx responses, in percent.',
        }),
      }),
    ),
    cpu: Type.Optional(
      Type.Object(
        {
          maxCores: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1024,
              description:
                'Most CPU a canary pod may use, in cores (cAdvisor container_cpu_usage_seconds_total).',
            }),
          ),
          maxRatioToStable: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 100,
              description: 'Most CPU of the busiest canary pod over the busiest stable pod, e.g. 1.5.',
            }),
          ),
        },
        {
          description:
            "CPU checks from the kubelet's cAdvisor series (namespace, pod, container labels); gates, scored like custom checks.",
        },
      ),
    ),
    memory: Type.Optional(
      Type.Object(
        {
          maxMiB: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 16777216,
              description:
                'Most working-set memory a canary pod may use, in MiB (cAdvisor container_memory_working_set_bytes).',
            }),
          ),
          maxRatioToStable: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 100,
              description: 'Most memory of the largest canary pod over the largest stable pod, e.g. 1.5.',
            }),
          ),
        },
        {
          description: "Memory checks from the kubelet's cAdvisor series; gates, scored like custom checks.",
        },
      ),
    ),
    custom: Type.Optional(
      Type.Array(CustomMetric, {
        maxItems: 20,
        // Names identify results in status and Events, so two checks may not share one.
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: 'Extra PromQL checks, each judged against its own threshold.',
      }),
    ),
    compare: Type.Optional(CompareSpec),
  },
  { default: {} },
);
export type MetricsSpec = Type.Static<typeof MetricsSpec>;

export const DecisionSpec = Type.Object(
  {
    weights: Type.Optional(
      Type.Object(
        {
          successRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 40 })),
          latency: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 30 })),
          errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 30 })),
          custom: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 20 })),
        },
        {
          default: {},
          description:
            'Weight of each metric family in the health score (normalised over the metrics configured).',
        },
      ),
    ),
    continueScore: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        default: 80,
        description: 'Score at or above which the release continues.',
      }),
    ),
    pauseScore: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        default: 60,
        description:
          'Score at or above which (and below continueScore) the release pauses; below it rolls back.',
      }),
    ),
  },
  {
    default: {},
    ...cel({
      rule: '!has(self.pauseScore) || !has(self.continueScore) || self.pauseScore <= self.continueScore',
      message:
        'decision.pauseScore must not be greater than decision.continueScore: scores between them pause the release, scores below pauseScore roll it back',
      fieldPath: '.pauseScore',
    }),
  },
);
export type DecisionSpec = Type.Static<typeof DecisionSpec>;

export const AutoRollbackSpec = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true })),
    onMetricsFail: Type.Optional(Type.Boolean({ default: true })),
    onPodCrash: Type.Optional(Type.Boolean({ default: true })),
    notReadyGracePeriod: Type.Optional(
      Type.Unsafe<string>({
        ...Duration,
        default: '2m',
        description: 'How long a canary pod may stay not Ready before it counts as a crash.',
      }),
    ),
  },
  { default: {} },
);
export type AutoRollbackSpec = Type.Static<typeof AutoRollbackSpec>;

/** A key of a Secret's data. */
const SecretKey = { minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' } as const;

export const NotificationSpec = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 63 })),
    type: Type.Enum(NotificationTypes, { description: 'Slack, DingTalk, WeCom or Webhook.' }),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        maxLength: 2048,
        description: 'Receiver URL (or give it through secretRef).',
      }),
    ),
    secretRef: Type.Optional(
      Type.Object({
        name: Type.String({
          ...DnsLabel,
          description:
            'Secret in the release\'s namespace; it must carry the label deploy.codedance.io/notification: "true".',
        }),
        urlKey: Type.Optional(
          Type.String({
            ...SecretKey,
            default: 'url',
            description: 'Key of the Secret holding the receiver URL.',
          }),
        ),
        secretKey: Type.Optional(
          Type.String({ ...SecretKey, description: 'Key holding the signing secret (DingTalk).' }),
        ),
      }),
    ),
    events: Type.Optional(
      Type.Array(Type.Enum(NotificationEvents), {
        maxItems: NotificationEvents.length,
        'x-kubernetes-list-type': 'set',
        description: '@default every event',
      }),
    ),
  },
  {
    ...cel(
      {
        rule: 'has(self.url) || has(self.secretRef)',
        message:
          'notifications[].url or notifications[].secretRef is required: a notification needs the address to post to',
        fieldPath: '.url',
        reason: 'FieldValueRequired',
      },
      {
        rule: '!(has(self.url) && has(self.secretRef))',
        message:
          'notifications[].url and notifications[].secretRef are exclusive: give the address inline or through a Secret, not both',
        fieldPath: '.secretRef',
        reason: 'FieldValueForbidden',
      },
    ),
  },
);
export type NotificationSpec = Type.Static<typeof NotificationSpec>;

/** The notification list: names, when given, tell receivers apart in logs and must be unique. */
export const Notifications = Type.Array(NotificationSpec, {
  maxItems: 10,
  ...cel({
    rule: 'self.all(n, !has(n.name) || self.exists_one(m, has(m.name) && m.name == n.name))',
    message: 'notifications: two receivers share a name; names must be unique',
  }),
});

/** CEL for the stable Service's name: `service.name`, else the target Deployment's. */
const stableServiceCel =
  '(has(self.service) && has(self.service.name) ? self.service.name : self.targetDeployment)';

export const CanaryDeploymentSpec = Type.Object(
  {
    targetDeployment: Type.String({
      ...DnsLabel,
      description: "The Deployment being released; it stays the user's.",
    }),
    canaryVersion: Type.String({
      minLength: 1,
      maxLength: 512,
      pattern: '^[^\\s]+$',
      description: 'Image of the new version, e.g. myapp:v2.0.0.',
    }),
    container: Type.Optional(
      Type.String({
        ...DnsLabel,
        description: 'Container that gets the new image. @default the first container',
      }),
    ),
    service: Type.Optional(ServiceRef),
    strategy: Type.Optional(StrategySpec),
    traffic: Type.Optional(TrafficSpec),
    analysis: Type.Optional(AnalysisSpec),
    metrics: Type.Optional(MetricsSpec),
    decision: Type.Optional(DecisionSpec),
    autoRollback: Type.Optional(AutoRollbackSpec),
    notifications: Type.Optional(Notifications),
    webhooks: Type.Optional(Webhooks),
    paused: Type.Optional(
      Type.Boolean({ description: 'Hold the release at its current step (set by `codedance pause`).' }),
    ),
  },
  {
    ...cel(
      ...routingSpecRules,
      {
        // The preview Service selects only the new version: were it the stable Service, the
        // release would take it over and send live traffic to the preview.
        rule: `!has(self.strategy) || !has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.previewService) || self.strategy.blueGreen.previewService != ${stableServiceCel}`,
        message:
          'strategy.blueGreen.previewService must differ from the stable Service (spec.service.name, default targetDeployment): the preview selects only the new version, while the stable Service carries live traffic',
        fieldPath: '.strategy.blueGreen.previewService',
        reason: 'FieldValueInvalid',
      },
      {
        rule: `!has(self.strategy) || !has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.previewService) || self.strategy.blueGreen.previewService != ${stableServiceCel} + '-canary'`,
        message:
          "strategy.blueGreen.previewService must not be <stable Service>-canary: that is the name of the release's canary Service",
        fieldPath: '.strategy.blueGreen.previewService',
        reason: 'FieldValueInvalid',
      },
    ),
  },
);
export type CanaryDeploymentSpec = Type.Static<typeof CanaryDeploymentSpec>;

export const MetricResult = Type.Object({
  name: Type.String(),
  value: Type.Optional(Type.Number()),
  threshold: Type.Optional(Type.String()),
  score: Type.Optional(Type.Number()),
  passed: Type.Optional(Type.Boolean()),
  message: Type.Optional(Type.String()),
  stableValue: Type.Optional(
    Type.Number({ description: "Stable's value over the same window (checks in metrics.compare)." }),
  ),
});
export type MetricResult = Type.Static<typeof MetricResult>;

export const AnalysisRun = Type.Object({
  time: Type.String(),
  step: Type.Optional(Type.Integer()),
  metrics: Type.Array(MetricResult),
  score: Type.Optional(Type.Number()),
  decision: Type.Enum(Decisions),
  message: Type.Optional(Type.String()),
});
export type AnalysisRun = Type.Static<typeof AnalysisRun>;

export const HistoryEntry = Type.Object({
  time: Type.String(),
  event: Type.String({
    description:
      'What happened: Started, StepReached, Paused, Resumed, Promoted, RolledBack, Aborted, Completed, ...',
  }),
  step: Type.Optional(Type.Integer()),
  weight: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String()),
  by: Type.Optional(
    Type.String({ description: 'The person whose command this entry records (username), when one gave it.' }),
  ),
});
export type HistoryEntry = Type.Static<typeof HistoryEntry>;

/** One object a release routes through or makes for its traffic (for people reading status). */
export const TrafficObject = Type.Object({
  kind: Type.String({
    description: 'VirtualService, DestinationRule, Ingress, HTTPRoute, Service or Deployment.',
  }),
  name: Type.String(),
});

/**
 * The traffic settings a release started with. Reset, rollback and deletion work from
 * this record, not from the spec, so a spec edited mid-release (another provider,
 * another VirtualService) cannot leave traffic on a canary in objects the spec no
 * longer names. Releases started before the record existed fall back to the spec.
 */
export const TrafficRecord = Type.Object(
  {
    provider: Type.Enum(TrafficProviders),
    protocol: Type.Optional(
      Type.Enum(TrafficProtocols, { description: 'What the Service speaks. @default HTTP' }),
    ),
    service: Type.String({ description: 'The stable Service whose traffic is split.' }),
    istio: Type.Optional(IstioTraffic),
    nginx: Type.Optional(NginxTraffic),
    gatewayAPI: Type.Optional(GatewayAPITraffic),
    objects: Type.Optional(
      Type.Array(TrafficObject, { maxItems: 8, description: 'The objects the provider writes or makes.' }),
    ),
  },
  {
    description:
      'The traffic provider and the objects it touches, recorded when the release started; reset, rollback and deletion use it.',
  },
);
export type TrafficRecord = Type.Static<typeof TrafficRecord>;

/** What one pod of a release requests (summed over its containers). */
export const PodRequests = Type.Object({
  cpuCores: Type.Number({ description: 'CPU cores requested.' }),
  memoryGiB: Type.Number({ description: 'Memory requested, in GiB.' }),
});
export type PodRequests = Type.Static<typeof PodRequests>;

/** Time spent at one step of a release. */
export const StepCost = Type.Object({
  step: Type.Integer({
    description: '1-based step; totalSteps + 1 is the promotion; 0 before the first step.',
  }),
  weight: Type.Integer({ description: 'Canary weight held meanwhile, in percent.' }),
  seconds: Type.Number(),
});
export type StepCost = Type.Static<typeof StepCost>;

/** Figures a release's cost and a fleet's summed cost share. */
const costFigures = {
  asOf: Type.String({ description: 'When the figures were taken; the end of the release once it finished.' }),
  seconds: Type.Number({ description: 'Duration counted (from the start to asOf).' }),
  canaryPodSeconds: Type.Number({ description: 'Canary pods x seconds.' }),
  extraPodSeconds: Type.Number({
    description: 'Pods beyond the stable size x seconds: what the release added.',
  }),
  cpuCoreSeconds: Type.Number({ description: 'CPU core-seconds requested by canary pods.' }),
  memoryGiBSeconds: Type.Number({ description: 'Memory GiB-seconds requested by canary pods.' }),
  canaryTrafficPercent: Type.Number({
    description: 'Share of the traffic the canary served, in percent (time-weighted weight).',
  }),
};

/** A fleet's summed cost (see ReleaseCost). */
export const CostSummary = Type.Object(costFigures);
export type CostSummary = Type.Static<typeof CostSummary>;

/** What a release cost (src/canary/cost.ts): updated at each history entry, final at the end. */
export const ReleaseCost = Type.Object(
  {
    ...costFigures,
    podRequests: PodRequests,
    steps: Type.Array(StepCost, { maxItems: 100, description: 'Seconds at each step, in order.' }),
  },
  {
    description:
      'What the release cost: canary and extra pod-seconds, requested CPU and memory, time per step.',
  },
);
export type ReleaseCost = Type.Static<typeof ReleaseCost>;

export const CanaryDeploymentStatus = Type.Object({
  phase: Type.Optional(Type.Enum(Phases)),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  /** The canaryVersion this release is (or was) about; a new one restarts the release. */
  releaseVersion: Type.Optional(Type.String()),
  stableRevision: Type.Optional(Type.String({ description: 'Image the stable Deployment runs.' })),
  canaryRevision: Type.Optional(Type.String({ description: 'Image the canary runs.' })),
  stableReplicas: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'Replicas of the stable Deployment when the release started (the Replicas provider scales it down, so it cannot be read back).',
    }),
  ),
  currentStepIndex: Type.Optional(Type.Integer()),
  totalSteps: Type.Optional(Type.Integer()),
  currentWeight: Type.Optional(Type.Integer()),
  stepLabel: Type.Optional(Type.String({ description: 'Step for printing, e.g. 2/3.' })),
  startedAt: Type.Optional(Type.String()),
  stepStartedAt: Type.Optional(Type.String()),
  pauseUntil: Type.Optional(
    Type.String({
      description: "When the current step's pause ends (a stored deadline, so restarts keep it).",
    }),
  ),
  completedAt: Type.Optional(Type.String()),
  approvedStep: Type.Optional(Type.Integer({ description: 'Highest step index approved by promote.' })),
  handledCommand: Type.Optional(Type.String({ description: 'Last CLI command annotation acted on.' })),
  handledCommandAt: Type.Optional(
    Type.String({
      description: 'When handledCommand was acted on (the audit trail dates the command by it).',
    }),
  ),
  handledCommandOutcome: Type.Optional(
    Type.String({
      description:
        'What came of handledCommand: Acted (with the history events it caused) or Ignored: <why>.',
    }),
  ),
  traffic: Type.Optional(TrafficRecord),
  analysis: Type.Optional(
    Type.Object({
      consecutiveSuccesses: Type.Optional(Type.Integer()),
      consecutiveFailures: Type.Optional(Type.Integer()),
      consecutiveInconclusive: Type.Optional(Type.Integer()),
      unreachableSince: Type.Optional(Type.String()),
      nextAt: Type.Optional(Type.String()),
      last: Type.Optional(AnalysisRun),
    }),
  ),
  history: Type.Optional(Type.Array(HistoryEntry, { maxItems: 100 })),
  gates: Type.Optional(GateStatus),
  cost: Type.Optional(ReleaseCost),
  conditions: Type.Optional(Conditions),
});
export type CanaryDeploymentStatus = Type.Static<typeof CanaryDeploymentStatus>;

export const CanaryDeploymentSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: ObjectMetaSchema,
  spec: CanaryDeploymentSpec,
  status: Type.Optional(CanaryDeploymentStatus),
});

/** A CanaryDeployment as read from the API server. */
export interface CanaryDeployment {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: CanaryDeploymentSpec;
  status?: CanaryDeploymentStatus;
}

/** Annotations the CLI writes to ask the controller for a one-shot action. */
export {
  CommandAnnotation,
  CommandAuthorSeparator,
  Commands,
  NotificationSecretLabel,
  OwnerLabel,
  PausedByAnnotation,
  RoleLabel,
  type Command,
} from './names.ts';
