/**
 * The phase machine's working state (./phases.ts): what one transition accumulates, and
 * the small helpers every transition shares.
 */
import type { CanaryDeploymentStatus, HistoryEntry, NotificationEvent } from '../api/canary-deployment.ts';
import type { CommandObservation, Effect, Observations, ReleaseSettings, Transition } from './model.ts';
import { isStepping } from './steering.ts';

/** Longest `status.history`; older entries are dropped first. */
export const HISTORY_LIMIT = 50;

/**
 * Accumulates one transition: the next status (a copy of the current one), its effects,
 * the history entries and Events they record, and the earliest time to look again.
 */
export class Builder {
  readonly settings: ReleaseSettings;
  readonly obs: Observations;
  readonly iso: string;
  status: CanaryDeploymentStatus;
  effects: Effect[] = [];
  statusAfter: number | undefined;
  private wake: number | undefined;
  /** The command taken in this transition, and why it was ignored (if it was). */
  private taken: { ignored?: string } | undefined;
  /** When and with what outcome the previous command was handled (a fresh status drops them). */
  private readonly handled: Pick<CanaryDeploymentStatus, 'handledCommandAt' | 'handledCommandOutcome'>;

  constructor(settings: ReleaseSettings, status: CanaryDeploymentStatus, obs: Observations) {
    this.settings = settings;
    this.obs = obs;
    this.iso = new Date(obs.now).toISOString();
    this.status = structuredClone(status);
    this.handled = {
      handledCommandAt: status.handledCommandAt,
      handledCommandOutcome: status.handledCommandOutcome,
    };
  }

  get step(): number {
    return this.status.currentStepIndex ?? 0;
  }

  get total(): number {
    return this.settings.steps.length;
  }

  /** The command to act on now, marked handled (whatever comes of it). */
  takeCommand(): CommandObservation | undefined {
    const command = this.obs.command;
    if (!command || command.raw === this.status.handledCommand) return undefined;
    this.status.handledCommand = command.raw;
    this.taken = {};
    return command;
  }

  ignore(command: CommandObservation, why: string): void {
    if (this.taken && command.raw === this.status.handledCommand) this.taken.ignored ??= why;
    const from = command.by ? ` (from ${command.by})` : '';
    this.effects.push({
      type: 'event',
      eventType: 'Warning',
      reason: 'CommandIgnored',
      note: `${command.verb}${from} ignored: ${why}`,
    });
  }

  /** Asks to be reconciled again at `at` (ms since epoch), keeping the earliest wish. */
  wakeAt(at: number | undefined): void {
    if (at === undefined) return;
    this.wake = this.wake === undefined ? at : Math.min(this.wake, at);
  }

  /**
   * Asks to be reconciled when the next analysis is due; not while a round for an
   * overdue one is in flight (its end wakes the release, polling would only spin).
   */
  wakeForAnalysis(): void {
    const at = parseTime(this.status.analysis?.nextAt);
    if (at !== undefined && at <= this.obs.now && this.obs.analysisRunning) return;
    this.wakeAt(at);
  }

  /** A history entry, an Event and (unless `notify` is false) a notification. */
  record(
    entry: string,
    eventType: 'Normal' | 'Warning',
    reason: string,
    note: string,
    options: {
      notify: NotificationEvent | false;
      weight?: number /** The person whose command this records. */;
      by?: string | undefined;
    },
  ): void {
    const item: HistoryEntry = {
      time: this.iso,
      event: entry,
      step: this.status.currentStepIndex,
      weight: options.weight ?? this.status.currentWeight,
      message: note,
    };
    if (options.by) item.by = options.by;
    const history = [...(this.status.history ?? []), item];
    this.status.history = history.slice(Math.max(0, history.length - HISTORY_LIMIT));
    this.effects.push({ type: 'event', eventType, reason, note });
    if (options.notify) this.effects.push({ type: 'notify', event: options.notify, message: note });
  }

  /**
   * When the handled command was acted on and what came of it, for the audit trail
   * (../audit/record.ts): set by the transition that took it, carried by the others
   * (a release starting afresh rebuilds its status and would drop them).
   */
  private stampCommand(status: CanaryDeploymentStatus): void {
    if (!status.handledCommand) return;
    if (!this.taken) {
      status.handledCommandAt ??= this.handled.handledCommandAt;
      status.handledCommandOutcome ??= this.handled.handledCommandOutcome;
      return;
    }
    status.handledCommandAt = this.iso;
    const caused = (status.history ?? []).filter((h) => h.time === this.iso).map((h) => h.event);
    status.handledCommandOutcome = this.taken.ignored
      ? `Ignored: ${this.taken.ignored}`
      : caused.length > 0
        ? `Acted: ${caused.join(', ')}`
        : 'Acted';
  }

  result(): Transition {
    const status = this.status;
    status.observedGeneration = this.obs.generation;
    this.stampCommand(status);
    const stepping = isStepping(status, this.total);
    if (stepping && this.settings.analysis) this.wakeForAnalysis();
    const requeueAfterMs = this.wake === undefined ? undefined : Math.max(0, this.wake - this.obs.now);
    return {
      status: prune(status),
      effects: this.effects,
      statusAfter: this.statusAfter ?? this.effects.length,
      requeueAfterMs,
    };
  }
}

/** Drops undefined fields so the written status (and its comparison) stays small. */
export function prune(status: CanaryDeploymentStatus): CanaryDeploymentStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) if (value !== undefined) out[key] = value;
  return out as CanaryDeploymentStatus;
}

/** ms since epoch of an RFC 3339 time, or undefined. */
export function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
