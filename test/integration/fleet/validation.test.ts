/**
 * The ReleaseGroup CRD on the real API server: a valid group is stored with its defaults,
 * and each mistake a user could make is refused on the right field, saying why (sent
 * with `dryRun=All`: the server validates as for a create and stores nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseGroupKind } from '../../../src/api/kinds.ts';
import type { ReleaseGroup } from '../../../src/api/release-group.ts';
import { KubeApiError, resourcePath } from '../../../src/runtime/client.ts';
import { installApi } from '../../support/controller.ts';
import { testCluster, testNamespace } from '../../support/cluster.ts';

const { admin } = await testCluster();

function dryRun(object: ReleaseGroup): Promise<ReleaseGroup> {
  return admin.raw<ReleaseGroup>(
    'POST',
    `${resourcePath(ReleaseGroupKind, object.metadata.namespace)}?dryRun=All`,
    object,
  );
}

test('ReleaseGroup: defaults, and every refusal names its field', async (t) => {
  await installApi(admin);
  const ns = await testNamespace(t);
  const group = (spec: unknown): ReleaseGroup =>
    ({
      apiVersion: 'deploy.codedance.io/v1alpha1',
      kind: 'ReleaseGroup',
      metadata: { name: 'g', namespace: ns },
      spec,
    }) as ReleaseGroup;
  const template = { deploymentSelector: { matchLabels: { fleet: 'shop' } }, canaryVersion: 'lib:v2' };

  const stored = await dryRun(group({ template }));
  assert.equal(stored.spec.maxConcurrent, 5, 'maxConcurrent defaults to 5');
  // The members' settings get a CanaryDeployment's own defaults (the blocks default to {}).
  assert.equal(stored.spec.template?.strategy?.type, 'Linear');

  const cases: { name: string; spec: unknown; field: string; says: string }[] = [
    {
      name: 'neither selector nor template',
      spec: { maxConcurrent: 2 },
      field: 'spec.selector',
      says: 'exactly one of',
    },
    {
      name: 'both selector and template',
      spec: { template, selector: { matchLabels: { a: 'b' } } },
      field: 'spec.selector',
      says: 'exactly one of',
    },
    {
      name: 'a template without an image',
      spec: { template: { deploymentSelector: template.deploymentSelector } },
      field: 'spec.template.canaryVersion',
      says: 'canaryVersion',
    },
    {
      name: 'maxConcurrent 0',
      spec: { template, maxConcurrent: 0 },
      field: 'spec.maxConcurrent',
      says: 'greater than or equal to 1',
    },
    {
      name: 'a failure ratio above 1',
      spec: { template, failureRatio: 1.5 },
      field: 'spec.failureRatio',
      says: 'less than or equal to 1',
    },
    {
      name: 'an empty selector',
      spec: { selector: { matchLabels: {} } },
      field: 'spec.selector.matchLabels',
      says: 'at least 1',
    },
    {
      name: "the members' steps out of order",
      spec: { template: { ...template, strategy: { steps: [{ weight: 50 }, { weight: 10 }] } } },
      field: 'spec.template.strategy.steps',
      says: 'strictly increase',
    },
  ];
  for (const c of cases) {
    let error: unknown;
    try {
      await dryRun(group(c.spec));
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
