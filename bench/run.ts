/**
 * `npm run bench`: Codedance's numbers, measured in one run on a private cluster.
 *
 *   npm run bench                       full run (≈10-15 min on 2 cores)
 *   npm run bench -- --quick            smaller counts (≈3-5 min)
 *   npm run bench -- --only rollback,scale
 *   npm run bench -- --keep             keep the cluster's state folder (logs) afterwards
 *   npm run bench -- --peers            Codedance beside Flagger and Argo Rollouts (./peers.ts;
 *                                       builds the peers on first use); `--tools flagger,codedance` narrows it,
 *                                       `--only ramp` runs only its ramp
 *
 * Benchmarks (see bench/README.md for what each figure means): `roundtrip` (always run:
 * it is the unit of the ratios), `first-weight`, `rollback` (= `rollback-metrics` and
 * `rollback-crash`), `ramp`, `scale`, `cli` (`codedance get` and `status` start-up), `console` (bundle size, time to interactive with 300 releases,
 * change to screen, in Chromium). Progress goes to stderr, the tables to stdout, and the
 * summary to bench/results/latest.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCliStart, type CliStartResult } from './cli-start.ts';
import { benchConsole, type ConsoleResult } from './console.ts';
import { createNamespace, repo, startEnv, type BenchEnv } from './env.ts';
import {
  benchFirstWeight,
  benchFirstWeightIstio,
  type FirstWeightResult,
  type IstioFirstWeightResult,
} from './first-weight.ts';
import { benchMemory, CONFIGMAP_BYTES, type MemoryReading, type MemoryResult } from './memory.ts';
import { MEMORY_IDLE_MS } from './memory.ts';
import { IDLE_MS, benchScale, type ScaleResult } from './scale.ts';
import { benchInflight, INFLIGHT_GOALS, type InflightResult } from './inflight.ts';
import { benchRamp, describeRequests, type RampResult } from './ramp.ts';
import type { WaitCounters } from './process-stats.ts';
import {
  PROMETHEUS_POLL_MS,
  benchCrashRollback,
  benchMetricsRollback,
  type MetricsRollbackResult,
  type RollbackResult,
} from './rollback.ts';
import { mib, ms, round, summarize, table, type Summary } from './stats.ts';
import { apiVersionOf } from '../src/runtime/kinds.ts';
import { benchWriteRoundTrip, startWritePulse, type WriteRoundTripResult } from './write-roundtrip.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';
import { runPeers } from './peers-run.ts';
import { longestWaves, type PeersResult } from './peers.ts';

/** From the last `--peers` run: each tool's ramp on the same cluster (Istio for all three). */
interface PeersRampFigures {
  date: string;
  tools: {
    tool: string;
    version: string;
    waves: { releases: number; wallMs: number }[];
    pausedCpuSecondsPerMinute?: number;
  }[];
}

/** The ramp figures of bench/results/peers-latest.json, if a peers run left one. */
async function lastPeersRamp(): Promise<PeersRampFigures | undefined> {
  const text = await readFile(join(repo, 'bench', 'results', 'peers-latest.json'), 'utf8').catch(
    () => undefined,
  );
  if (!text) return undefined;
  const peers = JSON.parse(text) as PeersResult;
  const tools = peers.tools.flatMap((t) =>
    t.ramp
      ? [
          {
            tool: t.tool,
            version: t.version,
            waves: t.ramp.waves,
            pausedCpuSecondsPerMinute: t.ramp.paused?.cpuSecondsPerMinute,
          },
        ]
      : [],
  );
  return tools.length ? { date: peers.date, tools } : undefined;
}

const BENCHMARKS = [
  'roundtrip',
  'first-weight',
  'rollback-metrics',
  'rollback-crash',
  'ramp',
  'scale',
  'console',
  'memory',
  'cli',
  'inflight',
] as const;
type Benchmark = (typeof BENCHMARKS)[number];

/** How many of each, full and quick. */
const COUNTS = {
  full: {
    roundtrip: 50,
    firstWeight: 10,
    rollbackMetrics: 5,
    rollbackCrash: 5,
    ramp: [50, 150],
    rampIdleMs: 60_000,
    scale: [100, 300],
    console: 300,
    cli: 10,
    memory: { configMaps: 5000, deployments: 2000, namespaces: 100, releases: 200 },
    inflight: { releases: 5000, createPerSecond: 20 },
  },
  quick: {
    roundtrip: 20,
    firstWeight: 5,
    rollbackMetrics: 3,
    rollbackCrash: 3,
    ramp: [50, 150],
    rampIdleMs: 30_000,
    scale: [20, 50],
    console: 300,
    cli: 5,
    memory: { configMaps: 500, deployments: 200, namespaces: 20, releases: 50 },
    inflight: { releases: 500, createPerSecond: 20 },
  },
} as const;
type Counts = (typeof COUNTS)[keyof typeof COUNTS];

