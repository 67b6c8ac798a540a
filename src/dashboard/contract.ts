/**
 * The one contract between the dashboard's server and its page (`web/`): the shapes of
 * what `/api/*` answers and the stream sends, and the paths they are at. Typed once,
 * imported by both sides (the page with `import type`, so nothing here runs in the
 * browser but these few constants).
 *
 * Self-contained on purpose: the page's tsconfig has `dom` typings and no `node` ones,
 * and the server's the other way round, so this file imports nothing. The server checks
 * that its API types fit these (release-view.ts), so a change to the CRD that the page
 * would not understand fails the type check instead of the page.
 */

/** Phases a release goes through (the CRD's `status.phase`). */
export type PhaseName = 'Initializing' | 'Progressing' | 'Paused' | 'Completed' | 'Failed';

/** Every phase, in the order a release moves through them. */
export const PhaseNames: readonly PhaseName[] = [
  'Initializing',
  'Progressing',
  'Paused',
  'Completed',
  'Failed',
];

/** The steering commands a person can send (`promote-full` is the CLI's `promote --full`). */
export type CommandName = 'promote' | 'promote-full' | 'pause' | 'resume' | 'abort' | 'retry';

/** Every command, in the order the page offers them. */
export const CommandNames: readonly CommandName[] = [
  'promote',
  'promote-full',
  'pause',
  'resume',
  'abort',
  'retry',
];

/** Which kind a row of the list is. */
export type ReleaseKind = 'CanaryDeployment' | 'WebApp';

export type StepState = 'done' | 'current' | 'pending' | 'failed';

/** One step of the ladder. */
export interface StepView {
  weight: number;
  /** The step's pause, as written for people (`30s`); undefined when it waits for approval. */
  pause: string | undefined;
  approval: boolean;
  state: StepState;
}

/** A command now: `true` when it is offered, else why not (the steering table's words, as the CLI says them). */
export type ActionState = true | string;

/** Which steering commands make sense in the release's current state, and why the others do not. */
export type ActionsView = Record<CommandName, ActionState>;

/** One metric of an analysis, as the controller recorded it. */
export interface MetricResultView {
  name: string;
  value?: number | undefined;
  threshold?: string | undefined;
  score?: number | undefined;
  passed?: boolean | undefined;
  message?: string | undefined;
  /** Stable's value over the same window, for a check against stable (`metrics.compare`); `value` is the canary's. */
  stableValue?: number | undefined;
}

/** One analysis round, as the controller recorded it. */
export interface AnalysisRunView {
  time: string;
  step?: number | undefined;
  metrics: MetricResultView[];
  score?: number | undefined;
  decision: 'Continue' | 'Pause' | 'Rollback' | 'Inconclusive';
  message?: string | undefined;
}

/** One entry of the release's history. */
export interface HistoryEntryView {
  time: string;
  event: string;
  step?: number | undefined;
  weight?: number | undefined;
  message?: string | undefined;
  /** The person whose command this entry records. */
  by?: string | undefined;
}

/** What a release cost (status.cost; src/canary/cost.ts), as of `asOf`. */
export interface CostView {
  asOf: string;
  seconds: number;
  canaryPodSeconds: number;
  extraPodSeconds: number;
  cpuCoreSeconds: number;
  memoryGiBSeconds: number;
  /** Share of traffic the canary served, in percent (time-weighted weight). */
  canaryTrafficPercent: number;
  /** Seconds at each step (1-based; totalSteps + 1 is the promotion). */
  steps?: { step: number; weight: number; seconds: number }[] | undefined;
}

/** What a person sees of one CanaryDeployment. */
export interface ReleaseView {
  kind?: 'CanaryDeployment';
  namespace: string;
  name: string;
  phase: PhaseName;
  reason: string | undefined;
  message: string | undefined;
  /** The version being released (spec.canaryVersion). */
  version: string;
  stableRevision: string | undefined;
  strategy: string;
  provider: string;
  /** Canary share of traffic now, in percent. */
  weight: number;
  stepIndex: number | undefined;
  steps: StepView[];
  paused: boolean;
  hasMetrics: boolean;
  analysis: AnalysisRunView | undefined;
  /** Newest first. */
  history: HistoryEntryView[];
  /** metadata.creationTimestamp */
  createdAt?: string | undefined;
  startedAt: string | undefined;
  completedAt: string | undefined;
  /** The ReleaseGroup it belongs to (label `deploy.codedance.io/group`), if any. */
  group?: string | undefined;
  /** What the release cost so far (as of its last recorded moment), once it started. */
  cost?: CostView | undefined;
  actions: ActionsView;
  /** Set when the object could not be read as a CanaryDeployment: why. */
  malformed?: string;
}

/** What a person sees of one WebApp (a row of the list; WebApps are released through CanaryDeployments). */
export interface WebAppView {
  kind: 'WebApp';
  namespace: string;
  name: string;
  /** Pending, Creating, Running, Failed, Deleting. */
  phase: string;
  image: string;
  replicas: number | undefined;
  readyReplicas: number | undefined;
  message: string | undefined;
  createdAt: string | undefined;
  /** The CanaryDeployment carrying the WebApp's current release (`spec.release` made it), if any: its page is the WebApp's link. */
  release: string | undefined;
}

/** One line of a chart: time (ms since the epoch) and value. */
export interface ChartLine {
  /** Whose numbers: the canary's, or stable's over the same window (where the provider's series tell stable apart). */
  version: 'canary' | 'stable';
  /** The PromQL asked: the analysis' own query of the check (`queryFor`, `stableQueryFor`) over the range. */
  query: string;
  points: [time: number, value: number][];
  /** Set when Prometheus refused or did not answer this query. */
  error?: string;
}

