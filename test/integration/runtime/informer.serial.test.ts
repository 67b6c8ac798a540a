/**
 * An informer on the real control plane survives an API server restart and a forced
 * 410 Gone: its cache ends equal to the server's state (same objects, same
 * resourceVersions), nothing lost, nothing duplicated.
 *
 * A serial test: it restarts the API server and compacts etcd, so it runs alone, on the
 * run's cluster under `npm test` or on a private one by hand (see disruptable-cluster.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, type KubeClient, type KubeObject } from '../../../src/runtime/client.ts';
import { ConfigMap, Namespace } from '../../../src/runtime/kinds.ts';
import { createInformer, type Informer } from '../../../src/runtime/informer.ts';
import type { RestartReason } from '../../../src/runtime/watcher.ts';
import { waitFor } from '../../support/cluster.ts';
import { randomBytes } from 'node:crypto';
import {
  disruptableCluster,
  kubeconfigWithServer,
  startProxy,
  type DisruptableCluster,
} from './disruptable-cluster.ts';

let cluster: DisruptableCluster;
let admin: KubeClient;

before(async () => {
  cluster = await disruptableCluster();
  admin = await createKubeClient({ kubeconfigPath: cluster.state.kubeconfigPath });
});
after(async () => {
  for (const ns of namespaces) await admin?.delete(Namespace, undefined, ns).catch(() => undefined);
  await admin?.close();
  await cluster?.release();
});

const namespaces: string[] = [];
/** A namespace of this file's own (the cluster may be the test run's). */
async function namespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await admin.create(Namespace, { metadata: { name } });
  namespaces.push(name);
  return name;
}

type CM = KubeObject & { data?: Record<string, string> };
// Labelled, so the informer's label selector leaves out the namespace's kube-root-ca.crt.
const cm = (ns: string, name: string, value: string): CM => ({
  metadata: { name, namespace: ns, labels: { test: 'informer' } },
  data: { value },
});

/** Runs an informer, recording restarts and every change it reports. */
function observe(client: KubeClient, ns: string) {
  const restarts: RestartReason[] = [];
  const informer: Informer<CM> = createInformer<CM>(client, ConfigMap, {
    namespaces: [ns],
    labelSelector: 'test=informer',
    // Short backoff so the test does not wait on it; long enough to see real retries.
    watcher: { backoff: { initialMs: 200, maxMs: 2000, factor: 2 } },
    onRestart: (_kind, reason) => restarts.push(reason),
  });
  const delivered: string[] = [];
  informer.subscribe((change) =>
    delivered.push(`${change.type} ${change.object.metadata.name}@${change.object.metadata.resourceVersion}`),
  );
  const stop = new AbortController();
  const running = informer.start(stop.signal);
  return {
    informer,
    restarts,
    delivered,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

/** The cache equals the server: same names with the same resourceVersions. */
async function cacheMatchesServer(informer: Informer<CM>, ns: string): Promise<boolean> {
  const server = await admin.list(ConfigMap, { namespace: ns, labelSelector: 'test=informer' });
  const want = server.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  const have = informer.store
    .list(ns)
    .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort();
  return JSON.stringify(want) === JSON.stringify(have);
}

function assertNoDuplicates(delivered: string[]): void {
  const seen = new Set<string>();
  for (const d of delivered) {
    assert.ok(!seen.has(d), `change delivered twice: ${d}`);
    seen.add(d);
  }
}

test('an informer survives an API server restart', async () => {
  const ns = await namespace('informer-restart');
  for (let i = 0; i < 10; i++) await admin.create(ConfigMap, cm(ns, `cm-${i}`, 'v1'));
  const client = await createKubeClient({ kubeconfigPath: cluster.state.kubeconfigPath });
  const run = observe(client, ns);
  try {
    await run.informer.store.ready();
    assert.equal(run.informer.store.list(ns).length, 10);
    await admin.apply(ConfigMap, cm(ns, 'cm-0', 'v2'));
    await admin.delete(ConfigMap, ns, 'cm-1');
    await waitFor(() => cacheMatchesServer(run.informer, ns), {
      describe: 'cache caught up before the restart',
    });

    await cluster.restartApiServer();

    await admin.apply(ConfigMap, cm(ns, 'cm-2', 'v2'));
    await admin.delete(ConfigMap, ns, 'cm-3');
    await admin.create(ConfigMap, cm(ns, 'cm-new', 'v1'));
    await waitFor(() => cacheMatchesServer(run.informer, ns), {
      timeoutMs: 60_000,
      describe: 'cache equal to the server after the restart',
    });
    assert.ok(run.restarts.length >= 1, 'the watch was restarted');
    assert.equal(run.informer.store.get(ns, 'cm-1'), undefined);
    assert.equal(run.informer.store.get(ns, 'cm-3'), undefined);
    assert.equal(run.informer.store.get(ns, 'cm-2')?.data?.value, 'v2');
    assert.equal(run.informer.store.list(ns).length, 9);
    assertNoDuplicates(run.delivered);
    console.log(`restarts seen: ${run.restarts.join(', ')}`);
  } finally {
    await run.stop();
    await client.close();
  }
});

test('an informer relists after a forced 410 Gone and ends with the right state', async () => {
  const ns = await namespace('informer-gone');
  for (let i = 0; i < 10; i++) await admin.create(ConfigMap, cm(ns, `cm-${i}`, 'v1'));
  const url = new URL(cluster.state.apiServerUrl);
  const proxy = await startProxy(url.hostname, Number(url.port));
  const dir = await mkdtemp(join(tmpdir(), 'codedance-proxy-'));
  const kubeconfig = await kubeconfigWithServer(
    cluster.state.kubeconfigPath,
    cluster.state.apiServerUrl,
    `https://127.0.0.1:${proxy.port}`,
    dir,
  );
  const client = await createKubeClient({ kubeconfigPath: kubeconfig });
  const run = observe(client, ns);
  try {
    await run.informer.store.ready();
    assert.equal(run.informer.store.list(ns).length, 10);

    // Cut the informer off, change things it cannot see, then make its history unreachable:
    // etcd compacted past its resourceVersion, and a restarted API server (fresh watch cache).
    proxy.cut();
    await admin.apply(ConfigMap, cm(ns, 'cm-0', 'changed'));
    await admin.delete(ConfigMap, ns, 'cm-1');
    await admin.delete(ConfigMap, ns, 'cm-2');
    await admin.create(ConfigMap, cm(ns, 'cm-added', 'v1'));
    await cluster.compactEtcd();
    await cluster.restartApiServer();
    proxy.restore();

    await waitFor(() => run.restarts.includes('gone'), {
      timeoutMs: 60_000,
      describe: 'a 410 Gone seen by the watcher',
    });
    await waitFor(() => cacheMatchesServer(run.informer, ns), {
      timeoutMs: 60_000,
      describe: 'cache equal to the server after the relist',
    });
    assert.equal(run.informer.store.get(ns, 'cm-0')?.data?.value, 'changed');
    assert.equal(run.informer.store.get(ns, 'cm-1'), undefined, 'deleted while cut off: gone from the cache');
    assert.equal(run.informer.store.get(ns, 'cm-2'), undefined);
    assert.ok(run.informer.store.get(ns, 'cm-added'));
    assert.equal(run.informer.store.list(ns).length, 9);
    assert.ok(
      run.delivered.some((d) => d.startsWith('delete cm-1@')),
      'the relist reported the delete',
    );
    assertNoDuplicates(run.delivered);
    console.log(`restarts seen: ${run.restarts.join(', ')}`);
  } finally {
    await run.stop();
    await client.close();
    await proxy.close();
  }
});
