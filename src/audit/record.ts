/**
 * Audit records: what a compliance reader needs of a release, as plain data, derived
 * from the release's stored status (pure).
 *
 * Three kinds, each from one part of `status`:
 * - `Transition`: a `status.history` entry (Started, StepReached, Paused, RolledBack,
 *   Completed, ...), with who caused it when a person did (`by`);
 * - `Analysis`: `status.analysis.last` (every metric's value and threshold, the score,
 *   the decision);
 * - `Command`: `status.handledCommand` (the verb, its id, its issuer, when it was handled
 *   and what came of it).
 *
 * Ids are stable: a record derived again from the same status (a controller restarted
 * before it knew the record was delivered) carries the same id, so a reader drops the
 * repeat. They hash what identifies the fact (release uid, kind, time, event, step), not
 * where it sits in the bounded history.
 */
import { createHash } from 'node:crypto';
import type { CanaryDeploymentStatus, HistoryEntry, MetricResult } from '../api/canary-deployment.ts';
import { CommandAuthorSeparator } from '../api/names.ts';

/** The schema of the records this module writes (bumped on an incompatible change). */
export const AuditSchema = 'codedance.audit/v1';

/** Who caused a record: the person whose command it was, else the controller itself. */
export const ControllerActor = 'codedance-controller';

export type AuditRecordType = 'Transition' | 'Analysis' | 'Command';

/** The release a record is about. */
export interface AuditRelease {
  namespace: string;
  name: string;
  uid: string;
  /** The image being released (`status.releaseVersion`). */
  version?: string | undefined;
  /** The image the stable Deployment ran when the release started. */
  stableVersion?: string | undefined;
}

/** One append-only audit record. */
export interface AuditRecord {
  schema: typeof AuditSchema;
  /** Stable across re-deliveries of the same fact (see the module comment). */
  id: string;
  type: AuditRecordType;
  /** When it happened (RFC 3339, the controller's clock when it decided). */
  time: string;
  release: AuditRelease;
  /** Who: a username (from the command or `paused-by`) or {@link ControllerActor}. */
  actor: string;
  /** What: the history event (e.g. `RolledBack`), the analysis decision, or the command verb. */
  action: string;
  /** Step index (0-based) the release was on, and how many steps it has. */
  step?: number | undefined;
  totalSteps?: number | undefined;
  /** Percent of traffic on the canary. */
  weight?: number | undefined;
  message?: string | undefined;
  analysis?: AuditAnalysis | undefined;
  command?: AuditCommand | undefined;
}

export interface AuditAnalysis {
  decision: string;
  score?: number | undefined;
  metrics: MetricResult[];
}

export interface AuditCommand {
  verb: string;
  /** The command's own id (the part after `verb:`), unique per command. */
  commandId: string;
  /** The annotation's whole value, as written by the CLI or dashboard. */
  value: string;
  /** The person who gave it, when the writer said. */
  by?: string | undefined;
  /** What came of it: `Acted` (with the history events it caused) or `Ignored: <why>`. */
  outcome?: string | undefined;
}

/**
 * The records `after` holds that `before` did not: history entries added, a new last
 * analysis, a newly handled command. With `before` undefined: every record `after` holds
 * (a replay). Ordered by time.
 */
export function auditRecords(
  release: AuditRelease,
  before: CanaryDeploymentStatus | undefined,
  after: CanaryDeploymentStatus | undefined,
): AuditRecord[] {
  if (!after) return [];
  const base = {
    ...release,
    version: after.releaseVersion ?? release.version,
    stableVersion: after.stableRevision ?? release.stableVersion,
  };
  const out: AuditRecord[] = [];
  const known = new Set((before?.history ?? []).map(historyKey));
  for (const entry of after.history ?? []) {
    if (known.has(historyKey(entry))) continue;
    out.push(transitionRecord(base, entry, after.totalSteps));
  }
  const last = after.analysis?.last;
  if (last && (last.time !== before?.analysis?.last?.time || last.step !== before.analysis.last.step)) {
    out.push({
      schema: AuditSchema,
      id: recordId(base.uid, 'Analysis', last.time, String(last.step ?? '')),
      type: 'Analysis',
      time: last.time,
      release: base,
      actor: ControllerActor,
      action: last.decision,
      step: last.step,
      totalSteps: after.totalSteps,
      // The weight the run judged: the step's, while the release is still on it (a
      // rollback the run caused has already set the weight to 0).
      weight:
        last.step === after.currentStepIndex && after.phase !== 'Failed' && after.phase !== 'Completed'
          ? after.currentWeight
          : undefined,
      message: last.message,
      analysis: { decision: last.decision, score: last.score, metrics: last.metrics },
    });
  }
  const value = after.handledCommand;
  if (value && value !== before?.handledCommand) out.push(commandRecord(base, after, value));
  return out.sort((a, b) => a.time.localeCompare(b.time));
}

