/**
 * The ReleasePlan CRD on the real API server: a valid plan is stored with its template's
 * CanaryDeployment defaults, and each mistake is refused on its field, saying why (sent
 * with `dryRun=All`: validated as for a create, nothing stored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { repoRoot } from '../../../src/api/gen.ts';
import { ReleasePlanKind } from '../../../src/api/kinds.ts';
import type { ReleasePlan } from '../../../src/api/release-plan.ts';
import { KubeApiError, resourcePath } from '../../../src/runtime/client.ts';
import { installApi } from '../../support/controller.ts';
import { testCluster, testNamespace } from '../../support/cluster.ts';

const { admin } = await testCluster();

function dryRun(object: ReleasePlan): Promise<ReleasePlan> {
  return admin.raw<ReleasePlan>(
    'POST',
    `${resourcePath(ReleasePlanKind, object.metadata.namespace)}?dryRun=All`,
    object,
  );
}

test('ReleasePlan: defaults, and every refusal names its field', async (t) => {
  await installApi(admin);
  const ns = await testNamespace(t);
  const plan = (spec: unknown): ReleasePlan =>
    ({
      apiVersion: 'deploy.codedance.io/v1alpha1',
      kind: 'ReleasePlan',
      metadata: { name: 'p', namespace: ns },
      spec,
    }) as ReleasePlan;
  const template = {
    name: 'app',
    namespace: 'shop',
    spec: { targetDeployment: 'app', canaryVersion: 'app:v2' },
  };
  const waves = [
    { name: 'staging', clusters: ['staging'] },
    { name: 'prod', clusters: ['prod-a', 'prod-b'] },
  ];

  const stored = await dryRun(plan({ template, waves }));
  assert.equal(
    stored.spec.template.spec.strategy?.type,
    'Linear',
    "the template gets a CanaryDeployment's defaults",
  );

  // The example as shipped.
  const example = parse(
    readFileSync(join(repoRoot, 'examples/waves/release-plan.yaml'), 'utf8'),
  ) as ReleasePlan;
  const exampleStored = await dryRun({ ...example, metadata: { ...example.metadata, namespace: ns } });
  assert.deepEqual(
    exampleStored.spec.waves.map((w) => w.name),
    ['staging', 'prod'],
  );

  const cases: { name: string; spec: unknown; field: string; says: string }[] = [
    { name: 'no waves', spec: { template, waves: [] }, field: 'spec.waves', says: 'at least 1' },
    {
      name: 'two waves of one name',
      spec: { template, waves: [waves[0], { ...waves[1], name: 'staging' }] },
      field: 'spec.waves',
      says: 'every wave needs its own name',
    },
    {
      name: 'a wave without clusters',
      spec: { template, waves: [{ name: 'staging', clusters: [] }] },
      field: 'spec.waves[0].clusters',
      says: 'at least 1',
    },
    {
      name: "the template's steps out of order",
      spec: {
        template: {
          ...template,
          spec: { ...template.spec, strategy: { steps: [{ weight: 50 }, { weight: 10 }] } },
        },
        waves,
      },
      field: 'spec.template.spec.strategy.steps',
      says: 'strictly increase',
    },
  ];
  for (const c of cases) {
    let error: unknown;
    try {
      await dryRun(plan(c.spec));
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof KubeApiError, `${c.name}: accepted`);
    assert.equal(error.statusCode, 422, `${c.name}: ${error.message}`);
    const causes = error.status?.details?.causes ?? [];
    assert.ok(
      causes.some((cause) => cause.field === c.field && (cause.message ?? '').includes(c.says)),
      `${c.name}: no cause on ${c.field} saying "${c.says}": ${JSON.stringify(causes)}`,
    );
  }
});
