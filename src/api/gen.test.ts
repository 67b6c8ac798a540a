/**
 * The committed deploy/ files are what src/api generates, and what it generates is a
 * structural schema the API server can take. Needs no cluster; the API server's own
 * verdict is in test/integration/api/validation.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { mkdtempSync, writeFileSync, rmSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { drift, generate, write, repoRoot, CRD_DIR } from './gen.ts';
import { apis, customResourceDefinition, type CustomResourceDefinition } from './crd.ts';
import {
  structuralProblems,
  toStructural,
  StructuralSchemaError,
  type StructuralSchema,
} from './structural.ts';
import Type from 'typebox';

test('committed deploy/ files match what src/api generates (run `npm run gen` when this fails)', () => {
  const drifts = drift();
  assert.deepEqual(
    drifts.map((d) => `${d.path}: ${d.problem}: ${d.detail}`),
    [],
  );
});

test('drift reports an edited, a missing and a stale file; write repairs them', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'codedance-gen-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  assert.deepEqual(write(root).length, generate().length);
  assert.deepEqual(drift(root), []);

  const [first, second] = generate(root);
  assert.ok(first && second);
  writeFileSync(
    join(root, first.path),
    readFileSync(join(root, first.path), 'utf8').replace('maxLength: 63', 'maxLength: 64'),
  );
  rmSync(join(root, second.path));
  writeFileSync(join(root, CRD_DIR, 'old.example.com_things.yaml'), 'kind: CustomResourceDefinition\n');
  const found = drift(root);
  assert.deepEqual(
    found.map((d) => `${d.path}: ${d.problem}`),
    [
      `${first.path}: differs`,
      `${second.path}: missing`,
      `${CRD_DIR}/old.example.com_things.yaml: not generated`,
    ],
  );
  assert.match(
    found[0]!.detail,
    /first difference at line \d+ \(committed: maxLength: 64 \| generated: maxLength: 63\)/,
  );

  write(root);
  rmSync(join(root, CRD_DIR, 'old.example.com_things.yaml'));
  assert.deepEqual(drift(root), []);
});

test('`gen.ts --check` exits 0 on the committed tree', () => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'src/api/gen.ts'), '--check'], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
});

test('generation is deterministic', () => {
  assert.deepEqual(generate(), generate());
});

for (const api of apis) {
  const crd = customResourceDefinition(api);
  const version = crd.spec.versions[0];
  assert.ok(version);
  const schema = version.schema.openAPIV3Schema;

  test(`${api.kind}: the schema is structural (every node typed, known keywords only, CEL rules with messages)`, () => {
    assert.deepEqual(structuralProblems(schema), []);
  });

  test(`${api.kind}: every property has a type`, () => {
    const untyped: string[] = [];
    walk(schema, '', (node, path) => {
      if (node.type === undefined) untyped.push(path);
    });
    assert.deepEqual(untyped, []);
  });

  test(`${api.kind}: metadata is a bare object and the status subresource is on`, () => {
    assert.deepEqual(schema.properties?.['metadata'], { type: 'object' });
    assert.deepEqual(version.subresources, { status: {} });
  });

  test(`${api.kind}: printer columns point at fields of the schema with the column's type`, () => {
    for (const column of version.additionalPrinterColumns) {
      if (column.jsonPath === '.metadata.creationTimestamp') continue;
      const node = at(schema, column.jsonPath);
      assert.ok(node, `${column.name}: ${column.jsonPath} is not in the schema`);
      assert.equal(
        node.type,
        column.type,
        `${column.name}: column type ${column.type}, field type ${String(node.type)}`,
      );
    }
  });

  test(`${api.kind}: every enum is typed and every default is of its node's type`, () => {
    walk(schema, '', (node, path) => {
      if (node['enum'] !== undefined) assert.equal(node.type, 'string', `${path}: enum without type string`);
      const fallback = node['default'];
      if (fallback === undefined) return;
      const kind = Array.isArray(fallback)
        ? 'array'
        : Number.isInteger(fallback) && node.type === 'integer'
          ? 'integer'
          : typeof fallback === 'number'
            ? 'number'
            : typeof fallback;
      assert.equal(
        kind,
        node.type,
        `${path}: default ${JSON.stringify(fallback)} is not a ${String(node.type)}`,
      );
      if (Array.isArray(node['enum']))
        assert.ok((node['enum'] as unknown[]).includes(fallback), `${path}: default not in enum`);
    });
  });

  test(`${api.kind}: the committed YAML parses back to the same CRD`, () => {
    const file = generate().find((f) => f.path.endsWith(`${api.group}_${api.plural}.yaml`));
    assert.ok(file);
    assert.deepEqual(parse(file.content) as CustomResourceDefinition, crd);
  });
}

test('CanaryDeployment: names, short name, categories and columns', () => {
  const crd = customResourceDefinition(apis[0]!);
  assert.equal(crd.metadata.name, 'canarydeployments.deploy.codedance.io');
  assert.deepEqual(crd.spec.names.shortNames, ['cd']);
  assert.deepEqual(crd.spec.names.categories, ['codedance']);
  const columns = crd.spec.versions[0]!.additionalPrinterColumns.map(
    (c) => `${c.name}=${c.jsonPath}${c.priority ? `@${c.priority}` : ''}`,
  );
  assert.deepEqual(columns, [
    'Phase=.status.phase',
    'Step=.status.stepLabel',
    'Weight=.status.currentWeight',
    'Version=.spec.canaryVersion@1',
    'Age=.metadata.creationTimestamp',
    'Message=.status.message',
  ]);
});

test('WebApp: names and columns', () => {
  const crd = customResourceDefinition(apis[1]!);
  assert.equal(crd.metadata.name, 'webapps.apps.codedance.io');
  assert.deepEqual(crd.spec.names.shortNames, ['wa']);
  assert.deepEqual(
    crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name),
    ['Phase', 'Image', 'Replicas', 'Ready', 'Age', 'Message'],
  );
});

test('toStructural: enums and literal unions get a type, Records become additionalProperties', () => {
  const out = toStructural(
    Type.Object({
      e: Type.Enum(['A', 'B']),
      u: Type.Union([Type.Literal(1), Type.Literal(2)]),
      r: Type.Record(Type.String(), Type.Integer()),
      x: Type.Number({ exclusiveMinimum: 0 }),
    }),
  );
  assert.deepEqual(out.properties?.['e'], { type: 'string', enum: ['A', 'B'] });
  assert.deepEqual(out.properties?.['u'], { type: 'integer', enum: [1, 2] });
  assert.deepEqual(out.properties?.['r'], { type: 'object', additionalProperties: { type: 'integer' } });
  assert.deepEqual(out.properties?.['x'], { type: 'number', minimum: 0, exclusiveMinimum: true });
});

test('toStructural: refuses what a CRD cannot express, naming the path', () => {
  assert.throws(
    () => toStructural(Type.Object({ a: Type.Union([Type.String(), Type.Integer()]) })),
    (err: unknown) => {
      return err instanceof StructuralSchemaError && err.path === '.a';
    },
  );
  assert.throws(
    () => toStructural({ type: 'object', properties: { b: { type: 'string', if: {} } } }),
    /\.b: keyword 'if'/,
  );
  assert.throws(() => toStructural({ properties: {} }), /every node needs a type/);
});

test('structuralProblems: finds untyped nodes, CEL without messages and unbounded lists with rules', () => {
  const problems = structuralProblems({
    type: 'object',
    properties: {
      a: {},
      b: { type: 'array', items: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self != ""' }] } },
    },
  });
  assert.ok(problems.includes('.a: no type'));
  assert.ok(problems.some((p) => p.startsWith('.b[]: CEL rule')));
  assert.ok(problems.some((p) => p.startsWith('.b: a list with CEL rules needs maxItems')));
  const listProblems = structuralProblems({
    type: 'array',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    items: { type: 'object', properties: { name: { type: 'string' } } },
  });
  assert.deepEqual(listProblems, ["<root>: list-map key 'name' must be required or defaulted"]);
});

/** Calls `visit` on every node below `node` (not the root itself), with its path. */
function walk(
  node: StructuralSchema,
  path: string,
  visit: (node: StructuralSchema, path: string) => void,
): void {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    visit(child, `${path}.${name}`);
    walk(child, `${path}.${name}`, visit);
  }
  if (node.items) {
    visit(node.items, `${path}[]`);
    walk(node.items, `${path}[]`, visit);
  }
  if (node.additionalProperties) {
    visit(node.additionalProperties, `${path}.*`);
    walk(node.additionalProperties, `${path}.*`, visit);
  }
}

/** The schema node at a simple JSONPath like `.status.phase`. */
function at(schema: StructuralSchema, jsonPath: string): StructuralSchema | undefined {
  let node: StructuralSchema | undefined = schema;
  for (const part of jsonPath.split('.').slice(1)) node = node?.properties?.[part];
  return node;
}
