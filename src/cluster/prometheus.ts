/**
 * A real Prometheus server for the local cluster, scraping whatever registers itself.
 *
 * Targets come from file-based service discovery: every `<stateDir>/prometheus/targets/*.json`
 * file is a list of target groups, so the simulator and the controller register an
 * endpoint by writing one file ({@link registerScrapeTarget}) and Prometheus picks it up
 * within a second, with no reload.
 *
 * The binary is the one built from the pinned module (`prometheusVersion` in
 * `versions.ts`) into `$CODEDANCE_HOME/bin/prometheus-<version>/` by `build.ts`, like the
 * rest of the control plane; nothing is taken from the system.
 */
import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { binaryPaths } from './build.ts';
import { codedanceHome, ensurePrivateDir } from './paths.ts';
import { freePort } from './ports.ts';
import { pollUntil, probe } from './probe.ts';
import { isRunning, startProcess } from './process.ts';
import type { ComponentState } from './state.ts';

export interface StartPrometheusOptions {
  stateDir: string;
  /** Scrape and rule evaluation interval (a Prometheus duration). @default '1s' (fast tests) */
  scrapeInterval?: string;
  /** Port on 127.0.0.1. @default a free one */
  port?: number;
  /** @default the cached build of the pinned version ({@link findPrometheus}) */
  binary?: string;
  /** How long to wait for /-/ready. @default 30000 */
  readyTimeoutMs?: number;
  /**
   * Folder under `stateDir` for this server's config, data and log. Another name starts a
   * second Prometheus beside the cluster's; it scrapes the same registered targets.
   * @default 'prometheus'
   */
  name?: string;
  /**
   * Serve HTTPS with this certificate and require basic auth, through Prometheus' own
   * `--web.config.file` (as a secured production Prometheus does). @default plain HTTP, no auth
   */
  web?: PrometheusWebSecurity;
}

/** TLS and basic auth of a Prometheus (`--web.config.file`). */
export interface PrometheusWebSecurity {
  /** PEM files of the serving certificate (for 127.0.0.1) and its key. */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle clients verify it with (used here for the readiness probe). */
  ca: string;
  /** One user: the password is checked against `bcryptHash` (Prometheus stores only bcrypt). */
  username: string;
  password: string;
  bcryptHash: string;
}

/** A started Prometheus: its URL and the process record for cluster.json. */
export interface StartedPrometheus {
  url: string;
  component: ComponentState;
}

/** Folders Prometheus uses under `stateDir`. */
export function prometheusPaths(
  stateDir: string,
  name = 'prometheus',
): { root: string; targets: string; data: string; config: string; webConfig: string; log: string } {
  const root = join(stateDir, name);
  return {
    root,
    // Every server scrapes the targets registered with the cluster's Prometheus.
    targets: join(stateDir, 'prometheus', 'targets'),
    data: join(root, 'data'),
    config: join(root, 'prometheus.yml'),
    webConfig: join(root, 'web.yml'),
    log: join(stateDir, 'logs', `${name}.log`),
  };
}

/** The cached Prometheus of the pinned version under `home`, or an error that says how to build it. */
export function findPrometheus(home: string = codedanceHome()): string {
  const binary = binaryPaths(home).prometheus;
  if (!existsSync(binary))
    throw new Error(`prometheus is not built yet (${binary} is missing): run 'npx codedance cluster build'`);
  return binary;
}

/** Starts Prometheus on loopback and waits until it is ready. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<StartedPrometheus> {
  const paths = prometheusPaths(options.stateDir, options.name);
  const interval = options.scrapeInterval ?? '1s';
  await ensurePrivateDir(paths.root);
  await ensurePrivateDir(paths.targets);
  await ensurePrivateDir(paths.data);
  await ensurePrivateDir(join(options.stateDir, 'logs'));
  const web = options.web;
  if (web) {
    await writeFile(
      paths.webConfig,
      stringify({
        tls_server_config: { cert_file: web.certFile, key_file: web.keyFile },
        basic_auth_users: { [web.username]: web.bcryptHash },
      }),
      { mode: 0o600 },
    );
  }
  await writeFile(
    paths.config,
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      scrape_configs: [
        {
          // A target group may set its own `job` label; this is the fallback.
          job_name: 'codedance',
          file_sd_configs: [{ files: [join(paths.targets, '*.json')], refresh_interval: '5s' }],
        },
      ],
    }),
  );
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? findPrometheus();
  const url = `${web ? 'https' : 'http'}://127.0.0.1:${port}`;
  const spec = {
    command: binary,
    args: [
      `--config.file=${paths.config}`,
      `--storage.tsdb.path=${paths.data}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
      ...(web ? [`--web.config.file=${paths.webConfig}`] : []),
    ],
    logPath: paths.log,
  };
  const pid = startProcess(spec);
  const component: ComponentState = {
    pid,
    port,
    spec,
    health: { urls: [`${url}/-/ready`] },
    startedAt: new Date().toISOString(),
  };
  let last = '';
  await pollUntil(
    `Prometheus on ${url}`,
    async () => {
      const result = await probe(
        `${url}/-/ready`,
        web ? { ca: web.ca, basicAuth: { username: web.username, password: web.password } } : {},
      );
      last = result.ok ? 'ready' : `${result.status} ${result.body.slice(0, 200)}`;
      return result.ok;
    },
    {
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      describe: () => `${last} (log: ${paths.log})`,
      abortIf: () =>
        isRunning(pid, binary) ? undefined : `prometheus exited; see ${paths.log} (port ${port} in use?)`,
    },
  );
  return { url, component };
}

function targetFile(stateDir: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(
      `scrape target name '${name}' must be letters, digits, '.', '_' or '-' (it becomes a file name)`,
    );
  }
  return join(prometheusPaths(stateDir).targets, `${name}.json`);
}

/**
 * Tells the cluster's Prometheus to scrape `hostPort` (e.g. `127.0.0.1:9100`, path
 * `/metrics`) with extra target labels (`job` included, if given). Replaces an earlier
 * registration of the same `name`.
 */
export async function registerScrapeTarget(
  stateDir: string,
  name: string,
  hostPort: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const path = targetFile(stateDir, name);
  await ensurePrivateDir(prometheusPaths(stateDir).targets);
  const temporary = `${path}.${process.pid}.tmp`;
  // Written aside and renamed: Prometheus watches the folder and must never read half a file.
  await writeFile(
    temporary,
    JSON.stringify([{ targets: [hostPort], labels: { job: name, ...labels } }], null, 2),
  );
  await rename(temporary, path);
}

/** Stops scraping what `name` registered (no error if it was never registered). */
export async function unregisterScrapeTarget(stateDir: string, name: string): Promise<void> {
  await rm(targetFile(stateDir, name), { force: true });
}