const SCRAPE_INTERVAL = '1s';
const started = Date.now();

function progress(line: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
}

function parseSelection(only: string | undefined): Set<Benchmark> {
  if (!only) return new Set(BENCHMARKS);
  const chosen = new Set<Benchmark>(['roundtrip']);
  for (const raw of only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === 'rollback') {
      chosen.add('rollback-metrics');
      chosen.add('rollback-crash');
    } else if ((BENCHMARKS as readonly string[]).includes(raw)) chosen.add(raw as Benchmark);
    else throw new Error(`unknown benchmark '${raw}': choose from ${[...BENCHMARKS, 'rollback'].join(', ')}`);
  }
  return chosen;
}

/** Results of one run, as written to bench/results/latest.json. */
interface Results {
  date: string;
  mode: 'full' | 'quick';
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; commit: string };
  bounds: Record<string, string>;
  roundtrip?: WriteRoundTripResult;
  /** The same write sampled every 500 ms while the latency benchmarks ran (pooled with the start's samples into the unit). */
  roundtripDuringRun?: Summary;
  firstWeight?: FirstWeightResult;
  firstWeightIstio?: IstioFirstWeightResult;
  rollbackMetrics?: MetricsRollbackResult;
  rollbackCrash?: RollbackResult;
  scale?: ScaleResult;
  console?: ConsoleResult;
  memory?: MemoryResult;
  cli?: CliStartResult;
  ramp?: RampResult;
  inflight?: InflightResult;
  /** The last `--peers` run's ramp and rest figures, when one was run here (bench/results/peers-latest.json). */
  peersRamp?: PeersRampFigures;
  /** Median of every write round trip sampled in the run: the unit of the ratios. */
  unitMs?: number;
  /** The headline figures: medians in ms and their ratio to the write round trip. */
  summary: { figure: string; medianMs: number; p90Ms: number; n: number; ratioToWrite: number }[];
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** JSON-friendly: summaries rounded to 0.1 ms. */
function rounded(s: Summary): Summary {
  return {
    n: s.n,
    median: round(s.median),
    p10: round(s.p10),
    p90: round(s.p90),
    min: round(s.min),
    max: round(s.max),
  };
}

function summaryRows(results: Results): string {
  const rows = results.summary.map((r) => [
    r.figure,
    ms(r.medianMs),
    ms(r.p90Ms),
    String(r.n),
    Number.isFinite(r.ratioToWrite) ? `×${r.ratioToWrite}` : '',
  ]);
  return table(['figure', 'median', 'p90', 'n', 'ratio to write'], rows);
}

function scaleRows(scale: ScaleResult): string {
  let previousIdle = scale.rssBaselineBytes;
  const rows = scale.phases.map((p) => {
    const growth = (p.rssIdleBytes - previousIdle) / p.releases;
    previousIdle = p.rssIdleBytes;
    return [
      `${p.releases} (${p.releasesInNamespace} in ns)`,
      `${p.completed}/${p.failed}`,
      ms(p.wallMs),
      ms(p.toCompleted.median),
      `${mib(p.rssStartBytes)} / ${mib(p.rssPeakBytes)} / ${mib(p.rssEndBytes)} / ${mib(p.rssIdleBytes)}`,
      `${(growth / 1024).toFixed(0)} KiB`,
      `${p.cpuSeconds.toFixed(1)} s (${((p.cpuSeconds * 1000) / p.releases).toFixed(0)} ms/rel)`,
      `${p.requestsPerRelease.toFixed(1)} (${p.readsPerRelease.toFixed(1)} r / ${p.writesPerRelease.toFixed(1)} w)`,
      String(Object.values(p.idleRequests).reduce((a, b) => a + b, 0)),
    ];
  });
  return table(
    [
      'releases',
      'done/failed',
      'wall',
      'median to Completed',
      'RSS start / peak / end / idle',
      'RSS per release',
      'CPU',
      'API requests per release',
      `requests in ${IDLE_MS / 1000}s idle`,
    ],
    rows,
  );
}

function requestBreakdown(scale: ScaleResult): string {
  const keys = [...new Set(scale.phases.flatMap((p) => Object.keys(p.apiRequests)))].sort();
  return table(
    ['request', ...scale.phases.map((p) => `per release @${p.releases}`)],
    keys.map((key) => [key, ...scale.phases.map((p) => ((p.apiRequests[key] ?? 0) / p.releases).toFixed(2))]),
  );
}

