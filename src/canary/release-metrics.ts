/**
 * Per-release series on the controller's `/metrics`, in the shapes people alert on.
 *
 * | series | type | labels | value |
 * |---|---|---|---|
 * | `codedance_release_info` | gauge | namespace, name, target, provider | 1 (joins a release to its target Deployment, e.g. for dashboards) |
 * | `codedance_release_phase` | gauge | namespace, name, phase | 1 for the release's current phase (one series per release) |
 * | `codedance_release_weight_percent` | gauge | namespace, name | canary's share of traffic |
 * | `codedance_release_step` | gauge | namespace, name | current step index (0-based) |
 * | `codedance_release_steps` | gauge | namespace, name | steps in the plan |
 * | `codedance_release_analysis_score` | gauge | namespace, name | health score of the last analysis (0-100) |
 * | `codedance_release_elapsed_seconds` | gauge | namespace, name | since the release started (to completion once finished) |
 * | `codedance_release_rollbacks_total` | counter | namespace, reason | releases rolled back, by status reason |
 * | `codedance_release_finished_total` | counter | namespace, phase | releases that ended (Completed or Failed) |
 * | `codedance_release_duration_seconds` | histogram | phase | start to end of finished releases |
 *
 * The gauges are read at scrape time from the controller's cache of releases (what is
 * true now, also right after a restart). The counters and the histogram count endings
 * this process saw happen: a release counts once (by uid and release version), and only
 * if it ended after this process started, so a restart does not count old rollbacks again.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CanaryDeployment } from '../api/canary-deployment.ts';

/** Where the releases are read from at scrape time (the controller's informer cache). */
export type ReleaseSource = () => readonly CanaryDeployment[];

/** Phases that end a release. */
const FINISHED = new Set(['Completed', 'Failed']);

/** Registers the release series on `registry`; `source` gives the releases when Prometheus scrapes. */
export function registerReleaseMetrics(
  registry: Registry,
  source: ReleaseSource,
  options: { startedAt?: Date } = {},
): void {
  const processStart = (options.startedAt ?? new Date()).getTime();
  const counted = new Set<string>();
  const labels = ['namespace', 'name'] as const;

  const rollbacks = new Counter({
    name: 'codedance_release_rollbacks_total',
    help: 'Releases rolled back, by namespace and reason.',
    labelNames: ['namespace', 'reason'] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: 'codedance_release_finished_total',
    help: 'Releases that ended, by namespace and final phase.',
    labelNames: ['namespace', 'phase'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'codedance_release_duration_seconds',
    help: 'Duration of finished releases, start to end, by final phase.',
    labelNames: ['phase'] as const,
    buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200],
    registers: [registry],
  });

  /** Counts the endings not yet counted; called on every scrape before the gauges are read. */
  function countEndings(releases: readonly CanaryDeployment[]): void {
    for (const cd of releases) {
      const status = cd.status;
      if (!status?.phase || !FINISHED.has(status.phase)) continue;
      const key = `${cd.metadata.uid ?? ''}/${status.releaseVersion ?? ''}`;
      if (counted.has(key)) continue;
      counted.add(key);
      const end = Date.parse(status.completedAt ?? '');
      if (!Number.isFinite(end) || end < processStart) continue;
      const namespace = cd.metadata.namespace ?? '';
      finished.inc({ namespace, phase: status.phase });
      if (status.phase === 'Failed') rollbacks.inc({ namespace, reason: status.reason ?? 'Unknown' });
      const start = Date.parse(status.startedAt ?? '');
      if (Number.isFinite(start))
        duration.observe({ phase: status.phase }, Math.max(0, (end - start) / 1000));
    }
    // Forget releases that are gone, so the set follows the releases, not history.
    if (counted.size > releases.length * 2 + 100) {
      const live = new Set(
        releases.map((cd) => `${cd.metadata.uid ?? ''}/${cd.status?.releaseVersion ?? ''}`),
      );
      for (const key of counted) if (!live.has(key)) counted.delete(key);
    }
  }

  const gauge = (
    name: string,
    help: string,
    value: (cd: CanaryDeployment, now: number) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        const releases = source();
        const now = Date.now();
        for (const cd of releases) {
          const v = value(cd, now);
          if (v !== undefined && Number.isFinite(v))
            this.set({ namespace: cd.metadata.namespace ?? '', name: cd.metadata.name ?? '' }, v);
        }
      },
    });

  new Gauge({
    name: 'codedance_release_phase',
    help: 'The phase of each release: 1 on the series of its current phase.',
    labelNames: ['namespace', 'name', 'phase'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const releases = source();
      countEndings(releases);
      for (const cd of releases)
        this.set(
          {
            namespace: cd.metadata.namespace ?? '',
            name: cd.metadata.name ?? '',
            phase: cd.status?.phase ?? 'Pending',
          },
          1,
        );
    },
  });
  new Gauge({
    name: 'codedance_release_info',
    help: 'Each release, with its target Deployment and traffic provider.',
    labelNames: ['namespace', 'name', 'target', 'provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const cd of source()) {
        this.set(
          {
            namespace: cd.metadata.namespace ?? '',
            name: cd.metadata.name ?? '',
            target: cd.spec.targetDeployment,
            provider: cd.spec.traffic?.provider ?? 'Replicas',
          },
          1,
        );
      }
    },
  });
  gauge(
    'codedance_release_weight_percent',
    'Share of traffic on the canary, in percent.',
    (cd) => cd.status?.currentWeight ?? 0,
  );
  gauge(
    'codedance_release_step',
    'Current step index of the release (0-based).',
    (cd) => cd.status?.currentStepIndex,
  );
  gauge('codedance_release_steps', 'Steps in the release plan.', (cd) => cd.status?.totalSteps);
  gauge(
    'codedance_release_analysis_score',
    'Health score of the last analysis (0-100).',
    (cd) => cd.status?.analysis?.last?.score,
  );
  gauge(
    'codedance_release_elapsed_seconds',
    'Seconds since the release started (to its end once finished).',
    (cd, now) => {
      const start = Date.parse(cd.status?.startedAt ?? '');
      if (!Number.isFinite(start)) return undefined;
      const end =
        cd.status?.phase && FINISHED.has(cd.status.phase) ? Date.parse(cd.status.completedAt ?? '') : now;
      return Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : undefined;
    },
  );
}
