/**
 * A kubeconfig for one person's bearer token: the cluster (server, CA, TLS settings) of
 * the dashboard's own kubeconfig, and a user that is nothing but that token.
 *
 * Nothing of the dashboard's own identity (token, client certificate, exec plugin,
 * impersonation) carries over, so a request made with it is the person's alone.
 */
import { KubeConfig } from '@kubernetes/client-node';

/** A KubeConfig for `token` on the cluster `base` points at; throws when `base` has no current cluster. */
export function clientConfigForToken(base: KubeConfig, token: string): KubeConfig {
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new Error('the dashboard kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'person', token }],
    contexts: [{ name: 'person', cluster: cluster.name, user: 'person' }],
    currentContext: 'person',
  });
  return kc;
}
