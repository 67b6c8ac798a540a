/**
 * `npm run bench -- --peers`: Codedance, Flagger and Argo Rollouts side by side on one
 * cluster, one tool at a time, the same scenarios for each (./peer-tools.ts says how each
 * tool is set up and at which settings):
 *
 * - crash rollback: the new version's pods crash-loop; from the first pod seen in
 *   CrashLoopBackOff to the tool's release failed with 100 % of the VirtualService on
 *   stable, and on to the new pods gone;
 * - metric rollback: the simulator makes the canary answer 50 % errors; from the first
 *   Prometheus poll that shows the error rate over the threshold to the release failed
 *   with 100 % on stable;
 * - a healthy release of three steps (10 %, 50 %, promotion): from the write that starts
 *   it to the first weight in the VirtualService, and to the tool saying it finished;
 * - the controller's RSS and CPU at rest and over the scenarios, and its API requests per
 *   healthy release (the API server's audit log, by the tool's user).
 *
 * Every time is taken from watch events arriving here (./observe.ts), as the other
 * benchmarks do; the simulator reads the weights from the VirtualServices for all three.
 */
import type { KubeObject } from '../src/runtime/client.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { readAuditEvents } from '../src/cluster/audit.ts';
import { crashLabel } from '../src/cluster/kwok-stages.ts';
import { createPrometheusClient } from '../src/analysis/prometheus.ts';
import type { Pod } from '../src/runtime/core-types.ts';
import type { RoutedService } from '../src/sim/discovery.ts';
import { startSimulator, type Simulator } from '../src/sim/simulator.ts';
import { istioCanaryShare, type VirtualServiceLike } from '../src/sim/weights.ts';
import { inBatches, waitRolledOut } from './apps.ts';
import { createNamespace, type BenchEnv } from './env.ts';
import { observe, type Observer } from './observe.ts';
import {
  drivers,
  errorRateQuery,
  SCENARIO,
  type AppPlan,
  type RunningTool,
  type ToolDriver,
  type ToolName,
} from './peer-tools.ts';
import { readProcess } from './process-stats.ts';
import { ms, now, round, sleep, summarize, table, type Summary } from './stats.ts';

/** How many releases of each scenario per tool. */
export interface PeerCounts {
  crash: number;
  metrics: number;
  healthy: number;
  /** Seconds the controller is left alone to read its CPU and RSS at rest (and with the ramp's releases paused). */
  restSeconds: number;
  /** Waves of releases posted at once, each to its first weight (issue 18.3); empty: skipped. */
  ramp: number[];
}

/** One tool's figures. */
type CrashFigures = { toStable: Summary; toGone: Summary; outcomes: string[] };
type MetricFigures = { toStable: Summary; outcomes: string[] };
type HealthyFigures = {
  toFirstWeight: Summary;
  toDone: Summary;
  apiRequestsPerRelease: number;
  requestsByVerb: Record<string, number>;
};

type RampFigures = {
  /**
   * Each wave: releases written at once → the last one's first weight seen; then, with
   * every release so far held at its first step and analysed, the controller left alone
   * for {@link PeerCounts.restSeconds}: its CPU and RSS at that many releases in flight.
   */
  waves: {
    releases: number;
    /** Until the last of those that reached it had its first weight. */
    wallMs: number;
    /** Releases the tool failed before their first weight (counted in `releases`, not in `wallMs`). */
    failed: number;
    inFlight: number;
    cpuSecondsPerMinute: number;
    rssMiB: number;
  }[];
  /** Then every release so far paused the tool's own way (issue 18.4): CPU over the same time. */
  paused?: { releases: number; cpuSecondsPerMinute: number; rssMiB: number };
  /** Why the ramp stopped before its last wave, if it did. */
  error?: string;
};

export interface ToolResult {
  tool: ToolName;
  version: string;
  settings: string[];
  crash?: CrashFigures;
  metrics?: MetricFigures;
  healthy?: HealthyFigures;
  ramp?: RampFigures;
  rest?: { rssMiB: number; cpuSecondsPerMinute: number };
  afterScenarios?: { rssMiB: number; peakRssMiB: number; cpuSeconds: number };
  error?: string;
}

export interface PeersResult {
  date: string;
  counts: PeerCounts;
  scenario: typeof SCENARIO;
  tools: ToolResult[];
}

