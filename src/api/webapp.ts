/**
 * The WebApp API (apps.codedance.io/v1alpha1): one small spec that becomes a
 * Deployment, a Service and a ConfigMap (seeds 001 and 002). Source of truth for
 * both the TypeScript types and the CRD schema.
 */
import Type from 'typebox';
import { cel, Conditions, DnsLabel, ObjectMetaSchema } from './common.ts';
import { WebAppGroup, WebAppVersion } from './names.ts';
import {
  AnalysisSpec,
  AutoRollbackSpec,
  DecisionSpec,
  MetricsSpec,
  Notifications,
  StrategySpec,
  TrafficSpec,
} from './canary-deployment.ts';
import type { ObjectMeta } from '../runtime/client.ts';

export const GROUP = WebAppGroup;
export const VERSION = WebAppVersion;

export const WebAppPhases = ['Pending', 'Creating', 'Running', 'Failed', 'Deleting'] as const;
export type WebAppPhase = (typeof WebAppPhases)[number];

/** Names Kubernetes accepts for container environment variables (the pre-1.34 rule, which every version accepts). */
const EnvNamePattern = '^[-._a-zA-Z][-._a-zA-Z0-9]*$';

export const EnvVar = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 253,
    pattern: EnvNamePattern,
    description: 'Environment variable name.',
    ...cel({
      rule: `self.matches('${EnvNamePattern}')`,
      message:
        'env[].name must be letters, digits, "_", "-" or "." and must not start with a digit, e.g. LOG_LEVEL',
    }),
  }),
  value: Type.String({ maxLength: 32768 }),
});

const Quantity = {
  type: 'string',
  maxLength: 32,
  pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$',
} as const;

const ResourceList = Type.Object({
  cpu: Type.Optional(Type.Unsafe<string>(Quantity)),
  memory: Type.Optional(Type.Unsafe<string>(Quantity)),
});

/**
 * A request above its limit is refused by the API server only when the Deployment is made,
 * long after the WebApp was accepted; checking it here reports it on the WebApp itself.
 */
function requestWithinLimit(resource: 'cpu' | 'memory') {
  return {
    rule:
      `!has(self.requests) || !has(self.limits) || !has(self.requests.${resource}) || !has(self.limits.${resource}) || ` +
      `!isQuantity(self.requests.${resource}) || !isQuantity(self.limits.${resource}) || ` +
      `quantity(self.requests.${resource}).compareTo(quantity(self.limits.${resource})) <= 0`,
    message: `resources.requests.${resource} must not be greater than resources.limits.${resource}`,
    fieldPath: `.requests.${resource}`,
  };
}

export const WebAppSpec = Type.Object({
  image: Type.String({
    minLength: 1,
    maxLength: 512,
    pattern: '^[^\\s]+$',
    description: 'Container image, e.g. nginx:1.27.',
    ...cel({
      rule: "self.matches('^[^\\\\s]+$')",
      message: 'image must be a container image reference without spaces, e.g. nginx:1.27',
    }),
  }),
  replicas: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Number of pods, 1 to 10.' }),
  ),
  port: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: 'Port the container listens on and the Service exposes.',
    }),
  ),
  env: Type.Optional(
    Type.Array(EnvVar, {
      maxItems: 100,
      // A map keyed by name: the API server refuses a repeated name ("Duplicate value").
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      description: 'Environment of the container, kept in a ConfigMap; names must be unique.',
    }),
  ),
  resources: Type.Optional(
    Type.Object(
      { requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) },
      { ...cel(requestWithinLimit('cpu'), requestWithinLimit('memory')) },
    ),
  ),
  release: Type.Optional(
    Type.Object(
      {
        strategy: Type.Optional(StrategySpec),
        traffic: Type.Optional(TrafficSpec),
        analysis: Type.Optional(AnalysisSpec),
        metrics: Type.Optional(MetricsSpec),
        decision: Type.Optional(DecisionSpec),
        autoRollback: Type.Optional(AutoRollbackSpec),
        notifications: Type.Optional(Notifications),
      },
      {
        description:
          'When set, an image change is released through a CanaryDeployment instead of rolled in place.',
      },
    ),
  ),
});
export type WebAppSpec = Type.Static<typeof WebAppSpec>;

export const WebAppStatus = Type.Object({
  phase: Type.Optional(Type.Enum(WebAppPhases)),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  readyReplicas: Type.Optional(Type.Integer()),
  image: Type.Optional(Type.String({ description: 'Image the Deployment runs now.' })),
  configHash: Type.Optional(Type.String()),
  release: Type.Optional(
    Type.Object({
      name: Type.String({ ...DnsLabel, description: 'The CanaryDeployment carrying the release.' }),
      version: Type.String(),
      phase: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
    }),
  ),
  conditions: Type.Optional(Conditions),
});
export type WebAppStatus = Type.Static<typeof WebAppStatus>;

export const WebAppSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: ObjectMetaSchema,
  spec: WebAppSpec,
  status: Type.Optional(WebAppStatus),
});

/** A WebApp as read from the API server. */
export interface WebApp {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: WebAppSpec;
  status?: WebAppStatus;
}
