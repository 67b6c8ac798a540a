import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import { silentLogger } from '../runtime/logging.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { createAuditTrail } from './trail.ts';
import { registerAuditMetrics } from './metrics.ts';
import { Registry } from 'prom-client';

const cd = { metadata: { namespace: 'ns', name: 'app', uid: 'u' } };

function status(...events: string[]): CanaryDeploymentStatus {
  return {
    phase: 'Progressing',
    history: events.map((event, i) => ({ time: `2026-12-01T10:00:0${i}.000Z`, event, step: 0 })),
  };
}

/** A sink that fails while `down` is true and remembers what it accepted. */
function memorySink(): AuditSink & { got: AuditRecord[]; down: boolean; attempts: number } {
  const sink = {
    name: 'memory',
    got: [] as AuditRecord[],
    down: false,
    attempts: 0,
    async send(records: readonly AuditRecord[]) {
      sink.attempts++;
      if (sink.down) throw new Error('receiver down');
      sink.got.push(...records);
    },
    async close() {},
  };
  return sink;
}

test('a process replays the whole stored status once, then only what each write adds', async () => {
  const sink = memorySink();
  const trail = createAuditTrail({ sink, log: silentLogger() });
  // An earlier process stored Started and StepReached; this one's first write adds Paused.
  trail.statusStored(cd, status('Started', 'StepReached'), status('Started', 'StepReached', 'Paused'));
  assert.ok(await trail.flush(5_000));
  assert.deepEqual(
    sink.got.map((r) => r.action),
    ['Started', 'StepReached', 'Paused'],
  );
  trail.statusStored(
    cd,
    status('Started', 'StepReached', 'Paused'),
    status('Started', 'StepReached', 'Paused', 'Resumed'),
  );
  assert.ok(await trail.flush(5_000));
  assert.deepEqual(
    sink.got.map((r) => r.action),
    ['Started', 'StepReached', 'Paused', 'Resumed'],
  );
  await trail.close(1_000);
});

test('a sink that fails is retried in order until it takes the records', async () => {
  const sink = memorySink();
  sink.down = true;
  const trail = createAuditTrail({ sink, log: silentLogger(), retryMs: 5, maxRetryMs: 20 });
  trail.statusStored(cd, undefined, status('Started'));
  trail.statusStored(cd, status('Started'), status('Started', 'StepReached'));
  // Wait (event-driven) until it has failed a few times, then bring the receiver back.
  while (sink.attempts < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(trail.pending(), 2);
  sink.down = false;
  assert.ok(await trail.flush(5_000));
  assert.deepEqual(
    sink.got.map((r) => r.action),
    ['Started', 'StepReached'],
  );
  assert.equal(trail.pending(), 0);
  await trail.close(1_000);
});

test('a record queued twice before it left is sent once; past maxPending the oldest go', async () => {
  const sink = memorySink();
  sink.down = true;
  const trail = createAuditTrail({ sink, log: silentLogger(), retryMs: 5, maxPending: 2 });
  trail.statusStored(cd, undefined, status('Started'));
  trail.statusStored(cd, undefined, status('Started')); // the same record derived again
  assert.equal(trail.pending(), 1);
  trail.statusStored(cd, status('Started'), status('Started', 'StepReached', 'Paused'));
  assert.equal(trail.pending(), 2);
  sink.down = false;
  assert.ok(await trail.flush(5_000));
  assert.deepEqual(
    sink.got.map((r) => r.action),
    ['StepReached', 'Paused'],
  );
  await trail.close(1_000);
});

test('close gives up after its timeout while the sink is down', async () => {
  const sink = memorySink();
  sink.down = true;
  const trail = createAuditTrail({ sink, log: silentLogger(), retryMs: 5 });
  trail.statusStored(cd, undefined, status('Started'));
  await trail.close(50);
  assert.equal(trail.pending(), 1);
});

test('the series on /metrics follow the trail: pending, delivered, failures', async () => {
  const sink = memorySink();
  sink.down = true;
  const trail = createAuditTrail({ sink, log: silentLogger(), retryMs: 5, maxRetryMs: 10 });
  const registry = new Registry();
  registerAuditMetrics(registry, trail);
  trail.statusStored(cd, undefined, status('Started', 'StepReached'));
  while (sink.attempts < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const value = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;
  assert.equal(await value('codedance_audit_records_pending'), 2);
  assert.ok((await value('codedance_audit_delivery_failures_total')) >= 2);
  sink.down = false;
  assert.ok(await trail.flush(5_000));
  assert.equal(await value('codedance_audit_records_pending'), 0);
  assert.equal(await value('codedance_audit_records_delivered_total'), 2);
  await trail.close(1_000);
});

test('a deleted release: what its status holds if not yet replayed, then a Deleted record at the deletion time', async () => {
  const sink = memorySink();
  const trail = createAuditTrail({ sink, log: silentLogger() });
  const deleting = { metadata: { ...cd.metadata, deletionTimestamp: '2026-12-01T10:05:00Z' } };
  await trail.deleted(deleting, status('Started', 'StepReached'), new Date());
  assert.deepEqual(
    sink.got.map((r) => [r.action, r.time]),
    [
      ['Started', '2026-12-01T10:00:00.000Z'],
      ['StepReached', '2026-12-01T10:00:01.000Z'],
      ['Deleted', '2026-12-01T10:05:00Z'],
    ],
  );
  assert.match(sink.got[2]?.message ?? '', /deleted mid-release \(Progressing\)/);
  // A sink that is down does not hold the deletion up past the wait.
  sink.down = true;
  await trail.deleted({ metadata: { uid: 'other' } }, undefined, new Date(), 20);
  assert.equal(trail.pending(), 1);
  await trail.close(10);
});
