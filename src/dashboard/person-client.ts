/**
 * A kubeconfig for one person's bearer token: the cluster (server, CA, TLS settings) of
 * the dashboard's own kubeconfig, and a user that is nothing but that token.
 *
 * Nothing of the dashboard's own identity (token, client certificate, exec plugin,
 * impersonation) carries over, so a request made with it is the person's alone.
 */
import type { ResolvedKubeConfig } from '../runtime/kubeconfig.ts';

/** A kubeconfig for `token` on the cluster `base` points at. */
export function clientConfigForToken(base: ResolvedKubeConfig, token: string): ResolvedKubeConfig {
  const header = `Bearer ${token}`;
  return {
    server: base.server,
    tls: {
      ca: base.tls.ca,
      rejectUnauthorized: base.tls.rejectUnauthorized,
      ...(base.tls.servername ? { servername: base.tls.servername } : {}),
    },
    contextName: 'person',
    userName: 'person',
    authorization: async () => header,
  };
}
