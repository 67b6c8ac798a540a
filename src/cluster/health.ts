/**
 * Whether a component is up: its process runs the recorded command and its health URLs
 * answer (the API server's with the admin token and its own CA).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pollUntil, probe } from './probe.ts';
import { isRunning, residentMemoryBytes } from './process.ts';
import type { ClusterState, ComponentName, ComponentState } from './state.ts';

/** The health of one component as `clusterStatus` (./controlplane.ts) reports it. */
export interface ComponentStatus {
  name: ComponentName;
  pid: number;
  running: boolean;
  healthy: boolean;
  /** What failed, or the URLs that answered. */
  detail: string;
  rssBytes: number | undefined;
}

/** Why a component is not coming up when its process has exited (with where its log is), else undefined. */
export function exitedMessage(state: ClusterState, name: ComponentName): string | undefined {
  const component = state.components[name];
  if (!component || isRunning(component.pid, component.spec.command)) return undefined;
  return `${name} exited; see ${component.spec.logPath} (a port in use, or an error near its end)`;
}

/** Probes every health URL of `component`; the first failure is the detail. */
export async function checkHealth(
  state: ClusterState,
  component: ComponentState,
): Promise<{ healthy: boolean; detail: string }> {
  const ca =
    component.health.caPath && existsSync(component.health.caPath)
      ? await readFile(component.health.caPath, 'utf8')
      : undefined;
  for (const url of component.health.urls) {
    const result = await probe(url, {
      ...(ca ? { ca } : {}),
      ...(component.health.insecure ? { insecure: true } : {}),
      ...(component.health.auth ? { token: state.adminToken } : {}),
    });
    if (!result.ok)
      return {
        healthy: false,
        detail: `${url}: ${result.status || 'no answer'} ${result.body.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`,
      };
  }
  return {
    healthy: true,
    detail: `${component.health.urls.map((url) => new URL(url).pathname).join(' ')} ok`,
  };
}

/** Polls until `name` answers its health checks; stops early when its process exits. */
export async function waitHealthy(
  state: ClusterState,
  name: ComponentName,
  timeoutMs: number,
): Promise<void> {
  const component = state.components[name];
  if (!component) throw new Error(`${name} was not started`);
  let last = '';
  await pollUntil(
    `${name} to become healthy`,
    async () => {
      const result = await checkHealth(state, component);
      last = result.detail;
      return result.healthy;
    },
    {
      timeoutMs,
      describe: () => `${last} (log: ${component.spec.logPath})`,
      abortIf: () => exitedMessage(state, name),
    },
  );
}

/** The status of one recorded component: running, healthy, what failed, its memory. */
export async function componentStatus(
  state: ClusterState,
  name: ComponentName,
  component: ComponentState,
): Promise<ComponentStatus> {
  const running = isRunning(component.pid, component.spec.command);
  if (!running) {
    return {
      name,
      pid: component.pid,
      running,
      healthy: false,
      detail: `not running (log: ${component.spec.logPath})`,
      rssBytes: undefined,
    };
  }
  const health = await checkHealth(state, component);
  return { name, pid: component.pid, running, ...health, rssBytes: residentMemoryBytes(component.pid) };
}
