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
  /**
   * A check of the canary against stable (`metrics.compare`): the same query runs for
   * both sides over the same window, and the canary must stay within `tolerance` of
   * stable's value. `bound` and `threshold` then describe the tolerance only.
   */
  compare?: { tolerance: Tolerance; amount: number };
}

/** How far the canary may be from stable (see {@link comparePasses}). */
export type Tolerance = 'maxIncrease' | 'maxDecrease' | 'maxRatio' | 'minRatio';
const TOLERANCES: readonly Tolerance[] = ['maxIncrease', 'maxDecrease', 'maxRatio', 'minRatio'];

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
  compareChecks(metrics, checks, problems, seen);
  return { checks, problems };
}

/** The checks of `metrics.compare`, named `<metric>VsStable` (custom ones keep their name). */
function compareChecks(
  metrics: MetricsSpec,
  checks: Check[],
  problems: CheckProblem[],
  seen: Set<string>,
): void {
  const compare = metrics.compare;
  if (!compare) return;
  const add = (
    field: string,
    base: Omit<Check, 'bound' | 'threshold' | 'compare'>,
    tolerance: Partial<Record<Tolerance, number>> | undefined,
  ) => {
    if (!tolerance) return;
    const given = TOLERANCES.filter((k) => tolerance[k] !== undefined);
    const [kind] = given;
    if (given.length !== 1 || kind === undefined) {
      problems.push({ field, message: `give exactly one of ${TOLERANCES.join(', ')}` });
      return;
    }
    if (seen.has(base.name)) {
      problems.push({
        field: `${field}.name`,
        message: `${JSON.stringify(base.name)} is used twice; results would be indistinguishable`,
      });
      return;
    }
    seen.add(base.name);
    const amount = tolerance[kind] ?? 0;
    const bound: Bound = kind === 'maxIncrease' || kind === 'maxRatio' ? 'max' : 'min';
    checks.push({ ...base, bound, threshold: amount, compare: { tolerance: kind, amount } });
  };
  add(
    'metrics.compare.successRate',
    { name: 'successRateVsStable', kind: 'successRate', group: 'successRate', unit: '%' },
    compare.successRate,
  );
  add(
    'metrics.compare.errorRate',
    { name: 'errorRateVsStable', kind: 'errorRate', group: 'errorRate', unit: '%' },
    compare.errorRate,
  );
  for (const [field, kind, quantile] of LATENCIES) {
    add(
      `metrics.compare.latency.${field}`,
      { name: `${kind}VsStable`, kind, group: 'latency', unit: 'ms', quantile },
      compare.latency?.[field],
    );
  }
  for (const [i, custom] of (compare.custom ?? []).entries()) {
    add(
      `metrics.compare.custom[${i}]`,
      {
        name: custom.name,
        kind: 'custom',
        group: 'custom',
        unit: '',
        query: custom.query,
        ...(custom.weight === undefined ? {} : { weight: custom.weight }),
      },
      custom,
    );
  }
}

/**
 * Whether the canary's `canary` is within the check's tolerance of stable's `stable`:
 * `maxIncrease` canary <= stable + d, `maxDecrease` canary >= stable - d,
 * `maxRatio` canary <= r × stable, `minRatio` canary >= r × stable.
 */
export function comparePasses(check: Check, canary: number, stable: number): boolean {
  const limit = limitOf(check, stable);
  return check.bound === 'max' ? canary <= limit : canary >= limit;
}

/** The value the canary must stay at or within, given stable's. */
export function limitOf(check: Check, stable: number): number {
  const c = check.compare;
  if (!c) return check.threshold;
  switch (c.tolerance) {
    case 'maxIncrease':
      return stable + c.amount;
    case 'maxDecrease':
      return stable - c.amount;
    case 'maxRatio':
    case 'minRatio':
      return stable * c.amount;
  }
}

/** A comparison as people read it, with stable's value when known: `<= stable + 0.5% (0.6%)`, `>= 0.98 × stable`. */
export function describeComparison(check: Check, stable?: number): string {
  const c = check.compare;
  if (!c) return describeBound(check);
  const op = check.bound === 'max' ? '<=' : '>=';
  const rule =
    c.tolerance === 'maxIncrease'
      ? `stable + ${formatValue(c.amount, check.unit)}`
      : c.tolerance === 'maxDecrease'
        ? `stable - ${formatValue(c.amount, check.unit)}`
        : `${c.amount} × stable`;
  return stable === undefined || !Number.isFinite(stable)
    ? `${op} ${rule}`
    : `${op} ${rule} (${formatValue(limitOf(check, stable), check.unit)})`;
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
