/**
 * What an integration test needs to run Codedance on the shared test cluster, in one
 * place: its API installed (the CRDs of deploy/crds, the third-party CRDs the providers
 * edit, the controller's ClusterRole bound to the controller identity) and its
 * controller as a process, run as a user runs it (`node src/main.ts --namespace <ns>`).
 * Polling is `waitFor` of ./cluster.ts; nothing here sleeps for a fixed time.
 *
 * Every installer is idempotent and runs once per test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CRD_DIR, repoRoot } from '../../src/api/gen.ts';
import { dashboardManifests, DASHBOARD_ROLE, rbacManifests } from '../../src/api/manifests.ts';
import { controllerUser } from '../../src/cluster/credentials.ts';
import { ensureThirdPartyCrds } from '../../src/cluster/crds.ts';
import { codedanceHome, crdDir } from '../../src/cluster/paths.ts';
import { gatewayApiVersion } from '../../src/cluster/versions.ts';
import { KubeApiError, type KubeClient, type KubeObject } from '../../src/runtime/client.ts';
import * as kinds from '../../src/runtime/kinds.ts';
import { testCluster, waitFor, type NamespaceOwner } from './cluster.ts';

const fieldManager = 'codedance-tests';

/** A CustomResourceDefinition as far as installing it needs. */
export interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

// ---------------------------------------------------------------------------------------
// The API: CRDs and RBAC

let api: Promise<void> | undefined;
let traffic: Promise<void> | undefined;
let dashboard: Promise<void> | undefined;

/**
 * The project's CRDs as generated into deploy/crds (what users install) and the
 * controller's ClusterRoles bound to the controller identity (user `codedance-controller`).
 */
export function installApi(admin: KubeClient): Promise<void> {
  api ??= (async () => {
    const crds: Crd[] = [];
    for (const file of readdirSync(join(repoRoot, CRD_DIR)).filter((f) => f.endsWith('.yaml'))) {
      crds.push(...crdsIn(readFileSync(join(repoRoot, CRD_DIR, file), 'utf8')));
    }
    await applyCrds(admin, crds, { replace: true });
    await bindClusterRoles(admin, rbacManifests(), 'codedance-controller', 'codedance-controller-tests');
  })().catch(forget(() => (api = undefined)));
  return api;
}

/**
 * The Istio and Gateway API CRDs (taken from their pinned Go modules into
 * `$CODEDANCE_HOME/crds`, as `npm test` does), only those missing, each Established.
 */
export function ensureTrafficCrds(admin: KubeClient): Promise<void> {
  traffic ??= (async () => {
    const crds: Crd[] = [];
    for (const file of await ensureThirdPartyCrds()) crds.push(...crdsIn(await readFile(file, 'utf8')));
    await applyCrds(admin, crds, { replace: false });
  })().catch(forget(() => (traffic = undefined)));
  return traffic;
}

let tcpRoute: Promise<void> | undefined;
/**
 * The Gateway API's TCPRoute CRD, from its experimental channel (which `npm test` does not
 * install: only this CRD, so the HTTPRoute and GRPCRoute of the standard channel stay).
 */
export function ensureTcpRouteCrd(admin: KubeClient): Promise<void> {
  tcpRoute ??= (async () => {
    await ensureThirdPartyCrds();
    const dir = join(crdDir(codedanceHome(), 'gateway-api', gatewayApiVersion), 'experimental');
    const file = readdirSync(dir, { recursive: true, encoding: 'utf8' }).find((f) =>
      basename(f).startsWith('tcproutes.'),
    );
    if (!file) throw new Error(`no TCPRoute CRD in ${dir}`);
    const crds = crdsIn(await readFile(join(dir, file), 'utf8'));
    await applyCrds(admin, crds, { replace: false });
    // A version new to a group is served a moment after the CRD is Established (its
    // APIService is registered by the API server's own controller): until then, 404.
    await waitFor(
      () =>
        admin.list(kinds.TCPRoute, { namespace: 'default' }).then(
          () => true,
          () => false,
        ),
      {
        describe: 'the TCPRoute API served',
        timeoutMs: 60_000,
      },
    );
  })().catch(forget(() => (tcpRoute = undefined)));
  return tcpRoute;
}

