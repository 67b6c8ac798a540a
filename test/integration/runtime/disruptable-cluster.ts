/**
 * A control plane of one test file's own (temporary state dir), for tests that restart
 * the API server or compact etcd: doing that to the shared cluster would break the tests
 * running beside them. Binaries are shared with every other cluster (built once).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, stopCluster, restartComponent } from '../../../src/cluster/controlplane.ts';
import type { ClusterState } from '../../../src/cluster/state.ts';

/** A private cluster and how to tear it down. */
export interface PrivateCluster {
  state: ClusterState;
  stateDir: string;
  restartApiServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision; returns that revision. */
  compactEtcd(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts a private cluster without Prometheus and with no nodes. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const stateDir = await mkdtemp(join(tmpdir(), 'codedance-runtime-test-'));
  const { state } = await startCluster({ stateDir, prometheus: false, nodes: 0 });
  return {
    state,
    stateDir,
    async restartApiServer() {
      await restartComponent(stateDir, 'kube-apiserver');
    },
    async compactEtcd() {
      // Any range read answers with the current revision in its header.
      const range = await fetch(`${state.etcdClientUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) });
      const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
      const res = await fetch(`${state.etcdClientUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(revision), physical: true }) });
      if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
      return revision;
    },
    async stop() {
      await stopCluster(stateDir);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** A TCP pass-through the test can cut (drop every connection and refuse new ones) and restore. */
export interface CuttableProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Proxies 127.0.0.1:<random port> to `target` (host:port). */
export async function startProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes a copy of a kubeconfig whose server URL is replaced by `server`; returns its path. */
export async function kubeconfigWithServer(path: string, from: string, server: string, dir: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  const out = join(dir, 'proxied.kubeconfig');
  await writeFile(out, text.split(from).join(server));
  return out;
}
