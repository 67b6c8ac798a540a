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
