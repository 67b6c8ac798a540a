/**
 * `npm test`: everything, starting what it needs.
 *
 * 1. type check (`tsc -p .`), and of the console (`tsc -p web/tsconfig.json`), then its
 *    build (Vite, `web/` -> `dist/console/`; the browser tests load it);
 * 2. generated files up to date (`node src/api/gen.ts --check`, when that script exists),
 *    and lint + format check (`biome check`, rules in biome.json);
 * 3. unit tests (`src/**\/*.test.ts`, no cluster);
 * 4. one isolated control plane + Prometheus for this run, in a temporary state dir
 *    (binaries from the shared cache under $CODEDANCE_HOME, built if missing), with the
 *    Istio and Gateway API CRDs (from their pinned Go modules, cached under
 *    $CODEDANCE_HOME/crds), deploy/crds/*.yaml and deploy/rbac.yaml installed and the
 *    shipped ClusterRole bound to user `codedance-controller`;
 * 5. integration and end-to-end tests (`test/integration/**`, `test/e2e/**`), three files
 *    at a time, then the `*.serial.test.ts` files (those that restart a component or
 *    compact etcd) one at a time, with CODEDANCE_TEST_KUBECONFIG, CODEDANCE_TEST_CONTROLLER_KUBECONFIG,
 *    CODEDANCE_TEST_PROMETHEUS_URL and CODEDANCE_TEST_STATE_DIR set;
 * 6. tear-down, always (also on Ctrl-C); exit code 1 if anything failed.
 *
 * Usage:
 *   npm test                                   everything
 *   npm test -- --unit                         steps 1-3 only
 *   npm test -- test/integration/x.test.ts     only these files (a cluster if any needs one)
 *   npm test -- --keep ...                     leave the cluster running afterwards
 *
 * The cluster starts in the background while the type check and unit tests run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, matchesGlob, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { binariesReady } from '../src/cluster/build.ts';
import { startCluster, stopCluster, type ClusterState } from '../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds, formatCrdProgress } from '../src/cluster/crds.ts';
import { installCodedance } from '../src/cluster/install.ts';
import { codedanceHome } from '../src/cluster/paths.ts';
import { closeProbes } from '../src/cluster/probe.ts';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const started = Date.now();
const results: { step: string; ok: boolean; detail: string }[] = [];
let current: ChildProcess | undefined;
let interrupted = false;

function log(message: string): void {
  console.log(`[test ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);
}

/** Runs a command with inherited output; resolves with its exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd: repo, env, stdio: 'inherit' });
    current = child;
    child.on('error', (err) => {
      console.error(`cannot run ${command}: ${err.message}`);
      resolveRun(127);
    });
    child.on('close', (code, signal) => {
      current = undefined;
      resolveRun(code ?? (signal ? 128 : 1));
    });
  });
}

/**
 * The files under the patterns' folders that match them. A recursive readdir and
 * `matchesGlob`, not `fs.glob`: under load the latter was seen to return a few files short,
 * and a test file missed is a test that silently did not run.
 */
async function files(patterns: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const root = pattern.slice(0, pattern.indexOf('*')).replace(/\/$/, '');
    const entries = await readdir(join(repo, root), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = relative(repo, join(entry.parentPath, entry.name));
      if (!file.split(sep).includes('node_modules') && matchesGlob(file, pattern)) found.add(file);
    }
  }
  return [...found].sort();
}

/** Prints the `# tests/pass/fail` lines of a TAP report and returns the failure count. */
async function tapSummary(
  step: string,
  tapFile: string,
): Promise<{ pass: number; fail: number } | undefined> {
  const text = await readFile(tapFile, 'utf8').catch(() => '');
  const pick = (name: string): number | undefined => {
    const matches = [...text.matchAll(new RegExp(`^# ${name} ([\\d.]+)$`, 'gm'))];
    const last = matches.at(-1);
    return last ? Number(last[1]) : undefined;
  };
  const pass = pick('pass');
  const fail = pick('fail');
  if (pass === undefined || fail === undefined) return undefined;
  console.log(`\n${step} summary:`);
  for (const name of ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms']) {
    const value = pick(name);
    if (value !== undefined) console.log(`# ${name} ${value}`);
  }
  return { pass, fail };
}

