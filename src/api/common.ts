/**
 * Schema pieces shared by every API of the project.
 */
import Type from 'typebox';

/** A Go-style duration string (`500ms`, `30s`, `5m`, `1h30m`), as Kubernetes users write them. */
export const Duration = {
  type: 'string',
  pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
  maxLength: 32,
} as const;

/** A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
export const DnsLabel = {
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
} as const;

/** A condition in the Kubernetes API conventions (metav1.Condition). */
export const Condition = Type.Object({
  type: Type.String(),
  status: Type.Enum(['True', 'False', 'Unknown']),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
});
export type Condition = Type.Static<typeof Condition>;

/** Object metadata in a CRD schema: the API server validates it itself. */
export const ObjectMetaSchema = Type.Object({}, { additionalProperties: true });
