/**
 * Turns a TypeBox (JSON Schema) object into a Kubernetes structural schema, the dialect
 * `apiextensions.k8s.io/v1` CRDs accept, and checks a schema against the structural rules.
 *
 * The conversion is strict: a keyword Kubernetes does not know makes it throw, naming the
 * path, instead of being dropped, because a dropped keyword is a validation the user
 * believes in and the API server never runs.
 *
 * What it does:
 * - every node gets a `type` (an `enum`, `const` or union of literals is typed from its values);
 * - `patternProperties` (TypeBox `Record`) becomes `additionalProperties`;
 * - numeric `exclusiveMinimum`/`exclusiveMaximum` (JSON Schema 2019) become OpenAPI v3.0's
 *   boolean form next to `minimum`/`maximum`;
 * - `additionalProperties: true|false` beside `properties` is dropped (the API server prunes
 *   unknown fields anyway, and structural schemas forbid both together);
 * - `$id`, `$schema` and TypeBox's own `~` keys are dropped.
 */

/**
 * A JSON Schema node as TypeBox produces it: a plain object. Typed as `object` because
 * TypeBox's schema interfaces have no index signature; {@link fields} reads it.
 */
export type SchemaNode = object;

/** The keywords of a schema node, for reading. */
export function fields(node: SchemaNode): { readonly [key: string]: unknown } {
  return node as { readonly [key: string]: unknown };
}

/** An OpenAPI v3 node of a CRD schema (JSONSchemaProps), as plain data. */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  [keyword: string]: unknown;
}