function stageRows(scale: ScaleResult): string {
  const stages: string[] = [];
  for (const p of scale.phases)
    for (const st of p.stages) if (!stages.includes(st.stage)) stages.push(st.stage);
  return table(
    [
      'where a release spends its time (status message)',
      ...scale.phases.map((p) => `median / p90 @${p.releases}`),
    ],
    stages.map((stage) => [
      stage.length > 90 ? `${stage.slice(0, 89)}…` : stage,
      ...scale.phases.map((p) => {
        const st = p.stages.find((x) => x.stage === stage);
        return st ? `${ms(st.median)} / ${ms(st.p90)} (${st.releases})` : '-';
      }),
    ]),
  );
}

function costRows(scale: ScaleResult): string {
  const components = [...new Set(scale.phases.flatMap((p) => Object.keys(p.componentCpuSeconds)))].sort();
  return table(
    [
      'phase',
      'reconciles per release',
      'mean reconcile',
      'reconcile errors',
      'controller CPU',
      ...components.map((c) => `${c} CPU`),
    ],
    scale.phases.map((p) => [
      String(p.releases),
      p.reconcilesPerRelease.toFixed(1),
      ms(p.meanReconcileMs),
      String(p.reconcileErrors),
      `${p.cpuSeconds.toFixed(1)} s`,
      ...components.map(
        (c) => `${(p.componentCpuSeconds[c as keyof typeof p.componentCpuSeconds] ?? NaN).toFixed(1)} s`,
      ),
    ]),
  );
}

/** The latency benchmarks, one release at a time; `add` records a headline figure. */
async function latencies(
  env: BenchEnv,
  selection: Set<Benchmark>,
  counts: Counts,
  results: Results,
  add: (figure: string, s: Summary) => void,
): Promise<void> {
  if (selection.has('first-weight')) {
    progress(`first-weight: ${counts.firstWeight} releases, one at a time`);
    const fw = await benchFirstWeight(
      env,
      await createNamespace(env.admin, 'bench-first-weight'),
      counts.firstWeight,
    );
    results.firstWeight = {
      toWeight: rounded(fw.toWeight),
      toStatus: rounded(fw.toStatus),
      requestsToFirstWeight: Object.fromEntries(
        Object.entries(fw.requestsToFirstWeight).map(([k, v]) => [k, round(v, 1)]),
      ),
      reconcilesToFirstWeight: round(fw.reconcilesToFirstWeight, 1),
    };
    add('create → first weight written', fw.toWeight);
    add('create → status.currentWeight', fw.toStatus);
    progress(`first-weight (Istio): ${counts.firstWeight} releases, one at a time`);
    const fwi = await benchFirstWeightIstio(
      env,
      await createNamespace(env.admin, 'bench-first-weight-istio'),
      counts.firstWeight,
    );
    results.firstWeightIstio = {
      readyToWeight: rounded(fwi.readyToWeight),
      toWeight: rounded(fwi.toWeight),
      requestsToWeight: Object.fromEntries(
        Object.entries(fwi.requestsToWeight).map(([k, v]) => [k, round(v, 1)]),
      ),
    };
    add('Istio: canary available → first weight written', fwi.readyToWeight);
    add('Istio: create → first weight written (canary pods included)', fwi.toWeight);
  }
  if (selection.has('rollback-metrics')) {
    progress(`rollback-metrics: ${counts.rollbackMetrics} releases, canary turned to 50% errors mid-step`);
    const rb = await benchMetricsRollback(
      env,
      await createNamespace(env.admin, 'bench-rollback-metrics'),
      counts.rollbackMetrics,
    );
    results.rollbackMetrics = { ...rb, toStable: rounded(rb.toStable), toGone: rounded(rb.toGone) };
    results.bounds.analysisInterval = `${rb.analysisIntervalMs}ms (rollback on metrics waits for the next analysis: up to one interval)`;
    add(
      `bad sample in Prometheus → all traffic on stable (analysis every ${rb.analysisIntervalMs / 1000}s)`,
      rb.toStable,
    );
    add('bad sample in Prometheus → canary gone', rb.toGone);
  }
  if (selection.has('rollback-crash')) {
    progress(`rollback-crash: ${counts.rollbackCrash} releases whose canary crash-loops`);
    const rb = await benchCrashRollback(
      env,
      await createNamespace(env.admin, 'bench-rollback-crash'),
      counts.rollbackCrash,
    );
    results.rollbackCrash = { ...rb, toStable: rounded(rb.toStable), toGone: rounded(rb.toGone) };
    add('CrashLoopBackOff seen → all traffic on stable', rb.toStable);
    add('CrashLoopBackOff seen → canary gone', rb.toGone);
  }
}

