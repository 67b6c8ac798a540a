import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBusinessMetrics } from './business.ts';
import { createLoadTests, parseLoadTest } from './load-test.ts';
import { createProfileBook, parseProfileUpdate } from './profile.ts';
import { renderFamilies } from './series.ts';
import type { SimTarget } from './target.ts';

const target: SimTarget = {
  key: 'shop/reco',
  namespace: 'shop',
  name: 'reco',
  target: 'reco',
  canaryWorkload: 'reco-canary',
  service: 'reco',
  provider: 'Istio',
  canaryShare: 0.1,
  serving: true,
  versionLabels: { stable: 'stable', canary: 'canary' },
};

test('business events are counted exactly per version, fractions carried', () => {
  const metrics = createBusinessMetrics();
  for (let i = 0; i < 10; i++) {
    metrics.count(target, 'stable', 9, { impressions: 1, conversions: 0.05 });
    metrics.count(target, 'canary', 1, { impressions: 1, conversions: 0.02 });
  }
  const text = renderFamilies([metrics.family]);
  assert.match(
    text,
    /business_events_total\{namespace="shop",app="reco",version="stable",event="impressions"\} 90\n/,
  );
  assert.match(
    text,
    /business_events_total\{namespace="shop",app="reco",version="stable",event="conversions"\} 4\n/,
  );
  assert.match(
    text,
    /business_events_total\{namespace="shop",app="reco",version="canary",event="conversions"\} 0\n/,
  );
  metrics.forget('shop/reco');
  assert.equal(renderFamilies([metrics.family]).includes('reco'), false);
});

test('a profile update sets business rates per version and merges them by name', () => {
  const book = createProfileBook();
  const update = parseProfileUpdate({
    namespace: 'shop',
    name: 'reco',
    business: { impressions: 1, conversions: 0.1 },
  });
  assert.ok(!('error' in update));
  book.set(update);
  const after = book.set({
    namespace: 'shop',
    name: 'reco',
    version: 'canary',
    business: { conversions: 0.05 },
  });
  assert.deepEqual(after.stable.business, { impressions: 1, conversions: 0.1 });
  assert.deepEqual(after.canary.business, { impressions: 1, conversions: 0.05 });
  assert.match(
    String(
      (parseProfileUpdate({ namespace: 'a', name: 'b', business: { '1x': 1 } }) as { error: string }).error,
    ),
    /not an event name/,
  );
  assert.match(
    String(
      (parseProfileUpdate({ namespace: 'a', name: 'b', business: { x: -1 } }) as { error: string }).error,
    ),
    /business\.x/,
  );
});

test('a gate payload starts a load test for its release, which ends on time', () => {
  const now = 1_000_000;
  const load = parseLoadTest(
    {
      type: 'Rollout',
      release: { namespace: 'shop', name: 'reco' },
      metadata: { rps: '200', duration: '30s' },
    },
    now,
  );
  if ('error' in load) throw new Error(load.error);
  assert.deepEqual(load, { namespace: 'shop', name: 'reco', rps: 200, until: now + 30_000 });
  const tests = createLoadTests();
  tests.start(load);
  assert.equal(tests.rpsOf('shop', ['other', 'reco'], now + 1000), 200);
  assert.equal(tests.rpsOf('shop', ['reco'], now + 30_000), 0, 'over');
  assert.match(
    String((parseLoadTest({ release: {} }, now) as { error: string }).error),
    /release\.namespace/,
  );
  assert.match(
    String(
      (
        parseLoadTest({ release: { namespace: 'a', name: 'b' }, metadata: { duration: 'soon' } }, now) as {
          error: string;
        }
      ).error,
    ),
    /metadata\.duration/,
  );
});
