/**
 * Where audit records go (`--audit-sink`):
 *
 * - `stdout`: one JSON line per record on the process's stdout, beside the logs (a log
 *   shipper tells them apart by `"schema":"codedance.audit/v1"`);
 * - `file:<path>`: JSON lines appended to a file, synced after each batch;
 * - `webhook:<url>`: `POST {"records": [...]}` (JSON, up to a batch at a time);
 * - `cloudevents:<url>`: each record a CloudEvents 1.0 event, structured mode (./cloudevents.ts).
 *
 * A send resolves once the receiver has the batch (a 2xx, or the bytes written) and
 * rejects otherwise; the trail (./trail.ts) retries. The operator chose the URL, so no
 * address policy applies (unlike a release's notification URLs).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { postJson } from '../notify/http.ts';
import { CloudEventContentType, toCloudEvent } from './cloudevents.ts';
import type { AuditRecord } from './record.ts';

/** A parsed `--audit-sink`. */
export type AuditSinkSpec =
  | { kind: 'stdout' }
  | { kind: 'file'; path: string }
  | { kind: 'webhook'; url: string }
  | { kind: 'cloudevents'; url: string };

/** Delivers batches of records; `send` rejects when the batch may not have arrived. */
export interface AuditSink {
  /** For logs: `stdout`, `file:<path>`, `webhook:<url>` (never credentials: URLs lose their user info). */
  readonly name: string;
  send(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** How long one HTTP delivery may take. @default 10 s */
export const AUDIT_HTTP_TIMEOUT_MS = 10_000;

/** Parses `stdout | file:<path> | webhook:<url> | cloudevents:<url>`; throws a message naming the flag. */
export function parseAuditSink(text: string): AuditSinkSpec {
  if (text === 'stdout') return { kind: 'stdout' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (kind === 'file') {
    if (!rest) throw new Error('--audit-sink file:<path>: the path is missing');
    return { kind: 'file', path: rest };
  }
  if (kind === 'webhook' || kind === 'cloudevents') {
    let url: URL;
    try {
      url = new URL(rest);
    } catch {
      throw new Error(`--audit-sink ${kind}:<url>: '${rest}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`--audit-sink ${kind}:<url>: expected http or https, got ${url.protocol}`);
    return { kind, url: url.toString() };
  }
  throw new Error(
    `--audit-sink: expected stdout, file:<path>, webhook:<url> or cloudevents:<url>, got '${text}'`,
  );
}

/** Creates the sink of `spec`. */
export function createAuditSink(spec: AuditSinkSpec): AuditSink {
  switch (spec.kind) {
    case 'stdout':
      return streamSink('stdout', process.stdout);
    case 'file':
      return fileSink(spec.path);
    case 'webhook':
      return httpSink(`webhook:${redact(spec.url)}`, async (records, signal) => {
        await post(spec.url, { records }, signal, {});
      });
    case 'cloudevents':
      return httpSink(`cloudevents:${redact(spec.url)}`, async (records, signal) => {
        // One event per request, in order: structured mode has no batch of its own.
        for (const record of records)
          await post(spec.url, JSON.stringify(toCloudEvent(record)), signal, {
            'content-type': CloudEventContentType,
          });
      });
  }
}

function lines(records: readonly AuditRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

function streamSink(name: string, stream: NodeJS.WritableStream): AuditSink {
  return {
    name,
    send: (records) =>
      new Promise<void>((resolve, reject) => {
        stream.write(lines(records), (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => undefined,
  };
}

function fileSink(path: string): AuditSink {
  let handle: Promise<FileHandle> | undefined;
  return {
    name: `file:${path}`,
    async send(records) {
      handle ??= open(path, 'a', 0o600);
      const file = await handle.catch((err: unknown) => {
        handle = undefined; // a folder created later, a permission fixed: try again next time
        throw err;
      });
      await file.appendFile(lines(records), 'utf8');
      await file.datasync();
    },
    async close() {
      const file = await handle?.catch(() => undefined);
      handle = undefined;
      await file?.close();
    },
  };
}

function httpSink(
  name: string,
  deliver: (records: readonly AuditRecord[], signal: AbortSignal) => Promise<void>,
): AuditSink {
  return {
    name,
    send: (records) => deliver(records, AbortSignal.timeout(AUDIT_HTTP_TIMEOUT_MS)),
    close: async () => undefined,
  };
}

async function post(
  url: string,
  body: unknown,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<void> {
  const result = await postJson(url, body, signal, headers);
  if (!result.ok) throw new Error(`audit sink ${redact(url)}: ${result.error}`);
}

/** The URL without user info, for logs. */
function redact(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
