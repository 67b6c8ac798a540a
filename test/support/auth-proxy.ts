/**
 * An authenticating proxy in front of a real Prometheus, as Mimir, Cortex or a managed
 * Prometheus put in front of their query API: it wants `Authorization: Bearer <token>`
 * (401 otherwise) and a tenant header `X-Scope-OrgID` (401 without one), then forwards
 * the request to Prometheus and counts the tenants it served.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export interface AuthProxy {
  url: string;
  /** Requests forwarded, by tenant. */
  tenants: Map<string, number>;
  /** Requests refused. */
  refused: number;
  close(): Promise<void>;
}

/** Starts the proxy on loopback, forwarding to `upstream` for requests carrying `token`. */
export async function startAuthProxy(upstream: string, token: string): Promise<AuthProxy> {
  const proxy: AuthProxy = { url: '', tenants: new Map(), refused: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const tenant = req.headers['x-scope-orgid'];
      if (req.headers.authorization !== `Bearer ${token}` || typeof tenant !== 'string' || tenant === '') {
        proxy.refused += 1;
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized\n');
        return;
      }
      proxy.tenants.set(tenant, (proxy.tenants.get(tenant) ?? 0) + 1);
      request(`${upstream}${req.url ?? '/'}`, {
        method: (req.method ?? 'GET') as 'GET' | 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
        body: chunks.length ? Buffer.concat(chunks) : null,
      }).then(
        async (answer) => {
          res
            .writeHead(answer.statusCode, {
              'content-type': String(answer.headers['content-type'] ?? 'application/json'),
            })
            .end(Buffer.from(await answer.body.arrayBuffer()));
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return proxy;
}
