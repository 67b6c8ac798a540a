/**
 * The schema pieces of issue 14 (experiments, comparisons with stable, webhook gates),
 * kept in one block of their own so `canary-deployment.ts` only references them.
 *
 * - `strategy.experiment`: hold one split for a duration, then decide (docs/experiments.md).
 * - `metrics.compare`: the canary's numbers against stable's over the same window.
 * - `webhooks`: named gates called at fixed points of a release (docs/webhooks.md).
 * - `status.gates`: what the release awaits from its gates and their last answers.
 */
import Type from 'typebox';
import { cel, Duration, DurationPattern, DnsLabel, type CelRule } from './common.ts';
import { Match } from './routing.ts';

/**
 * One split held for a duration. A request match (header or cookie, issue 14.1) goes
 * beside `weight` here, as it does on steps: the planner (src/strategy/experiment.ts)
 * copies the experiment into its one step, so whatever a step carries applies here too.
 */
export const ExperimentSpec = Type.Object(
  {
    weight: Type.Integer({
      minimum: 0,
      maximum: 99,
      description:
        'Share of traffic, in percent, the canary gets for the whole experiment (e.g. 10); 0 with a match: only the matching requests.',
    }),
    match: Type.Optional(Match),
    duration: Type.Unsafe<string>({
      ...Duration,
      description: 'How long the split is held before the experiment is judged (e.g. 30m, 24h).',
    }),
  },
  {
    description:
      'An experiment (strategy.type Experiment): the canary gets `weight` percent (and the requests of `match`) for `duration`; then the checks, judged over the whole duration, promote it or roll it back.',
    ...cel({
      rule: 'self.weight > 0 || has(self.match)',
      message:
        'strategy.experiment.weight: give the canary a share (1-99) or a match (header or cookie), or it gets no request to be judged on',
      fieldPath: '.weight',
    }),
  },
);
export type ExperimentSpec = Type.Static<typeof ExperimentSpec>;

/** CEL rules of `strategy` tying type Experiment and `strategy.experiment` together. */
export const experimentStrategyRules: CelRule[] = [
  {
    rule: "!has(self.type) || self.type != 'Experiment' || has(self.experiment)",
    message:
      'strategy.experiment is required when strategy.type is Experiment: it names the weight and the duration, e.g. {weight: 10, duration: 30m}',
    fieldPath: '.experiment',
    reason: 'FieldValueRequired',
  },
  {
    rule: "!has(self.experiment) || (has(self.type) && self.type == 'Experiment')",
    message:
      'strategy.experiment is only used when strategy.type is Experiment: set type: Experiment or remove experiment',
    fieldPath: '.experiment',
    reason: 'FieldValueForbidden',
  },
  {
    rule: "!(has(self.type) && self.type == 'Experiment' && has(self.steps))",
    message:
      'strategy.steps cannot be used with type Experiment: an experiment holds one split (strategy.experiment.weight) for its duration',
    fieldPath: '.steps',
    reason: 'FieldValueForbidden',
  },
];

/**
 * How far the canary may be from stable. Exactly one field: the difference in the
 * metric's own unit (percentage points for rates, milliseconds for latency) or a ratio.
 */
const toleranceFields = {
  maxIncrease: Type.Optional(
    Type.Number({
      minimum: 0,
      description:
        "Healthy while canary <= stable + maxIncrease (percentage points, ms, or the query's unit).",
    }),
  ),
  maxDecrease: Type.Optional(
    Type.Number({ minimum: 0, description: 'Healthy while canary >= stable - maxDecrease.' }),
  ),
  maxRatio: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1000,
      description: 'Healthy while canary <= maxRatio × stable (e.g. 1.1 for p99).',
    }),
  ),
  minRatio: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1000,
      description: 'Healthy while canary >= minRatio × stable (e.g. 0.98 for a conversion rate).',
    }),
  ),
};

function exactlyOneTolerance(field: string): CelRule {
  const count = Object.keys(toleranceFields)
    .map((f) => `(has(self.${f}) ? 1 : 0)`)
    .join(' + ');
  return {
    rule: `${count} == 1`,
    message: `${field}: give exactly one of maxIncrease, maxDecrease, maxRatio, minRatio (e.g. maxIncrease: 0.5 for "at most stable's + 0.5 points")`,
  };
}

const Tolerance = (field: string) => Type.Object(toleranceFields, cel(exactlyOneTolerance(field)));

export const CompareCustomMetric = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, description: 'Name shown in status and Events.' }),
    query: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "PromQL returning one number, run once per side: {{version}} (the side's version label), {{workload}} (the side's Deployment) and {{side}} (stable or canary) select it; {{namespace}}, {{target}}, {{window}} as in metrics.custom.",
    }),
    ...toleranceFields,
    weight: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: 'Weight in the health score. @default the decision weight for custom metrics',
      }),
    ),
  },
  cel(exactlyOneTolerance('metrics.compare.custom[]'), {
    rule: "self.query.matches('\\\\{\\\\{\\\\s*(version|workload|side)\\\\s*\\\\}\\\\}')",
    message:
      'metrics.compare.custom[].query must select a side with {{version}}, {{workload}} or {{side}}: without one both sides would run the same query',
    fieldPath: '.query',
  }),
);

