/**
 * Business metrics of simulated services (seed 003, scenario 4: click-through and
 * conversion of a recommendation model): named events counted per request, per version,
 * at the rates of each version's profile (`business: { impressions: 1, conversions: 0.05 }`
 * = one impression and 0.05 conversions per request).
 *
 * Exported as `business_events_total{namespace, app, version, event}`, with `app` and
 * `version` as in the plain HTTP family (src/sim/labels.ts), so a comparison selects a
 * side with `version="{{version}}"`:
 * `sum(rate(business_events_total{namespace="{{namespace}}", app="{{target}}", version="{{version}}", event="conversions"}[{{window}}]))`.
 *
 * Events are counted exactly (fractions carried from tick to tick), not sampled: two
 * versions with the same rates show the same ratio, so "converts as well" is not left
 * to chance.
 */
import { counterFamily, type CounterFamily } from './series.ts';
import type { SimTarget, Version } from './target.ts';

/** The family's name. */
export const BUSINESS_EVENTS = 'business_events_total';

/** Names an event may have (a label value kept to metric-name characters, for readable queries). */
export const EVENT_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/;

/** Business events of one simulator. */
export interface BusinessMetrics {
  readonly family: CounterFamily;
  /** Counts the events of `requests` requests that `version` of `target` served. */
  count(
    target: SimTarget,
    version: Version,
    requests: number,
    rates: Readonly<Record<string, number>> | undefined,
  ): void;
  /** Drops a service's series and carries. */
  forget(key: string): void;
}

export function createBusinessMetrics(): BusinessMetrics {
  const family = counterFamily(
    BUSINESS_EVENTS,
    'Business events (impressions, conversions, ...) per version (simulated).',
  );
  const carries = new Map<string, number>();
  return {
    family,
    count(target, version, requests, rates) {
      if (!rates || requests <= 0) return;
      for (const [event, rate] of Object.entries(rates)) {
        const key = `${target.key}\0${version}\0${event}`;
        const due = (carries.get(key) ?? 0) + requests * rate;
        const whole = Math.floor(due);
        carries.set(key, due - whole);
        const series = family.series(target.key, {
          namespace: target.namespace,
          app: target.target,
          version: target.versionLabels[version],
          event,
        });
        series.value += whole;
      }
    },
    forget(key) {
      family.removeOwner(key);
      for (const carry of [...carries.keys()]) if (carry.startsWith(`${key}\0`)) carries.delete(carry);
    },
  };
}
