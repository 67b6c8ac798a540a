/**
 * `npm run bench`: Codedance's numbers, measured in one run on a private cluster.
 *
 *   npm run bench                       full run (≈10-15 min on 2 cores)
 *   npm run bench -- --quick            smaller counts (≈3-5 min)
 *   npm run bench -- --only rollback,scale
 *   npm run bench -- --keep             keep the cluster's state folder (logs) afterwards
 *
 * Benchmarks (see bench/README.md for what each figure means): `roundtrip` (always run:
 * it is the unit of the ratios), `first-weight`, `rollback` (= `rollback-metrics` and
 * `rollback-crash`), `scale`. Progress goes to stderr, the tables to stdout, and the
 * summary to bench/results/latest.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNamespace, repo, startEnv, type BenchEnv } from './env.ts';
import { benchFirstWeight, type FirstWeightResult } from './first-weight.ts';
import { IDLE_MS, benchScale, type ScaleResult } from './scale.ts';
import { PROMETHEUS_POLL_MS, benchCrashRollback, benchMetricsRollback, type MetricsRollbackResult, type RollbackResult } from './rollback.ts';
import { mib, ms, round, summarize, table, type Summary } from './stats.ts';
import { benchWriteRoundTrip, startWritePulse, type WriteRoundTripResult } from './write-roundtrip.ts';

const BENCHMARKS = ['roundtrip', 'first-weight', 'rollback-metrics', 'rollback-crash', 'scale'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

/** How many of each, full and quick. */
const COUNTS = {
  full: { roundtrip: 50, firstWeight: 10, rollbackMetrics: 5, rollbackCrash: 5, scale: [100, 300] },
  quick: { roundtrip: 20, firstWeight: 5, rollbackMetrics: 3, rollbackCrash: 3, scale: [20, 50] },
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
  rollbackMetrics?: MetricsRollbackResult;
  rollbackCrash?: RollbackResult;
  scale?: ScaleResult;
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
  return { n: s.n, median: round(s.median), p10: round(s.p10), p90: round(s.p90), min: round(s.min), max: round(s.max) };
}

function summaryRows(results: Results): string {
  const rows = results.summary.map((r) => [r.figure, ms(r.medianMs), ms(r.p90Ms), String(r.n), Number.isFinite(r.ratioToWrite) ? `×${r.ratioToWrite}` : '']);
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
  for (const p of scale.phases) for (const st of p.stages) if (!stages.includes(st.stage)) stages.push(st.stage);
  return table(
    ['where a release spends its time (status message)', ...scale.phases.map((p) => `median / p90 @${p.releases}`)],
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
    ['phase', 'reconciles per release', 'mean reconcile', 'reconcile errors', 'controller CPU', ...components.map((c) => `${c} CPU`)],
    scale.phases.map((p) => [
      String(p.releases),
      p.reconcilesPerRelease.toFixed(1),
      ms(p.meanReconcileMs),
      String(p.reconcileErrors),
      `${p.cpuSeconds.toFixed(1)} s`,
      ...components.map((c) => `${(p.componentCpuSeconds[c as keyof typeof p.componentCpuSeconds] ?? NaN).toFixed(1)} s`),
    ]),
  );
}

