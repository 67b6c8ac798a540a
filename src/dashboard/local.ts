/**
 * The local dashboard (`codedance dashboard`, also `kubectl codedance dashboard`): the
 * page on 127.0.0.1, acting as the person whose kubeconfig it runs with, the way
 * `kubectl argo rollouts dashboard` does.
 *
 * Reads are one watch of CanaryDeployments and one of WebApps (where the person may
 * watch them; elsewhere none are shown) made with the person's credentials; every action is a patch made
 * with them; so the API server's RBAC decides both, and its audit log names the person.
 * Nothing here holds any right of its own.
 *
 * Because the server acts as the person without asking for a token, it defends the
 * browser side: it answers only under the loopback names it is bound to (no DNS
 * rebinding), and actions need the custom header, a JSON body and a same-origin Origin
 * (./security.ts).
 */
import { createKubeClient, loadKubeConfig, type KubeClient } from '../runtime/client.ts';
import type { Logger } from '../runtime/logging.ts';
import { whoAmI } from '../runtime/whoami.ts';
import { steerRelease } from './commands.ts';
import { releaseEvents } from './events.ts';
import { releaseFeed, serveDashboard, webAppFeed, type DashboardServer } from './index.ts';
import { prometheusAllowList } from '../analysis/allowed.ts';
import { loopbackHosts } from './security.ts';
import { dashboardHandler, type DashboardAccess } from './server.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';

/** Default port, as `kubectl argo rollouts dashboard` uses. */
export const LOCAL_DASHBOARD_PORT = 3100;

/** Settings of {@link startLocalDashboard}. */
export interface LocalDashboardOptions {
  /** @default KUBECONFIG, then ~/.kube/config */
  kubeconfigPath?: string | undefined;
  /** Context of the kubeconfig. @default its current context */
  context?: string | undefined;
  /** Namespaces to show. @default all, when the person may list them cluster-wide; else the context's namespace */
  namespaces?: string[] | undefined;
  /** The Prometheus the charts ask (as the controller's `--prometheus-url`); releases naming another are charted only if it is in `allowedPrometheusUrls`. */
  prometheusUrl?: string | undefined;
  allowedPrometheusUrls?: string[] | undefined;
  /** @default '127.0.0.1' */
  host?: string | undefined;
  /** 0 = any free port. @default 3100 */
  port?: number | undefined;
  log: Logger;
  /** Stops the watch. */
  signal: AbortSignal;
}

/** A running local dashboard and what it found out about the person. */
export interface LocalDashboard extends DashboardServer {
  /** The person's username (SelfSubjectReview), when the API server tells it. */
  username: string | undefined;
  /** Namespaces shown; undefined for all. */
  namespaces: string[] | undefined;
}

/** Whether the person may watch `resource` of `group` in `namespace`, or everywhere (SelfSubjectAccessReview). */
async function mayWatch(
  client: KubeClient,
  group: string,
  resource: string,
  namespace?: string,
): Promise<boolean> {
  const review = await client.raw<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'watch', group, resource, ...(namespace ? { namespace } : {}) } },
    },
  );
  return review.status?.allowed === true;
}

/**
 * The namespaces of `namespaces` (undefined: the cluster) where the person may watch
 * WebApps: undefined for all, or a list, possibly empty. Asked first because a watch the
 * API server refuses would only be retried for ever; a person without the right sees no
 * WebApps instead.
 */
async function webAppNamespaces(
  client: KubeClient,
  namespaces: string[] | undefined,
): Promise<string[] | undefined> {
  if (!namespaces) return (await mayWatch(client, WebAppKind.group, WebAppKind.plural)) ? undefined : [];
  const allowed = await Promise.all(
    namespaces.map((ns) => mayWatch(client, WebAppKind.group, WebAppKind.plural, ns)),
  );
  return namespaces.filter((_, i) => allowed[i]);
}

/** Starts the local dashboard; resolves once it listens. */
export async function startLocalDashboard(options: LocalDashboardOptions): Promise<LocalDashboard> {
  const kc = loadKubeConfig({ path: options.kubeconfigPath, context: options.context });
  const client = await createKubeClient({ kubeConfig: kc, fieldManager: 'codedance-dashboard' });
  const username = await whoAmI(client);
  let namespaces = options.namespaces?.length ? options.namespaces : undefined;
  if (!namespaces && !(await mayWatch(client, CanaryDeploymentKind.group, CanaryDeploymentKind.plural))) {
    namespaces = [kc.namespace ?? 'default'];
  }
  const feed = releaseFeed(client, namespaces, options.log, options.signal);
  const appNamespaces = await webAppNamespaces(client, namespaces).catch((err: unknown) => {
    options.log.warn({ err }, 'cannot tell whether you may watch webapps; showing none');
    return [];
  });
  const webApps =
    appNamespaces?.length === 0 ? undefined : webAppFeed(client, appNamespaces, options.log, options.signal);
  const person = { username: username ?? 'you' };
  const access: DashboardAccess = {
    authenticate: async () => ({ ok: true, caller: { person, token: undefined } }),
    // The watch was made with the person's credentials: what it returns they may see.
    mayList: async () => true,
    act: (_caller, namespace, name, command) =>
      steerRelease({ client, namespace, name, command, current: feed.lookup(namespace, name), by: username }),
    events: (_caller, namespace, name) =>
      releaseEvents(client, namespace, name, feed.lookup(namespace, name)?.metadata.uid),
  };
  // Filled once the port is known; until then (never reached) nothing is served.
  const allowedHosts: string[] = [];
  const host = options.host ?? '127.0.0.1';
  const handler = dashboardHandler({
    source: feed.source,
    webApps,
    access,
    allowedHosts: loopbackHosts(host, 0) ? allowedHosts : undefined,
    metrics: {
      defaultAddress: options.prometheusUrl,
      allowList: prometheusAllowList(options.prometheusUrl, options.allowedPrometheusUrls),
    },
    onProblem: (message, err) => options.log.warn({ err }, message),
  });
  const server = await serveDashboard(handler, host, options.port ?? LOCAL_DASHBOARD_PORT, options.log);
  allowedHosts.push(...(loopbackHosts(host, server.port) ?? []));
  return {
    ...server,
    username,
    namespaces,
    close: async () => {
      await server.close();
      await client.close();
    },
  };
}