const POLL_MS = 100;
const HOLD: AppPlan = { steps: 'hold', replicas: 2 };
const THREE: AppPlan = { steps: 'three', replicas: 2 };

/** The canary's share of `app`'s VirtualService, as the simulator reads it. */
function shareOf(routes: Observer<VirtualServiceLike>, routed: RoutedService): number {
  return istioCanaryShare(routes.store.get(routed.namespace, routed.virtualService), routed.stableHost);
}

/** Pods of `app` carrying kwok's crash label (the new version of a crashing release). */
function crashPods(pods: Observer<Pod>, ns: string, app: string): Pod[] {
  return pods.store
    .list(ns)
    .filter((pod) => pod.metadata.labels?.app === app && pod.metadata.labels?.[crashLabel] === 'true');
}

/**
 * Since when `holds` has been true without a break (undefined while false), kept from
 * every change `observer` sees: "100 % on stable" may have held since before the
 * release failed (a canary that never got a weight), and then the failure is the moment.
 */
function holdingSince<T extends KubeObject>(
  observer: Observer<T>,
  holds: () => boolean,
): { at(): number | undefined; stop(): void } {
  let since = holds() ? now() : undefined;
  const stop = observer.onChange((_change, at) => {
    if (!holds()) since = undefined;
    else since ??= at;
  });
  return { at: () => since, stop };
}

/** When all of the traffic is on stable and the release has failed: the later of the two. */
async function stableAfterFailure(
  scene: ToolScene,
  routed: RoutedService,
  failed: Promise<number>,
): Promise<number> {
  const stable = holdingSince(scene.routes, () => shareOf(scene.routes, routed) === 0);
  try {
    const failedAt = await failed;
    const stableAt =
      stable.at() ??
      (await scene.routes.when(
        `${routed.name}: 100 % on stable`,
        () => shareOf(scene.routes, routed) === 0,
        60_000,
      ));
    return Math.max(failedAt, stableAt);
  } finally {
    stable.stop();
  }
}

interface ToolScene {
  driver: ToolDriver;
  env: BenchEnv;
  routes: Observer<VirtualServiceLike>;
  pods: Observer<Pod>;
  releases: Observer<KubeObject>;
  ns: string;
}

/** Creates `count` apps named `<prefix>-<i>` for the tool and waits until each can be released. */
async function setUpApps(
  scene: ToolScene,
  prefix: string,
  count: number,
  plan: AppPlan,
): Promise<RoutedService[]> {
  const routed: RoutedService[] = [];
  await inBatches(
    Array.from({ length: count }, (_, i) => `${prefix}-${i}`),
    10,
    async (app) => {
      routed.push(await scene.driver.createApp(scene.env, scene.ns, app, plan));
    },
  );
  // A tool readies its apps one by one (Flagger initialises each canary in turn): the wait grows with them.
  const setUpMs = 180_000 + count * 1_000;
  // Codedance releases a running Deployment: its pods are up first (the peers' own objects say when they are).
  if (scene.driver.tool === 'codedance')
    await waitRolledOut(
      scene.env.admin,
      scene.ns,
      routed.map((r) => r.name),
      setUpMs,
    );
  await Promise.all(
    routed.map((r) =>
      scene.releases.when(
        `${scene.driver.tool} ${r.name}: ready to release`,
        (store) => scene.driver.ready(store.get(r.namespace, r.name)),
        setUpMs,
      ),
    ),
  );
  return routed.sort((a, b) => a.name.localeCompare(b.name));
}

async function crashRollback(scene: ToolScene, apps: RoutedService[]): Promise<CrashFigures> {
  const { driver, env, ns } = scene;
  const toStable: number[] = [];
  const toGone: number[] = [];
  const outcomes: string[] = [];
  for (const routed of apps) {
    const app = routed.name;
    const crashed = scene.pods.when(
      `${app}: a new pod in CrashLoopBackOff`,
      () =>
        crashPods(scene.pods, ns, app).some((pod) =>
          pod.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'),
        ),
      120_000,
    );
    const failed = scene.releases.when(
      `${app}: release failed`,
      (store) => driver.stateOf(store.get(ns, app)) === 'failed',
      180_000,
    );
    const stableAt = stableAfterFailure(scene, routed, failed);
    await driver.release(env, ns, app, { crash: true, plan: HOLD });
    const crashedAt = await crashed;
    toStable.push((await stableAt) - crashedAt);
    const goneAt = await scene.pods.when(
      `${app}: new pods gone`,
      () => crashPods(scene.pods, ns, app).length === 0,
      120_000,
    );
    toGone.push(goneAt - crashedAt);
    outcomes.push(driver.stateOf(scene.releases.store.get(ns, app)));
  }
  return { toStable: summarize(toStable), toGone: summarize(toGone), outcomes };
}

