/**
 * The process's HTTP server on plain node:http: /healthz, /readyz, /metrics, and routes
 * other modules mount with {@link HttpServer.addRoute}. The dashboard is not one of them:
 * it has its own port (src/dashboard/index.ts), so /metrics and the probes never share a
 * listener with a page people log in to.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logging.ts';

/** Handles a request; may be async. Unhandled throws become a 500. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => unknown;

/** A check for /readyz; returns undefined when ready, else the reason. */
export type ReadinessCheck = () => string | undefined;

/** HTTP server settings. */
export interface HttpServerOptions {
  /** Port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Address to bind; loopback unless asked otherwise (a Pod passes 0.0.0.0 so kubelet probes reach it). @default '127.0.0.1' */
  host?: string;
  /** Registry served on /metrics. */
  registry?: Registry;
  /** All must pass for /readyz to answer 200. */
  readiness?: ReadinessCheck[];
  log?: Logger;
}

/** A running server. */
export interface HttpServer {
  /** The bound port (after `listen`). */
  port(): number;
  /** Mounts `handler` for `method` (or `*`) on every path starting with `pathPrefix`; the longest prefix wins. */
  addRoute(method: string, pathPrefix: string, handler: RouteHandler): void;
  /** Adds a readiness check. */
  addReadiness(check: ReadinessCheck): void;
  listen(): Promise<number>;
  close(): Promise<void>;
}

/** Creates (but does not start) the server. */
export function createHttpServer(options: HttpServerOptions = {}): HttpServer {
  const routes: { method: string; prefix: string; handler: RouteHandler }[] = [];
  const readiness = [...(options.readiness ?? [])];
  const text = (
    res: ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
  ): void => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    let best: (typeof routes)[number] | undefined;
    for (const route of routes) {
      if ((route.method === '*' || route.method === method) && url.pathname.startsWith(route.prefix)) {
        if (!best || route.prefix.length > best.prefix.length) best = route;
      }
    }
    if (!best) return text(res, 404, 'not found\n');
    Promise.resolve()
      .then(() => best.handler(req, res, url))
      .catch((err: unknown) => {
        options.log?.error({ err, path: url.pathname }, 'http handler failed');
        if (!res.headersSent) text(res, 500, 'internal error\n');
        else res.end();
      });
  });

  const api: HttpServer = {
    port: () => (server.address() as AddressInfo | null)?.port ?? 0,
    addRoute(method, pathPrefix, handler) {
      routes.push({ method: method.toUpperCase(), prefix: pathPrefix, handler });
    },
    addReadiness(check) {
      readiness.push(check);
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve(api.port());
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  api.addRoute('GET', '/healthz', (_req, res) => text(res, 200, 'ok\n'));
  api.addRoute('GET', '/readyz', (_req, res) => {
    const failing = readiness.map((check) => check()).filter((r): r is string => r !== undefined);
    if (failing.length) text(res, 503, `not ready: ${failing.join('; ')}\n`);
    else text(res, 200, 'ok\n');
  });
  if (options.registry) {
    const registry = options.registry;
    api.addRoute('GET', '/metrics', async (_req, res) =>
      text(res, 200, await registry.metrics(), registry.contentType),
    );
  }
  return api;
}