async function runAll(env: BenchEnv, selection: Set<Benchmark>, mode: 'full' | 'quick'): Promise<Results> {
  const counts = COUNTS[mode];
  const results: Results = {
    date: new Date().toISOString(),
    mode,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      memoryGiB: round(totalmem() / 2 ** 30),
      node: process.version,
      commit: commit(),
    },
    bounds: {
      scrapeInterval: SCRAPE_INTERVAL,
      prometheusPoll: `${PROMETHEUS_POLL_MS}ms (the bad sample's visibility is known to within one poll)`,
      watch: 'every timestamp is a watch event arriving at the benchmark; see roundtrip.watchDelivery',
    },
    summary: [],
  };
  const add = (figure: string, s: Summary): void => {
    results.summary.push({
      figure,
      medianMs: round(s.median),
      p90Ms: round(s.p90),
      n: s.n,
      ratioToWrite: NaN,
    });
  };

  progress(`roundtrip: ${counts.roundtrip} server-side-apply PATCHes of a ConfigMap`);
  const roundtripNs = await createNamespace(env.admin, 'bench-roundtrip');
  const rt = await benchWriteRoundTrip(env, roundtripNs, counts.roundtrip);
  results.roundtrip = {
    writes: rounded(rt.writes),
    samples: rt.samples.map((v) => round(v, 2)),
    watchDelivery: rounded(rt.watchDelivery),
  };
  const pulse = startWritePulse(env, roundtripNs, 500);
  try {
    await latencies(env, selection, counts, results, add);
  } finally {
    const during = await pulse.stop();
    // The unit: every write sampled in this run, at the start and alongside the latencies.
    const unit = summarize([...rt.samples, ...during]);
    results.roundtripDuringRun = rounded(summarize(during));
    results.summary.unshift(
      {
        figure: 'API write round trip (SSA PATCH), the unit',
        medianMs: round(unit.median),
        p90Ms: round(unit.p90),
        n: unit.n,
        ratioToWrite: 1,
      },
      {
        figure: '  of which at the start',
        medianMs: round(rt.writes.median),
        p90Ms: round(rt.writes.p90),
        n: rt.writes.n,
        ratioToWrite: NaN,
      },
      {
        figure: '  of which during the latency benchmarks',
        medianMs: round(results.roundtripDuringRun.median),
        p90Ms: round(results.roundtripDuringRun.p90),
        n: during.length,
        ratioToWrite: NaN,
      },
      {
        figure: 'watch delivery (PATCH answered → event seen)',
        medianMs: round(rt.watchDelivery.median),
        p90Ms: round(rt.watchDelivery.p90),
        n: rt.watchDelivery.n,
        ratioToWrite: NaN,
      },
    );
    results.unitMs = round(unit.median, 2);
    for (const row of results.summary)
      if (!row.figure.startsWith('  ') && !row.figure.startsWith('watch') && row.ratioToWrite !== 1)
        row.ratioToWrite = round(row.medianMs / unit.median, 1);
  }
  if (selection.has('cli')) {
    progress(`cli: codedance get and status, ${counts.cli} runs each after one that fills the compile cache`);
    const ns = await createNamespace(env.admin, 'bench-cli');
    await env.admin.create(CanaryDeploymentKind, {
      apiVersion: apiVersionOf(CanaryDeploymentKind),
      kind: CanaryDeploymentKind.kind,
      metadata: { name: 'shop', namespace: ns },
      spec: { targetDeployment: 'shop', canaryVersion: 'shop:v2' },
    });
    const cli = await benchCliStart(env, { namespace: ns, name: 'shop' }, counts.cli);
    results.cli = {
      commands: cli.commands.map((c) => ({ ...c, first: round(c.first), runs: rounded(c.runs) })),
    };
    for (const c of cli.commands)
      add(
        `cli: codedance ${c.command}, process start → exit (budget 300 ms; first run ${ms(c.first)})`,
        c.runs,
      );
  }
  if (selection.has('console')) {
    progress(`console: the bundle, and the page with ${counts.console} releases in Chromium`);
    const c = await benchConsole(
      env,
      await createNamespace(env.admin, 'bench-console'),
      counts.console,
      progress,
    );
    results.console = {
      ...c,
      rowsDrawn: rounded(c.rowsDrawn),
      interactive: rounded(c.interactive),
      changeToScreen: rounded(c.changeToScreen),
      reconnect: rounded(c.reconnect),
      dashboardRestart: rounded(c.dashboardRestart),
    };
    add(`console: navigation → first of ${c.releases} releases drawn`, c.rowsDrawn);
    add(`console: navigation → ${c.releases} releases listed and filterable (budget 1500 ms)`, c.interactive);
    add('console: status write answered → new weight on the page (budget 1000 ms)', c.changeToScreen);
    add('console: stream cut → page live again (dashboard restarted at once)', c.reconnect);
    add('console: stream cut → dashboard listening again (part of the above)', c.dashboardRestart);
    results.bounds.consoleBundle = `${(c.bundle.gzipBytes / 1024).toFixed(0)} KiB gzipped (budget 600 KB): ${c.bundle.files.map((f) => `${f.file} ${(f.gzipBytes / 1024).toFixed(0)} KiB`).join(', ')}`;
  }
  if (selection.has('ramp')) {
    progress(
      `ramp: ${counts.ramp.join(' then ')} more releases to their first weight, then all paused and the controller idle for ${counts.rampIdleMs / 1000}s`,
    );
    const ramp = await benchRamp(
      env,
      await createNamespace(env.admin, 'bench-ramp'),
      counts.ramp,
      counts.rampIdleMs,
    );
    results.ramp = {
      ...ramp,
      idleCpuSeconds: round(ramp.idleCpuSeconds, 3),
      idleCpuSecondsPerMinute: round(ramp.idleCpuSecondsPerMinute, 3),
      baselineCpuSecondsPerMinute: round(ramp.baselineCpuSecondsPerMinute, 3),
      waves: ramp.waves.map((w) => ({ ...w, wallMs: round(w.wallMs) })),
    };
  }
  if (selection.has('scale')) {
    progress(`scale: ${counts.scale.join(' then ')} concurrent releases in one controller`);
    const scale = await benchScale(
      env,
      await createNamespace(env.admin, 'bench-scale'),
      counts.scale,
      progress,
    );
    results.scale = {
      ...scale,
      phases: scale.phases.map((p) => ({
        ...p,
        wallMs: round(p.wallMs),
        toCompleted: rounded(p.toCompleted),
        meanReconcileMs: round(p.meanReconcileMs, 2),
        cpuSeconds: round(p.cpuSeconds, 2),
        stages: p.stages.map((st) => ({ ...st, median: round(st.median), p90: round(st.p90) })),
        componentCpuSeconds: Object.fromEntries(
          Object.entries(p.componentCpuSeconds).map(([k, v]) => [k, round(v, 2)]),
        ),
      })),
    };
  }
  if (selection.has('inflight')) {
    progress(
      `inflight: ${counts.inflight.releases} releases in flight at once in one controller (posted at ${counts.inflight.createPerSecond}/s)`,
    );
    results.inflight = await benchInflight(
      env,
      await createNamespace(env.admin, 'bench-inflight'),
      counts.inflight,
      progress,
    );
  }
  if (selection.has('memory')) {
    progress(
      `memory: at rest, ${counts.memory.configMaps} ConfigMaps + ${counts.memory.deployments} Deployments unrelated, ${counts.memory.releases} releases in flight`,
    );
    results.memory = await benchMemory(env, counts.memory, progress);
  }
  return results;
}

