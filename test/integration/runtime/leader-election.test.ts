/**
 * Leader election with real controller processes (`src/main.ts`) on the shared cluster:
 * kill -9 the leader and the standby takes over once the lease expires; SIGTERM the
 * leader and it hands the lease over at once. Prints the measured takeover times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from '../../../src/runtime/kinds.ts';
import type { LeaseObject } from '../../../src/runtime/leader-election.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import { startController, type ControllerProcess } from '../../support/controller.ts';

// Connect at file level: testCluster() registers the admin client's close with `after`,
// which inside a test would run before the namespace cleanup that still needs it.
const cluster = await testCluster();

/** `src/main.ts` with no controllers (the election is what is tested), elected on lease `le-test`, as admin. */
function elect(t: NamespaceOwner, ns: string): Promise<ControllerProcess> {
  return startController(t, {
    namespaces: [ns],
    controllers: [],
    leaderElect: true,
    args: ['--lease-name', 'le-test'],
    kubeconfig: cluster.kubeconfigPath,
    waitStarted: false,
  });
}

const port = (p: ControllerProcess): unknown => p.logged('port', 'http listening');
const identity = (p: ControllerProcess): unknown => p.logged('identity');

/** Whether the process logged `msg`. */
function said(p: ControllerProcess, msg: string): boolean {
  return p.lines.some((l) => l.includes(`"msg":"${msg}"`));
}

test('leader election: kill -9 the leader and the standby takes over; SIGTERM hands over at once', {
  timeout: 180_000,
}, async (t) => {
  const ns = await testNamespace(t);
  const holder = async (): Promise<string | undefined> =>
    (await cluster.admin.get<LeaseObject>(Lease, ns, 'le-test'))?.spec?.holderIdentity ?? undefined;

  const a = await elect(t, ns);
  await waitFor(() => said(a, 'started leading'), { describe: 'a leading' });
  const b = await elect(t, ns);
  await waitFor(() => port(b) && said(b, 'campaigning for the lease'), { describe: 'b campaigning' });
  assert.equal(await holder(), identity(a));
  // A standby is ready: it is doing its job.
  const readyz = await fetch(`http://127.0.0.1:${port(b)}/readyz`);
  assert.equal(readyz.status, 200);
  assert.ok(!said(b, 'started leading'), 'b waits');
  const metrics = await (await fetch(`http://127.0.0.1:${port(a)}/metrics`)).text();
  assert.match(metrics, /codedance_leader\{lease="[^"]+\/le-test"\} 1/);

  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  await waitFor(async () => (await holder()) === identity(b), {
    timeoutMs: 40_000,
    intervalMs: 100,
    describe: 'b holding the lease',
  });
  const takeoverMs = Date.now() - killedAt;
  console.log(
    `leader takeover after kill -9: ${(takeoverMs / 1000).toFixed(1)}s (lease duration 15s, retry period 2s)`,
  );
  assert.ok(takeoverMs >= 10_000, 'not before the lease could have expired');

  const c = await elect(t, ns);
  await waitFor(() => said(c, 'campaigning for the lease'), { describe: 'c campaigning' });
  const termAt = Date.now();
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0, 'a clean shutdown exits 0');
  assert.ok(said(b, 'lease released'));
  await waitFor(async () => (await holder()) === identity(c), {
    timeoutMs: 20_000,
    intervalMs: 100,
    describe: 'c holding the lease',
  });
  const handoffMs = Date.now() - termAt;
  console.log(`leader handoff after SIGTERM: ${(handoffMs / 1000).toFixed(1)}s`);
  assert.ok(handoffMs < 10_000, 'a released lease is taken without waiting for it to expire');

  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});
