import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseControllerArgs } from './main.ts';

test('flags: defaults', () => {
  const o = parseControllerArgs([]);
  assert.notEqual(o, 'help');
  if (o === 'help') return;
  assert.equal(o.leaderElect, true);
  assert.equal(o.leaseName, 'codedance-controller');
  assert.equal(o.leaseNamespace, 'default');
  assert.equal(o.httpPort, 8080);
  assert.equal(o.namespaces, undefined);
  assert.equal(o.leaseDurationMs, 15000);
});

test('flags: repeatable namespaces pick the lease namespace; bare --leader-elect', () => {
  const o = parseControllerArgs(['--namespace', 'a', '-n', 'b', '--leader-elect', '--http-port', '0', '--lease-name', 'x']);
  assert.ok(o !== 'help');
  assert.deepEqual(o.namespaces, ['a', 'b']);
  assert.equal(o.leaseNamespace, 'a');
  assert.equal(o.httpPort, 0);
  assert.equal(o.leaderElect, true);
  assert.equal(parseControllerArgs(['--leader-elect=false']) !== 'help' && (parseControllerArgs(['--leader-elect=false']) as { leaderElect: boolean }).leaderElect, false);
  assert.throws(() => parseControllerArgs(['--controllers', 'nope']), /unknown controller 'nope'/);
  assert.throws(() => parseControllerArgs(['--log-level', 'loud']), /--log-level/);
});

test('flags: allowed Prometheus URLs, internal notification URLs, API rate limits', () => {
  const defaults = parseControllerArgs([]);
  assert.ok(defaults !== 'help');
  assert.deepEqual(defaults.allowedPrometheusUrls, []);
  assert.equal(defaults.allowInternalNotificationUrls, false);
  assert.equal(defaults.kubeApiQps, 200);
  assert.equal(defaults.kubeApiBurst, 400);
  const o = parseControllerArgs([
    '--allowed-prometheus-url', 'http://a:9090', '--allowed-prometheus-url=https://b/prom',
    '--allow-internal-notification-urls', '--kube-api-qps', '50', '--kube-api-burst', '80',
  ]);
  assert.ok(o !== 'help');
  assert.deepEqual(o.allowedPrometheusUrls, ['http://a:9090', 'https://b/prom']);
  assert.equal(o.allowInternalNotificationUrls, true);
  assert.equal(o.kubeApiQps, 50);
  assert.equal(o.kubeApiBurst, 80);
  const off = parseControllerArgs(['--allow-internal-notification-urls', 'false']);
  assert.ok(off !== 'help' && off.allowInternalNotificationUrls === false);
  assert.throws(() => parseControllerArgs(['--allowed-prometheus-url', 'prometheus:9090']), /--allowed-prometheus-url: expected an http\(s\) URL/);
  assert.throws(() => parseControllerArgs(['--kube-api-burst', '0']), /--kube-api-burst/);
});
