/**
 * Schema pieces shared by every API of the project.
 *
 * Everything here is plain JSON Schema (TypeBox objects or literal objects spread into
 * TypeBox options), so the same object gives the TypeScript type, the CRD's OpenAPI
 * schema (through `gen.ts`) and the in-memory defaults (through `defaults.ts`).
 */
import Type from 'typebox';

/**
 * One CEL rule of a CRD schema (`x-kubernetes-validations`), evaluated by the API server.
 *
 * `message` (or `messageExpression`) is required by this project, although Kubernetes
 * makes it optional: without it the user sees the rule's source instead of a reason.
 * The API server prefixes the message with the path of the node the rule sits on, or
 * with `fieldPath` when given, so a message says what is wrong and what to do.
 */
export interface CelRule {
  /** CEL expression over `self` (and `oldSelf` for transition rules) that must be true. */
  rule: string;
  /** Shown when the rule is false. */
  message: string;
  /** CEL expression returning the message (cost-checked by the API server); `message` is the fallback. */
  messageExpression?: string;
  /** JSONPath, relative to the node, of the field the error is reported on (e.g. `.istio`). */
  fieldPath?: string;
  /** Machine-readable cause reported with the error. @default FieldValueInvalid */
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/**
 * Schema options holding CEL rules; spread into a TypeBox call's options:
 * `Type.Object({...}, { ...cel({ rule, message }) })`.
 */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** What a duration looks like: a Go duration restricted to ms, s, m and h (`500ms`, `30s`, `1h30m`). */
export const DurationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/**
 * A Go-style duration string (`500ms`, `30s`, `5m`, `1h30m`), as Kubernetes users write them.
 *
 * The OpenAPI `pattern` alone reports "should match '^([0-9]+...'", which tells a user
 * nothing; the CEL twin of the same pattern says what a duration looks like.
 * `maxLength` bounds the regular-expression cost the API server estimates.
 */
export const Duration = {
  type: 'string',
  pattern: DurationPattern,
  maxLength: 32,
  ...cel({
    rule: `self.matches('${DurationPattern.replaceAll('\\', '\\\\')}')`,
    message: 'must be a duration: a number followed by ms, s, m or h, e.g. 500ms, 30s, 5m, 1h30m',
  }),
} as const;

/** What a DNS-1123 label looks like: lower-case alphanumerics and '-', alphanumeric at both ends. */
export const DnsLabelPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/**
 * A DNS-1123 label (the name of a Deployment, Service, Ingress...): at most 63 characters.
 * As with {@link Duration}, the CEL twin of the pattern says in words what is expected.
 */
export const DnsLabel = {
  minLength: 1,
  maxLength: 63,
  pattern: DnsLabelPattern,
  ...cel({
    rule: `self.matches('${DnsLabelPattern}')`,
    message:
      "must be a Kubernetes object name (DNS-1123 label): lower-case letters, digits and '-', starting and ending with a letter or digit",
  }),
} as const;

/** A condition in the Kubernetes API conventions (metav1.Condition). */
export const Condition = Type.Object({
  type: Type.String({ maxLength: 316 }),
  status: Type.Enum(['True', 'False', 'Unknown']),
  reason: Type.Optional(Type.String({ maxLength: 1024 })),
  message: Type.Optional(Type.String({ maxLength: 32768 })),
  lastTransitionTime: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
});
export type Condition = Type.Static<typeof Condition>;

/** The `conditions` list of a status: a map keyed by `type`, so server-side apply merges it per condition. */
export const Conditions = Type.Array(Condition, {
  maxItems: 20,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** Object metadata in a CRD schema: the API server validates it itself. */
export const ObjectMetaSchema = Type.Object({}, { additionalProperties: true });