function inflightRows(r: InflightResult): string {
  const MiB = 2 ** 20;
  const ok = (good: boolean): string => (good ? 'met' : 'MISSED');
  const writes = Object.entries(r.window.writes)
    .map(([k, v]) => `${(v / Math.max(1, r.window.steps)).toFixed(2)} ${k}`)
    .join(', ');
  const cpu = Object.entries(r.windowCpuSeconds)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  const rows = [
    [
      'controller RSS, all in flight / peak',
      `${(r.rssAllInFlightBytes / MiB).toFixed(0)} / ${(r.rssPeakBytes / MiB).toFixed(0)} MiB (baseline with the apps cached ${(r.rssBaselineBytes / MiB).toFixed(0)} MiB)`,
      `< ${INFLIGHT_GOALS.rssMiB} MiB: ${ok(r.rssPeakBytes < INFLIGHT_GOALS.rssMiB * MiB)}`,
    ],
    [
      'step lag: pause deadline → next step in status (median / p90 / p99 / max)',
      `${ms(r.stepLag.median)} / ${ms(r.stepLag.p90)} / ${ms(r.stepLag.p99)} / ${ms(r.stepLag.max)} over ${r.stepsSeen} steps`,
      `p99 < ${INFLIGHT_GOALS.stepLagP99Ms} ms: ${ok(r.stepLag.p99 < INFLIGHT_GOALS.stepLagP99Ms)}`,
    ],
    [
      'API writes per step (while only steps happen)',
      `${r.window.writesPerStep.toFixed(2)} (${writes}) over ${r.window.steps} steps in ${r.window.seconds.toFixed(0)} s`,
      `≤ ${INFLIGHT_GOALS.writesPerStep}: ${ok(r.window.writesPerStep <= INFLIGHT_GOALS.writesPerStep)}`,
    ],
    [
      'releases completed / failed / stuck / double-stepped',
      `${r.completed} / ${r.failed} / ${r.stuck.length} / ${r.doubleStepped.length}`,
      `none stuck or double-stepped: ${ok(r.stuck.length === 0 && r.doubleStepped.length === 0 && r.failed === 0)}`,
    ],
  ];
  return [
    table(['figure', 'measured', 'goal'], rows),
    `${r.releases} releases (Replicas provider, apps of 1 replica), steps ${r.steps}; apps set up in ${r.appsSeconds.toFixed(0)} s; releases posted over ${r.createSeconds.toFixed(0)} s; first POST → last Completed ${r.wallSeconds.toFixed(0)} s; ${r.requestsPerRelease.toFixed(1)} API requests per release in all`,
    `CPU over the stepping window (${r.window.seconds.toFixed(0)} s): ${cpu}`,
    `promotions (${r.promotions.seconds.toFixed(0)} s, from just before the first to the last Completed): CPU ${Object.entries(
      r.promotions.cpuSeconds,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')}; controller requests per release ${Object.entries(r.promotions.requestsPerRelease)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${v.toFixed(1)} ${k}`)
      .join(', ')}`,
    `reconciles over the whole run: ${r.reconciles.count} (${(r.reconciles.count / r.releases).toFixed(1)} per release), mean ${ms((r.reconciles.seconds / Math.max(1, r.reconciles.count)) * 1000)} each`,
    `where reconciles waited (stepping window; whole run): for a worker ${waits(r.waits.window.queue)}; ${waits(r.waits.run.queue)} · for the client-side rate limit ${waits(r.waits.window.rateLimit)}; ${waits(r.waits.run.rateLimit)}`,
    `step lag by the step whose pause ended: ${r.stepLagByStep.map((l) => `step ${l.step + 1} → ${l.step === r.stepLagByStep.length - 1 ? 'promotion' : `step ${l.step + 2}`}: median ${ms(l.median)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)} (${l.n})`).join('; ')}`,
    ...(r.stuck.length
      ? [`stuck: ${r.stuck.slice(0, 10).join(', ')}${r.stuck.length > 10 ? ', …' : ''}`]
      : []),
    ...(r.doubleStepped.length ? [`double-stepped: ${r.doubleStepped.slice(0, 10).join(', ')}`] : []),
  ].join('\n');
}

/** A wait histogram's totals in words: how many waited, how long on average, how many over 1 s. */
function waits(w: WaitCounters): string {
  return w.count === 0
    ? 'none'
    : `${w.count} (mean ${ms((w.seconds / w.count) * 1000)}, ${w.overOneSecond} over 1 s)`;
}

/** The memory goals of issue 17, checked against a run. */
const MEMORY_GOALS = { atRestMiB: 100, unrelatedGrowthMiB: 20, perReleaseMiB: 0.1, readyAfterSyncMs: 1000 };

function memoryRows(m: MemoryResult): string {
  const MiB = 2 ** 20;
  const f = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
  const heap = (r: MemoryReading): string =>
    r.heap ? `${f(r.heap.heapUsedBytes)} / ${f(r.heap.heapTotalBytes)}` : '-';
  const cached = (r: MemoryReading): string =>
    r.heap ? String(Object.values(r.heap.cacheObjects).reduce((a, b) => a + b, 0)) : '-';
  const ok = (good: boolean): string => (good ? 'met' : 'MISSED');
  const growth = m.withUnrelated.rssBytes - m.atRest.rssBytes;
  const freshGrowth = m.freshOnFullCluster.rssBytes - m.atRest.rssBytes;
  const perRelease = (m.withReleases.rssBytes - m.beforeReleases.rssBytes) / m.releasesInFlight;
  const liveOf = (r: MemoryReading): number => r.afterGc?.heap?.heapUsedBytes ?? NaN;
  const livePerRelease = (liveOf(m.withReleases) - liveOf(m.beforeReleases)) / m.releasesInFlight;
  const live = (r: MemoryReading): string => (r.afterGc ? `${f(r.afterGc.rssBytes)} / ${f(liveOf(r))}` : '-');
  const readyAfterSync = m.startup.startedMs - m.startup.syncedMs;
  const rows = [
    [
      'at rest (no release, empty cluster)',
      f(m.atRest.rssBytes),
      heap(m.atRest),
      live(m.atRest),
      cached(m.atRest),
      `≤ ${MEMORY_GOALS.atRestMiB} MiB: ${ok(m.atRest.rssBytes <= MEMORY_GOALS.atRestMiB * MiB)}`,
    ],
    [
      `+ ${m.counts.configMaps} ConfigMaps (${CONFIGMAP_BYTES / 1024} KiB) + ${m.counts.deployments} Deployments, unrelated`,
      `${f(m.withUnrelated.rssBytes)} (+${f(growth)})`,
      heap(m.withUnrelated),
      live(m.withUnrelated),
      cached(m.withUnrelated),
      `growth < ${MEMORY_GOALS.unrelatedGrowthMiB} MiB: ${ok(growth < MEMORY_GOALS.unrelatedGrowthMiB * MiB)}`,
    ],
    [
      'a fresh controller on that full cluster',
      `${f(m.freshOnFullCluster.rssBytes)} (+${f(freshGrowth)}; peak ${f(m.freshOnFullCluster.peakRssBytes)})`,
      heap(m.freshOnFullCluster),
      live(m.freshOnFullCluster),
      cached(m.freshOnFullCluster),
      `growth < ${MEMORY_GOALS.unrelatedGrowthMiB} MiB: ${ok(freshGrowth < MEMORY_GOALS.unrelatedGrowthMiB * MiB)}`,
    ],
    [
      `its apps, before any release`,
      f(m.beforeReleases.rssBytes),
      heap(m.beforeReleases),
      live(m.beforeReleases),
      cached(m.beforeReleases),
      '',
    ],
    [
      `${m.releasesInFlight} releases in flight`,
      f(m.withReleases.rssBytes),
      heap(m.withReleases),
      live(m.withReleases),
      cached(m.withReleases),
      `RSS ${(perRelease / MiB).toFixed(3)} MiB per release (≤ ${MEMORY_GOALS.perReleaseMiB}): ${ok(perRelease <= MEMORY_GOALS.perReleaseMiB * MiB)}; live heap ${(livePerRelease / MiB).toFixed(3)} MiB: ${ok(livePerRelease <= MEMORY_GOALS.perReleaseMiB * MiB)}`,
    ],
  ];
  const lines = [
    table(
      [
        'controller (canary + webapp, whole cluster)',
        'RSS',
        'heap used / total',
        'after a full GC: RSS / heap used',
        'cached objects',
        'goal',
      ],
      rows,
    ),
  ];
  const s = m.startup;
  lines.push(
    `start-up: HTTP listening ${ms(s.listeningMs)}, caches synced ${ms(s.syncedMs)}, controllers started ${ms(s.startedMs)} after spawn (ready ${ms(readyAfterSync)} after the sync: ${ok(readyAfterSync < MEMORY_GOALS.readyAfterSyncMs)}); on the full cluster: synced ${ms(m.freshStartup.syncedMs)}, started ${ms(m.freshStartup.startedMs)}`,
  );
  lines.push(
    `a first start with a possibly cold compile cache (after a code change; a new pod): ${f(m.coldAtRestBytes)} RSS at rest; the rows above are warm starts`,
  );
  lines.push(
    `unrelated objects created in ${m.createSeconds.toFixed(0)} s; RSS read after ${MEMORY_IDLE_MS / 1000} s idle (median of 5 readings)`,
  );
  const caches = m.withReleases.heap?.cacheObjects ?? {};
  if (Object.keys(caches).length)
    lines.push(
      `caches with releases in flight (objects): ${Object.entries(caches)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  return lines.join('\n');
}

