import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Check } from './checks.ts';
import { scoreCheck } from './score.ts';

const errorRate: Check = {
  name: 'errorRate',
  kind: 'errorRate',
  group: 'errorRate',
  bound: 'max',
  threshold: 1,
  unit: '%',
};
const successRate: Check = {
  name: 'successRate',
  kind: 'successRate',
  group: 'successRate',
  bound: 'min',
  threshold: 99,
  unit: '%',
};
const p99: Check = {
  name: 'latencyP99',
  kind: 'latencyP99',
  group: 'latency',
  bound: 'max',
  threshold: 500,
  unit: 'ms',
  quantile: 0.99,
};
const custom = (bound: 'lt' | 'gt', threshold: number): Check => ({
  name: 'c',
  kind: 'custom',
  group: 'custom',
  bound,
  threshold,
  unit: '',
  query: 'x',
});

test('upper bound: 100 in the comfortable half, linear to 0 at the threshold, breached past it', () => {
  assert.deepEqual(scoreCheck(errorRate, 0), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(errorRate, 0.5), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(errorRate, 0.75), { score: 50, passed: true });
  assert.deepEqual(scoreCheck(errorRate, 1), { score: 0, passed: true });
  assert.deepEqual(scoreCheck(errorRate, 1.01), { score: 0, passed: false });
  assert.deepEqual(scoreCheck(p99, 250), { score: 100, passed: true });
  assert.equal(Math.round(scoreCheck(p99, 400).score), 40);
  assert.deepEqual(scoreCheck(p99, 900), { score: 0, passed: false });
});

test('lower bound (success rate): room is 100 - threshold', () => {
  assert.deepEqual(scoreCheck(successRate, 100), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(successRate, 99.5), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(successRate, 99.25), { score: 50, passed: true });
  assert.deepEqual(scoreCheck(successRate, 99), { score: 0, passed: true });
  assert.deepEqual(scoreCheck(successRate, 98.9), { score: 0, passed: false });
});

test('a threshold without room is a gate', () => {
  assert.deepEqual(scoreCheck({ ...successRate, threshold: 100 }, 100), { score: 100, passed: true });
  assert.deepEqual(scoreCheck({ ...successRate, threshold: 100 }, 99.9), { score: 0, passed: false });
  assert.deepEqual(scoreCheck({ ...errorRate, threshold: 0 }, 0), { score: 100, passed: true });
  assert.deepEqual(scoreCheck({ ...errorRate, threshold: 0 }, 0.1), { score: 0, passed: false });
});

test('custom checks are strict gates', () => {
  assert.deepEqual(scoreCheck(custom('lt', 5), 4.99), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(custom('lt', 5), 5), { score: 0, passed: false });
  assert.deepEqual(scoreCheck(custom('gt', 0.9), 0.95), { score: 100, passed: true });
  assert.deepEqual(scoreCheck(custom('gt', 0.9), 0.9), { score: 0, passed: false });
  assert.deepEqual(scoreCheck(custom('gt', -1), 0), { score: 100, passed: true });
});
