/**
 * The timeline of a release as the console shows it: the controller's history (status),
 * the analyses seen, and the Kubernetes Events about the release, merged into one list,
 * newest first.
 *
 * Pure and self-contained (it imports only the contract's types), so the page runs it and
 * unit tests run it without a browser.
 *
 * How the three sources meet:
 * - history is the record: every step, pause, command (with who gave it), rollback and
 *   completion, with the reason in its message;
 * - each history entry was published as an Event with the same note, so an Event whose
 *   note a history entry already carries is that entry, and is shown once; the Events
 *   left are what history does not hold (a crash-looping canary, a command the controller
 *   ignored, a refused write), with their repeat count;
 * - analyses that repeat the same decision and score on the same step are one line, and so
 *   are Events of the same reason one after another (an analysis a second would otherwise
 *   bury everything else).
 */
import type { AnalysisRunView, EventView, HistoryEntryView } from './contract.ts';

/** What a line of the timeline is about. */
export type TimelineKind =
  | 'started'
  | 'step'
  | 'analysis'
  | 'pause'
  | 'resume'
  | 'command'
  | 'promotion'
  | 'rollback'
  | 'completed'
  | 'event';

/** How a line reads at a glance (its colour). */
export type TimelineTone = 'info' | 'success' | 'warning' | 'error';

/** One line of the timeline. */
export interface TimelineEntry {
  /** Unique within one timeline: for a list's keys. */
  key: string;
  /** When it happened (the last time, for folded repeats), ISO 8601. */
  time: string;
  /** The first time, when repeats were folded. */
  firstTime?: string | undefined;
  kind: TimelineKind;
  tone: TimelineTone;
  /** `Aborted`, `StepAdvanced`, `Analysis: Continue`, an Event's reason. */
  title: string;
  /** The controller's message, or the Event's note. */
  detail?: string | undefined;
  /** The person whose command this was. */
  by?: string | undefined;
  /** 0-based step. */
  step?: number | undefined;
  weight?: number | undefined;
  /** An analysis' health score. */
  score?: number | undefined;
  /** Repeats folded into this line (analyses, an Event's series). */
  count: number;
  source: 'history' | 'analysis' | 'event';
}

/** What the timeline is made of. */
export interface TimelineInput {
  /** status.history, in any order. */
  history: readonly HistoryEntryView[];
  /** Analyses seen (status keeps the last; the page keeps those it saw), in any order. */
  analyses: readonly AnalysisRunView[];
  /** Events about the release, in any order. */
  events: readonly EventView[];
}

const KIND_OF_HISTORY: Record<string, TimelineKind> = {
  Started: 'started',
  Restarted: 'started',
  Retried: 'started',
  StepReached: 'step',
  StepAdvanced: 'step',
  Approved: 'command',
  Paused: 'pause',
  Resumed: 'resume',
  Waiting: 'promotion',
  Confirmed: 'promotion',
  Promoting: 'promotion',
  RollingOut: 'promotion',
  RolledOut: 'promotion',
  Completed: 'completed',
  Aborted: 'rollback',
  RolledBack: 'rollback',
  Stopped: 'rollback',
};

const TONE_OF_KIND: Record<TimelineKind, TimelineTone> = {
  started: 'info',
  step: 'info',
  analysis: 'info',
  pause: 'warning',
  resume: 'info',
  command: 'info',
  promotion: 'success',
  rollback: 'error',
  completed: 'success',
  event: 'info',
};

const TONE_OF_DECISION: Record<AnalysisRunView['decision'], TimelineTone> = {
  Continue: 'success',
  Pause: 'warning',
  Rollback: 'error',
  Inconclusive: 'info',
};

const ms = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
};

/** One line per history entry; a person's command says so in its kind. */
function fromHistory(entry: HistoryEntryView, index: number): TimelineEntry {
  const known = KIND_OF_HISTORY[entry.event];
  const kind: TimelineKind = known ?? 'event';
  return {
    key: `h${index}:${entry.time}:${entry.event}`,
    time: entry.time,
    kind,
    tone: TONE_OF_KIND[kind],
    title: entry.event,
    detail: entry.message,
    by: entry.by,
    step: entry.step,
    weight: entry.weight,
    count: 1,
    source: 'history',
  };
}

/** Same decision, same rounded score, same step, one after another: one run. */
export function analysisRuns(
  analyses: readonly AnalysisRunView[],
): { first: AnalysisRunView; last: AnalysisRunView; count: number }[] {
  const runs: { first: AnalysisRunView; last: AnalysisRunView; count: number }[] = [];
  const seen = new Set<string>();
  for (const a of [...analyses].sort((x, y) => ms(x.time) - ms(y.time))) {
    // The same analysis may come twice (status and the page's memory of it).
    if (seen.has(a.time)) continue;
    seen.add(a.time);
    const current = runs.at(-1);
    const same =
      current &&
      current.last.decision === a.decision &&
      Math.round(current.last.score ?? -1) === Math.round(a.score ?? -1) &&
      current.last.step === a.step;
    if (current && same) {
      current.last = a;
      current.count++;
    } else runs.push({ first: a, last: a, count: 1 });
  }
  return runs;
}

function fromRun(run: { first: AnalysisRunView; last: AnalysisRunView; count: number }): TimelineEntry {
  const failing = run.last.metrics.filter((m) => m.passed === false).map((m) => m.name);
  const detail = run.last.message ?? (failing.length ? `failing: ${failing.join(', ')}` : undefined);
  return {
    key: `a:${run.first.time}`,
    time: run.last.time,
    firstTime: run.count > 1 ? run.first.time : undefined,
    kind: 'analysis',
    tone: TONE_OF_DECISION[run.last.decision],
    title: `Analysis: ${run.last.decision}`,
    detail,
    step: run.last.step,
    score: run.last.score,
    count: run.count,
    source: 'analysis',
  };
}

function fromEvent(event: EventView, index: number): TimelineEntry {
  return {
    key: `e${index}:${event.time}:${event.reason}`,
    time: event.time,
    firstTime: event.count > 1 ? event.firstTime : undefined,
    kind: 'event',
    tone: event.type === 'Warning' ? 'warning' : 'info',
    title: event.reason,
    detail: event.note,
    count: Math.max(1, event.count),
    source: 'event',
  };
}

const ORDER: Record<TimelineEntry['source'], number> = { history: 0, analysis: 1, event: 2 };

/** The release's timeline, newest first. */
export function releaseTimeline(input: TimelineInput): TimelineEntry[] {
  // Every history entry was also published as an Event with its message as the note.
  const recorded = new Set(input.history.map((h) => h.message?.trim()).filter(Boolean));
  const entries = [
    ...input.history.map(fromHistory),
    ...analysisRuns(input.analyses).map(fromRun),
    ...input.events.filter((e) => !recorded.has(e.note.trim())).map(fromEvent),
  ];
  entries.sort((a, b) => ms(b.time) - ms(a.time) || ORDER[a.source] - ORDER[b.source]);
  return foldRepeats(entries);
}

/**
 * Events of the same reason and type one after another (an analysis Event a second, with a
 * counter in its note) become one line: the newest note, every repeat counted, first to last.
 */
function foldRepeats(newestFirst: TimelineEntry[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const entry of newestFirst) {
    const previous = out.at(-1);
    if (
      previous &&
      entry.source === 'event' &&
      previous.source === 'event' &&
      previous.title === entry.title &&
      previous.tone === entry.tone
    ) {
      previous.count += entry.count;
      previous.firstTime = entry.firstTime ?? entry.time;
    } else out.push(entry);
  }
  return out;
}