function report(results: Results): string {
  const lines: string[] = [];
  lines.push(`Codedance benchmarks (${results.mode}) — ${results.date}, commit ${results.machine.commit}`);
  lines.push(
    `machine: ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGiB} GiB, Node ${results.machine.node}; control plane, kwok, Prometheus and the benchmark share it`,
  );
  lines.push('');
  lines.push(summaryRows(results));
  lines.push('');
  lines.push('What bounds these:');
  for (const [key, value] of Object.entries(results.bounds)) lines.push(`  ${key}: ${value}`);
  if (results.firstWeight) {
    const fw = results.firstWeight;
    const requests = Object.entries(fw.requestsToFirstWeight)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    lines.push(
      `  create → status weight, per release: ${fw.reconcilesToFirstWeight} reconciles; requests ${requests}`,
    );
  }
  if (results.firstWeightIstio) {
    const requests = Object.entries(results.firstWeightIstio.requestsToWeight)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    lines.push(`  Istio create → first weight, per release: requests ${requests}`);
  }
  if (results.rollbackMetrics)
    lines.push(
      `  metrics rollback: failureThreshold 1, window ${results.rollbackMetrics.windowMs / 1000}s, error rate > ${results.rollbackMetrics.errorRateThreshold}%; outcomes ${results.rollbackMetrics.outcomes.join(', ')}`,
    );
  if (results.rollbackCrash)
    lines.push(`  crash rollback outcomes: ${results.rollbackCrash.outcomes.join(', ')}`);
  if (results.ramp) {
    const r = results.ramp;
    lines.push('');
    lines.push(
      "Ramp: releases posted at once (Replicas provider, apps of 1 replica), first POST → the last one's first weight written",
    );
    lines.push(
      table(
        ['releases', 'all at their first weight'],
        r.waves.map((w, i) => [i === 0 ? String(w.releases) : `${w.releases} more`, ms(w.wallMs)]),
      ),
    );
    lines.push(
      `Rest: ${r.paused} paused releases, controller over ${r.idleMs / 1000}s: CPU ${r.idleCpuSeconds.toFixed(3)} s (${r.idleCpuSecondsPerMinute.toFixed(3)} CPU-seconds per minute), API requests ${describeRequests(r.idleRequests)}, reconciles ${r.idleReconciles}; the same controller before any release: ${r.baselineCpuSecondsPerMinute.toFixed(3)} CPU-seconds per minute`,
    );
  }
  if (results.peersRamp) {
    const p = results.peersRamp;
    const header = longestWaves(p.tools.map((t) => t.waves));
    lines.push(
      `The same ramp beside the peers (their last \`--peers\` run, ${p.date}; Istio for all three, apps of 1 replica):`,
    );
    lines.push(
      table(
        [
          'tool',
          ...header.map((w, i) => (i === 0 ? `${w.releases} releases` : `${w.releases} more`)),
          'paused: CPU-s per minute',
        ],
        p.tools.map((t) => [
          `${t.tool} ${t.version}`,
          ...header.map((_, i) => {
            const w = t.waves[i];
            return w ? ms(w.wallMs) : '-';
          }),
          t.pausedCpuSecondsPerMinute === undefined ? '-' : t.pausedCpuSecondsPerMinute.toFixed(3),
        ]),
      ),
    );
  }
  if (results.inflight) {
    lines.push('');
    lines.push('In flight at once (issue 13.3):');
    lines.push(inflightRows(results.inflight));
  }
  if (results.scale) {
    const s = results.scale;
    lines.push('');
    lines.push(
      `Scale: one controller, apps of ${s.replicasPerApp} replicas, steps ${s.steps}, Replicas provider, no metrics; RSS baseline ${mib(s.rssBaselineBytes)} (every app cached, no release)`,
    );
    lines.push(scaleRows(s));
    lines.push('');
    lines.push(requestBreakdown(s));
    lines.push('');
    lines.push(costRows(s));
    lines.push('');
    lines.push(stageRows(s));
    lines.push(
      '  wall time is the whole cluster: kube-controller-manager, the scheduler and kwok make and remove the pods of every step and promotion (the "waiting for ... available / roll out" stages)',
    );
  }
  if (results.memory) {
    lines.push('');
    lines.push('Memory (issue 17):');
    lines.push(memoryRows(results.memory));
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      tools: { type: 'string' },
    },
  });
  const mode = values.quick ? 'quick' : 'full';
  if (values.peers)
    return runPeers({
      quick: values.quick,
      keep: values.keep,
      tools: values.tools,
      only: values.only,
      progress,
    });
  const selection = parseSelection(values.only);
  progress(`starting a private cluster (${mode} run: ${[...selection].join(', ')})`);
  const env = await startEnv({ nodes: 3, scrapeInterval: SCRAPE_INTERVAL, onProgress: progress });
  progress(`cluster up in ${env.state.stateDir}`);
  let failed = false;
  try {
    const results = await runAll(env, selection, mode);
    if (results.ramp) results.peersRamp = await lastPeersRamp();
    const text = report(results);
    console.log(`\n${text}`);
    const dir = join(repo, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const json = `${JSON.stringify(results, null, 2)}\n`;
    // latest.json is the last run of either mode; latest-<mode>.json keeps each mode's last.
    await writeFile(join(dir, 'latest.json'), json);
    await writeFile(join(dir, `latest-${mode}.json`), json);
    await writeFile(join(dir, `latest-${mode}.txt`), `${text}\n`);
    progress(`written to ${join(dir, 'latest.json')}`);
  } catch (err) {
    failed = true;
    progress(`failed: ${(err as Error).stack ?? String(err)}`);
    progress(`logs kept in ${env.logDir}`);
  } finally {
    await env.stop({ keep: values.keep || failed });
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
