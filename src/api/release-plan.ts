/**
 * The ReleasePlan API (deploy.codedance.io/v1alpha1): one release carried through clusters
 * in waves (issue 15.2). Source of truth for its types and its CRD schema.
 *
 * Each cluster is a kubeconfig Secret of the plan's namespace (label
 * `deploy.codedance.io/cluster`, key `kubeconfig`). The plan makes an ordinary
 * CanaryDeployment from `template` in every cluster of the current wave; the next wave
 * starts only once every release of the previous one Completed; a failure anywhere stops
 * the plan: the releases still running are aborted, no wave starts.
 */
import Type from 'typebox';
import { cel, Conditions, DnsLabel, ObjectMetaSchema } from './common.ts';
import type { ObjectMeta } from '../runtime/client.ts';
import { CanaryDeploymentSpec } from './canary-deployment.ts';

export const PlanPhases = ['Progressing', 'Completed', 'Failed'] as const;
export type PlanPhase = (typeof PlanPhases)[number];

export const WavePhases = ['Pending', 'Progressing', 'Completed', 'Failed', 'Stopped'] as const;
export type WavePhase = (typeof WavePhases)[number];

/** Where one cluster's release is, as the plan last saw it. */
export const ClusterPhases = [
  'Pending',
  'Progressing',
  'Completed',
  'Failed',
  'Aborting',
  'Unreachable',
  'NotStarted',
] as const;
export type ClusterPhase = (typeof ClusterPhases)[number];

const SecretName = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
  description:
    'A kubeconfig Secret of the plan namespace (label deploy.codedance.io/cluster, key kubeconfig).',
});

export const Wave = Type.Object({
  name: Type.String({ ...DnsLabel, description: 'Name of the wave, e.g. staging or prod.' }),
  clusters: Type.Array(SecretName, {
    minItems: 1,
    maxItems: 20,
    description: 'Clusters released to in parallel in this wave.',
  }),
});
export type Wave = Type.Static<typeof Wave>;

export const ReleaseTemplate = Type.Object(
  {
    name: Type.String({ ...DnsLabel, description: 'Name of the CanaryDeployment in each cluster.' }),
    namespace: Type.String({ ...DnsLabel, description: 'Namespace of the release in each cluster.' }),
    labels: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), {
        maxProperties: 16,
        description: 'Extra labels on each release.',
      }),
    ),
    spec: CanaryDeploymentSpec,
  },
  { description: 'The CanaryDeployment made in every cluster.' },
);
export type ReleaseTemplate = Type.Static<typeof ReleaseTemplate>;

export const ReleasePlanSpec = Type.Object(
  {
    template: ReleaseTemplate,
    waves: Type.Array(Wave, {
      minItems: 1,
      maxItems: 10,
      description: 'Waves in order; each starts once every release of the one before Completed.',
    }),
    aborted: Type.Optional(
      Type.Boolean({
        description: 'Stop the plan: every release still running is aborted, no wave starts.',
      }),
    ),
  },
  {
    ...cel({
      rule: 'self.waves.all(w, self.waves.exists_one(x, x.name == w.name))',
      message: 'spec.waves: every wave needs its own name',
      fieldPath: '.waves',
      reason: 'FieldValueInvalid',
    }),
  },
);
export type ReleasePlanSpec = Type.Static<typeof ReleasePlanSpec>;

export const ClusterStatus = Type.Object({
  name: Type.String(),
  phase: Type.Enum(ClusterPhases),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type ClusterStatus = Type.Static<typeof ClusterStatus>;

export const WaveStatus = Type.Object({
  name: Type.String(),
  phase: Type.Enum(WavePhases),
  clusters: Type.Array(ClusterStatus),
  startedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
});
export type WaveStatus = Type.Static<typeof WaveStatus>;

export const ReleasePlanStatus = Type.Object({
  phase: Type.Optional(Type.Enum(PlanPhases)),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  currentWave: Type.Optional(Type.String({ description: 'The wave releasing now.' })),
  waves: Type.Optional(Type.Array(WaveStatus)),
  startedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
  conditions: Type.Optional(Conditions),
});
export type ReleasePlanStatus = Type.Static<typeof ReleasePlanStatus>;

export const ReleasePlanSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: ObjectMetaSchema,
  spec: ReleasePlanSpec,
  status: Type.Optional(ReleasePlanStatus),
});

/** A ReleasePlan as read from the API server. */
export interface ReleasePlan {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: ReleasePlanSpec;
  status?: ReleasePlanStatus;
}
