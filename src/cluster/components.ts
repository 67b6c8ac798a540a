/**
 * The control plane's components as processes: the command line of each (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok), kwok's stage file, and
 * how long each gets to stop. Starting them in order is ./controlplane.ts's job.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditArgs } from './audit.ts';
import type { ClusterCredentials } from './credentials.ts';
import { ensurePrivateDir } from './paths.ts';
import { kwokConfigYaml, kwokNodeAnnotation, kwokNodeAnnotationValue } from './kwok-stages.ts';
import type { ClusterState, ComponentName, ComponentState } from './state.ts';

/** Service ClusterIPs (nothing routes them: pods are simulated). */
export const serviceClusterIpRange = '10.0.0.0/24';

/**
 * How long each component gets between SIGTERM and SIGKILL. The API server drains open
 * watches for tens of seconds before exiting; all its state is in etcd, so it is cut
 * short. etcd gets longer to close its database cleanly.
 */
export const stopGraceMs: Record<ComponentName, number> = {
  etcd: 10_000,
  'kube-apiserver': 2_000,
  'kube-controller-manager': 2_000,
  'kube-scheduler': 2_000,
  kwok: 2_000,
  prometheus: 5_000,
};

/** Arguments of etcd: one member on loopback, data in `<stateDir>/etcd`. */
export function etcdArgs(stateDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=codedance',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=codedance=${peer}`,
    // A throwaway cluster: durability is not worth an fsync per write.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

/** Arguments of kube-apiserver: RBAC, static tokens, an audit log in `stateDir`, its own self-signed serving certificate in `certDir`. */
export function apiserverArgs(
  stateDir: string,
  port: number,
  etcdUrl: string,
  certDir: string,
  credentials: ClusterCredentials,
): string[] {
  return [
    // Who did what (Metadata level, see audit.ts): the proof that the controller's RBAC is what it uses.
    ...auditArgs(stateDir),
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--advertise-address=127.0.0.1',
    // Nothing but this loopback address serves the `kubernetes` Service; do not publish it.
    '--endpoint-reconciler-type=none',
    `--cert-dir=${certDir}`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${credentials.serviceAccountPublicKeyPath}`,
    `--service-account-signing-key-file=${credentials.serviceAccountKeyPath}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${credentials.tokenFilePath}`,
    // Pods need no service-account token volume: no kubelet would mount it.
    '--disable-admission-plugins=ServiceAccount',
    // As hardened clusters do: setting blockOwnerDeletion on an owner reference needs
    // `update` on the owner's finalizers, so the controller's role is tested for it.
    '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
    '--allow-privileged=true',
    // Benchmarks run hundreds of releases against this one server.
    '--max-requests-inflight=800',
    '--max-mutating-requests-inflight=400',
  ];
}

/** Arguments of kube-controller-manager (it signs service-account tokens and runs the built-in controllers). */
export function controllerManagerArgs(
  state: ClusterState,
  port: number,
  credentials: ClusterCredentials,
): string[] {
  return [
    `--kubeconfig=${state.kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--service-account-private-key-file=${credentials.serviceAccountKeyPath}`,
    `--root-ca-file=${state.caPath}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--cluster-name=codedance',
    // Namespaces of finished tests go quickly; nothing else here needs more.
    '--concurrent-namespace-syncs=10',
    // client-go's default (20/s, bursts of 30) would make thousands of benchmark
    // Deployments wait minutes for their ReplicaSets and pods: the API server here has room.
    '--kube-api-qps=300',
    '--kube-api-burst=600',
  ];
}

/** Arguments of kube-scheduler. */
export function schedulerArgs(state: ClusterState, port: number): string[] {
  return [
    `--kubeconfig=${state.kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    // As for kube-controller-manager: binding thousands of pods at the default 50/s is the slow part.
    '--kube-api-qps=300',
    '--kube-api-burst=600',
  ];
}

/** kwok's process: fake nodes (those annotated for it) and their pods, stages from `<stateDir>/kwok/stages.yaml`. */
export function kwokComponent(
  state: ClusterState,
  port: number,
  binary: string,
): Omit<ComponentState, 'pid' | 'startedAt'> {
  const kwokDir = join(state.stateDir, 'kwok');
  return {
    port,
    spec: {
      command: binary,
      args: [
        `--kubeconfig=${state.kubeconfigPath}`,
        `--config=${join(kwokDir, 'stages.yaml')}`,
        `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation}=${kwokNodeAnnotationValue}`,
        `--server-address=127.0.0.1:${port}`,
        // Room for thousands of pod IPs (the default /24 runs out in benchmarks).
        '--cidr=10.128.0.1/12',
        // Every fake node reports this address; nothing listens on it, like the pod IPs.
        '--node-ip=10.127.0.1',
      ],
      logPath: join(state.stateDir, 'logs', 'kwok.log'),
      // kwok also reads ~/.kwok/kwok.yaml when it exists: keep a user's file out of it.
      env: { HOME: kwokDir },
    },
    health: { urls: [`http://127.0.0.1:${port}/healthz`] },
  };
}

/** Writes kwok's stages; true when the file changed (a running kwok must be restarted). */
export async function writeKwokConfig(stateDir: string): Promise<boolean> {
  const kwokDir = join(stateDir, 'kwok');
  await ensurePrivateDir(kwokDir);
  const path = join(kwokDir, 'stages.yaml');
  const text = kwokConfigYaml();
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current === text) return false;
  await writeFile(path, text);
  return true;
}