/** `node --test` over `testFiles`: spec output live, TAP to a file for the summary. */
async function nodeTest(
  step: string,
  testFiles: string[],
  extraArgs: string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (interrupted) return;
  if (testFiles.length === 0) {
    log(`${step}: no test files`);
    results.push({ step, ok: true, detail: 'no files' });
    return;
  }
  const tapFile = join(tmpdir(), `codedance-${step.replace(/\W+/g, '-')}-${process.pid}.tap`);
  log(`${step}: ${testFiles.length} files`);
  const code = await run(
    process.execPath,
    [
      '--test',
      ...extraArgs,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...testFiles,
    ],
    env,
  );
  const summary = await tapSummary(step, tapFile);
  await rm(tapFile, { force: true });
  results.push({
    step,
    ok: code === 0,
    detail: summary ? `pass ${summary.pass}, fail ${summary.fail}` : `exit ${code}`,
  });
}

async function step(name: string, command: string, args: string[]): Promise<void> {
  log(`${name}: ${[command, ...args].map((a) => relative(repo, a) || a).join(' ')}`);
  const code = await run(command, args);
  results.push({ step: name, ok: code === 0, detail: code === 0 ? 'ok' : `exit ${code}` });
}

/** Starts the run's cluster and installs the CRDs and RBAC the tests expect. */
async function prepareCluster(stateDir: string): Promise<ClusterState> {
  if (!(await binariesReady()))
    log(
      'control-plane binaries or Prometheus are not cached yet: building them (a cold build takes 10-25 minutes)',
    );
  // Fetched (once, from the Go module proxy) while the control plane starts.
  const crds = ensureThirdPartyCrds({ onProgress: (progress) => log(formatCrdProgress(progress)) });
  crds.catch(() => {});
  const { state } = await startCluster({ stateDir, onProgress: (line) => log(`cluster ${line}`) });
  if (interrupted) return state;
  const thirdParty = await crds;
  const { objects, roles } = await installCodedance(state, thirdParty);
  log(
    `installed ${objects} objects (${thirdParty.length} third-party CRD files, deploy/crds, deploy/rbac.yaml); bound ClusterRole ${roles.join(', ')} to user codedance-controller`,
  );
  return state;
}

