/**
 * Installing manifests (CRDs, RBAC) into a local cluster with its own kubectl, and
 * granting the `codedance-controller` user the ClusterRole the project ships.
 *
 * kubectl does the applying because it already knows every kind (through discovery)
 * and the ordering rules; this module only adds what kubectl does not: namespaces the
 * manifests live in, and waiting for CRDs to be served.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { controllerUser } from './credentials.ts';
import type { ClusterState } from './state.ts';

/** Runs the cluster's kubectl as admin and resolves with its stdout. */
export function kubectl(
  state: Pick<ClusterState, 'kubectlPath' | 'kubeconfigPath'>,
  args: string[],
  input?: string,
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(state.kubectlPath, ['--kubeconfig', state.kubeconfigPath, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err) =>
      reject(new Error(`cannot run ${state.kubectlPath}: ${err.message}; run 'codedance cluster build'`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else
        reject(
          new Error(
            `kubectl ${args.slice(0, 3).join(' ')} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`,
          ),
        );
    });
    child.stdin.end(input ?? '');
  });
}

interface ManifestDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * Server-side applies every YAML file in `files` (field manager `codedance-install`),
 * creating the namespaces they name first, then waits until their CRDs are Established.
 * Returns the number of objects applied.
 */
export async function applyManifests(
  state: Pick<ClusterState, 'kubectlPath' | 'kubeconfigPath'>,
  files: string[],
): Promise<number> {
  if (files.length === 0) return 0;
  const docs: ManifestDoc[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as ManifestDoc | null;
      if (value?.kind) docs.push(value);
    }
  }
  const namespaces = [
    ...new Set(docs.map((doc) => doc.metadata?.namespace).filter((ns): ns is string => Boolean(ns))),
  ];
  if (namespaces.length > 0) {
    const namespaceDocs = namespaces
      .map((name) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))
      .join('---\n');
    await kubectl(
      state,
      ['apply', '--server-side', '--field-manager=codedance-install', '-f', '-'],
      namespaceDocs,
    );
  }
  await kubectl(state, [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=codedance-install',
    ...files.flatMap((file) => ['-f', file]),
  ]);
  const crds = docs
    .filter((doc) => doc.kind === 'CustomResourceDefinition' && doc.metadata?.name)
    .map((doc) => `crd/${doc.metadata!.name}`);
  if (crds.length > 0)
    await kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  return docs.length;
}

const bindingLabels = { 'app.kubernetes.io/part-of': 'codedance' };
const controllerSubject = { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: controllerUser };

/**
 * Binds `clusterRole` to the `codedance-controller` user of the static token file, so a
 * process using the controller kubeconfig gets exactly the shipped permissions.
 */
export async function bindControllerUser(
  state: Pick<ClusterState, 'kubectlPath' | 'kubeconfigPath'>,
  clusterRole = 'codedance-controller',
): Promise<void> {
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `${clusterRole}-user`, labels: bindingLabels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [controllerSubject],
  };
  await kubectl(
    state,
    ['apply', '--server-side', '--field-manager=codedance-install', '-f', '-'],
    stringify(binding),
  );
}

/** Binds the Role `role` of `namespace` to the `codedance-controller` user (e.g. the leader-election Lease Role). */
export async function bindControllerUserInNamespace(
  state: Pick<ClusterState, 'kubectlPath' | 'kubeconfigPath'>,
  namespace: string,
  role: string,
): Promise<void> {
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${role}-user`, namespace, labels: bindingLabels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [controllerSubject],
  };
  await kubectl(
    state,
    ['apply', '--server-side', '--field-manager=codedance-install', '-f', '-'],
    stringify(binding),
  );
}

interface BindingDoc extends ManifestDoc {
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

/** What the manifests in a file grant the controller's ServiceAccount: ClusterRoles, and Roles by namespace. */
export interface ControllerGrants {
  clusterRoles: string[];
  roles: { namespace: string; name: string }[];
}

/**
 * The roles the (Cluster)RoleBindings of a manifest file bind to the controller's
 * ServiceAccount (`serviceAccount` in `namespace`). The local cluster's controller user
 * gets the same, and nothing else: `codedance-view` and `codedance-edit` are for people.
 */
export async function controllerGrantsIn(
  file: string,
  serviceAccount = 'codedance',
  namespace = 'codedance-system',
): Promise<ControllerGrants> {
  const grants: ControllerGrants = { clusterRoles: [], roles: [] };
  for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
    const value = doc.toJS() as BindingDoc | null;
    const toController = value?.subjects?.some(
      (s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace,
    );
    if (!value || !toController || !value.roleRef?.name) continue;
    if (value.kind === 'ClusterRoleBinding' && value.roleRef.kind === 'ClusterRole')
      grants.clusterRoles.push(value.roleRef.name);
    if (value.kind === 'RoleBinding' && value.roleRef.kind === 'Role' && value.metadata?.namespace)
      grants.roles.push({ namespace: value.metadata.namespace, name: value.roleRef.name });
  }
  return grants;
}

/** The project's generated manifests (`deploy/`), found from this file so any caller works. */
const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));

/**
 * Installs what the controller needs on a cluster: `extra` manifest files first (e.g.
 * third-party CRDs), then the project's CRDs (`deploy/crds/*.yaml`) and RBAC
 * (`deploy/rbac.yaml`), and gives user `codedance-controller` what the shipped bindings
 * give the controller's ServiceAccount (its ClusterRole, the Lease Role in its namespace).
 * Returns the ClusterRoles bound. Used by `npm start`, `npm test` and the benchmarks alike.
 */
export async function installCodedance(
  state: Pick<ClusterState, 'kubectlPath' | 'kubeconfigPath'>,
  extra: string[] = [],
): Promise<{ objects: number; roles: string[] }> {
  const crdDir = join(deployDir, 'crds');
  const crds = (await readdir(crdDir))
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => join(crdDir, file));
  const rbac = join(deployDir, 'rbac.yaml');
  const objects = await applyManifests(state, [...extra, ...crds, rbac]);
  const grants = await controllerGrantsIn(rbac);
  for (const role of grants.clusterRoles) await bindControllerUser(state, role);
  for (const role of grants.roles) await bindControllerUserInNamespace(state, role.namespace, role.name);
  return { objects, roles: grants.clusterRoles };
}
