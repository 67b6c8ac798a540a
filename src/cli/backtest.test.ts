import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinRelativeTimes, parseTime, releaseFrom } from './backtest.ts';

test('parseTime: RFC 3339, unix seconds, now, and a duration before now', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  assert.equal(parseTime('from', '2026-12-01T10:00:00Z', now), Date.parse('2026-12-01T10:00:00Z'));
  assert.equal(parseTime('from', '1764583200', now), 1764583200_000);
  assert.equal(parseTime('to', 'now', now), now);
  assert.equal(parseTime('from', '-2h', now), now - 7_200_000);
  assert.throws(() => parseTime('from', 'yesterday', now), /--from: expected RFC 3339/);
});

test('releaseFrom: the first CanaryDeployment of a multi-document file, or what is wrong', () => {
  const text = `apiVersion: v1
kind: Service
metadata: {name: pay}
---
apiVersion: deploy.codedance.io/v1alpha1
kind: CanaryDeployment
metadata: {name: pay, namespace: shop}
spec: {targetDeployment: pay, canaryVersion: 'pay:v2'}
`;
  assert.equal(releaseFrom(text, 'r.yaml').metadata.namespace, 'shop');
  assert.throws(
    () => releaseFrom('kind: Service\nmetadata: {}\nspec: {}\n', 'r.yaml'),
    /no CanaryDeployment/,
  );
  assert.throws(() => releaseFrom('a: [', 'r.yaml'), /r\.yaml:/);
});

test('joinRelativeTimes: --from -2h as the usage writes it reaches parseArgs as --from=-2h; the rest is untouched', () => {
  assert.deepEqual(joinRelativeTimes(['-f', 'r.yaml', '--from', '-2h', '--to', '-30m', '--all']), [
    '-f',
    'r.yaml',
    '--from=-2h',
    '--to=-30m',
    '--all',
  ]);
  assert.deepEqual(joinRelativeTimes(['--from', 'now', '--to', '--json']), [
    '--from',
    'now',
    '--to',
    '--json',
  ]);
  assert.deepEqual(joinRelativeTimes(['--from']), ['--from']);
});
