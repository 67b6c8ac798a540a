/**
 * The checks a `spec.metrics` asks for, as a flat list of plain data.
 *
 * Each check names what to measure, the bound that makes it healthy and the weight
 * group it scores in. Queries ({@link ./queries.ts}) and scoring ({@link ./score.ts})
 * both read this list, so what is measured and how it is judged cannot drift apart.
 */
import type { MetricsSpec } from '../api/canary-deployment.ts';
import { parseDuration } from '../strategy/duration.ts';

/** The built-in measurements plus user PromQL. */
export type CheckKind =
  | 'successRate'
  | 'errorRate'
  | 'latencyP50'
  | 'latencyP90'
  | 'latencyP99'
  | 'cpu'
  | 'cpuVsStable'
  | 'memory'
  | 'memoryVsStable'
  | 'custom';

/** The term of the weighted health score a check contributes to (`decision.weights`). */
export type WeightGroup = 'successRate' | 'errorRate' | 'latency' | 'custom';

/**
 * When a value is healthy:
 * `min`: value >= threshold (success rate); `max`: value <= threshold (error rate,
 * latency); `lt` / `gt`: strictly below / above (custom checks, as the API's LT/GT).
 */
export type Bound = 'min' | 'max' | 'lt' | 'gt';

export interface Check {
  /** Name in status and Events: `successRate`, `errorRate`, `latencyP99`, or the custom name. */
  name: string;
  kind: CheckKind;
  group: WeightGroup;
  bound: Bound;
  threshold: number;
  /** Unit of value and threshold: percent for rates, milliseconds for latency. */
  unit: '%' | 'ms' | ' cores' | 'MiB' | 'x' | '';
  /** Quantile of a latency check (0.5, 0.9, 0.99). */
  quantile?: number;
  /** User PromQL of a custom check, before templating. */
  query?: string;
  /** Weight of a custom check in the score. @default decision.weights.custom */
  weight?: number;
}

/** A spec field that cannot be turned into a check. */
export interface CheckProblem {
  field: string;
  message: string;
}

const LATENCIES = [
  ['p50', 'latencyP50', 0.5],
  ['p90', 'latencyP90', 0.9],
  ['p99', 'latencyP99', 0.99],
] as const;

/** The checks of `metrics`, in a stable order, and the fields that could not be read. */
export function checksFor(metrics: MetricsSpec | undefined): { checks: Check[]; problems: CheckProblem[] } {
  const checks: Check[] = [];
  const problems: CheckProblem[] = [];
  if (!metrics) return { checks, problems };
  if (metrics.successRate) {
    checks.push({
      name: 'successRate',
      kind: 'successRate',
      group: 'successRate',
      bound: 'min',
      threshold: metrics.successRate.threshold,
      unit: '%',
    });
  }
  if (metrics.errorRate) {
    checks.push({
      name: 'errorRate',
      kind: 'errorRate',
      group: 'errorRate',
      bound: 'max',
      threshold: metrics.errorRate.threshold,
      unit: '%',
    });
  }
  for (const [field, kind, quantile] of LATENCIES) {
    const text = metrics.latency?.[field];
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      problems.push({
        field: `metrics.latency.${field}`,
        message: `${JSON.stringify(text)} is not a positive duration (e.g. 500ms)`,
      });
      continue;
    }
    checks.push({ name: kind, kind, group: 'latency', bound: 'max', threshold: ms, unit: 'ms', quantile });
  }
  // Resource checks are gates in the custom term (no known ideal: a pod uses what it uses).
  const gate = (name: CheckKind, threshold: number | undefined, unit: Check['unit']) => {
    if (threshold !== undefined)
      checks.push({ name, kind: name, group: 'custom', bound: 'lt', threshold, unit });
  };
  gate('cpu', metrics.cpu?.maxCores, ' cores');
  gate('cpuVsStable', metrics.cpu?.maxRatioToStable, 'x');
  gate('memory', metrics.memory?.maxMiB, 'MiB');
  gate('memoryVsStable', metrics.memory?.maxRatioToStable, 'x');
  const seen = new Set(checks.map((c) => c.name));
  for (const [i, custom] of (metrics.custom ?? []).entries()) {
    if (seen.has(custom.name)) {
      problems.push({
        field: `metrics.custom[${i}].name`,
        message: `${JSON.stringify(custom.name)} is used twice; results would be indistinguishable`,
      });
      continue;
    }
    seen.add(custom.name);
    checks.push({
      name: custom.name,
      kind: 'custom',
      group: 'custom',
      bound: custom.compare === 'LT' ? 'lt' : 'gt',
      threshold: custom.threshold,
      unit: '',
      query: custom.query,
      ...(custom.weight === undefined ? {} : { weight: custom.weight }),
    });
  }
  return { checks, problems };
}

/** Whether `metrics` asks for any analysis at all (no checks: the release runs on timers). */
export function hasChecks(metrics: MetricsSpec | undefined): boolean {
  return checksFor(metrics).checks.length > 0;
}

/** The bound as people read it: `>= 99%`, `<= 500ms`, `< 5`. */
export function describeBound(check: Check): string {
  const op = { min: '>=', max: '<=', lt: '<', gt: '>' }[check.bound];
  return `${op} ${formatValue(check.threshold, check.unit)}`;
}

/** A value with its unit, rounded for people: `99.52%`, `231ms`, `0.8`. */
export function formatValue(value: number, unit: Check['unit']): string {
  if (!Number.isFinite(value)) return `${value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'}${unit}`;
  const rounded = Math.abs(value) >= 100 ? Math.round(value * 10) / 10 : Math.round(value * 1000) / 1000;
  return `${rounded}${unit}`;
}
