/**
 * The contract with the analyzer: for every provider, the series the analyzer's
 * built-in queries select (`canarySeries()` in src/analysis/queries.ts) must be
 * exactly the canary's series the simulator exports, never the stable's. A change on
 * either side that breaks this fails here, without a cluster.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficProviders, type TrafficProviderName } from '../api/canary-deployment.ts';
import { canarySeries, seriesOf } from '../analysis/queries.ts';
import { createDataPlaneMetrics } from './metrics.ts';
import { renderFamilies } from './series.ts';
import type { SimTarget } from './target.ts';

function target(provider: TrafficProviderName): SimTarget {
  return {
    key: 'shop/release',
    namespace: 'shop',
    name: 'release',
    target: 'web',
    canaryWorkload: 'web-canary',
    service: 'web',
    provider,
    canaryShare: 0.5,
    serving: true,
    versionLabels: { stable: 'v1', canary: 'v2' },
    nginx:
      provider === 'Nginx'
        ? { ingress: 'web-ing', canaryIngress: 'web-ing-canary', canaryUpstream: 'shop-web-canary-80' }
        : undefined,
  };
}

/** Parses `name{a="1",b="2"} v` lines (no escapes in these values). */
function samples(text: string): { name: string; labels: Record<string, string> }[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const open = line.indexOf('{');
      const labels = Object.fromEntries(
        [...line.slice(open + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [
          m[1]!,
          m[2]!,
        ]),
      );
      return { name: line.slice(0, open), labels };
    });
}

describe("the analyzer's selectors find the simulator's canary series", () => {
  for (const provider of TrafficProviders) {
    it(provider, () => {
      const metrics = createDataPlaneMetrics('provider');
      const recorder = metrics.recorder(target(provider));
      recorder.version('stable')(false, 10);
      recorder.version('canary')(true, 10);
      const exported = samples(renderFamilies(metrics.families));
      const spec = canarySeries({
        provider,
        namespace: 'shop',
        target: 'web',
        canaryName: 'web-canary',
        canaryVersionLabel: 'v2',
        ingress: 'web-ing',
        windowMs: 60_000,
      });
      const selected = (name: string) =>
        exported.filter(
          (s) =>
            s.name === name &&
            spec.selector.every(([label, op, value]) =>
              op === '=' ? s.labels[label] === value : (s.labels[label] ?? '') !== value,
            ),
        );
      const requests = selected(spec.requests);
      assert.ok(requests.length > 0, `${spec.requests} has canary series`);
      const statuses = requests.map((s) => s.labels[spec.statusLabel]).sort();
      assert.deepEqual(statuses, ['200', '500'], 'both status codes of the canary, and only the canary');
      assert.ok(selected(spec.histogram).length > 0, `${spec.histogram} has canary series`);
      assert.ok(selected(spec.histogram).every((s) => 'le' in s.labels));
    });
  }
});

describe("comparisons: the analyzer's stable selectors find the simulator's stable series, and only those", () => {
  for (const provider of TrafficProviders) {
    it(provider, () => {
      const metrics = createDataPlaneMetrics('provider');
      const recorder = metrics.recorder(target(provider));
      recorder.version('stable')(false, 10);
      recorder.version('canary')(false, 10);
      const exported = samples(renderFamilies(metrics.families));
      const t = {
        provider,
        namespace: 'shop',
        target: 'web',
        canaryName: 'web-canary',
        canaryVersionLabel: 'v2',
        stableVersionLabel: 'v1',
        ingress: 'web-ing',
        windowMs: 60_000,
      };
      const pick = (side: 'stable' | 'canary') => {
        const spec = seriesOf(t, side);
        return exported.filter(
          (s) =>
            s.name === spec.requests &&
            spec.selector.every(([label, op, value]) =>
              op === '=' ? s.labels[label] === value : (s.labels[label] ?? '') !== value,
            ),
        );
      };
      const stable = pick('stable');
      const canary = pick('canary');
      assert.ok(stable.length > 0, 'stable has series');
      assert.ok(canary.length > 0, 'canary has series');
      assert.ok(
        stable.every((s) => !canary.includes(s)),
        'no series is counted on both sides',
      );
    });
  }
});
