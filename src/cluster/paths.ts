/**
 * Where the local control plane keeps its files.
 *
 * ```
 * $CODEDANCE_HOME (default ~/.codedance)
 *   bin/<name>-<version>/          cached binaries, one folder per pinned version
 *   build/<name>-<version>/        wrapper modules and build logs
 *   crds/<name>-<version>/         third-party CRDs (Istio, Gateway API) taken from their pinned modules
 *   clusters/<name>/               one running cluster's state (certs, logs, data, cluster.json)
 * ```
 */
import { chmod, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `$CODEDANCE_HOME`, or `~/.codedance` when unset. */
export function codedanceHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CODEDANCE_HOME;
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.codedance');
}

/** The state directory of the named cluster under `home`; the dev cluster is `default`. */
export function clusterStateDir(home: string, name = 'default'): string {
  return join(home, 'clusters', name);
}

/** Folder holding the cached binaries of one component at one version. */
export function binaryDir(home: string, name: string, version: string): string {
  return join(home, 'bin', `${name}-${version}`);
}

/** Scratch folder where one component's wrapper module is generated and built. */
export function buildDir(home: string, name: string, version: string): string {
  return join(home, 'build', `${name}-${version}`);
}

/** Folder holding the third-party CRDs of one project at one version. */
export function crdDir(home: string, name: string, version: string): string {
  return join(home, 'crds', `${name}-${version}`);
}

/**
 * Creates `path` (and missing parents) readable by this user only (0700), and tightens it
 * to 0700 if it already existed: state and log folders hold tokens, keys, kubeconfigs and
 * an audit log, which no other local user should read.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}