function transitionRecord(release: AuditRelease, entry: HistoryEntry, totalSteps?: number): AuditRecord {
  return {
    schema: AuditSchema,
    id: recordId(release.uid, 'Transition', entry.time, entry.event, String(entry.step ?? '')),
    type: 'Transition',
    time: entry.time,
    release,
    actor: entry.by ?? ControllerActor,
    action: entry.event,
    step: entry.step,
    totalSteps,
    weight: entry.weight,
    message: entry.message,
  };
}

function commandRecord(release: AuditRelease, status: CanaryDeploymentStatus, value: string): AuditRecord {
  const { verb, commandId, by } = splitCommand(value);
  const at = status.handledCommandAt;
  // The history entries written by the same transition as the command.
  const caused = at ? (status.history ?? []).filter((h) => h.time === at).map((h) => h.event) : [];
  const outcome =
    status.handledCommandOutcome ?? (caused.length > 0 ? `Acted: ${caused.join(', ')}` : undefined);
  return {
    schema: AuditSchema,
    id: recordId(release.uid, 'Command', value),
    type: 'Command',
    // A status from before `handledCommandAt` existed has no time: the latest entry's is the closest.
    time: at ?? status.history?.at(-1)?.time ?? new Date(0).toISOString(),
    release,
    actor: by ?? ControllerActor,
    action: verb,
    step: status.currentStepIndex,
    totalSteps: status.totalSteps,
    weight: status.currentWeight,
    command: { verb, commandId, value, by, outcome },
  };
}

/** `<verb>:<id>[;by=<user>]` in parts (the value is the controller's own, already parsed once). */
function splitCommand(value: string): { verb: string; commandId: string; by?: string | undefined } {
  const [command = '', by] = value.split(CommandAuthorSeparator, 2);
  const colon = command.indexOf(':');
  return {
    verb: colon < 0 ? command : command.slice(0, colon),
    commandId: colon < 0 ? '' : command.slice(colon + 1),
    by: by || undefined,
  };
}

function historyKey(entry: HistoryEntry): string {
  return `${entry.time}\u0000${entry.event}\u0000${entry.step ?? ''}`;
}

/** A stable id: the first 128 bits of SHA-256 over the identifying parts, hex. */
export function recordId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/**
 * The record of a release deleted (its finalizer ran): when the deletion was asked
 * (`metadata.deletionTimestamp`), the phase it was in, mid-release or not.
 */
export function deletedRecord(
  release: AuditRelease,
  status: CanaryDeploymentStatus | undefined,
  deletedAt: string,
): AuditRecord {
  const active =
    status?.phase === 'Initializing' || status?.phase === 'Progressing' || status?.phase === 'Paused';
  return {
    schema: AuditSchema,
    id: recordId(release.uid, 'Deleted'),
    type: 'Transition',
    time: deletedAt,
    release: { ...release, version: status?.releaseVersion, stableVersion: status?.stableRevision },
    actor: ControllerActor,
    action: 'Deleted',
    step: status?.currentStepIndex,
    totalSteps: status?.totalSteps,
    weight: 0,
    message: active
      ? `deleted mid-release (${status?.phase}): all traffic back on stable, canary removed`
      : `deleted (${status?.phase ?? 'not started'})`,
  };
}
