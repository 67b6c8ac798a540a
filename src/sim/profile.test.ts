import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProfileBook, healthyProfile, parseProfileUpdate } from './profile.ts';

describe('parseProfileUpdate', () => {
  it('accepts a full update', () => {
    const body = {
      namespace: 'ns',
      name: 'web',
      version: 'canary',
      errorRate: 0.3,
      latencyMs: { p50: 100, p99: 900 },
      rps: 20,
    };
    assert.deepEqual(parseProfileUpdate(body), body);
  });
  it('names the field that is wrong', () => {
    assert.deepEqual(parseProfileUpdate({ namespace: 'ns', name: 'web', errorRate: 2 }), {
      error: 'errorRate must be a number from 0 to 1',
    });
    assert.deepEqual(parseProfileUpdate({ namespace: 'ns', name: 'web', version: 'blue' }), {
      error: "version must be 'stable' or 'canary'",
    });
    assert.deepEqual(parseProfileUpdate({ namespace: 'ns', name: 'web', latencyMs: { p99: -1 } }), {
      error: 'latencyMs.p99 must be a positive number of milliseconds',
    });
    assert.deepEqual(parseProfileUpdate({ name: 'web' }), { error: 'namespace must be a non-empty string' });
    assert.deepEqual(parseProfileUpdate([]), { error: 'body must be a JSON object' });
  });
});

describe('profile book', () => {
  it('changes only the fields and the version given', () => {
    const book = createProfileBook();
    const profile = book.set({ namespace: 'ns', name: 'web', version: 'canary', latencyMs: { p99: 900 } });
    assert.deepEqual(profile.stable, healthyProfile);
    assert.deepEqual(profile.canary, {
      errorRate: healthyProfile.errorRate,
      latencyMs: { p50: 20, p99: 900 },
    });
    const both = book.set({ namespace: 'ns', name: 'web', errorRate: 0.5 });
    assert.equal(both.stable.errorRate, 0.5);
    assert.equal(both.canary.latencyMs.p99, 900);
  });

  it('lifts p99 to p50 rather than make an impossible distribution', () => {
    const profile = createProfileBook().set({ namespace: 'ns', name: 'web', latencyMs: { p50: 500 } });
    assert.deepEqual(profile.stable.latencyMs, { p50: 500, p99: 500 });
  });

  it('resolves by the first matching name and resets', () => {
    const book = createProfileBook();
    book.set({ namespace: 'ns', name: 'target', rps: 5 });
    assert.equal(book.resolve('ns', ['release', 'target'])?.rps, 5);
    assert.equal(book.resolve('other', ['release', 'target']), undefined);
    book.reset('ns');
    assert.equal(book.resolve('ns', ['target']), undefined);
  });
});
