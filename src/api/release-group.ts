/**
 * The ReleaseGroup API (deploy.codedance.io/v1alpha1): many releases run as one under
 * shared rules (issue 15.1). Source of truth for its types and its CRD schema.
 *
 * Members are CanaryDeployments of the group's namespace, either selected by label
 * (`selector`) or made by the group from `template`, one for every Deployment its
 * `deploymentSelector` matches. A member waits its turn: the group lets at most
 * `maxConcurrent` run at once and stops starting new ones once `failureLimit` members
 * failed (or `failureRatio` of them). How a member waits: see `GroupTurnAnnotation`.
 */
import Type from 'typebox';
import { cel, Conditions, DnsLabel, ObjectMetaSchema } from './common.ts';
import type { ObjectMeta } from '../runtime/client.ts';
import {
  AnalysisSpec,
  AutoRollbackSpec,
  CostSummary,
  DecisionSpec,
  MetricsSpec,
  Notifications,
  StrategySpec,
  TrafficSpec,
} from './canary-deployment.ts';

export const GroupPhases = ['Progressing', 'Paused', 'Completed', 'Failed'] as const;
export type GroupPhase = (typeof GroupPhases)[number];

/** A label selector (matchLabels only: what a fleet's members share is a label or two). */
export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), {
      minProperties: 1,
      maxProperties: 16,
      description: 'Labels every selected object carries.',
    }),
  },
  { description: 'Objects of the group namespace carrying every one of these labels.' },
);
export type LabelSelector = Type.Static<typeof LabelSelector>;

const Image = Type.String({ minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' });

export const MemberTemplate = Type.Object(
  {
    deploymentSelector: LabelSelector,
    canaryVersion: Type.Optional({
      ...Image,
      description: 'Image every member releases (unless images names its Deployment).',
    }),
    images: Type.Optional(
      Type.Record(Type.String({ ...DnsLabel }), Image, {
        maxProperties: 1000,
        description: 'Image per Deployment name: one service, one image.',
      }),
    ),
    container: Type.Optional(
      Type.String({ ...DnsLabel, description: 'Container that gets the new image. @default the first' }),
    ),
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
      'Members made by the group: one CanaryDeployment (named as its Deployment) for every Deployment deploymentSelector matches, with these settings.',
  },
);
export type MemberTemplate = Type.Static<typeof MemberTemplate>;

export const ReleaseGroupSpec = Type.Object(
  {
    selector: Type.Optional(LabelSelector),
    template: Type.Optional(MemberTemplate),
    maxConcurrent: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 5,
        description: 'Most members releasing at once; the others wait their turn (reason WaitingForGroup).',
      }),
    ),
    failureLimit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        description: 'No member starts once this many failed (those running finish on their own).',
      }),
    ),
    failureRatio: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'No member starts once this share of the members failed, e.g. 0.1.',
      }),
    ),
    paused: Type.Optional(
      Type.Boolean({ description: 'No member starts while true (set by `codedance group pause`).' }),
    ),
    aborted: Type.Optional(
      Type.Boolean({
        description:
          'Stop the whole group: every member not finished is aborted (traffic back to stable), none starts (set by `codedance group abort`).',
      }),
    ),
  },
  {
    ...cel(
      {
        rule: 'has(self.selector) != has(self.template)',
        message:
          'exactly one of spec.selector (select CanaryDeployments by label) or spec.template (make one for every matching Deployment) is required',
        fieldPath: '.selector',
        reason: 'FieldValueRequired',
      },
      {
        rule: '!has(self.template) || has(self.template.canaryVersion) || has(self.template.images)',
        message:
          'spec.template needs canaryVersion (one image for all) or images (an image per Deployment): the members release an image',
        fieldPath: '.template.canaryVersion',
        reason: 'FieldValueRequired',
      },
    ),
  },
);
export type ReleaseGroupSpec = Type.Static<typeof ReleaseGroupSpec>;

/** A member that failed, and why. */
export const FailedMember = Type.Object({
  name: Type.String(),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type FailedMember = Type.Static<typeof FailedMember>;

/** How many members are where. */
export const MemberCounts = Type.Object({
  total: Type.Integer(),
  waiting: Type.Integer({ description: 'Not started: waiting their turn.' }),
  running: Type.Integer({ description: 'Initializing, Progressing or Paused.' }),
  paused: Type.Integer({ description: 'Of the running, those Paused.' }),
  completed: Type.Integer(),
  failed: Type.Integer(),
});
export type MemberCounts = Type.Static<typeof MemberCounts>;

export const ReleaseGroupStatus = Type.Object({
  phase: Type.Optional(Type.Enum(GroupPhases)),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  counts: Type.Optional(MemberCounts),
  summary: Type.Optional(
    Type.String({ description: 'Counts for printing, e.g. 12/50 done, 5 running, 1 failed.' }),
  ),
  failed: Type.Optional(
    Type.Array(FailedMember, {
      maxItems: 100,
      description: 'Failed members with their reasons (first 100).',
    }),
  ),
  problems: Type.Optional(
    Type.Array(Type.String(), {
      maxItems: 20,
      description: 'Members the group could not make or select (a name taken, an invalid spec).',
    }),
  ),
  startedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
  cost: Type.Optional(CostSummary),
  conditions: Type.Optional(Conditions),
});
export type ReleaseGroupStatus = Type.Static<typeof ReleaseGroupStatus>;

export const ReleaseGroupSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: ObjectMetaSchema,
  spec: ReleaseGroupSpec,
  status: Type.Optional(ReleaseGroupStatus),
});

/** A ReleaseGroup as read from the API server. */
export interface ReleaseGroup {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: ReleaseGroupSpec;
  status?: ReleaseGroupStatus;
}