async function metricsRollback(
  scene: ToolScene,
  apps: RoutedService[],
  sim: Simulator,
): Promise<MetricFigures> {
  const { driver, env, ns } = scene;
  const prometheus = createPrometheusClient({ address: env.prometheusUrl, timeoutMs: 5000 });
  const toStable: number[] = [];
  const outcomes: string[] = [];
  try {
    for (const routed of apps) {
      const app = routed.name;
      const weighted = scene.routes.when(
        `${app}: first weight`,
        () => shareOf(scene.routes, routed) > 0,
        180_000,
      );
      await driver.release(env, ns, app, { crash: false, plan: HOLD });
      await weighted;
      // The canary serves healthy traffic for a window first, so the bad sample is the change.
      await sleep(3000);
      const failed = scene.releases.when(
        `${app}: release failed`,
        (store) => driver.stateOf(store.get(ns, app)) === 'failed',
        120_000,
      );
      const stableAt = stableAfterFailure(scene, routed, failed);
      sim.setProfile({ namespace: ns, name: app, version: 'canary', errorRate: 0.5 });
      const query = errorRateQuery(ns, routed.canaryWorkload);
      const deadline = now() + 60_000;
      let badAt: number | undefined;
      while (badAt === undefined) {
        const sent = now();
        const result = await prometheus.query(query);
        if (result.ok && result.value > SCENARIO.errorRateThreshold) badAt = sent;
        else if (sent > deadline)
          throw new Error(`${app}: the error rate never crossed the threshold in Prometheus`);
        else await sleep(POLL_MS);
      }
      toStable.push((await stableAt) - badAt);
      outcomes.push(driver.stateOf(scene.releases.store.get(ns, app)));
      sim.resetProfiles(ns, app);
    }
  } finally {
    await prometheus.close();
  }
  return { toStable: summarize(toStable), outcomes };
}

