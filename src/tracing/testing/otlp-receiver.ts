/**
 * A local OTLP/HTTP trace receiver for tests (unit and integration): a node:http server on 127.0.0.1 that accepts
 * `POST /v1/traces` in the JSON encoding (what the exporter sends) and keeps every span.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as the OTLP/HTTP JSON encoding carries it (the fields tests look at). */
export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  status?: { code?: number; message?: string };
  attributes?: {
    key: string;
    value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
  }[];
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Request paths received, to check the exporter used `/v1/traces`. */
  paths: string[];
  close(): Promise<void>;
}

/** Starts a receiver on a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const server: Server = createServer(async (req, res) => {
    paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: { scopeSpans?: { spans?: ReceivedSpan[] }[] }[];
      };
      for (const resource of body.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch {
      res.writeHead(400).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The string value of a span attribute. */
export function attribute(span: ReceivedSpan, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return (
    value?.stringValue ??
    (value?.intValue !== undefined
      ? String(value.intValue)
      : value?.boolValue !== undefined
        ? String(value.boolValue)
        : undefined)
  );
}
