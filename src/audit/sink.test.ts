import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { auditRecords, type AuditRecord } from './record.ts';
import { createAuditSink, parseAuditSink } from './sink.ts';

const records: AuditRecord[] = auditRecords({ namespace: 'ns', name: 'app', uid: 'u' }, undefined, {
  history: [
    { time: '2026-12-01T10:00:00.000Z', event: 'Started', step: 0 },
    { time: '2026-12-01T10:00:01.000Z', event: 'RolledBack', step: 0, message: 'error rate' },
  ],
});

test('parseAuditSink: the four sinks, and what is wrong with a bad one', () => {
  assert.deepEqual(parseAuditSink('stdout'), { kind: 'stdout' });
  assert.deepEqual(parseAuditSink('file:/var/log/audit.jsonl'), {
    kind: 'file',
    path: '/var/log/audit.jsonl',
  });
  assert.deepEqual(parseAuditSink('webhook:https://audit.example/in'), {
    kind: 'webhook',
    url: 'https://audit.example/in',
  });
  assert.deepEqual(parseAuditSink('cloudevents:http://broker:8080/'), {
    kind: 'cloudevents',
    url: 'http://broker:8080/',
  });
  assert.throws(() => parseAuditSink('file:'), /path is missing/);
  assert.throws(() => parseAuditSink('webhook:nope'), /not a URL/);
  assert.throws(() => parseAuditSink('cloudevents:ftp://x/'), /expected http or https/);
  assert.throws(() => parseAuditSink('kafka:x'), /expected stdout, file:<path>/);
});

test('file sink appends JSON lines', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.jsonl');
  const sink = createAuditSink({ kind: 'file', path });
  await sink.send(records.slice(0, 1));
  await sink.send(records.slice(1));
  await sink.close();
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as AuditRecord).action),
    ['Started', 'RolledBack'],
  );
});

/** A receiver answering `status` and keeping each request's content type and body. */
async function receiver(t: { after: (fn: () => unknown) => void }, status: () => number) {
  const got: { type: string | undefined; body: unknown }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    got.push({ type: req.headers['content-type'], body: JSON.parse(text) });
    res.statusCode = status();
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit` };
}

test('webhook sink posts the batch; a 5xx rejects the send', async (t) => {
  let answer = 200;
  const r = await receiver(t, () => answer);
  const sink = createAuditSink({ kind: 'webhook', url: r.url });
  await sink.send(records);
  assert.equal(r.got.length, 1);
  assert.deepEqual(
    (r.got[0]?.body as { records: AuditRecord[] } | undefined)?.records.map((x) => x.id),
    records.map((x) => x.id),
  );
  answer = 503;
  await assert.rejects(sink.send(records), /HTTP 503/);
});

test('cloudevents sink posts one structured CloudEvent per record', async (t) => {
  const r = await receiver(t, () => 202);
  const sink = createAuditSink({ kind: 'cloudevents', url: r.url });
  await sink.send(records);
  assert.equal(r.got.length, 2);
  assert.match(r.got[0]?.type ?? '', /^application\/cloudevents\+json/);
  const event = r.got[1]?.body as Record<string, unknown>;
  assert.equal(event['specversion'], '1.0');
  assert.equal(event['id'], records[1]?.id);
  assert.equal(event['type'], 'io.codedance.audit.transition');
  assert.equal(event['source'], '/apis/deploy.codedance.io/v1alpha1/namespaces/ns/canarydeployments/app');
  assert.equal(event['time'], '2026-12-01T10:00:01.000Z');
  assert.equal((event['data'] as AuditRecord).action, 'RolledBack');
});
