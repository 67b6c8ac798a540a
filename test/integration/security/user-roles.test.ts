/**
 * The roles people get: `codedance-view` and `codedance-edit` aggregate into the cluster's
 * `view` and `edit` ClusterRoles, so a team's existing RoleBinding to `view` or `edit`
 * covers CanaryDeployments and WebApps, in that namespace only. Judged by the API
 * server's own authorizer (SubjectAccessReview) after the cluster's aggregation
 * controller has folded the rules in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EDIT_ROLE, rbacManifests, VIEW_ROLE } from '../../../src/api/manifests.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

const { admin } = await testCluster();
const fieldManager = 'codedance-user-roles-test';

interface Review {
  status?: { allowed?: boolean; reason?: string };
}

async function allowed(
  user: string,
  namespace: string,
  verb: string,
  [group, resource]: readonly [string, string],
  subresource?: string,
): Promise<boolean> {
  const review = await admin.raw<Review>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user,
      groups: ['system:authenticated'],
      resourceAttributes: { namespace, verb, group, resource, ...(subresource ? { subresource } : {}) },
    },
  });
  return review.status?.allowed === true;
}

const releases = ['deploy.codedance.io', 'canarydeployments'] as const;
const webapps = ['apps.codedance.io', 'webapps'] as const;

test('a RoleBinding to view reads releases and WebApps; one to edit also writes them; neither touches status or other namespaces', async (t) => {
  for (const obj of rbacManifests() as KubeObject[]) {
    if (obj.kind === 'ClusterRole' && (obj.metadata.name === VIEW_ROLE || obj.metadata.name === EDIT_ROLE))
      await admin.apply(kinds.ClusterRole, obj, { fieldManager });
  }
  const ns = await testNamespace(t);
  const elsewhere = await testNamespace(t);
  const suffix = ns.slice(-6);
  const viewer = `viewer-${suffix}`;
  const editor = `editor-${suffix}`;
  for (const [user, role] of [
    [viewer, 'view'],
    [editor, 'edit'],
  ] as const) {
    await admin.create(kinds.RoleBinding, {
      metadata: { name: `${role}-${user}`, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } as KubeObject);
  }

  // The aggregation controller folds codedance-view/edit into view/edit shortly after they appear.
  await waitFor(
    async () =>
      (await allowed(viewer, ns, 'list', releases)) && (await allowed(editor, ns, 'create', webapps)),
    {
      describe: 'view and edit to cover CanaryDeployments and WebApps (aggregation)',
      timeoutMs: 60_000,
    },
  );

  for (const resource of [releases, webapps] as const) {
    for (const verb of ['get', 'list', 'watch']) {
      assert.ok(await allowed(viewer, ns, verb, resource), `view: ${verb} ${resource[1]}`);
      assert.ok(await allowed(editor, ns, verb, resource), `edit: ${verb} ${resource[1]}`);
    }
    assert.ok(await allowed(viewer, ns, 'get', resource, 'status'), `view: get ${resource[1]}/status`);
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
      assert.ok(!(await allowed(viewer, ns, verb, resource)), `view must not ${verb} ${resource[1]}`);
      assert.ok(await allowed(editor, ns, verb, resource), `edit: ${verb} ${resource[1]}`);
    }
    // Status is the controller's story to tell.
    assert.ok(
      !(await allowed(editor, ns, 'patch', resource, 'status')),
      `edit must not patch ${resource[1]}/status`,
    );
    assert.ok(
      !(await allowed(viewer, elsewhere, 'get', resource)),
      `the RoleBinding covers its namespace only (${resource[1]})`,
    );
  }
});
