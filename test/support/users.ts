/**
 * Acting as an ordinary person in integration tests: the local cluster's users
 * (`alice`, `bob`, `carol`, `dave`, see src/cluster/credentials.ts) have no rights of their
 * own; a test grants them Roles in its own namespace with {@link grant} and acts with
 * their token or a kubeconfig file.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUserToken, type LocalUser } from '../../src/cluster/credentials.ts';
import { writeKubeconfig } from '../../src/cluster/kubeconfig.ts';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../../src/runtime/client.ts';
import { whoAmI } from '../../src/runtime/whoami.ts';
import { testCluster, waitFor } from './cluster.ts';

/** One person of the local cluster. */
export interface TestUser {
  name: LocalUser;
  token: string;
  /** A kubeconfig of this person alone (context namespace `default`). */
  kubeconfigPath: string;
  /** A client with their credentials (closed by the caller). */
  client(): Promise<KubeClient>;
}

let folder: Promise<string> | undefined;

/** The local user `name`, checked to be known to the API server. */
export async function testUser(name: LocalUser): Promise<TestUser> {
  const cluster = await testCluster();
  const token = await localUserToken(cluster.stateDir, name);
  if (!token)
    throw new Error(
      `the cluster in ${cluster.stateDir} has no user ${name}: it was made before local users existed; recreate it (codedance cluster down, then up)`,
    );
  const admin = loadKubeConfig({ path: cluster.kubeconfigPath });
  folder ??= mkdtemp(join(tmpdir(), 'codedance-users-'));
  const kubeconfigPath = join(await folder, `${name}.kubeconfig`);
  await writeKubeconfig(kubeconfigPath, {
    server: admin.server,
    caPem: admin.tls.ca ?? '',
    user: name,
    token,
  });
  const client = (): Promise<KubeClient> =>
    createKubeClient({ kubeconfigPath, fieldManager: 'codedance-test' });
  const probe = await client();
  try {
    const seen = await whoAmI(probe);
    if (seen !== name)
      throw new Error(
        `the API server does not know user ${name}'s token (it says ${seen ?? 'nothing'}): restart the cluster so it reads the token file again`,
      );
  } finally {
    await probe.close();
  }
  return { name, token, kubeconfigPath, client };
}

/** Whether the API server lets `user` do `verb` on CanaryDeployments in `namespace` (a SubjectAccessReview). */
export async function allowed(namespace: string, user: string, verb: string): Promise<boolean> {
  const { admin } = await testCluster();
  const review = await admin.raw<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user,
        resourceAttributes: { namespace, verb, group: 'deploy.codedance.io', resource: 'canarydeployments' },
      },
    },
  );
  return review.status?.allowed === true;
}

/**
 * Gives `user` the verbs `verbs` on CanaryDeployments in `namespace` (a Role and a
 * RoleBinding named after them), as an admin would, and waits until the API server's
 * authorizer applies it. Resolves to the RoleBinding's name.
 */
export async function grant(namespace: string, user: LocalUser, verbs: string[]): Promise<string> {
  const { admin } = await testCluster();
  const name = `${user}-${verbs.join('-')}`;
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace },
    rules: [{ apiGroups: ['deploy.codedance.io'], resources: ['canarydeployments'], verbs }],
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  await waitFor(() => allowed(namespace, user, verbs[0]!), {
    describe: `${user} to be allowed to ${verbs[0]} canarydeployments in ${namespace}`,
  });
  return name;
}
