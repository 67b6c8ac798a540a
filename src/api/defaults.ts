/**
 * In-memory defaulting with the same defaults, read from the same schema objects, that
 * the API server applies from the CRD — so a spec built in a test or read from an older
 * object looks to the controller exactly like one the API server stored.
 *
 * The algorithm is the API server's (apiextensions structural defaulting): a missing
 * property with a `default` gets a deep copy of it; then every present property, list item
 * and map value is defaulted in turn, so an object defaulted to `{}` receives its own
 * fields' defaults. Defaults never overwrite a value that is present, and `null` is left
 * alone (our schemas are not nullable, so the API server refuses it before this matters).
 */
import { CanaryDeploymentSpec } from './canary-deployment.ts';
import { WebAppSpec } from './webapp.ts';
import { fields, type SchemaNode } from './structural.ts';

/**
 * Returns a deep copy of `value` with every missing field that has a schema default filled in.
 * `value` itself is not changed.
 *
 * @param schema A TypeBox (JSON Schema) object: `properties`, `items`, `additionalProperties`
 *   and `patternProperties` are followed.
 */
export function applyDefaults<T>(schema: SchemaNode, value: T): T {
  return defaultNode(schema, structuredClone(value)) as T;
}

/**
 * A CanaryDeployment spec with the schema's defaults filled in (strategy type Linear,
 * provider Replicas, analysis interval 30s, thresholds, decision weights and scores,
 * autoRollback flags, ...). The input is not changed.
 */
export function withDefaults(spec: CanaryDeploymentSpec): CanaryDeploymentSpec {
  return applyDefaults(CanaryDeploymentSpec, spec);
}

/** A WebApp spec with the schema's defaults filled in (replicas 1, port 8080, and those of `release`). */
export function webAppWithDefaults(spec: WebAppSpec): WebAppSpec {
  return applyDefaults(WebAppSpec, spec);
}

/** Defaults `value` in place (it is already a private copy) and returns it. */
function defaultNode(node: SchemaNode, value: unknown): unknown {
  const schema = fields(node);
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (isNode(items)) {
      for (const [i, item] of value.entries()) value[i] = defaultNode(items, item);
    }
    return value;
  }
  if (!isRecord(value)) return value;
  const properties = schema['properties'];
  if (isNode(properties)) {
    for (const [name, child] of Object.entries(properties)) {
      if (!isNode(child)) continue;
      const fallback = fields(child)['default'];
      if (value[name] === undefined && fallback !== undefined) value[name] = structuredClone(fallback);
      if (value[name] !== undefined) value[name] = defaultNode(child, value[name]);
    }
  }
  const mapValues = mapValueSchema(schema);
  if (mapValues) {
    for (const [key, item] of Object.entries(value)) {
      if (!isNode(properties) || !(key in fields(properties))) value[key] = defaultNode(mapValues, item);
    }
  }
  return value;
}

/** The schema of a map's values: `additionalProperties`, or the single `patternProperties` entry of a TypeBox Record. */
function mapValueSchema(node: SchemaNode): SchemaNode | undefined {
  const schema = fields(node);
  const additional = schema['additionalProperties'];
  if (isNode(additional)) return additional;
  const patterns = schema['patternProperties'];
  if (isNode(patterns)) {
    const [first] = Object.values(fields(patterns));
    if (isNode(first)) return first;
  }
  return undefined;
}

function isNode(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