/** Step 5: the tests that need the cluster, pointed at it through the environment. */
async function integration(state: ClusterState, testFiles: string[]): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CODEDANCE_TEST_KUBECONFIG: state.kubeconfigPath,
    CODEDANCE_TEST_CONTROLLER_KUBECONFIG: state.controllerKubeconfigPath,
    CODEDANCE_TEST_PROMETHEUS_URL: state.prometheusUrl ?? '',
    CODEDANCE_TEST_STATE_DIR: state.stateDir,
  };
  // A hung test must not eat CI's time budget: each test gets at most 10 minutes, and a
  // file that leaves a socket or timer open (a cluster client, a watch) must not hang the run
  // once its tests are done. Force-exit is for these files only: with it, Node's runner drops
  // some passing verdicts from its report under concurrency (nodejs/node#64833), which the
  // many fast unit files showed as runs counting tens of tests short.
  const limits = ['--test-timeout=600000', '--test-force-exit'];
  const serial = testFiles.filter((file) => file.endsWith('.serial.test.ts'));
  const parallel = testFiles.filter((file) => !serial.includes(file));
  if (parallel.length > 0)
    await nodeTest('integration tests', parallel, ['--test-concurrency=3', ...limits], env);
  // Tests that disrupt the shared control plane (restart the API server, compact etcd)
  // run afterwards, one file at a time, so they cannot break their neighbours.
  if (serial.length > 0 && !interrupted)
    await nodeTest('serial integration tests', serial, ['--test-concurrency=1', ...limits], env);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { unit: { type: 'boolean' }, keep: { type: 'boolean' } },
  });
  const selected = positionals.map((file) => relative(repo, resolve(file)));
  const unitFiles =
    selected.length > 0
      ? selected.filter((file) => file.startsWith('src/'))
      : await files(['src/**/*.test.ts']);
  const clusterFiles = values.unit
    ? []
    : selected.length > 0
      ? selected.filter((file) => !file.startsWith('src/'))
      : await files(['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts']);

  // The cluster comes up in the background while the checks and unit tests run.
  let stateDir: string | undefined;
  let cluster: Promise<ClusterState> | undefined;
  if (clusterFiles.length > 0) {
    stateDir = await mkdtemp(join(tmpdir(), 'codedance-test-'));
    cluster = prepareCluster(stateDir);
    cluster.catch(() => {});
  }

  let failedCluster = false;
  try {
    if (selected.length === 0) {
      await step('typecheck', join(repo, 'node_modules', '.bin', 'tsc'), ['-p', '.']);
      await step('console typecheck', join(repo, 'node_modules', '.bin', 'tsc'), ['-p', 'web/tsconfig.json']);
      await step('console build', process.execPath, ['scripts/build-console.ts']);
      if (existsSync(join(repo, 'src', 'api', 'gen.ts')))
        await step('generated files', process.execPath, ['src/api/gen.ts', '--check']);
      // Lint and format check (biome.json); `npx biome check --write` fixes what it can.
      const biome = join(repo, 'node_modules', '.bin', 'biome');
      if (!existsSync(biome))
        throw new Error('biome is not installed (package.json pins @biomejs/biome): run `npm install`');
      await step('lint', biome, ['check', '--error-on-warnings']);
    }
    if (!interrupted && (unitFiles.length > 0 || selected.length === 0)) {
      await nodeTest('unit tests', unitFiles, ['--test-concurrency=2'], process.env);
    }

    if (selected.length > 0 && clusterFiles.some((file) => file.startsWith('test/e2e/console/'))) {
      // The browser tests load the built console: build it when it is missing or stale.
      await step('console build', process.execPath, ['scripts/build-console.ts', '--if-stale']);
    }
    if (cluster && stateDir && !interrupted) {
      let state: ClusterState | undefined;
      try {
        state = await cluster;
      } catch (err) {
        failedCluster = true;
        results.push({ step: 'cluster', ok: false, detail: (err as Error).message });
        log(`cluster failed to start: ${(err as Error).message}`);
      }
      if (state && !interrupted) await integration(state, clusterFiles);
    }
  } finally {
    if (cluster && stateDir) {
      const failed = failedCluster || results.some((result) => !result.ok) || interrupted;
      if (values.keep) {
        log(
          `cluster left running (--keep): kubeconfig ${join(stateDir, 'admin.kubeconfig')}; stop it with: codedance cluster down --state-dir ${stateDir}`,
        );
      } else {
        await cluster.catch(() => {});
        await stopCluster(stateDir).catch((err: unknown) => log(`tear-down: ${(err as Error).message}`));
        if (failed) log(`cluster stopped; its logs are kept in ${stateDir}/logs/`);
        else await rm(stateDir, { recursive: true, force: true });
      }
    }
    await closeProbes();
  }

  console.log('\n=== npm test ===');
  for (const result of results)
    console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.step}: ${result.detail}`);
  if (interrupted) console.log('INTERRUPTED: the run was stopped before it finished');
  console.log(`total ${Math.round((Date.now() - started) / 1000)}s (CODEDANCE_HOME ${codedanceHome()})`);
  return results.every((result) => result.ok) && !interrupted ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the tests and tearing down (again to force)`);
    current?.kill('SIGTERM');
  });
}

process.exitCode = await main();
