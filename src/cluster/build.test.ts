import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryPaths, formatBuildProgress } from './build.ts';
import { prometheusVersion } from './versions.ts';

test('Prometheus is cached by version beside the control plane', () => {
  assert.equal(binaryPaths('/h').prometheus, `/h/bin/prometheus-${prometheusVersion}/prometheus`);
});

test('a heartbeat tells module downloads apart from compiled packages', () => {
  const base = {
    type: 'heartbeat',
    component: 'prometheus',
    elapsedMs: 30_000,
    packages: 0,
    lastPackage: undefined,
  } as const;
  assert.equal(
    formatBuildProgress({ ...base, modulesDownloaded: 12 }),
    'prometheus: still building, 30s elapsed, 12 modules downloaded, 0 packages compiled',
  );
  assert.equal(
    formatBuildProgress({
      ...base,
      packages: 40,
      lastPackage: 'github.com/prometheus/prometheus/tsdb',
      modulesDownloaded: 0,
    }),
    'prometheus: still building, 30s elapsed, 40 packages compiled (last: github.com/prometheus/prometheus/tsdb)',
  );
});
