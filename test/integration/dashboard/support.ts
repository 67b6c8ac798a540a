/**
 * What the dashboard's tests share: the API installed, the dashboard's ClusterRole bound
 * to the controller identity (as deploy/dashboard.yaml binds it to the controller's
 * ServiceAccount), releases to steer, and a ValidatingAdmissionPolicy that makes the API
 * server itself prove who wrote a command:
 *
 * - the shipped policy (deploy/policy.yaml, `commandAuthorPolicy()`): a command or
 *   `paused-by` that names a person must be written by that person, so a command
 *   accepted as `;by=bob` was written with bob's own credentials;
 * - and, for the tests only, any update of a CanaryDeployment by user
 *   `codedance-controller` in the test's namespaces is refused, so a dashboard that wrote
 *   with the controller's identity would fail the test instead of passing unseen.
 */
import { randomBytes } from 'node:crypto';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { commandAuthorPolicy } from '../../../src/api/manifests.ts';
import { controllerUser } from '../../../src/cluster/credentials.ts';
import { KubeApiError, type KubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { testCluster, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import { installDashboardApi } from '../../support/controller.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

const Command = 'deploy.codedance.io/command';

/** CRDs, the controller's ClusterRole and the dashboard's, bound to user codedance-controller (the shared test support). */
export { installDashboardApi } from '../../support/controller.ts';

/** A release that no controller acts on (status empty: Initializing to the page); every verb but resume and retry is allowed. */
export async function createRelease(
  admin: KubeClient,
  namespace: string,
  name: string,
  spec?: Partial<CanaryDeploymentSpec>,
): Promise<CanaryDeployment> {
  return admin.create(CanaryDeploymentKind, {
    metadata: { name, namespace },
    spec: {
      targetDeployment: name,
      canaryVersion: `${name}:v2`,
      strategy: { type: 'Manual', steps: [{ weight: 20 }, { weight: 60 }] },
      ...spec,
    },
  });
}

/** The release now, read as admin. */
export async function readRelease(
  admin: KubeClient,
  namespace: string,
  name: string,
): Promise<CanaryDeployment> {
  const release = await admin.get(CanaryDeploymentKind, namespace, name);
  if (!release) throw new Error(`release ${namespace}/${name} is gone`);
  return release;
}

/** The command annotation of a release, if any. */
export function commandOf(release: CanaryDeployment): string | undefined {
  return release.metadata.annotations?.[Command];
}

/**
 * Installs the writer-checking policy for `namespaces` (labelled for it) and waits until
 * the API server enforces it; both are removed when the test ends.
 */
export async function proveWriters(
  t: NamespaceOwner,
  admin: KubeClient,
  namespaces: string[],
  controller: KubeClient,
): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const label = 'codedance.io/dashboard-writers';
  for (const ns of namespaces)
    await admin.patch(kinds.Namespace, undefined, ns, { metadata: { labels: { [label]: id } } }, 'merge');
  const name = `codedance-dashboard-writers-${id}`;
  const [shipped] = commandAuthorPolicy() as { spec: { validations: object[] } }[];
  const policy = structuredClone(shipped!) as { metadata: { name: string }; spec: { validations: object[] } };
  policy.metadata = { name };
  policy.spec.validations.push({
    expression: `request.userInfo.username != '${controllerUser}'`,
    message: 'test policy: the controller identity may not write CanaryDeployments here',
  });
  await admin.raw('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', policy);
  await admin.raw('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { [label]: id } } },
    },
  });
  t.after(async () => {
    await admin
      .raw('DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`)
      .catch(() => undefined);
    await admin
      .raw('DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`)
      .catch(() => undefined);
  });
  // Enforced once the controller identity's write to a probe object is refused.
  const probeNs = namespaces[0]!;
  await createRelease(admin, probeNs, 'writers-probe');
  await waitFor(
    async () => {
      try {
        await controller.patch(
          CanaryDeploymentKind,
          probeNs,
          'writers-probe',
          { metadata: { labels: { probe: String(Date.now()) } } },
          'merge',
        );
        return false;
      } catch (err) {
        return err instanceof KubeApiError && err.message.includes('test policy');
      }
    },
    { describe: 'the writer-checking admission policy to be enforced', timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** The admin client and the controller identity's client of the test cluster. */
export async function identities(): Promise<{ admin: KubeClient; controllerKubeconfigPath: string }> {
  const cluster = await testCluster();
  await installDashboardApi(cluster.admin);
  return { admin: cluster.admin, controllerKubeconfigPath: cluster.controllerKubeconfigPath };
}
