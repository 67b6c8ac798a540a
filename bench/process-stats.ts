/**
 * What a controller process costs: its API requests (from its own `/metrics`, the
 * `codedance_api_requests_total` counter by verb and resource) and its CPU time and
 * memory (from `/proc/<pid>`, read by us, so a busy event loop cannot delay them).
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times; 100 on every Linux we run on. */
const CLOCK_TICKS = 100;

/** One reading of a process. */
export interface ProcessReading {
  /** user + system CPU seconds so far. */
  cpuSeconds: number;
  /** Resident memory now, bytes. */
  rssBytes: number;
  /** Highest resident memory so far (VmHWM), bytes. */
  peakRssBytes: number;
}

/** Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; undefined when the process is gone. */
export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { cpuSeconds, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `intervalMs` (for curves and a peak over a phase). */
export interface RssSampler {
  /** Peak RSS seen since {@link RssSampler.resetPeak} (or the start), bytes. */
  peak(): number;
  resetPeak(): void;
  /** Samples so far: [ms since the epoch, RSS bytes]. */
  samples(): readonly [number, number][];
  stop(): void;
}

export function sampleRss(pid: number, intervalMs = 250): RssSampler {
  const taken: [number, number][] = [];
  let peak = 0;
  const take = (): void => {
    const reading = readProcess(pid);
    if (!reading) return;
    taken.push([Date.now(), reading.rssBytes]);
    peak = Math.max(peak, reading.rssBytes);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    peak: () => peak,
    resetPeak() {
      peak = 0;
      take();
    },
    samples: () => taken,
    stop: () => clearInterval(timer),
  };
}

/** Samples of a Prometheus text exposition, keyed by metric name. */
export type MetricSamples = Map<string, { labels: Record<string, string>; value: number }[]>;

/** Parses the Prometheus text format (enough of it: no escapes in label values are needed here). */
export function parseMetrics(text: string): MetricSamples {
  const out: MetricSamples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    const list = out.get(match[1]!) ?? [];
    list.push({ labels, value: Number(match[3]) });
    out.set(match[1]!, list);
  }
  return out;
}

/** Counters read from a controller's `/metrics`. */
export interface ControllerCounters {
  /** API requests so far, keyed `VERB resource`. */
  requests: Record<string, number>;
  reconciles: number;
  reconcileErrors: number;
  /** Time spent inside reconciles, seconds (the histogram's sum). */
  reconcileSeconds: number;
  /** Due keys → their reconcile starting (every controller): total seconds, starts, and starts that waited over 1 s. */
  queueWait: WaitCounters;
  /** Requests that waited for the client-side rate limit: total seconds, requests, and those that waited over 1 s. */
  rateLimitWait: WaitCounters;
}

/** A wait histogram's running totals. */
export interface WaitCounters {
  seconds: number;
  count: number;
  overOneSecond: number;
}

/** `after - before` of each total. */
export function waitDelta(before: WaitCounters, after: WaitCounters): WaitCounters {
  return {
    seconds: after.seconds - before.seconds,
    count: after.count - before.count,
    overOneSecond: after.overOneSecond - before.overOneSecond,
  };
}

function waitCounters(metrics: MetricSamples, name: string): WaitCounters {
  const count = sum(metrics.get(`${name}_count`));
  const withinOneSecond = sum(metrics.get(`${name}_bucket`)?.filter((s) => s.labels.le === '1'));
  return { seconds: sum(metrics.get(`${name}_sum`)), count, overOneSecond: count - withinOneSecond };
}

const sum = (samples: { value: number }[] | undefined): number =>
  (samples ?? []).reduce((a, s) => a + s.value, 0);

/** Reads the controller's counters from its `/metrics`. */
export async function scrapeController(controllerUrl: string): Promise<ControllerCounters> {
  const response = await fetch(`${controllerUrl}/metrics`);
  if (!response.ok) throw new Error(`GET ${controllerUrl}/metrics: HTTP ${response.status}`);
  const metrics = parseMetrics(await response.text());
  const requests: Record<string, number> = {};
  for (const s of metrics.get('codedance_api_requests_total') ?? [])
    requests[`${s.labels.verb ?? '?'} ${s.labels.resource ?? '?'}`] = s.value;
  return {
    requests,
    reconciles: sum(metrics.get('codedance_reconcile_total')),
    reconcileErrors: sum(metrics.get('codedance_reconcile_errors_total')),
    reconcileSeconds: sum(metrics.get('codedance_reconcile_duration_seconds_sum')),
    queueWait: waitCounters(metrics, 'codedance_queue_wait_seconds'),
    rateLimitWait: waitCounters(metrics, 'codedance_api_rate_limit_wait_seconds'),
  };
}

/** `after - before` per key, keys with no growth left out. */
export function countDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const grown = value - (before[key] ?? 0);
    if (grown > 0) out[key] = grown;
  }
  return out;
}

/** Sum of the values. */
export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
