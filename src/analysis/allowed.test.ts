import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePrometheusUrl, prometheusAllowList } from './allowed.ts';

test('addresses are compared after normalising case, default port and trailing slashes', () => {
  assert.equal(normalizePrometheusUrl('HTTP://Prometheus.Monitoring:80/'), 'http://prometheus.monitoring');
  assert.equal(normalizePrometheusUrl('https://p:443/prom//'), 'https://p/prom');
  assert.equal(normalizePrometheusUrl('http://p:9090?x=1'), undefined, 'a base URL has no query');
  assert.equal(normalizePrometheusUrl('prometheus:9090'), undefined);
  assert.equal(normalizePrometheusUrl('ftp://p'), undefined);
});

test('only --prometheus-url and --allowed-prometheus-url addresses pass, exactly', () => {
  const list = prometheusAllowList('http://prometheus.monitoring:9090', ['https://thanos.example/tenant-a/']);
  assert.deepEqual(list.check('http://PROMETHEUS.monitoring:9090/'), { allowed: true });
  assert.deepEqual(list.check('https://thanos.example/tenant-a'), { allowed: true });
  for (const address of [
    'http://prometheus.monitoring:9091',
    'https://prometheus.monitoring:9090',
    'http://prometheus.monitoring:9090/other',
    'http://prometheus.monitoring.attacker.example:9090',
    'https://thanos.example/tenant-b',
    'https://thanos.example/tenant-a/../tenant-b',
    'http://user@prometheus.monitoring:9090',
    'http://169.254.169.254',
  ]) {
    const decision = list.check(address);
    assert.equal(decision.allowed, false, address);
  }
  const refused = list.check('http://u:hunter2@evil:9090');
  assert.ok(!refused.allowed);
  assert.doesNotMatch(refused.message, /hunter2/, 'passwords are not repeated');
  assert.match(refused.message, /--allowed-prometheus-url/);
  assert.match(
    prometheusAllowList(undefined).check('http://x').allowed
      ? ''
      : (prometheusAllowList(undefined).check('http://x') as { message: string }).message,
    /no --prometheus-url/,
  );
});