async function healthyReleases(
  scene: ToolScene,
  apps: RoutedService[],
  user: string,
): Promise<HealthyFigures> {
  const { driver, env, ns } = scene;
  const toFirstWeight: number[] = [];
  const toDone: number[] = [];
  const since = new Date();
  for (const routed of apps) {
    const app = routed.name;
    const weighted = scene.routes.when(
      `${app}: first weight`,
      () => shareOf(scene.routes, routed) > 0,
      180_000,
    );
    const done = scene.releases.when(
      `${app}: promoted`,
      (store) => driver.stateOf(store.get(ns, app)) === 'succeeded',
      300_000,
    );
    await driver.release(env, ns, app, { crash: false, plan: THREE });
    const started = now();
    toFirstWeight.push((await weighted) - started);
    toDone.push((await done) - started);
  }
  // The audit log is written as requests complete: give the last ones a moment.
  await sleep(2000);
  const events = (await readAuditEvents(env.state.stateDir, { since })).filter(
    (event) =>
      event.user.username === user &&
      (event.stage === 'ResponseComplete' || event.stage === 'ResponseStarted'),
  );
  const byVerb: Record<string, number> = {};
  for (const event of events) {
    if (event.stage === 'ResponseStarted' && event.verb !== 'watch') continue;
    if (event.stage === 'ResponseComplete' && event.verb === 'watch') continue;
    const key = `${event.verb} ${event.objectRef?.resource ?? '?'}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
    byVerb[key] = (byVerb[key] ?? 0) + 1 / apps.length;
  }
  const perRelease = Object.values(byVerb).reduce((a, b) => a + b, 0);
  return {
    toFirstWeight: summarize(toFirstWeight),
    toDone: summarize(toDone),
    apiRequestsPerRelease: round(perRelease, 1),
    requestsByVerb: Object.fromEntries(Object.entries(byVerb).map(([k, v]) => [k, round(v, 2)])),
  };
}

/** The controller's CPU (per minute) and RSS over `seconds` left alone. */
async function restReading(
  pid: number,
  seconds: number,
): Promise<{ cpuSecondsPerMinute: number; rssMiB: number }> {
  const before = readProcess(pid);
  await sleep(seconds * 1000);
  const after = readProcess(pid);
  return {
    rssMiB: after ? round(after.rssBytes / 2 ** 20) : NaN,
    cpuSecondsPerMinute:
      before && after ? round(((after.cpuSeconds - before.cpuSeconds) * 60) / seconds, 3) : NaN,
  };
}

/** When `r` got its first weight, or `'failed'` if the tool gave the release up first (checked every second). */
async function firstWeightOrFailure(scene: ToolScene, r: RoutedService): Promise<number | 'failed'> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const failed = new Promise<'failed'>((resolve) => {
    timer = setInterval(() => {
      if (scene.driver.stateOf(scene.releases.store.get(r.namespace, r.name)) === 'failed') resolve('failed');
    }, 1000);
  });
  try {
    // A first weight that never comes rejects after 15 minutes: the wave fails with it.
    return await Promise.race([
      scene.routes.when(`${r.name}: first weight`, () => shareOf(scene.routes, r) > 0, 900_000),
      failed,
    ]);
  } finally {
    clearInterval(timer);
  }
}

/**
 * Waves of held releases on apps of one replica, then the controller left alone with all
 * of them paused. Each wave's apps are made just before it, so a tool that cannot ready a
 * large wave in time (Flagger initialises its canaries one after another) still reports
 * the waves before it; the failure is kept in `error`.
 */
async function rampReleases(
  scene: ToolScene,
  counts: PeerCounts,
  pid: number,
  progress: (line: string) => void,
): Promise<RampFigures> {
  const { driver, env, ns } = scene;
  const plan: AppPlan = { steps: 'hold', replicas: 1 };
  const figures: RampFigures = { waves: [] };
  const sims: Simulator[] = [];
  const released: RoutedService[] = [];
  try {
    for (const [index, size] of counts.ramp.entries()) {
      const wave = await setUpApps(scene, `ramp${index}`, size, plan);
      sims.push(
        await startSimulator({
          kubeconfigPath: env.state.kubeconfigPath,
          namespaces: [ns],
          seed: 42 + index,
          scrapeTarget: { stateDir: env.state.stateDir, name: `codedance-sim-ramp${index}-${driver.tool}` },
          routedServices: wave,
        }),
      );
      // Each release ends at its first weight or with the tool giving it up (Argo aborts a
      // canary whose ReplicaSet outlives progressDeadlineSeconds): counted, not waited for.
      const outcomes = Promise.all(wave.map((r) => firstWeightOrFailure(scene, r)));
      const started = now();
      await inBatches(wave, 20, (r) => driver.release(env, ns, r.name, { crash: false, plan }));
      released.push(...wave);
      const ended = await outcomes;
      const reached = ended.filter((at): at is number => at !== 'failed');
      const failed = ended.length - reached.length;
      const wallMs = reached.length > 0 ? Math.max(...reached) - started : NaN;
      progress(
        `${driver.tool}: ${reached.length} of ${size} releases to their first weight in ${ms(wallMs)}${failed ? `; ${failed} failed by the tool first` : ''}`,
      );
      // Settled (the last writes and events of the wave done), then left alone.
      await sleep(10_000);
      const held = await restReading(pid, counts.restSeconds);
      figures.waves.push({
        releases: size,
        wallMs: round(wallMs),
        failed,
        inFlight: released.length,
        ...held,
      });
      progress(
        `${driver.tool}: ${released.length} held releases: ${held.cpuSecondsPerMinute} CPU-s per minute, ${held.rssMiB} MiB RSS`,
      );
    }
  } catch (err) {
    figures.error = err instanceof Error ? err.message : String(err);
    progress(`${driver.tool}: the ramp stopped after ${figures.waves.length} waves: ${figures.error}`);
  }
  try {
    if (released.length > 0) {
      progress(`${driver.tool}: pausing the ${released.length} releases`);
      await inBatches(released, 20, (r) => driver.pause(env, ns, r.name));
      await sleep(15_000);
      const paused = await restReading(pid, counts.restSeconds);
      progress(
        `${driver.tool}: ${released.length} paused releases: ${paused.cpuSecondsPerMinute} CPU-s per minute`,
      );
      figures.paused = { releases: released.length, ...paused };
    }
  } finally {
    await Promise.all(sims.map((sim) => sim.stop()));
  }
  return figures;
}

/** Runs every scenario for one tool, on namespaces of its own, and stops its controller. */
export async function benchTool(
  env: BenchEnv,
  tool: ToolName,
  counts: PeerCounts,
  progress: (line: string) => void,
): Promise<ToolResult> {
  const driver = drivers[tool];
  const result: ToolResult = { tool, version: driver.version, settings: driver.settings };
  const ns = await createNamespace(env.admin, `peers-${tool}`);
  progress(`${tool}: starting its controller`);
  let running: RunningTool;
  try {
    running = await driver.start(env, `peer-${tool}`);
  } catch (err) {
    result.error = `its controller did not start: ${err instanceof Error ? err.message : String(err)}`;
    progress(`${tool}: ${result.error}`);
    return result;
  }
  const routes = await observe<VirtualServiceLike>(env.admin, kinds.VirtualService, ns);
  const pods = await observe<Pod>(env.admin, kinds.Pod, ns);
  const releases = await observe<KubeObject>(env.admin, driver.releaseKind, ns);
  const scene: ToolScene = { driver, env, routes, pods, releases, ns };
  let sim: Simulator | undefined;
  try {
    const rest0 = readProcess(running.pid);
    await sleep(counts.restSeconds * 1000);
    const rest1 = readProcess(running.pid);
    if (rest0 && rest1)
      result.rest = {
        rssMiB: round(rest1.rssBytes / 2 ** 20),
        cpuSecondsPerMinute: round(((rest1.cpuSeconds - rest0.cpuSeconds) * 60) / counts.restSeconds, 3),
      };
    progress(`${tool}: at rest ${JSON.stringify(result.rest)}; setting up apps`);
    const crashApps = await setUpApps(scene, 'crash', counts.crash, HOLD);
    const metricApps = await setUpApps(scene, 'metrics', counts.metrics, HOLD);
    const healthyApps = await setUpApps(scene, 'healthy', counts.healthy, THREE);
    const scenarioApps = [...crashApps, ...metricApps, ...healthyApps];
    if (scenarioApps.length > 0)
      sim = await startSimulator({
        kubeconfigPath: env.state.kubeconfigPath,
        namespaces: [ns],
        seed: 42,
        scrapeTarget: { stateDir: env.state.stateDir, name: `codedance-sim-${tool}` },
        routedServices: scenarioApps,
      });
    if (crashApps.length > 0) {
      progress(`${tool}: crash rollback, ${counts.crash} releases`);
      result.crash = await crashRollback(scene, crashApps);
      progress(`${tool}: crash → stable ${ms(result.crash.toStable.median)}`);
    }
    if (metricApps.length > 0 && sim) {
      progress(`${tool}: metric rollback, ${counts.metrics} releases`);
      result.metrics = await metricsRollback(scene, metricApps, sim);
      progress(`${tool}: metrics → stable ${ms(result.metrics.toStable.median)}`);
    }
    if (healthyApps.length > 0) {
      progress(`${tool}: healthy 3-step releases, ${counts.healthy}`);
      result.healthy = await healthyReleases(scene, healthyApps, running.user);
      progress(
        `${tool}: first weight ${ms(result.healthy.toFirstWeight.median)}, done ${ms(result.healthy.toDone.median)}`,
      );
    }
    if (counts.ramp.length > 0) {
      progress(`${tool}: ramp, ${counts.ramp.join(' then ')} releases to their first weight`);
      result.ramp = await rampReleases(scene, counts, running.pid, progress);
    }
    const end = readProcess(running.pid);
    if (end)
      result.afterScenarios = {
        rssMiB: round(end.rssBytes / 2 ** 20),
        peakRssMiB: round(end.peakRssBytes / 2 ** 20),
        cpuSeconds: round(end.cpuSeconds, 2),
      };
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    progress(`${tool}: failed: ${result.error}`);
  } finally {
    await sim?.stop();
    await routes.stop();
    await pods.stop();
    await releases.stop();
    await running.stop();
    await env.admin
      .delete(kinds.Namespace, undefined, ns, { propagationPolicy: 'Background' })
      .catch(() => false);
  }
  return result;
}

/** The longest of the tools' wave lists: a ramp that stopped early has fewer, and every tool runs the same counts. */
export function longestWaves<W>(lists: readonly (readonly W[])[]): readonly W[] {
  return lists.reduce<readonly W[]>(
    (longest, waves) => (waves.length > longest.length ? waves : longest),
    [],
  );
}

/** One row per figure, one column per tool, then each peer's ratio to Codedance. */
export function peersTable(tools: readonly ToolResult[]): string {
  const base = tools.find((t) => t.tool === 'codedance');
  const peers = tools.filter((t) => t.tool !== 'codedance');
  const figures: {
    label: string;
    value: (t: ToolResult) => number | undefined;
    format: (v: number) => string;
  }[] = [
    {
      label: 'crash-loop seen → 100 % on stable (median)',
      value: (t) => t.crash?.toStable.median,
      format: ms,
    },
    { label: 'crash-loop seen → new pods gone (median)', value: (t) => t.crash?.toGone.median, format: ms },
    {
      label: 'bad sample in Prometheus → 100 % on stable (median)',
      value: (t) => t.metrics?.toStable.median,
      format: ms,
    },
    {
      label: 'release written → first weight (median)',
      value: (t) => t.healthy?.toFirstWeight.median,
      format: ms,
    },
    {
      label: 'release written → promoted, 3 steps (median)',
      value: (t) => t.healthy?.toDone.median,
      format: ms,
    },
    {
      label: 'API requests per healthy release',
      value: (t) => t.healthy?.apiRequestsPerRelease,
      format: (v) => v.toFixed(1),
    },
    { label: 'controller RSS at rest', value: (t) => t.rest?.rssMiB, format: (v) => `${v.toFixed(1)} MiB` },
    {
      label: 'controller CPU at rest (CPU-s per minute)',
      value: (t) => t.rest?.cpuSecondsPerMinute,
      format: (v) => v.toFixed(3),
    },
    // Waves as the tool that got furthest ran them.
    ...longestWaves(tools.map((t) => t.ramp?.waves ?? [])).flatMap((w, wave) => [
      {
        label: `ramp: ${wave === 0 ? `${w.releases} releases` : `then ${w.releases} more`} written at once → all at their first weight`,
        value: (t: ToolResult) => t.ramp?.waves[wave]?.wallMs,
        format: ms,
      },
      ...(tools.some((t) => (t.ramp?.waves[wave]?.failed ?? 0) > 0)
        ? [
            {
              label: `  of which failed by the tool before their first weight (not in the time above)`,
              value: (t: ToolResult) => t.ramp?.waves[wave]?.failed,
              format: (v: number) => String(v),
            },
          ]
        : []),
      {
        label: `controller CPU with ${w.inFlight} releases in flight, each analysed (CPU-s per minute)`,
        value: (t: ToolResult) => t.ramp?.waves[wave]?.cpuSecondsPerMinute,
        format: (v: number) => v.toFixed(3),
      },
      {
        label: `controller RSS with ${w.inFlight} releases in flight`,
        value: (t: ToolResult) => t.ramp?.waves[wave]?.rssMiB,
        format: (v: number) => `${v.toFixed(1)} MiB`,
      },
    ]),
    {
      label: "ramp releases paused the tool's own way",
      value: (t) => t.ramp?.paused?.releases,
      format: (v) => String(v),
    },
    {
      label: 'controller CPU, the ramp releases paused (CPU-s per minute)',
      value: (t) => t.ramp?.paused?.cpuSecondsPerMinute,
      format: (v) => v.toFixed(3),
    },
    {
      label: 'controller RSS after the scenarios (peak)',
      value: (t) => t.afterScenarios?.peakRssMiB,
      format: (v) => `${v.toFixed(1)} MiB`,
    },
    {
      label: 'controller CPU over the whole run',
      value: (t) => t.afterScenarios?.cpuSeconds,
      format: (v) => `${v.toFixed(1)} s`,
    },
  ];
  const header = [
    'figure',
    ...tools.map((t) => `${t.tool} ${t.version}`),
    ...peers.map((p) => `${p.tool} ÷ codedance`),
  ];
  const rows = figures.map((f) => [
    f.label,
    ...tools.map((t) => {
      const v = f.value(t);
      return v === undefined || !Number.isFinite(v) ? '-' : f.format(v);
    }),
    ...peers.map((p) => {
      const v = f.value(p);
      const b = base ? f.value(base) : undefined;
      return v !== undefined && b !== undefined && b > 0 && Number.isFinite(v)
        ? `×${(v / b).toFixed(1)}`
        : '-';
    }),
  ]);
  return table(header, rows);
}
