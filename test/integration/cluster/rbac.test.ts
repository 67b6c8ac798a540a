/**
 * RBAC is real: the `codedance-controller` user (static token) can do only what a
 * ClusterRole grants it. Under `npm test` the shipped ClusterRole (deploy/rbac.yaml) is
 * bound to it; anything outside that role stays forbidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterRoleBinding, Deployment, Namespace, Node, Pod } from '../../../src/runtime/kinds.ts';
import { createKubeClient, KubeApiError, type KubeClient } from '../../../src/runtime/client.ts';
import { testCluster, testNamespace } from '../../support/cluster.ts';

async function controllerClient(t: { after: (fn: () => Promise<void>) => void }): Promise<KubeClient> {
  const { controllerKubeconfigPath } = await testCluster();
  const client = await createKubeClient({ kubeconfigPath: controllerKubeconfigPath });
  t.after(() => client.close());
  return client;
}

async function assertForbidden(what: string, call: () => Promise<unknown>): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof KubeApiError, `${what}: expected an API error, got ${String(err)}`);
    assert.equal(
      err.statusCode,
      403,
      `${what}: expected 403 Forbidden, got ${err.statusCode} ${err.message}`,
    );
    return true;
  });
}

test('the controller identity is refused what no role grants it', async (t) => {
  const controller = await controllerClient(t);
  const namespace = await testNamespace(t);
  const whoami = await controller.raw<{ status: { userInfo: { username: string; groups?: string[] } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  );
  assert.equal(whoami.status.userInfo.username, 'codedance-controller');
  assert.ok(!whoami.status.userInfo.groups?.includes('system:masters'));

  await assertForbidden('create a namespace', () =>
    controller.create(Namespace, { metadata: { name: `${namespace}-x` } }),
  );
  await assertForbidden('list nodes', () => controller.list(Node));
  await assertForbidden('delete a pod', () => controller.delete(Pod, namespace, 'anything'));
});

test('the shipped ClusterRole, when bound, grants what it lists', async (t) => {
  const { admin } = await testCluster();
  if (!(await admin.get(ClusterRoleBinding, undefined, 'codedance-controller-user'))) {
    t.skip('ClusterRole codedance-controller is not bound to the user on this cluster (npm test binds it)');
    return;
  }
  const controller = await controllerClient(t);
  const namespace = await testNamespace(t);
  const deployments = await controller.list(Deployment, { namespace });
  assert.deepEqual(deployments.items, []);
});
