/**
 * A tiny HTTP server that speaks the Prometheus query API (`POST /api/v1/query`,
 * form-encoded), for tests: each query is answered by a function of its PromQL.
 * A real socket and real HTTP, so the client is tested end to end, not against a
 * mock object.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How to answer one query. `hang` never answers (until the server closes). */
export type StubAnswer =
  | { value: number | 'NaN' | '+Inf' | '-Inf'; resultType?: 'vector' | 'scalar' }
  | { series: number }
  | { empty: true }
  | { status: number; body: string; contentType?: string }
  | { error: string; errorType: string; status: number }
  | { hang: true };

export interface ReceivedQuery {
  path: string;
  form: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export interface PrometheusStub {
  url: string;
  received: ReceivedQuery[];
  close(): Promise<void>;
}

export async function startPrometheusStub(
  answer: (promql: string) => StubAnswer,
  prefix = '',
): Promise<PrometheusStub> {
  const received: ReceivedQuery[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      received.push({ path: req.url ?? '', form, headers: req.headers });
      if (req.method !== 'POST' || req.url !== `${prefix}/api/v1/query`) {
        res.writeHead(404).end('404 page not found');
        return;
      }
      const a = answer(form.get('query') ?? '');
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const now = Date.now() / 1000;
      if ('hang' in a) hanging.add(res);
      else if ('status' in a && 'body' in a)
        res.writeHead(a.status, { 'content-type': a.contentType ?? 'text/plain' }).end(a.body);
      else if ('error' in a) json(a.status, { status: 'error', errorType: a.errorType, error: a.error });
      else if ('empty' in a) json(200, { status: 'success', data: { resultType: 'vector', result: [] } });
      else if ('series' in a) {
        const result = Array.from({ length: a.series }, (_, i) => ({
          metric: { pod: `p${i}` },
          value: [now, '1'],
        }));
        json(200, { status: 'success', data: { resultType: 'vector', result } });
      } else if (a.resultType === 'scalar')
        json(200, { status: 'success', data: { resultType: 'scalar', result: [now, String(a.value)] } });
      else
        json(200, {
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [now, String(a.value)] }] },
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    received,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