/** One chart: a check of the analysis over the release. */
export interface MetricChart {
  /** The check's name (`successRate`, `latencyP99`, `errorRateVsStable`, a custom name). */
  name: string;
  /** How the values read: the analysis check's unit (checks.ts). */
  unit: '%' | 'ms' | ' cores' | 'MiB' | 'x' | '';
  /** The analysis threshold and which side of it passes (for a comparison, the tolerance: see `limit`). */
  threshold: number;
  bound: 'min' | 'max' | 'lt' | 'gt';
  /** The rule as people read it: `>= 99%`, `<= stable + 1%`. */
  rule: string;
  /** A comparison with stable (`metrics.compare`): the canary's limit at each of stable's points. */
  limit?: [time: number, value: number][];
  /** The canary's line first, then stable's when it has one. */
  lines: ChartLine[];
}

/** `GET /api/releases/<ns>/<name>/metrics`: the release's checks over its lifetime. */
export interface MetricsAnswer {
  /** The range asked, ms since the epoch. */
  start: number;
  end: number;
  stepSeconds: number;
  charts: MetricChart[];
  /** Set when nothing could be asked (no Prometheus, an address not allowed, no checks). */
  problem?: string;
  /** Set when Prometheus answered none of the queries (down, or out of the dashboard's reach): why. */
  unreachable?: string;
}

/** A Kubernetes Event about a release, as the person may read it. */
export interface EventView {
  /** When it was last seen (a series' last observation), ISO 8601. */
  time: string;
  /** When it was first seen, when the series repeated it. */
  firstTime?: string | undefined;
  type: 'Normal' | 'Warning';
  /** PascalCase (`StepAdvanced`, `CrashLoopBackOff`, `CommandIgnored`). */
  reason: string;
  note: string;
  /** How many times it happened (1 unless repeats were folded into a series). */
  count: number;
  /** Who reported it (`codedance.io/canary`). */
  reporter?: string | undefined;
}

/** `GET /api/releases/<ns>/<name>/events`: the Events about the release, oldest first. */
export interface EventsAnswer {
  events: EventView[];
}

/** One analysis round of a backtest: what the live analysis would have read and done then. */
export interface BacktestRoundView {
  time: string;
  metrics: MetricResultView[];
  score?: number | undefined;
  decision: 'Continue' | 'Pause' | 'Rollback' | 'Inconclusive';
  /** What the release would have done after it. */
  verdict: 'advance-allowed' | 'hold' | 'pause' | 'rollback';
  message: string;
}

/** A threshold suggested from stable's own behaviour over the window. */
export interface ThresholdSuggestionView {
  check: string;
  current: number;
  suggested: number;
  unit: '%' | 'ms' | ' cores' | 'MiB' | 'x' | '';
  /** In words: `stable p99 0.2% + 20% + 0.5 → 0.8%`. */
  basis: string;
  samples: number;
}

/** `GET /api/releases/<ns>/<name>/backtest[?from=&to=]`: the release's policy replayed on past metrics (docs/backtest.md). */
export interface BacktestAnswer {
  /** The window, ms since the epoch (default: the release's life). */
  from: number;
  to: number;
  stepSeconds: number;
  rounds: BacktestRoundView[];
  /** Time of the round whose verdict would have rolled the release back, if any. */
  rollbackAt?: string | undefined;
  pauseAt?: string | undefined;
  /** One sentence: would have rolled back at ..., paused at ..., or continued throughout. */
  outcome: string;
  suggestions: ThresholdSuggestionView[];
  /** The same sentence with the suggested thresholds. */
  suggestedOutcome?: string | undefined;
  /** Set when nothing could be replayed (no Prometheus, an address not allowed, no checks). */
  problem?: string;
}

/** `POST /api/releases/<ns>/<name>/<command>`'s answer. */
export interface CommandAnswer {
  ok: boolean;
  message: string;
}

/** `GET /api/whoami` */
export interface WhoAmIAnswer {
  username: string;
}

/** Events of `GET /api/stream` (server-sent events), by name, and their data. */
export interface StreamEvents {
  /** Everything the person may see, on connect. */
  snapshot: (ReleaseView | WebAppView)[];
  /** One changed row. */
  release: ReleaseView | WebAppView;
  deleted: { kind?: ReleaseKind; namespace: string; name: string };
  /** The token expired or was revoked: sign in again. */
  unauthorized: { message: string };
}

/** Where a group member is (src/dashboard/group-view.ts). */
export type GroupMemberState = 'waiting' | 'running' | 'completed' | 'failed';

/** A ReleaseGroup as seen through the members a person may list (`GET /api/groups`). */
export interface GroupView {
  namespace: string;
  name: string;
  counts: {
    total: number;
    waiting: number;
    running: number;
    paused: number;
    completed: number;
    failed: number;
  };
  members: {
    name: string;
    state: GroupMemberState;
    phase: PhaseName;
    reason: string | undefined;
    message: string | undefined;
  }[];
  /** The members' costs summed (those that have one). */
  cost: Omit<CostView, 'steps'> | undefined;
}

/** The header every action must carry (any non-empty value). */
export const ActionHeader = 'x-codedance-request';

/** API paths, relative to where the dashboard is mounted. */
export const ApiPaths = {
  whoami: '/api/whoami',
  releases: '/api/releases',
  stream: '/api/stream',
  groups: '/api/groups',
  command: (namespace: string, name: string, command: CommandName): string =>
    `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${command}`,
  metrics: (namespace: string, name: string): string =>
    `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/metrics`,
  events: (namespace: string, name: string): string =>
    `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/events`,
  backtest: (namespace: string, name: string): string =>
    `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/backtest`,
} as const;
