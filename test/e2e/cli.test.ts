/**
 * The `codedance` command end to end, as a user runs it (bin/codedance, the admin
 * kubeconfig through KUBECONFIG) against a controller on the real control plane:
 * Manual promotion step by step, abort and retry, pause and resume, `status --watch`
 * until the release ends, and the exit codes of mistakes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPaths } from '../../src/cluster/build.ts';
import { testCluster } from '../support/cluster.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  waitFor,
  waitPhase,
} from '../integration/canary/support.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'codedance');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` to its exit, collecting its output. */
function runToExit(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function codedance(...args: string[]): Promise<Run> {
  const { kubeconfigPath } = await testCluster();
  return runToExit(bin, args, { ...process.env, KUBECONFIG: kubeconfigPath });
}

test('Manual release promoted through the CLI, step by step; mistakes exit non-zero with a reason', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { type: 'Manual', steps: [{ weight: 30 }, { weight: 70 }] },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.stepLabel === '1/2', {
    describe: 'step 1 reached',
    timeoutMs: 60_000,
  });

  const get = await codedance('get', '-n', ns);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /NAME\s+PHASE\s+STEP\s+WEIGHT/);
  assert.match(get.stdout, /myapp\s+Progressing\s+1\/2\s+30%\s+Manual\s+myapp:v2/);
  const all = await codedance('get', '-A');
  assert.match(all.stdout, new RegExp(`${ns}\\s+myapp\\s+Progressing`));

  const status = await codedance('status', 'myapp', '-n', ns);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /▶\s+1\s+30%\s+until promoted\s+← 30% live/);
  assert.match(status.stdout, /waiting for approval/);

  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal((await getRelease(admin, ns, 'myapp'))?.status?.currentStepIndex, 0, 'a Manual step waits');

  const p1 = await codedance('promote', 'myapp', '-n', ns);
  assert.equal(p1.code, 0, p1.stderr);
  assert.match(p1.stdout, /promote sent to "myapp": Progressing, step 2\/2, weight 70%/);
  const p2 = await codedance('promote', 'myapp', '-n', ns);
  assert.equal(p2.code, 0, p2.stderr);
  await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');

  const late = await codedance('promote', 'myapp', '-n', ns);
  assert.equal(late.code, 1);
  assert.match(late.stderr, /is Completed: nothing to promote/);
  const missing = await codedance('promote', 'nope', '-n', ns);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /CanaryDeployment "nope" not found in namespace/);
  const usage = await codedance('promote');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /missing the release NAME/);
  const badFlag = await codedance('abort', 'myapp', '--full');
  assert.equal(badFlag.code, 2);
});

test('abort rolls back and says so; retry starts again; promote --full skips to the end', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 4 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitFor(async () => (await getDeployment(admin, ns, 'myapp-canary'))?.spec?.replicas === 2, {
    describe: 'canary at 2 of 4',
    timeoutMs: 60_000,
  });

  const abort = await codedance('abort', 'myapp', '-n', ns);
  assert.equal(abort.code, 0, abort.stderr);
  assert.match(abort.stdout, /Failed/);
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed');
  assert.equal(failed.status?.reason, 'Aborted');
  assert.equal((await getDeployment(admin, ns, 'myapp'))?.spec?.replicas, 4, 'traffic back on stable');
  const again = await codedance('abort', 'myapp', '-n', ns);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already Failed/);

  const retry = await codedance('retry', 'myapp', '-n', ns);
  assert.equal(retry.code, 0, retry.stderr);
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.phase === 'Progressing', {
    describe: 'Progressing again',
    timeoutMs: 60_000,
  });
  const full = await codedance('promote', 'myapp', '-n', ns, '--full');
  assert.equal(full.code, 0, full.stderr);
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 60_000);
  const events = (done.status?.history ?? []).map((h) => h.event);
  assert.deepEqual(
    events.filter((e) => ['Started', 'Aborted', 'Retried', 'Promoting', 'Completed'].includes(e)),
    ['Started', 'Aborted', 'Retried', 'Promoting', 'Completed'],
  );
});

test('pause and resume; status --watch follows the release until it ends', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '1s' },
      ],
    },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.phase === 'Progressing', {
    describe: 'Progressing',
    timeoutMs: 60_000,
  });
  const watch = codedance('status', 'myapp', '-n', ns, '--watch');
  const pause = await codedance('pause', 'myapp', '-n', ns);
  assert.equal(pause.code, 0, pause.stderr);
  assert.match(pause.stdout, /paused: Paused/);
  const retry = await codedance('retry', 'myapp', '-n', ns);
  assert.equal(retry.code, 1, 'retry is for Failed releases');
  const resume = await codedance('resume', 'myapp', '-n', ns);
  assert.equal(resume.code, 0, resume.stderr);
  assert.match(resume.stdout, /Progressing/);
  const notPaused = await codedance('resume', 'myapp', '-n', ns);
  assert.equal(notPaused.code, 1);
  assert.match(notPaused.stderr, /is not paused/);
  const full = await codedance('promote', 'myapp', '-n', ns, '--full');
  assert.equal(full.code, 0, full.stderr);
  const watched = await watch;
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stdout, /⏸ Paused/);
  assert.match(watched.stdout, /✓ Completed/);
  assert.ok(watched.stdout.split(`${ns}/myapp`).length > 3, 're-rendered on changes');
});

test('kubectl codedance works from a PATH that holds only the plugin, as a kubectl plugin user has it', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  const { kubeconfigPath } = await testCluster();
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: { type: 'Manual', steps: [{ weight: 50 }] },
  });
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.stepLabel === '1/1', {
    describe: 'step 1 reached',
    timeoutMs: 60_000,
  });
  // kubectl finds plugins on PATH; here PATH is one folder holding nothing but the link.
  const pluginDir = await mkdtemp(join(tmpdir(), 'codedance-plugin-'));
  t.after(() => rm(pluginDir, { recursive: true, force: true }));
  await symlink(bin, join(pluginDir, 'kubectl-codedance'));
  const run = await runToExit(binaryPaths().kubectl, ['codedance', 'get', '-n', ns], {
    PATH: pluginDir,
    HOME: process.env.HOME ?? '/root',
    KUBECONFIG: kubeconfigPath,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /myapp\s+Progressing\s+1\/1\s+50%/);
});
