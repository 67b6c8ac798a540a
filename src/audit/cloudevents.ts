/**
 * Audit records as CloudEvents 1.0 in structured content mode (the HTTP protocol
 * binding: one event per request, `Content-Type: application/cloudevents+json`).
 *
 * `id` is the record's stable id and `source` names the release, so a receiver that
 * drops repeats of the same `source` + `id` (as the CloudEvents spec lets it) drops
 * the controller's re-deliveries.
 */
import type { AuditRecord } from './record.ts';

/** The media type of one structured-mode event. */
export const CloudEventContentType = 'application/cloudevents+json; charset=utf-8';

/** The `type` prefix; the record type follows in lower case (`io.codedance.audit.transition`). */
export const CloudEventTypePrefix = 'io.codedance.audit.';

/** A CloudEvents 1.0 event carrying one audit record as JSON data. */
export interface AuditCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  dataschema?: string;
  data: AuditRecord;
}

/** The event of `record`: the release's API path as `source`, the action as `subject`. */
export function toCloudEvent(record: AuditRecord): AuditCloudEvent {
  const { namespace, name } = record.release;
  return {
    specversion: '1.0',
    id: record.id,
    source: `/apis/deploy.codedance.io/v1alpha1/namespaces/${namespace}/canarydeployments/${name}`,
    type: `${CloudEventTypePrefix}${record.type.toLowerCase()}`,
    time: record.time,
    subject: record.action,
    datacontenttype: 'application/json',
    data: record,
  };
}
