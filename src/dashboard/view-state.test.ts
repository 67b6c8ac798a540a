import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsAnswer } from './contract.ts';
import {
  failureState,
  listState,
  lostStream,
  metricsState,
  reconnectDelaySeconds,
  releaseState,
  streamBanner,
  type StreamConnection,
} from './view-state.ts';

const live: StreamConnection = { state: 'live' };
const connecting: StreamConnection = { state: 'connecting' };

test('a lost stream is retried at once, then after 1, 2, 4, 8, 15 s; the banner says since when and grows red', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map(reconnectDelaySeconds), [0, 1, 2, 4, 8, 15, 15]);
  const lostAt = Date.UTC(2026, 0, 1, 12, 30, 5);
  let c = lostStream(live, 'the stream ended', lostAt);
  assert.deepEqual(c, {
    state: 'reconnecting',
    error: 'the stream ended',
    retryInSeconds: 0,
    attempt: 1,
    since: lostAt,
  });
  assert.equal(streamBanner(c), undefined, 'the immediate retry shows no banner');
  c = lostStream(lostStream(lostStream(c, 'refused', lostAt + 1000), 'refused', lostAt + 3000), 'x', 0);
  assert.equal(c.state === 'reconnecting' && c.attempt, 4);
  assert.equal(c.state === 'reconnecting' && c.since, lostAt, 'out of date since the first loss');
  const banner = streamBanner(c)!;
  assert.equal(banner.tone, 'error');
  assert.match(banner.message, /^x\. Trying again in 4s \(attempt 4\); .* since 12:30:05 UTC\.$/);
  assert.equal(streamBanner(lostStream(lostStream(live, 'x', lostAt), 'x', lostAt))!.tone, 'warning');
  assert.equal(streamBanner(live), undefined);
  // Live again: the next loss counts from one.
  const again = lostStream(live, 'x', 0);
  assert.equal(again.state === 'reconnecting' && again.attempt, 1);
});

test('API failures: 401 asks for a token, 403 names the refusal, 404, no answer, anything else', () => {
  assert.equal(failureState(401, 'token expired', 'x').kind, 'signin');
  const forbidden = failureState(403, 'events is forbidden', 'the Events');
  assert.equal(forbidden.kind, 'forbidden');
  assert.match(
    forbidden.kind === 'forbidden' ? forbidden.message : '',
    /refused your account: events is forbidden/,
  );
  assert.equal(failureState(404, 'gone', 'this release').kind, 'not-found');
  assert.equal(failureState(0, 'Failed to fetch', 'the dashboard').kind, 'unavailable');
  assert.equal(failureState(503, 'too many streams', 'the dashboard').kind, 'unavailable');
  const other = failureState(500, 'boom', 'x');
  assert.deepEqual(other, { kind: 'error', title: 'Cannot show x', message: 'boom (HTTP 500)' });
});

test('the list: loading until the first snapshot, then empty, no match, or ready; a lost stream with nothing known says so', () => {
  assert.equal(listState(connecting, 0, 0).kind, 'loading');
  assert.equal(listState(live, 0, 0).kind, 'empty');
  const noMatch = listState(live, 3, 0);
  assert.equal(noMatch.kind === 'empty' && noMatch.title, 'No release matches these filters');
  assert.equal(listState(live, 3, 1).kind, 'ready');
  assert.equal(listState(lostStream(connecting, 'refused', 0), 0, 0).kind, 'loading', 'retrying at once');
  const failedTwice = lostStream(lostStream(connecting, 'refused', 0), 'refused', 0);
  assert.equal(listState(failedTwice, 0, 0).kind, 'unavailable');
  // Rows already known stay on screen while reconnecting (the banner says they may be old).
  assert.equal(listState(lostStream(live, 'refused', 0), 3, 3).kind, 'ready');
  assert.equal(listState({ state: 'signin', message: 'token expired' }, 0, 0).kind, 'signin');
});

test('a release page: loading, not found (deleted or not allowed), ready', () => {
  const r = { namespace: 'shop', name: 'cart' };
  assert.equal(releaseState(connecting, false, r).kind, 'loading');
  const missing = releaseState(live, false, r);
  assert.equal(missing.kind, 'not-found');
  assert.match(
    missing.kind === 'not-found' ? missing.message : '',
    /shop\/cart .* may not list CanaryDeployments in shop/,
  );
  assert.equal(releaseState(live, true, r).kind, 'ready');
  assert.equal(
    releaseState(lostStream(lostStream(connecting, 'x', 0), 'x', 0), false, r).kind,
    'unavailable',
  );
});

test('charts: asking, no metrics, Prometheus down, refused, ready', () => {
  const answer: MetricsAnswer = { start: 0, end: 1, stepSeconds: 1, charts: [] };
  assert.equal(metricsState(undefined, undefined).kind, 'loading');
  assert.equal(metricsState({ ...answer, problem: 'no checks' }, undefined).kind, 'empty');
  const down = metricsState(
    { ...answer, unreachable: 'Prometheus at http://p did not answer: ECONNREFUSED' },
    undefined,
  );
  assert.equal(down.kind, 'unavailable');
  assert.equal(down.kind === 'unavailable' && down.title, 'Prometheus is not answering');
  assert.equal(metricsState(undefined, { status: 404, message: 'not found' }).kind, 'not-found');
  assert.equal(metricsState(answer, undefined).kind, 'ready');
});
