/**
 * VictoriaMetrics single-node beside the local cluster's Prometheus: it scrapes the same
 * registered targets (`<stateDir>/prometheus/targets/*.json`, file service discovery in
 * Prometheus' own config format) and answers the Prometheus query API, so a release can
 * be pointed at it to check that the analysis works on a Prometheus-compatible store.
 *
 * The binary is built from its pinned module on first use (`ensureTools(['victoria-metrics'])`,
 * ./tools.ts); `codedance cluster build` does not build it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { ensurePrivateDir } from './paths.ts';
import { pollUntil, probe } from './probe.ts';
import { isRunning, startProcess } from './process.ts';
import { prometheusPaths } from './prometheus.ts';
import type { ComponentState } from './state.ts';
import { ensureTools } from './tools.ts';

export interface StartVictoriaMetricsOptions {
  stateDir: string;
  /** Folder under `stateDir` (config, data) and log name. @default 'victoria-metrics' */
  name?: string;
  /** @default '1s', like the cluster's Prometheus */
  scrapeInterval?: string;
  /** @default the build of the pinned version (built now if missing) */
  binary?: string;
  /** @default 60000 */
  readyTimeoutMs?: number;
}

/** A started VictoriaMetrics: its URL (the Prometheus API is at `<url>/api/v1/...`) and process. */
export interface StartedVictoriaMetrics {
  url: string;
  component: ComponentState;
}

/** Starts VictoriaMetrics on loopback, scraping the cluster's registered targets, and waits until it answers. */
export async function startVictoriaMetrics(
  options: StartVictoriaMetricsOptions,
): Promise<StartedVictoriaMetrics> {
  const name = options.name ?? 'victoria-metrics';
  const root = join(options.stateDir, name);
  const data = join(root, 'data');
  const config = join(root, 'scrape.yml');
  const log = join(options.stateDir, 'logs', `${name}.log`);
  const interval = options.scrapeInterval ?? '1s';
  await ensurePrivateDir(data);
  await ensurePrivateDir(join(options.stateDir, 'logs'));
  const targets = prometheusPaths(options.stateDir).targets;
  await ensurePrivateDir(targets);
  await writeFile(
    config,
    stringify({
      global: { scrape_interval: interval, scrape_timeout: interval },
      scrape_configs: [{ job_name: 'codedance', file_sd_configs: [{ files: [join(targets, '*.json')] }] }],
    }),
  );
  const binary = options.binary ?? (await ensureTools(['victoria-metrics']))['victoria-metrics'];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spec = {
    command: binary,
    args: [
      `-storageDataPath=${data}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      `-promscrape.config=${config}`,
      // Target files are read every 5s (default 1m), as the cluster's Prometheus does.
      '-promscrape.fileSDCheckInterval=5s',
      // Instant queries see samples at once; by default the newest 30s are hidden from
      // queries (a guard for late-arriving data that a 1s scrape test does not need).
      '-search.latencyOffset=0s',
      '-retentionPeriod=1d',
      '-loggerLevel=WARN',
    ],
    logPath: log,
  };
  const pid = startProcess(spec);
  const component: ComponentState = {
    pid,
    port,
    spec,
    health: { urls: [`${url}/health`] },
    startedAt: new Date().toISOString(),
  };
  await pollUntil(`VictoriaMetrics on ${url}`, async () => (await probe(`${url}/health`)).ok, {
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    describe: () => `log: ${log}`,
    abortIf: () => (isRunning(pid, binary) ? undefined : `victoria-metrics exited; see ${log}`),
  });
  return { url, component };
}