/** The latency benchmarks, one release at a time; `add` records a headline figure. */
async function latencies(env: BenchEnv, selection: Set<Benchmark>, counts: Counts, results: Results, add: (figure: string, s: Summary) => void): Promise<void> {
  if (selection.has('first-weight')) {
    progress(`first-weight: ${counts.firstWeight} releases, one at a time`);
    const fw = await benchFirstWeight(env, await createNamespace(env.admin, 'bench-first-weight'), counts.firstWeight);
    results.firstWeight = {
      toWeight: rounded(fw.toWeight),
      toStatus: rounded(fw.toStatus),
      requestsToFirstWeight: Object.fromEntries(Object.entries(fw.requestsToFirstWeight).map(([k, v]) => [k, round(v, 1)])),
      reconcilesToFirstWeight: round(fw.reconcilesToFirstWeight, 1),
    };
    add('create → first weight written', fw.toWeight);
    add('create → status.currentWeight', fw.toStatus);
  }
  if (selection.has('rollback-metrics')) {
    progress(`rollback-metrics: ${counts.rollbackMetrics} releases, canary turned to 50% errors mid-step`);
    const rb = await benchMetricsRollback(env, await createNamespace(env.admin, 'bench-rollback-metrics'), counts.rollbackMetrics);
    results.rollbackMetrics = { ...rb, toStable: rounded(rb.toStable), toGone: rounded(rb.toGone) };
    results.bounds.analysisInterval = `${rb.analysisIntervalMs}ms (rollback on metrics waits for the next analysis: up to one interval)`;
    add(`bad sample in Prometheus → all traffic on stable (analysis every ${rb.analysisIntervalMs / 1000}s)`, rb.toStable);
    add('bad sample in Prometheus → canary gone', rb.toGone);
  }
  if (selection.has('rollback-crash')) {
    progress(`rollback-crash: ${counts.rollbackCrash} releases whose canary crash-loops`);
    const rb = await benchCrashRollback(env, await createNamespace(env.admin, 'bench-rollback-crash'), counts.rollbackCrash);
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
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: round(totalmem() / 2 ** 30), node: process.version, commit: commit() },
    bounds: {
      scrapeInterval: SCRAPE_INTERVAL,
      prometheusPoll: `${PROMETHEUS_POLL_MS}ms (the bad sample's visibility is known to within one poll)`,
      watch: 'every timestamp is a watch event arriving at the benchmark; see roundtrip.watchDelivery',
    },
    summary: [],
  };
  const add = (figure: string, s: Summary): void => {
    results.summary.push({ figure, medianMs: round(s.median), p90Ms: round(s.p90), n: s.n, ratioToWrite: NaN });
  };

  progress(`roundtrip: ${counts.roundtrip} server-side-apply PATCHes of a ConfigMap`);
  const roundtripNs = await createNamespace(env.admin, 'bench-roundtrip');
  const rt = await benchWriteRoundTrip(env, roundtripNs, counts.roundtrip);
  results.roundtrip = { writes: rounded(rt.writes), samples: rt.samples.map((v) => round(v, 2)), watchDelivery: rounded(rt.watchDelivery) };
  const pulse = startWritePulse(env, roundtripNs, 500);
  try {
    await latencies(env, selection, counts, results, add);
  } finally {
    const during = await pulse.stop();
    // The unit: every write sampled in this run, at the start and alongside the latencies.
    const unit = summarize([...rt.samples, ...during]);
    results.roundtripDuringRun = rounded(summarize(during));
    results.summary.unshift(
      { figure: 'API write round trip (SSA PATCH), the unit', medianMs: round(unit.median), p90Ms: round(unit.p90), n: unit.n, ratioToWrite: 1 },
      { figure: '  of which at the start', medianMs: round(rt.writes.median), p90Ms: round(rt.writes.p90), n: rt.writes.n, ratioToWrite: NaN },
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
      if (!row.figure.startsWith('  ') && !row.figure.startsWith('watch') && row.ratioToWrite !== 1) row.ratioToWrite = round(row.medianMs / unit.median, 1);
  }
  if (selection.has('scale')) {
    progress(`scale: ${counts.scale.join(' then ')} concurrent releases in one controller`);
    const scale = await benchScale(env, await createNamespace(env.admin, 'bench-scale'), counts.scale, progress);
    results.scale = {
      ...scale,
      phases: scale.phases.map((p) => ({
        ...p,
        wallMs: round(p.wallMs),
        toCompleted: rounded(p.toCompleted),
        meanReconcileMs: round(p.meanReconcileMs, 2),
        cpuSeconds: round(p.cpuSeconds, 2),
        stages: p.stages.map((st) => ({ ...st, median: round(st.median), p90: round(st.p90) })),
        componentCpuSeconds: Object.fromEntries(Object.entries(p.componentCpuSeconds).map(([k, v]) => [k, round(v, 2)])),
      })),
    };
  }
  return results;
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
    lines.push(`  create → status weight, per release: ${fw.reconcilesToFirstWeight} reconciles; requests ${requests}`);
  }
  if (results.rollbackMetrics)
    lines.push(
      `  metrics rollback: failureThreshold 1, window ${results.rollbackMetrics.windowMs / 1000}s, error rate > ${results.rollbackMetrics.errorRateThreshold}%; outcomes ${results.rollbackMetrics.outcomes.join(', ')}`,
    );
  if (results.rollbackCrash) lines.push(`  crash rollback outcomes: ${results.rollbackCrash.outcomes.join(', ')}`);
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
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const mode = values.quick ? 'quick' : 'full';
  const selection = parseSelection(values.only);
  progress(`starting a private cluster (${mode} run: ${[...selection].join(', ')})`);
  const env = await startEnv({ nodes: 3, scrapeInterval: SCRAPE_INTERVAL, onProgress: progress });
  progress(`cluster up in ${env.state.stateDir}`);
  let failed = false;
  try {
    const results = await runAll(env, selection, mode);
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
