/**
 * The simulator's HTTP endpoint:
 *
 * | route | what |
 * |---|---|
 * | `GET /metrics` | Prometheus text exposition (data-plane families + the simulator's own) |
 * | `GET /profiles` | defaults and every service's profile, JSON |
 * | `POST /profiles` | change a service's profile: `{ namespace, name, version?, errorRate?, latencyMs?: { p50?, p99? }, rps? }` |
 * | `DELETE /profiles?namespace=&name=` | back to the defaults (one service, a namespace, or all) |
 * | `GET /targets` | the services simulated now, with the canary's share, JSON |
 * | `POST /loadtest` | play the load tester for a webhook gate: extra requests for the release in the payload (./load-test.ts) |
 * | `GET /loadtest` | the load tests running |
 * | `GET /healthz` | `ok` |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../runtime/errors.ts';

/** What the routes call; the simulator provides it. */
export interface SimulatorRoutes {
  metrics(): Promise<{ contentType: string; body: string }>;
  profiles(): unknown;
  /** Applies a posted update; a string is a validation message (answered 400). */
  setProfile(body: unknown): unknown;
  resetProfiles(namespace: string | undefined, name: string | undefined): void;
  targets(): unknown;
  /** Starts a load test from a gate payload; a string is a validation message (answered 400). */
  loadTest(body: unknown): unknown;
  loadTests(): unknown;
}

export interface ListeningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Largest accepted request body: a profile update is a few hundred bytes. */
const MaxBodyBytes = 64 * 1024;

/** Starts the HTTP server on `host:port` (0 picks a free port). */
export async function serveSimulator(
  routes: SimulatorRoutes,
  host: string,
  port: number,
): Promise<ListeningServer> {
  const server: Server = createServer((req, res) => {
    handle(routes, req, res).catch((err: unknown) => {
      send(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  // Prometheus keeps its scrape connection open; without this, close() would wait for it.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(routes: SimulatorRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /metrics': {
      const { contentType, body } = await routes.metrics();
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
      return;
    }
    case 'GET /healthz':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    case 'GET /profiles':
      return send(res, 200, routes.profiles());
    case 'GET /targets':
      return send(res, 200, routes.targets());
    case 'POST /profiles': {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        return send(res, 400, { error: `body is not JSON: ${errorMessage(err)}` });
      }
      const result = routes.setProfile(body);
      if (typeof result === 'string') return send(res, 400, { error: result });
      return send(res, 200, result);
    }
    case 'POST /loadtest': {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        return send(res, 400, { error: `body is not JSON: ${errorMessage(err)}` });
      }
      const result = routes.loadTest(body);
      if (typeof result === 'string') return send(res, 400, { error: result });
      return send(res, 200, result);
    }
    case 'GET /loadtest':
      return send(res, 200, routes.loadTests());
    case 'DELETE /profiles':
      routes.resetProfiles(
        url.searchParams.get('namespace') ?? undefined,
        url.searchParams.get('name') ?? undefined,
      );
      return send(res, 200, routes.profiles());
    default:
      return send(res, 404, {
        error: `no route ${route}; try GET /metrics, GET|POST|DELETE /profiles, GET /targets, GET|POST /loadtest`,
      });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MaxBodyBytes) throw new Error(`larger than ${MaxBodyBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
