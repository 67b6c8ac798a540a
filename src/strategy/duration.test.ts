import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationOr, formatDuration, parseDuration } from './duration.ts';

test('parses single units', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1500us'), 1.5);
  assert.equal(parseDuration('1500µs'), 1.5);
  assert.equal(parseDuration('2000000ns'), 2);
});

test('parses sequences and fractions as Go does', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('2h45m30s'), 9_930_000);
  assert.equal(parseDuration('1m0.5s'), 60_500);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1.s'), 1000);
  assert.equal(parseDuration('0.25ms'), 0.25);
});

test('zero, signs and whitespace', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('-1s'), -1000);
  assert.equal(parseDuration('+1s'), 1000);
  assert.equal(parseDuration(' 10s '), 10_000);
});

test('rejects what Go rejects', () => {
  for (const bad of [
    '',
    '1',
    '10',
    's',
    '1d',
    '1 s',
    '1s2',
    'ms',
    '1..5s',
    '--1s',
    '1S',
    '1hm',
    '-',
    'abc',
  ]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

test('durationOr falls back on unset, invalid and negative', () => {
  assert.equal(durationOr(undefined, '1m'), 60_000);
  assert.equal(durationOr('bogus', '30s'), 30_000);
  assert.equal(durationOr('-5s', '30s'), 30_000);
  assert.equal(durationOr('0s', '30s'), 0);
  assert.equal(durationOr('2s', '30s'), 2000);
});

test('formatDuration is short and readable', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(750), '750ms');
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(125_000), '2m5s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(-2000), '-2s');
});
