/**
 * Kubeconfig files for the local cluster: one per identity, each trusting the API
 * server's own serving certificate.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** PEM of the certificate(s) to trust for the server. */
  caPem: string;
  user: string;
  token: string;
  /** Context and cluster name. @default 'codedance' */
  name?: string;
}

/** The text of a kubeconfig with one cluster, one user (a bearer token) and one context. */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = options.name ?? 'codedance';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: options.user, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: options.user, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

/** Writes a kubeconfig readable by its owner only (it holds a token). */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void> {
  await writeFile(path, kubeconfigYaml(options), { mode: 0o600 });
}
