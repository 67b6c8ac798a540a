/**
 * Leader election with real controller processes (`src/main.ts`) on the shared cluster:
 * kill -9 the leader and the standby takes over once the lease expires; SIGTERM the
 * leader and it hands the lease over at once. Prints the measured takeover times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lease } from '../../../src/runtime/kinds.ts';
import type { LeaseObject } from '../../../src/runtime/leader-election.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Connect at file level: testCluster() registers the admin client's close with `after`,
// which inside a test would run before the namespace cleanup that still needs it.
const cluster = await testCluster();

interface ControllerProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  identity(): string | undefined;
  port(): number | undefined;
  exited: Promise<number | null>;
}

/** Starts `src/main.ts` with no controllers (the election is what is tested), on any free port. */
function startController(kubeconfig: string, ns: string): ControllerProcess {
  const child = spawn(
    process.execPath,
    ['src/main.ts', '--kubeconfig', kubeconfig, '--namespace', ns, '--lease-name', 'le-test', '--controllers=', '--http-port', '0'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
      nl = buffered.indexOf('\n');
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    identity: () => lines.find((l) => typeof l.identity === 'string')?.identity as string | undefined,
    port: () => lines.find((l) => l.msg === 'http listening')?.port as number | undefined,
    exited,
  };
}

test('leader election: kill -9 the leader and the standby takes over; SIGTERM hands over at once', { timeout: 180_000 }, async (t) => {
  const ns = await testNamespace(t);
  const all: ControllerProcess[] = [];
  t.after(() => {
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });
  const holder = async (): Promise<string | undefined> =>
    (await cluster.admin.get<LeaseObject>(Lease, ns, 'le-test'))?.spec?.holderIdentity ?? undefined;

  const a = startController(cluster.kubeconfigPath, ns);
  all.push(a);
  await waitFor(() => a.lines.some((l) => l.msg === 'started leading'), { describe: 'a leading' });
  const b = startController(cluster.kubeconfigPath, ns);
  all.push(b);
  await waitFor(() => b.port() && b.lines.some((l) => l.msg === 'campaigning for the lease'), { describe: 'b campaigning' });
  assert.equal(await holder(), a.identity());
  // A standby is ready: it is doing its job.
  const readyz = await fetch(`http://127.0.0.1:${b.port()}/readyz`);
  assert.equal(readyz.status, 200);
  assert.ok(!b.lines.some((l) => l.msg === 'started leading'), 'b waits');
  const metrics = await (await fetch(`http://127.0.0.1:${a.port()}/metrics`)).text();
  assert.match(metrics, /codedance_leader\{lease="[^"]+\/le-test"\} 1/);

  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  await waitFor(async () => (await holder()) === b.identity(), { timeoutMs: 40_000, intervalMs: 100, describe: 'b holding the lease' });
  const takeoverMs = Date.now() - killedAt;
  console.log(`leader takeover after kill -9: ${(takeoverMs / 1000).toFixed(1)}s (lease duration 15s, retry period 2s)`);
  assert.ok(takeoverMs >= 10_000, 'not before the lease could have expired');

  const c = startController(cluster.kubeconfigPath, ns);
  all.push(c);
  await waitFor(() => c.lines.some((l) => l.msg === 'campaigning for the lease'), { describe: 'c campaigning' });
  const termAt = Date.now();
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0, 'a clean shutdown exits 0');
  assert.ok(b.lines.some((l) => l.msg === 'lease released'));
  await waitFor(async () => (await holder()) === c.identity(), { timeoutMs: 20_000, intervalMs: 100, describe: 'c holding the lease' });
  const handoffMs = Date.now() - termAt;
  console.log(`leader handoff after SIGTERM: ${(handoffMs / 1000).toFixed(1)}s`);
  assert.ok(handoffMs < 10_000, 'a released lease is taken without waiting for it to expire');

  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});