export const CompareSpec = Type.Object(
  {
    successRate: Type.Optional(Tolerance('metrics.compare.successRate')),
    errorRate: Type.Optional(Tolerance('metrics.compare.errorRate')),
    latency: Type.Optional(
      Type.Object({
        p50: Type.Optional(Tolerance('metrics.compare.latency.p50')),
        p90: Type.Optional(Tolerance('metrics.compare.latency.p90')),
        p99: Type.Optional(Tolerance('metrics.compare.latency.p99')),
      }),
    ),
    custom: Type.Optional(
      Type.Array(CompareCustomMetric, {
        maxItems: 20,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
  },
  {
    description:
      'Checks of the canary against stable over the same window (no data on either side is inconclusive, never a pass).',
  },
);
export type CompareSpec = Type.Static<typeof CompareSpec>;

export const GateTypes = ['PreRollout', 'Rollout', 'ConfirmPromotion', 'PostRollout', 'Rollback'] as const;
export type GateType = (typeof GateTypes)[number];

/** Longest `webhooks[].timeout`. */
export const MAX_GATE_TIMEOUT = '30s';

export const WebhookGate = Type.Object(
  {
    name: Type.String({ ...DnsLabel, description: 'Name in status, Events and the payload.' }),
    type: Type.Enum(GateTypes, {
      description:
        'PreRollout (must pass before the first weight), Rollout (every analysis), ConfirmPromotion (promotion waits for a 2xx), PostRollout (after Completed or rolled back), Rollback (when the release rolls back).',
    }),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        maxLength: 2048,
        description: 'URL to POST to (or give it through secretRef).',
      }),
    ),
    secretRef: Type.Optional(
      Type.Object({
        name: Type.String({
          ...DnsLabel,
          description:
            'Secret in the release\'s namespace labelled deploy.codedance.io/notification: "true".',
        }),
        urlKey: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 253,
            pattern: '^[-._a-zA-Z0-9]+$',
            description: 'Key holding the URL. @default url',
          }),
        ),
        secretKey: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 253,
            pattern: '^[-._a-zA-Z0-9]+$',
            description: 'Key holding the HMAC key that signs the body (X-Codedance-Signature).',
          }),
        ),
      }),
    ),
    timeout: Type.Optional(
      Type.Unsafe<string>({
        ...Duration,
        'x-kubernetes-validations': [
          ...Duration['x-kubernetes-validations'],
          {
            rule: `!self.matches('${DurationPattern.replaceAll('\\', '\\\\')}') || duration(self) <= duration('${MAX_GATE_TIMEOUT}')`,
            message: `must be at most ${MAX_GATE_TIMEOUT}: a gate slower than that counts as failed`,
          },
        ],
        default: '10s',
        description: `Timeout of one call (at most ${MAX_GATE_TIMEOUT}).`,
      }),
    ),
    retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        default: 2,
        description:
          'Calls again after a timeout, a transport error, 408, 429 or 5xx (not after another 4xx).',
      }),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 1024 }), {
        maxProperties: 20,
        description: "Sent as is in the payload (e.g. the load tester's rps and duration).",
      }),
    ),
  },
  cel(
    {
      rule: 'has(self.url) || has(self.secretRef)',
      message: 'webhooks[].url or webhooks[].secretRef is required: a gate needs the address to call',
      fieldPath: '.url',
      reason: 'FieldValueRequired',
    },
    {
      rule: '!(has(self.url) && has(self.secretRef))',
      message:
        'webhooks[].url and webhooks[].secretRef are exclusive: give the address inline or through a Secret, not both',
      fieldPath: '.secretRef',
      reason: 'FieldValueForbidden',
    },
  ),
);
export type WebhookGate = Type.Static<typeof WebhookGate>;

export const Webhooks = Type.Array(WebhookGate, {
  maxItems: 20,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
  description:
    'Webhook gates, by name (docs/webhooks.md). Calls are signed like the Webhook notification and follow the notification URL policy.',
});

/** The last answer of one gate. */
export const GateResult = Type.Object({
  name: Type.String(),
  type: Type.Enum(GateTypes),
  passed: Type.Boolean(),
  time: Type.String(),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
  attempts: Type.Optional(Type.Integer()),
});
export type GateResult = Type.Static<typeof GateResult>;

export const GateStatus = Type.Object(
  {
    awaiting: Type.Optional(
      Type.Enum(['PreRollout', 'ConfirmPromotion'], { description: 'The gates the release waits for now.' }),
    ),
    state: Type.Optional(
      Type.Enum(['Waiting', 'Passed', 'Failed'], { description: 'Waiting while a gate has not said yes.' }),
    ),
    nextAt: Type.Optional(Type.String({ description: 'When the awaited gates are called again.' })),
    failures: Type.Optional(
      Type.Integer({
        description: 'Consecutive failed pre-rollout calls (rolled back at analysis.failureThreshold).',
      }),
    ),
    preRolloutPassed: Type.Optional(Type.Boolean()),
    results: Type.Optional(Type.Array(GateResult, { maxItems: 20 })),
  },
  { description: "Webhook gates: what the release awaits and each gate's last answer." },
);
export type GateStatus = Type.Static<typeof GateStatus>;