/** Keywords copied as they are: OpenAPI v3.0 validation keywords Kubernetes implements. */
const PASS_THROUGH = new Set([
  'description',
  'title',
  'default',
  'format',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'nullable',
  'example',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);

/** Keywords that carry no meaning for the API server and are dropped on purpose. */
const DROPPED = new Set(['$id', '$schema', 'examples', 'readOnly', 'writeOnly']);

/** Every keyword a node of the generated schema may hold (used by {@link structuralProblems}). */
const ALLOWED = new Set([
  ...PASS_THROUGH,
  'type',
  'enum',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** A schema that cannot be expressed as a structural schema; `path` says where. */
export class StructuralSchemaError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path || '<root>'}: ${message}`);
    this.name = 'StructuralSchemaError';
    this.path = path;
  }
}

/**
 * Converts one JSON Schema node (and everything below it) to a structural schema node.
 *
 * @param path JSON path of the node, used in error messages only.
 * @throws StructuralSchemaError when the node uses a keyword or shape Kubernetes cannot take.
 */
export function toStructural(schema: SchemaNode, path = ''): StructuralSchema {
  const node = fields(schema);
  const out: StructuralSchema = {};
  const enumValues = literalValues(node, path);
  const type = node['type'] ?? (enumValues ? typeOfValues(enumValues, path) : undefined);
  if (type !== undefined) {
    if (typeof type !== 'string' || !TYPES.has(type)) {
      throw new StructuralSchemaError(
        path,
        `type must be one of ${[...TYPES].join(', ')}, not ${JSON.stringify(type)}`,
      );
    }
    out.type = type as StructuralSchema['type'];
  }
  if (enumValues) out['enum'] = enumValues;

  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('~') || DROPPED.has(key)) continue;
    switch (key) {
      case 'type':
      case 'enum':
      case 'const':
      case 'anyOf':
        break; // handled above through literalValues
      case 'properties': {
        const properties: Record<string, StructuralSchema> = {};
        for (const [name, child] of Object.entries(fields(asNode(value, path)))) {
          properties[name] = toStructural(asNode(child, `${path}.${name}`), `${path}.${name}`);
        }
        out.properties = properties;
        break;
      }
      case 'required':
        if (Array.isArray(value) && value.length > 0) out.required = value.map(String);
        break;
      case 'items':
        if (Array.isArray(value))
          throw new StructuralSchemaError(path, 'tuple items are not supported; use a list of one schema');
        out.items = toStructural(asNode(value, `${path}[]`), `${path}[]`);
        break;
      case 'additionalProperties':
        if (typeof value === 'object' && value !== null) {
          out.additionalProperties = toStructural(asNode(value, `${path}.*`), `${path}.*`);
        }
        // `true`/`false`: pruning already drops unknown fields; `true` alone would need
        // x-kubernetes-preserve-unknown-fields, which must be asked for explicitly.
        break;
      case 'patternProperties': {
        const patterns = Object.entries(fields(asNode(value, path)));
        const only = patterns[0];
        if (patterns.length !== 1 || only === undefined) {
          throw new StructuralSchemaError(
            path,
            'only one patternProperties entry (a Record) can become additionalProperties',
          );
        }
        out.additionalProperties = toStructural(asNode(only[1], `${path}.*`), `${path}.*`);
        break;
      }
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const bound = key === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        if (typeof value === 'number') {
          out[bound] = value;
          out[key] = true;
        } else if (value === true) {
          out[key] = true;
        }
        break;
      }
      default:
        if (!PASS_THROUGH.has(key)) {
          throw new StructuralSchemaError(
            path,
            `keyword '${key}' has no structural-schema equivalent; express it with x-kubernetes-validations`,
          );
        }
        out[key] = value;
    }
  }
  if (
    out.type === undefined &&
    out['x-kubernetes-int-or-string'] !== true &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    throw new StructuralSchemaError(
      path,
      'every node needs a type (or x-kubernetes-int-or-string / x-kubernetes-preserve-unknown-fields)',
    );
  }
  return out;
}

/**
 * The rules of a structural schema this project relies on, checked on a generated node.
 * Returns one line per problem (`path: problem`), empty when the schema is sound.
 *
 * Checked: every node has a type (or is int-or-string / preserves unknown fields); only
 * known keywords; `properties` and `additionalProperties` not both; arrays have `items`;
 * every `required` name is a property; every CEL rule carries a message; every list with
 * CEL rules on or below it has `maxItems` (the API server's cost estimate needs it);
 * list-map keys are required properties of the items; set lists hold scalars.
 */
export function structuralProblems(node: StructuralSchema, path = ''): string[] {
  const problems: string[] = [];
  const at = path || '<root>';
  const preserves =
    node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (node.type === undefined && !preserves) problems.push(`${at}: no type`);
  for (const key of Object.keys(node)) {
    if (!ALLOWED.has(key)) problems.push(`${at}: keyword '${key}' is not allowed`);
  }
  if (node.properties && node.additionalProperties)
    problems.push(`${at}: properties and additionalProperties together`);
  if (node.type === 'array' && !node.items) problems.push(`${at}: array without items`);
  if (node.type !== 'object' && (node.properties || node.additionalProperties))
    problems.push(`${at}: properties on a non-object`);
  for (const name of node.required ?? []) {
    if (!node.properties?.[name]) problems.push(`${at}: required '${name}' is not a property`);
  }
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) problems.push(`${at}: x-kubernetes-validations is not a list`);
    else {
      for (const rule of rules as { rule?: unknown; message?: unknown }[]) {
        if (typeof rule.rule !== 'string' || rule.rule === '')
          problems.push(`${at}: a CEL rule without a rule`);
        if (typeof rule.message !== 'string' || rule.message === '')
          problems.push(`${at}: CEL rule '${String(rule.rule)}' has no message`);
      }
    }
  }
  if (node['x-kubernetes-list-type'] === 'map') {
    // The API server merges and deduplicates by these keys, so each item must have them.
    for (const key of (node['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []) {
      const item = node.items;
      if (!item?.properties?.[key])
        problems.push(`${at}: list-map key '${key}' is not a property of the items`);
      else if (!item.required?.includes(key) && item.properties[key]?.['default'] === undefined) {
        problems.push(`${at}: list-map key '${key}' must be required or defaulted`);
      }
    }
  }
  if (
    node['x-kubernetes-list-type'] === 'set' &&
    (node.items?.type === 'object' || node.items?.type === 'array')
  ) {
    problems.push(`${at}: a set list needs scalar items`);
  }
  if (node.type === 'array' && node.items && node['maxItems'] === undefined && hasCel(node)) {
    problems.push(`${at}: a list with CEL rules needs maxItems, or its estimated cost is unbounded`);
  }
  for (const [name, child] of Object.entries(node.properties ?? {}))
    problems.push(...structuralProblems(child, `${path}.${name}`));
  if (node.items) problems.push(...structuralProblems(node.items, `${path}[]`));
  if (node.additionalProperties) problems.push(...structuralProblems(node.additionalProperties, `${path}.*`));
  return problems;
}

/** Whether the node or anything below it carries CEL rules. */
function hasCel(node: StructuralSchema): boolean {
  if (node['x-kubernetes-validations'] !== undefined) return true;
  const children = [...Object.values(node.properties ?? {}), node.items, node.additionalProperties];
  return children.some((child) => child !== undefined && hasCel(child));
}

/** The literal values of an `enum`, a `const`, or an `anyOf` of consts (TypeBox's union of literals). */
function literalValues(node: { readonly [key: string]: unknown }, path: string): unknown[] | undefined {
  if (Array.isArray(node['enum'])) return [...(node['enum'] as unknown[])];
  if ('const' in node) return [node['const']];
  const anyOf = node['anyOf'];
  if (anyOf === undefined) return undefined;
  if (!Array.isArray(anyOf)) throw new StructuralSchemaError(path, 'anyOf must be a list');
  return anyOf.map((branch, i) => {
    const b = fields(asNode(branch, `${path}.anyOf[${i}]`));
    if (!('const' in b)) {
      throw new StructuralSchemaError(
        path,
        'anyOf is only supported as a union of literals; use an enum or CEL for anything else',
      );
    }
    return b['const'];
  });
}

/** The single JSON type shared by every literal of an enum. */
function typeOfValues(values: unknown[], path: string): string {
  const types = new Set(
    values.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v)),
  );
  if (types.has('number')) types.delete('integer');
  const [only, ...rest] = [...types];
  if (only === undefined || rest.length > 0 || !TYPES.has(only)) {
    throw new StructuralSchemaError(path, `enum values must share one type, got ${[...types].join(', ')}`);
  }
  return only;
}

function asNode(value: unknown, path: string): SchemaNode {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StructuralSchemaError(path, 'expected a schema object');
  }
  return value as SchemaNode;
}
