/**
 * Clients of the clusters a ReleasePlan releases to, made from kubeconfig Secrets of the
 * plan's namespace (label `deploy.codedance.io/cluster`, key `kubeconfig`: the way Argo CD
 * and Flagger reach other clusters). Each is the runtime's ordinary client with the
 * Secret's kubeconfig; one per Secret version, closed when the Secret changes.
 *
 * Secrets are read by name only, and one without the label is refused: a plan cannot
 * borrow any Secret of its namespace as credentials.
 */
import { ClusterSecretKey, ClusterSecretLabel } from '../api/names.ts';
import {
  createKubeClient,
  type KubeClient,
  type KubeObject,
  type ResolvedKubeConfig,
} from '../runtime/client.ts';
import { errorMessage } from '../runtime/errors.ts';
import { Secret } from '../runtime/kinds.ts';
import { parseKubeConfig } from '../runtime/kubeconfig.ts';

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/** A cluster's client, or why the plan cannot reach it. */
export type ClusterClient = { client: KubeClient } | { error: string };

export interface ClusterClients {
  /** The client of the cluster Secret `name` of `namespace`, read with `local`. */
  get(local: Pick<KubeClient, 'get'>, namespace: string, name: string): Promise<ClusterClient>;
  /** Closes every client (controller shutdown). */
  close(): Promise<void>;
}

export interface ClusterClientsOptions {
  /** Makes a client for a kubeconfig. @default the runtime's client, field manager codedance-waves */
  connect?: (kubeConfig: ResolvedKubeConfig) => Promise<KubeClient>;
}

/** The kubeconfig text of a cluster Secret, or why it is not one. */
export function kubeconfigOf(
  secret: SecretObject | undefined,
  namespace: string,
  name: string,
): { text: string } | { error: string } {
  if (!secret) return { error: `cluster Secret ${namespace}/${name} not found` };
  if (secret.metadata.labels?.[ClusterSecretLabel] === undefined)
    return {
      error: `Secret ${namespace}/${name} is not a cluster Secret: label it ${ClusterSecretLabel}=<description> to let release plans use it`,
    };
  const data = secret.data?.[ClusterSecretKey];
  if (!data) return { error: `cluster Secret ${namespace}/${name} has no ${ClusterSecretKey} key` };
  return { text: Buffer.from(data, 'base64').toString('utf8') };
}

export function createClusterClients(options: ClusterClientsOptions = {}): ClusterClients {
  const connect =
    options.connect ??
    ((kubeConfig: ResolvedKubeConfig) =>
      createKubeClient({
        kubeConfig,
        fieldManager: 'codedance-waves',
        userAgent: 'codedance-waves',
        requestTimeoutMs: 10_000,
      }));
  /** `ns/name` → the client made from the Secret at `version`. */
  const clients = new Map<string, { version: string; client: Promise<ClusterClient> }>();

  async function make(
    secret: SecretObject | undefined,
    namespace: string,
    name: string,
  ): Promise<ClusterClient> {
    const text = kubeconfigOf(secret, namespace, name);
    if ('error' in text) return text;
    try {
      return { client: await connect(parseKubeConfig(text.text)) };
    } catch (err) {
      return { error: `cluster Secret ${namespace}/${name}: ${errorMessage(err)}` };
    }
  }

  return {
    async get(local, namespace, name) {
      let secret: SecretObject | undefined;
      try {
        secret = await local.get<SecretObject>(Secret, namespace, name);
      } catch (err) {
        return { error: `reading cluster Secret ${namespace}/${name}: ${errorMessage(err)}` };
      }
      const key = `${namespace}/${name}`;
      const version = secret
        ? `${secret.metadata.uid ?? ''}/${secret.metadata.resourceVersion ?? ''}`
        : 'absent';
      const known = clients.get(key);
      if (known?.version === version) return known.client;
      if (known) void known.client.then((c) => ('client' in c ? c.client.close() : undefined));
      const client = make(secret, namespace, name);
      clients.set(key, { version, client });
      return client;
    },
    async close() {
      const all = [...clients.values()];
      clients.clear();
      for (const entry of all) {
        const c = await entry.client;
        if ('client' in c) await c.client.close();
      }
    },
  };
}
