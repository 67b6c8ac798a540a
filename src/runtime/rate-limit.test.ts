import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenBucket } from './rate-limit.ts';
import { fakeClock } from './clock.ts';

test('a burst passes at once, then tokens come at qps, in order', async () => {
  const clock = fakeClock(1_000);
  const bucket = createTokenBucket({ qps: 10, burst: 3, clock });
  assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
  assert.equal(bucket.reserve(), 100, 'the fourth waits one interval');
  assert.equal(bucket.reserve(), 200, 'the fifth waits behind it');
  await clock.advance(1_000);
  assert.equal(bucket.reserve(), 0, 'refilled (up to the burst) after a quiet second');
});

test('take() resolves when the token is due', async () => {
  const clock = fakeClock();
  const bucket = createTokenBucket({ qps: 2, burst: 1, clock });
  await bucket.take();
  let done = false;
  const second = bucket.take().then(() => (done = true));
  await clock.advance(499);
  assert.equal(done, false);
  await clock.advance(1);
  await second;
  assert.equal(done, true);
});

test('qps <= 0 or Infinity means no limit', () => {
  for (const qps of [0, -1, Infinity]) {
    const bucket = createTokenBucket({ qps, burst: 1, clock: fakeClock() });
    assert.equal(bucket.limited, false);
    for (let i = 0; i < 100; i++) assert.equal(bucket.reserve(), 0);
  }
});
