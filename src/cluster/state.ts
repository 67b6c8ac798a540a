/**
 * `<stateDir>/cluster.json`: what a running cluster is made of, so another process can
 * report on it (`cluster status`), stop it (`cluster down`) or restart one component.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessSpec } from './process.ts';
import { errorMessage } from '../runtime/errors.ts';

/** The processes of a local cluster, in start order. */
export const componentNames = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'prometheus',
] as const;
export type ComponentName = (typeof componentNames)[number];

/** How to tell a component is healthy. */
export interface HealthCheck {
  /** URLs that must answer 2xx (e.g. /livez and /readyz). */
  urls: string[];
  /** Trust this PEM file (the API server's serving certificate). */
  caPath?: string;
  /** Skip TLS verification (self-signed loopback endpoints of the controller manager and scheduler). */
  insecure?: boolean;
  /** Send the admin token. */
  auth?: boolean;
}

/** One running process of the cluster. */
export interface ComponentState {
  pid: number;
  port: number;
  /** Other ports it listens on, by role (etcd's `peer`). */
  extraPorts?: Record<string, number>;
  spec: ProcessSpec;
  health: HealthCheck;
  startedAt: string;
}

/** Everything another process needs to use or manage a running cluster. */
export interface ClusterState {
  stateDir: string;
  /** `$CODEDANCE_HOME` the binaries come from. */
  home: string;
  kubernetesVersion: string;
  startedAt: string;
  /** Set by `stopCluster`; the record is kept so the next start reuses the same ports. */
  stoppedAt?: string;
  /** https://127.0.0.1:PORT */
  apiServerUrl: string;
  /** http://127.0.0.1:PORT: etcd's client URL, also its HTTP/JSON gateway (e.g. /v3/kv/compaction). */
  etcdClientUrl: string;
  /** http://127.0.0.1:PORT when Prometheus runs with the cluster. */
  prometheusUrl?: string;
  /** Admin kubeconfig (`system:masters`). */
  kubeconfigPath: string;
  /** Kubeconfig of the `codedance-controller` user (RBAC decides what it may do). */
  controllerKubeconfigPath: string;
  kubectlPath: string;
  /** PEM file the kubeconfigs trust (the API server's self-signed serving certificate). */
  caPath: string;
  adminToken: string;
  components: Partial<Record<ComponentName, ComponentState>>;
}

/** Path of the state file in `stateDir`. */
export function stateFile(stateDir: string): string {
  return join(stateDir, 'cluster.json');
}

/** Reads the state of the cluster in `stateDir`, or undefined if none was started there. */
export async function readClusterState(stateDir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as ClusterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(
      `cannot read ${stateFile(stateDir)}: ${errorMessage(err)}; remove it if the cluster is gone`,
      { cause: err },
    );
  }
}

/** Writes the state atomically (readers never see half a file). */
export async function writeClusterState(state: ClusterState): Promise<void> {
  const path = stateFile(state.stateDir);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
