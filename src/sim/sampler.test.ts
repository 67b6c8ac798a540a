import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  logNormalFor,
  mirroredCount,
  newPaceState,
  paceTick,
  sampleLatencyMs,
  sampleRequests,
} from './sampler.ts';
import { seededRandom } from './random.ts';

describe('paceTick', () => {
  it('carries fractions so a rate is exact over time', () => {
    const state = newPaceState();
    const totals = Array.from({ length: 4 }, () => paceTick(state, 2.5, 1000, 0).stable);
    assert.deepEqual(totals, [2, 3, 2, 3]);
  });

  it('splits by the canary share exactly in the long run', () => {
    const state = newPaceState();
    let stable = 0;
    let canary = 0;
    for (let i = 0; i < 100; i++) {
      const counts = paceTick(state, 50, 1000, 0.2);
      stable += counts.stable;
      canary += counts.canary;
    }
    assert.equal(stable + canary, 5000);
    assert.equal(canary, 1000);
  });

  it('sends nothing to a canary at 0 and everything at 1, whatever was carried', () => {
    const state = newPaceState();
    paceTick(state, 3, 1000, 0.33);
    assert.deepEqual(paceTick(state, 10, 1000, 0), { stable: 10, canary: 0 });
    assert.deepEqual(paceTick(state, 10, 1000, 1), { stable: 0, canary: 10 });
  });

  it('counts nothing for no elapsed time', () => {
    assert.deepEqual(paceTick(newPaceState(), 50, 0, 0.5), { stable: 0, canary: 0 });
  });
});

describe('latency sampling', () => {
  it('puts the median and the 99th percentile where the profile says', () => {
    const random = seededRandom(7);
    const distribution = logNormalFor({ p50: 20, p99: 80 });
    const samples = Array.from({ length: 20000 }, () => sampleLatencyMs(distribution, random)).sort(
      (a, b) => a - b,
    );
    const p50 = samples[Math.floor(samples.length * 0.5)]!;
    const p99 = samples[Math.floor(samples.length * 0.99)]!;
    assert.ok(Math.abs(p50 - 20) < 1, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 80) < 8, `p99 ${p99}`);
  });

  it('is constant when p99 equals p50', () => {
    assert.ok(Math.abs(sampleLatencyMs(logNormalFor({ p50: 30, p99: 30 }), seededRandom(1)) - 30) < 1e-9);
  });
});

describe('sampleRequests', () => {
  const profile = { errorRate: 0.2, latencyMs: { p50: 20, p99: 80 } };

  it('gives the same requests for the same seed', () => {
    const run = (seed: number) => {
      const seen: [boolean, number][] = [];
      sampleRequests(50, profile, seededRandom(seed), (failed, latency) => seen.push([failed, latency]));
      return seen;
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
  });

  it('fails about errorRate of the requests', () => {
    let failed = 0;
    sampleRequests(10000, profile, seededRandom(3), (f) => (failed += f ? 1 : 0));
    assert.ok(Math.abs(failed / 10000 - 0.2) < 0.02, `failed ${failed}`);
  });
});

describe('mirroredCount', () => {
  it('copies the share of the stable requests, carrying fractions, none without a mirror', () => {
    const state = newPaceState();
    const counts = [10, 10, 10, 10].map((n) => mirroredCount(state, n, 0.25));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      10,
    );
    assert.equal(mirroredCount(state, 100, 0), 0);
    assert.equal(state.mirrorCarry, 0);
  });
});
