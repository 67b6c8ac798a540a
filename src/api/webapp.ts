/**
 * The WebApp API (apps.codedance.io/v1alpha1): one small spec that becomes a
 * Deployment, a Service and a ConfigMap (seeds 001 and 002). Source of truth for
 * both the TypeScript types and the CRD schema.
 */
import Type from 'typebox';
import { Condition, DnsLabel, ObjectMetaSchema } from './common.ts';
import {
  AnalysisSpec,
  AutoRollbackSpec,
  DecisionSpec,
  MetricsSpec,
  NotificationSpec,
  StrategySpec,
  TrafficSpec,
} from './canary-deployment.ts';
import type { ObjectMeta } from '../runtime/client.ts';

export const GROUP = 'apps.codedance.io';
export const VERSION = 'v1alpha1';

export const WebAppPhases = ['Pending', 'Creating', 'Running', 'Failed', 'Deleting'] as const;
export type WebAppPhase = (typeof WebAppPhases)[number];

export const EnvVar = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$', description: 'Environment variable name.' }),
  value: Type.String({ maxLength: 32768 }),
});

const Quantity = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$' } as const;

export const WebAppSpec = Type.Object({
  image: Type.String({ minLength: 1, maxLength: 512, pattern: '^[^\\s]+$', description: 'Container image, e.g. nginx:1.27.' }),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1 })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 8080 })),
  env: Type.Optional(Type.Array(EnvVar, { maxItems: 100, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
  resources: Type.Optional(
    Type.Object({
      requests: Type.Optional(Type.Object({ cpu: Type.Optional(Type.Unsafe<string>(Quantity)), memory: Type.Optional(Type.Unsafe<string>(Quantity)) })),
      limits: Type.Optional(Type.Object({ cpu: Type.Optional(Type.Unsafe<string>(Quantity)), memory: Type.Optional(Type.Unsafe<string>(Quantity)) })),
    }),
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
        notifications: Type.Optional(Type.Array(NotificationSpec, { maxItems: 10 })),
      },
      { description: 'When set, an image change is released through a CanaryDeployment instead of rolled in place.' },
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
  conditions: Type.Optional(Type.Array(Condition)),
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
