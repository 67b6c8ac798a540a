/**
 * The dashboard, in its two forms:
 *
 * - {@link startClusterDashboard}: served by the controller on its own port when enabled
 *   (`--dashboard-port`); every request carries a bearer token, checked with TokenReview,
 *   and the API server decides what the person sees and does (./cluster-access.ts).
 * - `startLocalDashboard` (./local.ts, `codedance dashboard`): on 127.0.0.1, as the
 *   person whose kubeconfig it runs with.
 *
 * Each keeps one informer of CanaryDeployments and one of WebApps (one watch per
 * namespace, or one for the cluster), so however many pages are open the API server sees
 * one watch of each.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ResolvedKubeConfig } from '../runtime/kubeconfig.ts';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { WebApp } from '../api/webapp.ts';
import type { KubeClient } from '../runtime/client.ts';
import { createInformer } from '../runtime/informer.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';
import type { Logger } from '../runtime/logging.ts';
import { clusterAccess } from './cluster-access.ts';
import type { MetricsSettings } from './metrics.ts';
import { SecurityHeaders, type SecurityOptions } from './security.ts';
import { dashboardHandler, type DashboardHandler, type ReleaseSource, type WebAppSource } from './server.ts';

export { dashboardHandler } from './server.ts';
export { releaseView, safeReleaseView } from './release-view.ts';
export type { ReleaseView } from './release-view.ts';
export { webAppView } from './webapp-view.ts';

/** CanaryDeployments kept current by a watch made with `client`. */
export interface ReleaseFeed {
  source: ReleaseSource;
  lookup(namespace: string, name: string): CanaryDeployment | undefined;
  /** Resolves once the first list is in. */
  ready(): Promise<void>;
}

/** Starts an informer of CanaryDeployments in `namespaces` (all when undefined) until `signal` aborts. */
export function releaseFeed(
  client: KubeClient,
  namespaces: string[] | undefined,
  log: Logger,
  signal: AbortSignal,
): ReleaseFeed {
  const informer = createInformer<CanaryDeployment>(client, CanaryDeploymentKind, {
    namespaces,
    onRestart: (_kind, reason, err) => log.debug({ reason, err }, 'dashboard watch restarted'),
  });
  void informer.start(signal).catch((err: unknown) => log.error({ err }, 'dashboard informer stopped'));
  return {
    source: {
      list: () => informer.store.list(),
      get: (namespace, name) => informer.store.get(namespace, name),
      subscribe: (onChange) =>
        informer.subscribe((change) => onChange(change.object, change.type === 'delete')),
    },
    lookup: (namespace, name) => informer.store.get(namespace, name),
    ready: () => informer.store.ready(),
  };
}

/** Starts an informer of WebApps in `namespaces` (all when undefined) until `signal` aborts. */
export function webAppFeed(
  client: KubeClient,
  namespaces: string[] | undefined,
  log: Logger,
  signal: AbortSignal,
): WebAppSource {
  const informer = createInformer<WebApp>(client, WebAppKind, {
    namespaces,
    onRestart: (_kind, reason, err) => log.debug({ reason, err }, 'dashboard watch of webapps restarted'),
  });
  void informer
    .start(signal)
    .catch((err: unknown) => log.error({ err }, 'dashboard informer of webapps stopped'));
  return {
    list: () => informer.store.list(),
    subscribe: (onChange) =>
      informer.subscribe((change) => onChange(change.object, change.type === 'delete')),
  };
}

/** A listening dashboard. */
export interface DashboardServer {
  /** `http://host:port/` */
  url: string;
  port: number;
  handler: DashboardHandler;
  close(): Promise<void>;
}

/** A serving certificate and its key, as PEM file paths. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Serves `handler` alone on `host:port` (0 = any free port): nothing else answers there,
 * and unknown paths get a 404 with the same security headers. With `tls`, over HTTPS
 * (the files are read once, at start).
 */
export async function serveDashboard(
  handler: DashboardHandler,
  host: string,
  port: number,
  log: Logger,
  tls?: TlsFiles,
): Promise<DashboardServer> {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    handler
      .handle(req, res, path)
      .then((handled) => {
        if (handled) return;
        res.writeHead(404, { ...SecurityHeaders, 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      })
      .catch((err: unknown) => {
        log.error({ err, path }, 'dashboard request failed');
        if (!res.headersSent)
          res.writeHead(500, { ...SecurityHeaders, 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
  };
  const server: Server = tls
    ? createTlsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, listener)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `${tls ? 'https' : 'http'}://${shown}:${bound}/`,
    port: bound,
    handler,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Settings of the in-cluster dashboard. */
export interface ClusterDashboardOptions extends SecurityOptions {
  /** The controller's client: reads CanaryDeployments and creates the reviews. */
  client: KubeClient;
  /** The controller's kubeconfig; its cluster is where the person's own writes go. */
  kubeConfig: ResolvedKubeConfig;
  /** Namespaces to show. @default all */
  namespaces?: string[] | undefined;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 = any free port. */
  port: number;
  log: Logger;
  /** Stops the informer. */
  signal: AbortSignal;
  /** @default 10000 */
  cacheTtlMs?: number;
  /** @default 64 */
  maxStreams?: number;
  /** Where the charts come from: the controller's own Prometheus settings. */
  metrics?: MetricsSettings | undefined;
  /** Serve HTTPS with this certificate (bearer tokens travel in every request). @default plain HTTP */
  tls?: TlsFiles | undefined;
}

/** Starts the in-cluster dashboard on its own port (see ./cluster-access.ts for who may do what). */
export async function startClusterDashboard(options: ClusterDashboardOptions): Promise<DashboardServer> {
  const feed = releaseFeed(options.client, options.namespaces, options.log, options.signal);
  const access = clusterAccess({
    client: options.client,
    kubeConfig: options.kubeConfig,
    lookup: feed.lookup,
    cacheTtlMs: options.cacheTtlMs,
  });
  // The controller's own rights read WebApps (its ClusterRole lists and watches them);
  // each person then sees a namespace's WebApps only if they may list them there.
  const webApps = webAppFeed(options.client, options.namespaces, options.log, options.signal);
  const handler = dashboardHandler({
    source: feed.source,
    webApps,
    access,
    allowedOrigins: options.allowedOrigins,
    maxStreams: options.maxStreams,
    metrics: options.metrics,
    onProblem: (message, err) => options.log.warn({ err }, message),
  });
  return serveDashboard(handler, options.host ?? '127.0.0.1', options.port, options.log, options.tls);
}
