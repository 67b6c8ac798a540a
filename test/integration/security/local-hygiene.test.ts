/**
 * Process hygiene of the local control plane: every component (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok, Prometheus) and the traffic simulator
 * listens on loopback only, and the state and log folders are readable by their owner
 * only (0700).
 *
 * The listening sockets are read from the kernel (/proc/<pid>/fd and /proc/net/tcp{,6}),
 * not from the flags we pass, so a port a component opens on its own is seen too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readClusterState } from '../../../src/cluster/state.ts';
import { testCluster, waitFor } from '../../support/cluster.ts';

const cluster = await testCluster();
const repo = join(import.meta.dirname, '..', '..', '..');

/** Linux only: /proc is where the truth is. */
const linux = process.platform === 'linux';

/** `127.0.0.1:port`, `[::1]:port`, `0.0.0.0:port`... from /proc/net/tcp's hex form. */
function address(hex: string, v6: boolean): string {
  const [ip = '', port = ''] = hex.split(':');
  const portNumber = parseInt(port, 16);
  if (!v6) {
    const bytes = (ip.match(/../g) ?? []).map((b) => parseInt(b, 16)).reverse();
    return `${bytes.join('.')}:${portNumber}`;
  }
  // Four little-endian 32-bit words.
  const words = (ip.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(''));
  const groups = words.join('').match(/.{4}/g) ?? [];
  const text = groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
  return `[${text.toLowerCase()}]:${portNumber}`;
}

/** Every TCP socket in LISTEN state, by inode. */
function listeningSockets(): Map<string, string> {
  const byInode = new Map<string, string>();
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue; // 0A = LISTEN
      byInode.set(fields[9]!, address(fields[1]!, v6));
    }
  }
  return byInode;
}

/** The addresses `pid` listens on. */
function listensOn(pid: number): string[] {
  const sockets = listeningSockets();
  const found: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const listening = inode ? sockets.get(inode) : undefined;
    if (listening) found.push(listening);
  }
  return [...new Set(found)].sort();
}

const loopback = (addr: string): boolean =>
  addr.startsWith('127.') || addr.startsWith('[0:0:0:0:0:0:0:1]') || addr.startsWith('[0:0:0:0:0:ffff:7f');

test('every component of the local control plane listens on loopback only', {
  skip: !linux && 'needs /proc',
}, async (t) => {
  const state = await readClusterState(cluster.stateDir);
  assert.ok(state, `no cluster.json in ${cluster.stateDir}`);
  const report: string[] = [];
  for (const [name, component] of Object.entries(state.components)) {
    const addresses = listensOn(component.pid);
    report.push(`${name} (pid ${component.pid}): ${addresses.join(', ') || 'nothing'}`);
    assert.ok(
      addresses.length > 0,
      `${name} listens on nothing we can see (pid ${component.pid}): is it running?`,
    );
    assert.deepEqual(
      addresses.filter((a) => !loopback(a)),
      [],
      `${name} listens beyond loopback: ${addresses.join(', ')}`,
    );
  }
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
    assert.ok(state.components[name as keyof typeof state.components], `${name} is recorded in cluster.json`);
  }
  t.diagnostic(report.join('\n'));
});

test('the traffic simulator listens on loopback only', { skip: !linux && 'needs /proc' }, async (t) => {
  const child = spawn(
    process.execPath,
    [
      join(repo, 'src', 'sim', 'main.ts'),
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--port',
      '0',
      '--namespace',
      'default',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitFor(() => output.includes('simulator listening'), {
    describe: 'the simulator to listen',
    timeoutMs: 30_000,
  });
  const addresses = listensOn(child.pid!);
  assert.ok(addresses.length > 0, `the simulator listens on nothing we can see: ${output}`);
  assert.deepEqual(
    addresses.filter((a) => !loopback(a)),
    [],
    `the simulator listens beyond loopback: ${addresses.join(', ')}`,
  );
});

test('state and log folders are readable by their owner only (0700)', async () => {
  const folders = [
    '.',
    'logs',
    'pki',
    'apiserver-certs',
    'kwok',
    'prometheus',
    'prometheus/targets',
    'prometheus/data',
  ];
  const modes = folders.map((folder) => {
    const path = join(cluster.stateDir, folder);
    return `${folder} ${(statSync(path).mode & 0o777).toString(8)}`;
  });
  assert.deepEqual(
    modes,
    folders.map((folder) => `${folder} 700`),
  );
});
