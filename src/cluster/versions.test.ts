import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prometheusRelease, prometheusVersion } from './versions.ts';

test('prometheusRelease reads a 3.x release out of its v0.3MM.P module version', () => {
  assert.equal(prometheusRelease('v0.316.0'), '3.16.0');
  assert.equal(prometheusRelease('v0.305.12'), '3.5.12');
  assert.match(prometheusRelease(prometheusVersion), /^3\.\d+\.\d+$/);
});

test('prometheusRelease refuses what is not a 3.x module version', () => {
  assert.throws(() => prometheusRelease('v2.53.0'), /unexpected Prometheus module version 'v2\.53\.0'/);
  assert.throws(() => prometheusRelease('v0.316.0-rc.0'), /expected v0\.3MM\.P/);
});
