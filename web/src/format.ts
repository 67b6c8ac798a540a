/** Small formatting helpers shared by the views. */
import type { CostView, PhaseName } from '../../src/dashboard/contract.ts';

/** antd tag colour of each phase. */
export const phaseColor: Record<string, string> = {
  Initializing: 'default',
  Progressing: 'processing',
  Paused: 'warning',
  Completed: 'success',
  Failed: 'error',
  Running: 'success',
  Pending: 'default',
  Creating: 'processing',
  Deleting: 'warning',
};

/** `3m`, `2h`, `5d` since `iso`. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export const time = (ms: number | string): string => new Date(ms).toLocaleTimeString([], { hour12: false });

/** A value with its unit, rounded for people. */
export function withUnit(value: number | undefined, unit: string): string {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const digits = unit === '%' ? 2 : unit === 'ms' ? 1 : 3;
  return `${Number(value.toFixed(digits))}${unit.trim() ? ` ${unit.trim()}` : ''}`;
}

export const activePhases: readonly PhaseName[] = ['Initializing', 'Progressing', 'Paused'];

/** A release's (or a fleet's) cost in one line, as of its `asOf`. */
export function describeCost(cost: Omit<CostView, 'steps'>): string {
  const hours = (s: number) => Number((s / 3600).toFixed(2));
  const minutes = Math.round(cost.seconds / 60);
  return `canary ${hours(cost.canaryPodSeconds)} pod-h (extra ${hours(cost.extraPodSeconds)}), ${hours(cost.cpuCoreSeconds)} CPU core-h, ${hours(cost.memoryGiBSeconds)} GiB-h requested; canary served ${Math.round(cost.canaryTrafficPercent)}% of traffic over ${minutes} min of release time (as of ${time(cost.asOf)})`;
}
