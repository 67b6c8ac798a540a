/**
 * A control plane a test may disrupt (restart the API server, compact etcd).
 *
 * Under `npm test` (CODEDANCE_TEST_STATE_DIR set) it is the run's own isolated cluster:
 * the harness runs `*.serial.test.ts` files alone, after the others, so disrupting it
 * breaks nobody. Run by hand (no such variable), it is a private cluster in a temporary
 * state dir, never the developer's dev cluster. Binaries are shared either way.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, stopCluster, restartComponent } from '../../../src/cluster/controlplane.ts';
import { readClusterState, type ClusterState } from '../../../src/cluster/state.ts';

/** A cluster a test may disrupt, and how to let go of it. */
export interface DisruptableCluster {
  state: ClusterState;
  restartApiServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision; returns that revision. */
  compactEtcd(): Promise<number>;
  /** Stops the cluster if this file started it. */
  release(): Promise<void>;
}

/** The run's cluster under `npm test`, else a private one (no Prometheus, no nodes). */
export async function disruptableCluster(): Promise<DisruptableCluster> {
  const shared = process.env.CODEDANCE_TEST_STATE_DIR;
  const stateDir = shared ?? (await mkdtemp(join(tmpdir(), 'codedance-runtime-test-')));
  const state = shared
    ? await readClusterState(stateDir)
    : (await startCluster({ stateDir, prometheus: false, nodes: 0 })).state;
  if (!state) throw new Error(`no cluster state in ${stateDir}`);
  return {
    state,
    async restartApiServer() {
      await restartComponent(stateDir, 'kube-apiserver');
    },
    async compactEtcd() {
      // Any range read answers with the current revision in its header.
      const range = await fetch(`${state.etcdClientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
      });
      const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
      const res = await fetch(`${state.etcdClientUrl}/v3/kv/compaction`, {
        method: 'POST',
        body: JSON.stringify({ revision: String(revision), physical: true }),
      });
      if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
      return revision;
    },
    async release() {
      if (shared) return;
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
export async function kubeconfigWithServer(
  path: string,
  from: string,
  server: string,
  dir: string,
): Promise<string> {
  const text = await readFile(path, 'utf8');
  const out = join(dir, 'proxied.kubeconfig');
  await writeFile(out, text.split(from).join(server));
  return out;
}
