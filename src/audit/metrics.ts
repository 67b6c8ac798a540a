/**
 * The audit trail's series on `/metrics`, read from the trail at scrape time:
 * `codedance_audit_records_pending`, `codedance_audit_records_delivered_total`,
 * `codedance_audit_delivery_failures_total`, `codedance_audit_records_dropped_total`.
 * An alert on pending records that keep growing tells of a sink that is down.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditTrail } from './trail.ts';

/** Registers the series of `trail` on `registry`. */
export function registerAuditMetrics(registry: Registry, trail: AuditTrail): void {
  new Gauge({
    name: 'codedance_audit_records_pending',
    help: 'Audit records queued for the sink and not yet delivered.',
    registers: [registry],
    collect() {
      this.set(trail.pending());
    },
  });
  const counter = (name: string, help: string, read: (s: ReturnType<AuditTrail['stats']>) => number) => {
    let reported = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // A counter cannot be set: it is moved up to the trail's own count.
        const now = read(trail.stats());
        if (now > reported) this.inc(now - reported);
        reported = Math.max(reported, now);
      },
    });
  };
  counter('codedance_audit_records_delivered_total', 'Audit records the sink accepted.', (s) => s.delivered);
  counter(
    'codedance_audit_delivery_failures_total',
    'Failed deliveries to the audit sink (retried).',
    (s) => s.failures,
  );
  counter(
    'codedance_audit_records_dropped_total',
    'Audit records dropped past the queue limit.',
    (s) => s.dropped,
  );
}