/** {@link installApi}, plus the dashboard's ClusterRole bound to the controller identity (as deploy/dashboard.yaml binds it to the ServiceAccount). */
export function installDashboardApi(admin: KubeClient): Promise<void> {
  dashboard ??= (async () => {
    await installApi(admin);
    await bindClusterRoles(admin, dashboardManifests(), DASHBOARD_ROLE, `${DASHBOARD_ROLE}-tests`);
  })().catch(forget(() => (dashboard = undefined)));
  return dashboard;
}

/** Waits until the CRD `name` is Established, so the first request for its kind succeeds. */
export async function crdEstablished(admin: KubeClient, name: string): Promise<void> {
  await waitFor(
    async () =>
      (await admin.get<Crd>(kinds.CustomResourceDefinition, undefined, name))?.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      ),
    { timeoutMs: 30_000, describe: `CRD ${name} Established` },
  );
}

function crdsIn(text: string): Crd[] {
  const out: Crd[] = [];
  for (const doc of parseAllDocuments(text)) {
    const object: Crd | null = doc.toJS();
    if (object?.kind === 'CustomResourceDefinition' && object.metadata?.name) out.push(object);
  }
  return out;
}

/** Applies `crds` (`replace: false`: only those missing) and waits until each is Established. */
async function applyCrds(admin: KubeClient, crds: Crd[], options: { replace: boolean }): Promise<void> {
  await Promise.all(
    crds.map(async (crd) => {
      const name = crd.metadata.name ?? '';
      // A CRD already there (installed by npm test or another suite) is left as it is.
      if (options.replace || !(await admin.get(kinds.CustomResourceDefinition, undefined, name))) {
        try {
          await admin.apply(kinds.CustomResourceDefinition, crd, { fieldManager });
        } catch (err) {
          // Some API server versions estimate a messageExpression's cost over budget; the
          // rules themselves (and their static messages) are what releases depend on.
          if (!(err instanceof KubeApiError) || !err.message.includes('messageExpression')) {
            throw new Error(
              `installing CRD ${name} failed (npm test installs every CRD; on a dev cluster apply deploy/crds and $CODEDANCE_HOME/crds): ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
          }
          await admin.apply(kinds.CustomResourceDefinition, withoutMessageExpressions(crd), { fieldManager });
        }
      }
      await crdEstablished(admin, name);
    }),
  );
}

/** Applies the ClusterRoles among `manifests` and binds `role` to the controller identity. */
async function bindClusterRoles(
  admin: KubeClient,
  manifests: object[],
  role: string,
  binding: string,
): Promise<void> {
  for (const obj of manifests) {
    if (isKubeObject(obj) && obj.kind === 'ClusterRole')
      await admin.apply(kinds.ClusterRole, obj, { fieldManager });
  }
  const roleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: binding },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: controllerUser }],
  };
  await admin.apply(kinds.ClusterRoleBinding, roleBinding, { fieldManager });
}

function isKubeObject(value: object): value is KubeObject {
  return 'metadata' in value;
}

function withoutMessageExpressions<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutMessageExpressions(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    if (key !== 'messageExpression') out[key] = withoutMessageExpressions(v);
  return out as T;
}

/** A failed install is tried again by the next caller, not remembered. */
function forget(reset: () => void): (err: unknown) => never {
  return (err) => {
    reset();
    throw err;
  };
}

// ---------------------------------------------------------------------------------------
// The controller process

/** A running controller process. */
export interface ControllerProcess {
  child: ChildProcess;
  /** Every log line so far (JSON text). */
  lines: string[];
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  /** The value of `field` in the first log line that has it (and whose `msg` is `msg`, when given): e.g. `logged('port', 'http listening')`. */
  logged(field: string, msg?: string): unknown;
}

/** How {@link startController} runs `src/main.ts`. */
export interface ControllerOptions {
  /** `--namespace`, repeated. */
  namespaces: string[];
  /** `--controllers`; empty runs none (e.g. to test leader election alone). */
  controllers: string[];
  /** Extra flags (e.g. `--dashboard-port 0`, `--leader-elect true --lease-name x`). */
  args?: string[];
  env?: Record<string, string>;
  /** @default the cluster's controller kubeconfig (the shipped ClusterRole's rights) */
  kubeconfig?: string;
  /** `--leader-elect`. @default false */
  leaderElect?: boolean;
  /** Wait until every controller logged `controller started` (with none: until HTTP listens). @default true */
  waitStarted?: boolean;
}

/**
 * Starts `src/main.ts` (leader election off, HTTP on any port, debug logs, the run's
 * Prometheus), waits until its controllers started, and stops it (SIGTERM, drained;
 * SIGKILL after 15s) when the test ends.
 */
export async function startController(
  t: NamespaceOwner,
  options: ControllerOptions,
): Promise<ControllerProcess> {
  const cluster = await testCluster();
  const args = [
    join(repoRoot, 'src', 'main.ts'),
    '--kubeconfig',
    options.kubeconfig ?? (cluster.controllerKubeconfigPath || cluster.kubeconfigPath),
    ...options.namespaces.flatMap((ns) => ['--namespace', ns]),
    `--leader-elect=${options.leaderElect === true}`,
    '--http-port',
    '0',
    `--controllers=${options.controllers.join(',')}`,
    '--log-level',
    'debug',
  ];
  if (cluster.prometheusUrl) args.push('--prometheus-url', cluster.prometheusUrl);
  args.push(...(options.args ?? []));
  // process.execPath: the Node this test runs on (the project's, not the machine's).
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer): void => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code]: unknown[]) => (typeof code === 'number' ? code : null));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
  const logged = (field: string, msg?: string): unknown => {
    for (const line of lines) {
      if (!line.includes(`"${field}":`) || (msg !== undefined && !line.includes(`"msg":"${msg}"`))) continue;
      try {
        const parsed: Record<string, unknown> = JSON.parse(line);
        if (parsed[field] !== undefined) return parsed[field];
      } catch {
        // not a JSON log line
      }
    }
    return undefined;
  };
  const controller = { child, lines, exited, logged };
  if (options.waitStarted === false) return controller;
  const started = options.controllers.length;
  await waitFor(
    () => {
      if (child.exitCode !== null)
        throw new Error(`controller exited with ${child.exitCode}: ${lines.slice(-5).join('\n')}`);
      return (
        lines.filter((l) => l.includes('"controller started"')).length >= started &&
        (started > 0 || lines.some((l) => l.includes('"http listening"')))
      );
    },
    { timeoutMs: 60_000, describe: 'the controller process to start its controllers' },
  ).catch((err: unknown) => {
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\n--- controller log ---\n${lines.slice(-20).join('\n')}`,
    );
  });
  return controller;
}

/** Lines of a controller log that report reconcile errors, for assertion messages. */
export function errorLines(controller: ControllerProcess): string {
  return controller.lines
    .filter((l) => /"level":"(warn|error|fatal)"/.test(l))
    .slice(-10)
    .join('\n');
}

/** Kills the controller without letting it finish anything (kill -9) and waits until it is gone. */
export async function killHard(controller: ControllerProcess): Promise<void> {
  if (controller.child.exitCode !== null || controller.child.signalCode !== null) return;
  controller.child.kill('SIGKILL');
  await controller.exited;
}

/** With CANARY_LOG=<file>, writes the controller's log there when the test ends (for timings). */
export function keepLog(t: NamespaceOwner, controller: ControllerProcess | undefined): void {
  const file = process.env.CANARY_LOG;
  if (file && controller) t.after(() => writeFileSync(file, controller.lines.join('\n')));
}
