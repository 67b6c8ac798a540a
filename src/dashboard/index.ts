/**
 * Mounts the dashboard on the controller process's HTTP server.
 *
 * The dashboard keeps its own informer of CanaryDeployments (one watch per namespace,
 * or one for the cluster), so it works on a standby replica too and costs the API
 * server one watch however many pages are open.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeployment as CanaryDeploymentKind } from '../runtime/kinds.ts';
import type { KubeClient } from '../runtime/client.ts';
import type { HttpServer } from '../runtime/http.ts';
import { createInformer } from '../runtime/informer.ts';
import type { Logger } from '../runtime/logging.ts';
import { dashboardHandler, type DashboardOptions, type ReleaseSource } from './server.ts';

export { dashboardHandler } from './server.ts';
export { releaseView } from './release-view.ts';
export type { ReleaseView } from './release-view.ts';

export interface MountDashboardOptions {
  client: KubeClient;
  http: HttpServer;
  /** Namespaces to show. @default all */
  namespaces?: string[];
  log: Logger;
  /** Stops the informer. */
  signal: AbortSignal;
  sendCommand: DashboardOptions['sendCommand'];
}

/** Starts the dashboard's informer and serves the page at `/` and its API at `/api/`. */
export function mountDashboard(options: MountDashboardOptions): void {
  const informer = createInformer<CanaryDeployment>(options.client, CanaryDeploymentKind, {
    namespaces: options.namespaces,
    onRestart: (_kind, reason, err) => options.log.debug({ reason, err }, 'dashboard watch restarted'),
  });
  const source: ReleaseSource = {
    list: () => informer.store.list(),
    subscribe: (onChange) => informer.subscribe((change) => onChange(change.object, change.type === 'delete')),
  };
  const handle = dashboardHandler({ source, sendCommand: options.sendCommand });
  const route = async (req: Parameters<typeof handle>[0], res: Parameters<typeof handle>[1], url: URL): Promise<void> => {
    if (!(await handle(req, res, url.pathname))) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  };
  options.http.addRoute('*', '/api/', route);
  for (const path of ['/index.html', '/app.js', '/style.css']) options.http.addRoute('GET', path, route);
  // `/` as a prefix would swallow every unknown path; serve the page only at exactly `/`.
  options.http.addRoute('GET', '/', async (req, res, url) => {
    if (url.pathname === '/') return route(req, res, url);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
  void informer.start(options.signal).catch((err: unknown) => options.log.error({ err }, 'dashboard informer stopped'));
}
