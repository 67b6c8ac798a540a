/**
 * The audit trail: records derived from each release's status as the controller stores
 * it (./record.ts), delivered in order to the operator's sink (./sink.ts), at least once.
 *
 * Guarantees:
 * - every record is derived from a status the API server stored, after it stored it, so
 *   the trail never tells of a decision that was not taken;
 * - at least once across a kill -9: the first time a process writes a release's status
 *   it replays every record that status holds (the history, the last analysis, the
 *   last command), so whatever an earlier process stored but had not delivered goes out
 *   again, under the same id;
 * - a failed delivery is retried with backoff (0.5 s doubling to 30 s), in order, for as
 *   long as the process runs.
 *
 * Caveats: what a status no longer holds cannot be replayed: an analysis superseded by
 * the next (only the last is stored) or a history entry pushed out of the bounded
 * history while the sink was down *and* the process was then killed. Past `maxPending`
 * queued records the oldest are dropped with an error log (a sink down for that long
 * is an incident of its own).
 */
import type { CanaryDeploymentStatus } from '../api/canary-deployment.ts';
import type { Logger } from '../runtime/logging.ts';
import { errorMessage } from '../runtime/errors.ts';
import { auditRecords, deletedRecord, type AuditRecord, type AuditRelease } from './record.ts';
import type { AuditSink } from './sink.ts';

export interface AuditTrailOptions {
  sink: AuditSink;
  log: Logger;
  /** Records per delivery. @default 100 */
  batchSize?: number;
  /** Records held while the sink is down before the oldest are dropped. @default 100_000 */
  maxPending?: number;
  /** First retry delay; doubles up to `maxRetryMs`. @default 500 */
  retryMs?: number;
  /** @default 30_000 */
  maxRetryMs?: number;
}

/** The release a status belongs to, as the trail needs to see it. */
export interface AuditSubject {
  metadata: { namespace?: string | undefined; name?: string | undefined; uid?: string | undefined };
}

export interface AuditTrail {
  /**
   * A release's status was stored: `before` as the controller read it, `after` as the
   * API server stored it (also when the write was skipped as unchanged).
   */
  statusStored(
    release: AuditSubject,
    before: CanaryDeploymentStatus | undefined,
    after: CanaryDeploymentStatus | undefined,
  ): void;
  /**
   * A release's finalizer ran: what its status holds (if not replayed yet) and a
   * `Deleted` record go out, then the release is forgotten. Resolves once they are
   * delivered or after `waitMs` (the deletion is not held up by a sink that is down).
   */
  deleted(
    release: AuditSubject & { metadata: { deletionTimestamp?: string | undefined } },
    status: CanaryDeploymentStatus | undefined,
    now: Date,
    waitMs?: number,
  ): Promise<void>;
  /** Records queued and not yet delivered. */
  pending(): number;
  /** Counts since the process started: records delivered, failed deliveries (each retry counts), records dropped. */
  stats(): { delivered: number; failures: number; dropped: number };
  /** Resolves true once every queued record is delivered, false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes for at most `timeoutMs`, then stops delivering and closes the sink. */
  close(timeoutMs: number): Promise<void>;
}

/** Creates the trail; deliveries start with the first record. */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { sink, log } = options;
  const batchSize = options.batchSize ?? 100;
  const maxPending = options.maxPending ?? 100_000;
  const firstRetryMs = options.retryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const queue: AuditRecord[] = [];
  /** Ids in the queue: a record derived twice before it left goes once. */
  const queued = new Set<string>();
  /** Releases (uid) whose stored status this process replayed. */
  const replayed = new Set<string>();
  let pumping = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let idle: (() => void)[] = [];
  const counts = { delivered: 0, failures: 0, dropped: 0 };

  function enqueue(records: AuditRecord[]): void {
    for (const record of records) {
      if (queued.has(record.id)) continue;
      queue.push(record);
      queued.add(record.id);
    }
    if (queue.length > maxPending) {
      const dropped = queue.splice(0, queue.length - maxPending);
      for (const r of dropped) queued.delete(r.id);
      counts.dropped += dropped.length;
      log.error(
        { dropped: dropped.length, sink: sink.name, firstDropped: dropped[0]?.id },
        'audit sink unreachable for too long: oldest audit records dropped',
      );
    }
    void pump();
  }

  async function pump(): Promise<void> {
    if (pumping || closed) return;
    pumping = true;
    let delayMs = firstRetryMs;
    try {
      while (queue.length > 0 && !closed) {
        const batch = queue.slice(0, batchSize);
        try {
          await sink.send(batch);
        } catch (err) {
          counts.failures++;
          log.warn(
            { sink: sink.name, pending: queue.length, retryInMs: delayMs, err: errorMessage(err) },
            'audit records not delivered: retrying',
          );
          await new Promise<void>((resolve) => {
            retryTimer = setTimeout(resolve, delayMs);
          });
          delayMs = Math.min(delayMs * 2, maxRetryMs);
          continue;
        }
        delayMs = firstRetryMs;
        counts.delivered += batch.length;
        queue.splice(0, batch.length);
        for (const r of batch) queued.delete(r.id);
        log.debug(
          { sink: sink.name, delivered: batch.length, pending: queue.length },
          'audit records delivered',
        );
      }
    } finally {
      pumping = false;
    }
    if (queue.length === 0) {
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  function releaseOf(subject: AuditSubject): AuditRelease {
    return {
      namespace: subject.metadata.namespace ?? '',
      name: subject.metadata.name ?? '',
      uid: subject.metadata.uid ?? '',
    };
  }

  function statusStored(
    subject: AuditSubject,
    before: CanaryDeploymentStatus | undefined,
    after: CanaryDeploymentStatus | undefined,
  ): void {
    const release = releaseOf(subject);
    const records = auditRecords(release, before, after);
    if (!replayed.has(release.uid)) {
      // What an earlier process stored may not have reached the sink: all of it again.
      replayed.add(release.uid);
      records.unshift(...auditRecords(release, undefined, before));
    }
    if (records.length > 0) enqueue(records);
  }

  async function flush(timeoutMs: number): Promise<boolean> {
    if (queue.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }

  return {
    statusStored,
    async deleted(subject, status, now, waitMs = 2_000) {
      const release = releaseOf(subject);
      const records = replayed.has(release.uid) ? [] : auditRecords(release, undefined, status);
      records.push(deletedRecord(release, status, subject.metadata.deletionTimestamp ?? now.toISOString()));
      replayed.delete(release.uid);
      enqueue(records);
      await flush(waitMs);
    },
    pending: () => queue.length,
    stats: () => ({ ...counts }),
    flush,
    async close(timeoutMs) {
      const delivered = await flush(timeoutMs);
      if (!delivered)
        log.warn(
          { sink: sink.name, pending: queue.length },
          'audit records left undelivered at shutdown: the next controller replays them from status',
        );
      closed = true;
      clearTimeout(retryTimer);
      await sink.close();
    },
  };
}
