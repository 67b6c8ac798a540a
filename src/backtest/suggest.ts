/**
 * Threshold suggestions from the stable version's own past behaviour (pure): for each
 * absolute check of a release, stable's values over the window at a high percentile
 * (p99 of how bad it got) plus a margin, so the suggestion is what stable itself would
 * (just) pass. Comparisons (`metrics.compare`) are relative to stable already and get
 * none; nor does a check whose stable series had no data.
 *
 * For a check where lower is healthy (error rate, latency, `LT` custom, CPU, memory):
 * `p99 × (1 + margin) + floor`. Where higher is healthy (success rate, `GT` custom): the
 * same on the shortfall, `p1 − (|p1| × margin) − floor` (success rate is done on
 * 100 − value, so a 99.9% stable suggests 99.9 − 0.1 × margin − floor). Floors keep a
 * perfectly quiet stable from suggesting a threshold noise would breach: 0.5 percentage
 * points for rates, 5 ms for latency, none for the rest.
 */
import type { Check } from '../analysis/checks.ts';

export interface SuggestOptions {
  /** Relative margin over stable's percentile. @default 0.2 (20 %) */
  margin?: number;
  /** Percentile of stable's values taken (of how bad it got). @default 99 */
  percentile?: number;
}

/** A suggested threshold for one check, and what it was made of. */
export interface Suggestion {
  check: string;
  current: number;
  suggested: number;
  /** Stable's value at the percentile used (already "bad side": p99 of errors, p1 of success). */
  stableAtPercentile: number;
  /** How many of stable's points it was made from. */
  samples: number;
  unit: Check['unit'];
  /** In words: `stable p99 0.42% + 20% + 0.5 → 1.0%`. */
  basis: string;
}

const FLOORS: Partial<Record<Check['kind'], number>> = {
  successRate: 0.5,
  errorRate: 0.5,
  latencyP50: 5,
  latencyP90: 5,
  latencyP99: 5,
};

/** Suggestions for the absolute checks of `checks` from stable's `values` per check name. */
export function suggestThresholds(
  checks: readonly Check[],
  stableValues: ReadonlyMap<string, readonly number[]>,
  options: SuggestOptions = {},
): Suggestion[] {
  const margin = options.margin ?? 0.2;
  const pct = options.percentile ?? 99;
  const out: Suggestion[] = [];
  for (const check of checks) {
    if (check.compare) continue;
    const values = (stableValues.get(check.name) ?? []).filter((v) => Number.isFinite(v));
    if (values.length === 0) continue;
    const floor = FLOORS[check.kind] ?? 0;
    const higherIsHealthy = check.bound === 'min' || check.bound === 'gt';
    let at: number;
    let suggested: number;
    if (check.kind === 'successRate') {
      // On the shortfall from 100 %: the p99 of how much stable failed.
      at =
        100 -
        percentile(
          values.map((v) => 100 - v),
          pct,
        );
      suggested = Math.max(0, 100 - ((100 - at) * (1 + margin) + floor));
    } else if (higherIsHealthy) {
      at = percentile(values, 100 - pct);
      suggested = at - Math.abs(at) * margin - floor;
    } else {
      at = percentile(values, pct);
      suggested = at * (1 + margin) + floor;
    }
    // Rounded towards leniency: never tighter than the margin asked for.
    suggested = round(suggested, check.unit, higherIsHealthy ? 'down' : 'up');
    out.push({
      check: check.name,
      current: check.threshold,
      suggested,
      stableAtPercentile: at,
      samples: values.length,
      unit: check.unit,
      basis: basisOf(check, pct, at, margin, floor, suggested),
    });
  }
  return out;
}

/** `checks` with the suggested thresholds in place of their own. */
export function withSuggestions(checks: readonly Check[], suggestions: readonly Suggestion[]): Check[] {
  const by = new Map(suggestions.map((s) => [s.check, s.suggested]));
  return checks.map((c) => {
    const threshold = by.get(c.name);
    return threshold === undefined ? c : { ...c, threshold };
  });
}

/** Nearest-rank percentile (0-100) of `values` (not empty). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

/** Rates to a tenth, latency to a millisecond, everything else to three significant digits. */
function round(value: number, unit: Check['unit'], direction: 'up' | 'down'): number {
  const to = direction === 'up' ? Math.ceil : Math.floor;
  if (unit === '%') return to(value * 10) / 10;
  if (unit === 'ms') return to(value);
  return Number(value.toPrecision(3));
}

/** The suggestion in words: `stable p99 0.2% + 20% + 0.5 → 0.8%`. */
function basisOf(
  check: Check,
  pct: number,
  at: number,
  margin: number,
  floor: number,
  suggested: number,
): string {
  const m = `${Math.round(margin * 100)}%`;
  const u = check.unit;
  if (check.kind === 'successRate')
    return `stable p${100 - pct} ${fmt(at)}% (shortfall ${fmt(100 - at)}% + ${m}${floor ? ` + ${floor}` : ''}) → ${fmt(suggested)}%`;
  if (check.bound === 'min' || check.bound === 'gt')
    return `stable p${100 - pct} ${fmt(at)}${u} − ${m}${floor ? ` − ${floor}` : ''} → ${fmt(suggested)}${u}`;
  return `stable p${pct} ${fmt(at)}${u} + ${m}${floor ? ` + ${floor}` : ''} → ${fmt(suggested)}${u}`;
}

function fmt(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
