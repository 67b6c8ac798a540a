/**
 * The shared control plane, as integration tests see it.
 *
 * Under `npm test`, scripts/test.ts starts one isolated cluster (and Prometheus) for the
 * run and passes it in environment variables:
 * `CODEDANCE_TEST_KUBECONFIG` (admin), `CODEDANCE_TEST_CONTROLLER_KUBECONFIG`
 * (user `codedance-controller`, bound to deploy/rbac.yaml's ClusterRole),
 * `CODEDANCE_TEST_PROMETHEUS_URL` and `CODEDANCE_TEST_STATE_DIR`.
 *
 * Without them (a developer running one file: `npx node --test test/integration/x.test.ts`),
 * the dev cluster under `$CODEDANCE_HOME` (default `~/.codedance/clusters/default`) is used;
 * start it first with `npx codedance cluster up`. On the dev cluster the controller
 * identity is only bound to its ClusterRole if something (e.g. `npm test` or the demo)
 * applied the binding there.
 *
 * Each test makes its own namespace ({@link testNamespace}) and never relies on another
 * test's objects, so files run side by side.
 */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubeClient, type KubeClient } from '../../src/runtime/client.ts';
import { Namespace } from '../../src/runtime/kinds.ts';
import { clusterStateDir, codedanceHome } from '../../src/cluster/paths.ts';
import { readClusterState } from '../../src/cluster/state.ts';

/** What a test needs to reach the cluster. */
export interface TestCluster {
  /** Admin kubeconfig (`system:masters`). */
  kubeconfigPath: string;
  /** Kubeconfig of user `codedance-controller`: only what RBAC grants. */
  controllerKubeconfigPath: string;
  /** Prometheus scraping `<stateDir>/prometheus/targets/*.json` every second. */
  prometheusUrl: string;
  /** The cluster's state folder (cluster.json, logs, Prometheus targets). */
  stateDir: string;
  /** etcd's client URL (also its HTTP gateway, e.g. POST /v3/kv/compaction). */
  etcdClientUrl: string;
  /** A client with the admin identity, shared by the tests of one file. */
  admin: KubeClient;
}

let shared: Promise<TestCluster> | undefined;

// Registered when this module loads, so it is a hook of the file's root test and runs
// after the file's last test: idle keep-alive sockets would otherwise hold the process open.
after(async () => {
  const cluster = await shared?.catch(() => undefined);
  await cluster?.admin.close();
});

/** The cluster of this test run (memoized per process). */
export function testCluster(): Promise<TestCluster> {
  shared ??= connect();
  return shared;
}

async function connect(): Promise<TestCluster> {
  const env = process.env;
  let stateDir = env.CODEDANCE_TEST_STATE_DIR;
  let kubeconfigPath = env.CODEDANCE_TEST_KUBECONFIG;
  let controllerKubeconfigPath = env.CODEDANCE_TEST_CONTROLLER_KUBECONFIG;
  let prometheusUrl = env.CODEDANCE_TEST_PROMETHEUS_URL;
  if (!stateDir) stateDir = clusterStateDir(codedanceHome());
  const state = await readClusterState(stateDir);
  if (!kubeconfigPath) {
    if (!state || state.stoppedAt) {
      throw new Error(
        `no test cluster: run the tests with 'npm test' (it starts one), or start the dev cluster with 'npx codedance cluster up' (looked in ${stateDir})`,
      );
    }
    kubeconfigPath = state.kubeconfigPath;
    controllerKubeconfigPath ??= state.controllerKubeconfigPath;
    prometheusUrl ??= state.prometheusUrl;
  }
  const admin = await createKubeClient({ kubeconfigPath });
  return {
    kubeconfigPath,
    controllerKubeconfigPath: controllerKubeconfigPath ?? state?.controllerKubeconfigPath ?? '',
    prometheusUrl: prometheusUrl ?? state?.prometheusUrl ?? '',
    stateDir,
    etcdClientUrl: state?.etcdClientUrl ?? '',
    admin,
  };
}

/** The parts of a node:test context {@link testNamespace} uses. */
export interface NamespaceOwner {
  name: string;
  after: (fn: () => Promise<void> | void) => void;
}

/**
 * Creates a namespace unique to this test (named after it) and deletes it when the test
 * ends. Returns the namespace name.
 */
export async function testNamespace(
  t: NamespaceOwner,
  options: { labels?: Record<string, string> } = {},
): Promise<string> {
  const { admin } = await testCluster();
  const slug = t.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  const name = `t-${slug || 'test'}-${randomBytes(3).toString('hex')}`;
  await admin.create(Namespace, {
    metadata: { name, labels: { 'codedance.io/test': 'true', ...options.labels } },
  });
  t.after(async () => {
    // Deletion finishes in the background (the namespace controller empties it); the
    // next test does not need to wait for that.
    await admin.delete(Namespace, undefined, name, { propagationPolicy: 'Background' });
  });
  return name;
}

export interface WaitForOptions {
  /** @default 30000 */
  timeoutMs?: number;
  /** @default 200 */
  intervalMs?: number;
  /** What is being waited for, for the failure message. */
  describe?: string;
  /** Same as `describe`. */
  message?: string;
}

/**
 * Polls `fn` until it returns a truthy value and returns that value. A throw counts as
 * "not yet". On timeout, fails with the description and the last value (or error) seen.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: string = 'nothing yet';
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = `value ${describeValue(value)}`;
    } catch (err) {
      last = `error ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) {
      const what = options.describe ?? options.message ?? 'condition';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last ${last}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

function describeValue(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } catch {
    return String(value);
  }
}

/**
 * Compacts etcd up to its current revision through its HTTP gateway. Returns the
 * compacted revision. The API server's watch cache keeps serving recent history, so to
 * make a watch from an older resourceVersion fail with 410 Gone, also restart it:
 * `restartComponent(stateDir, 'kube-apiserver')` from src/cluster/controlplane.ts.
 * Disrupts every watcher on the cluster: use it only in `*.serial.test.ts` files.
 */
export async function compactEtcd(): Promise<number> {
  const { etcdClientUrl } = await testCluster();
  if (!etcdClientUrl)
    throw new Error(
      'no etcd URL for this cluster (cluster.json missing): run under npm test or on the dev cluster',
    );
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await fetch(`${etcdClientUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  // Any range read returns the store's current revision in its header.
  const range = await post<{ header: { revision: string } }>('/v3/kv/range', {
    key: Buffer.from('/').toString('base64'),
  });
  const revision = Number(range.header.revision);
  await post('/v3/kv/compaction', { revision, physical: true });
  return revision;
}
