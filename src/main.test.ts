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
  const o = parseControllerArgs([
    '--namespace',
    'a',
    '-n',
    'b',
    '--leader-elect',
    '--http-port',
    '0',
    '--lease-name',
    'x',
  ]);
  assert.ok(o !== 'help');
  assert.deepEqual(o.namespaces, ['a', 'b']);
  assert.equal(o.leaseNamespace, 'a');
  assert.equal(o.httpPort, 0);
  assert.equal(o.leaderElect, true);
  assert.equal(
    parseControllerArgs(['--leader-elect=false']) !== 'help' &&
      (parseControllerArgs(['--leader-elect=false']) as { leaderElect: boolean }).leaderElect,
    false,
  );
  assert.throws(() => parseControllerArgs(['--controllers', 'nope']), /unknown controller 'nope'/);
  assert.throws(() => parseControllerArgs(['--log-level', 'loud']), /--log-level/);
});

test('flags: listeners bind loopback unless told; the dashboard is off unless asked, on its own port', () => {
  const o = parseControllerArgs([]);
  assert.ok(o !== 'help');
  assert.equal(o.bindAddress, '127.0.0.1');
  assert.equal(o.dashboardPort, undefined);
  const on = parseControllerArgs(['--dashboard', 'true', '--bind-address', '0.0.0.0']);
  assert.ok(on !== 'help');
  assert.equal(on.dashboardPort, 8081);
  assert.equal(on.bindAddress, '0.0.0.0');
  const port = parseControllerArgs(['--dashboard-port', '9443']);
  assert.ok(port !== 'help');
  assert.equal(port.dashboardPort, 9443);
  assert.throws(
    () => parseControllerArgs(['--dashboard', 'false', '--dashboard-port', '9443']),
    /contradicts/,
  );
  assert.throws(() => parseControllerArgs(['--dashboard-port', '8080']), /must differ from --http-port/);
  assert.throws(() => parseControllerArgs(['--dashboard', 'maybe']), /--dashboard: expected true or false/);
  const tls = parseControllerArgs([
    '--dashboard-port',
    '8443',
    '--dashboard-tls-cert',
    'c.pem',
    '--dashboard-tls-key',
    'k.pem',
  ]);
  assert.ok(tls !== 'help');
  assert.deepEqual(tls.dashboardTls, { certFile: 'c.pem', keyFile: 'k.pem' });
  assert.throws(
    () => parseControllerArgs(['--dashboard-port', '8443', '--dashboard-tls-cert', 'c.pem']),
    /go together/,
  );
  assert.throws(
    () => parseControllerArgs(['--dashboard-tls-cert', 'c.pem', '--dashboard-tls-key', 'k.pem']),
    /the dashboard is off/,
  );
});

test('flags: allowed Prometheus URLs, internal notification URLs, API rate limits', () => {
  const defaults = parseControllerArgs([]);
  assert.ok(defaults !== 'help');
  assert.deepEqual(defaults.allowedPrometheusUrls, []);
  assert.equal(defaults.allowInternalNotificationUrls, false);
  assert.equal(defaults.kubeApiQps, 200);
  assert.equal(defaults.kubeApiBurst, 400);
  assert.equal(defaults.releaseWorkers, 64);
  const o = parseControllerArgs([
    '--release-workers',
    '8',
    '--allowed-prometheus-url',
    'http://a:9090',
    '--allowed-prometheus-url=https://b/prom',
    '--allow-internal-notification-urls',
    '--kube-api-qps',
    '50',
    '--kube-api-burst',
    '80',
  ]);
  assert.ok(o !== 'help');
  assert.deepEqual(o.allowedPrometheusUrls, ['http://a:9090', 'https://b/prom']);
  assert.equal(o.allowInternalNotificationUrls, true);
  assert.equal(o.kubeApiQps, 50);
  assert.equal(o.kubeApiBurst, 80);
  assert.equal(o.releaseWorkers, 8);
  for (const bad of ['0', '2.5', 'many'])
    assert.throws(() => parseControllerArgs(['--release-workers', bad]), /--release-workers/);
  const off = parseControllerArgs(['--allow-internal-notification-urls', 'false']);
  assert.ok(off !== 'help' && off.allowInternalNotificationUrls === false);
  assert.throws(
    () => parseControllerArgs(['--allowed-prometheus-url', 'prometheus:9090']),
    /--allowed-prometheus-url: expected an http\(s\) URL/,
  );
  assert.throws(() => parseControllerArgs(['--kube-api-burst', '0']), /--kube-api-burst/);
});

test('flags: --audit-sink is parsed, and a bad one is refused naming the flag', () => {
  const none = parseControllerArgs([]);
  assert.ok(none !== 'help');
  assert.equal(none.auditSink, undefined);
  const file = parseControllerArgs(['--audit-sink', 'file:/var/log/audit.jsonl']);
  assert.ok(file !== 'help');
  assert.deepEqual(file.auditSink, { kind: 'file', path: '/var/log/audit.jsonl' });
  assert.throws(() => parseControllerArgs(['--audit-sink', 'syslog']), /--audit-sink: expected stdout/);
});
