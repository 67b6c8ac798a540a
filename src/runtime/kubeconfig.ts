/**
 * Reads a kubeconfig the way kubectl does, into plain data a client can use.
 *
 * Our own loader instead of `@kubernetes/client-node`'s: that package takes about half a
 * second and tens of MiB to import, only to read one YAML file, which made every CLI
 * command slow to start and the controller heavier at rest.
 *
 * Supported, as kubectl resolves them:
 * - loading rules: an explicit path; else `KUBECONFIG` (a `:`-separated list, merged:
 *   the first file that names a cluster, user or context wins, and the first
 *   `current-context` set); else `~/.kube/config`; else the in-cluster service account;
 * - `--context` overrides `current-context`; a context's `namespace`;
 * - clusters: `server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`,
 *   `tls-server-name`;
 * - users: `token`, `tokenFile`, `client-certificate(-data)`, `client-key(-data)`,
 *   `username`/`password`, and `exec` credential plugins
 *   (`client.authentication.k8s.io/v1` and `v1beta1`), whose credential is cached until
 *   its `expirationTimestamp`.
 *
 * Caveats: legacy `auth-provider` entries (gcp, azure, oidc) are refused with a message
 * naming the exec plugin that replaces them; file paths are relative to the kubeconfig
 * that names them, as in kubectl; an exec plugin that returns a client certificate is
 * read once, when the client is made.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { errorMessage } from './errors.ts';

/** The in-cluster service account files (kubelet mounts them into every pod). */
const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** TLS material for the connection to the API server. */
export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** False only with `insecure-skip-tls-verify: true`. */
  rejectUnauthorized: boolean;
  servername?: string;
}

/** A kubeconfig resolved for one context: where to connect and how to authenticate. */
export interface ResolvedKubeConfig {
  /** API server URL without a trailing slash. */
  server: string;
  tls: KubeTls;
  /** The context's namespace, if it sets one (in-cluster: the pod's namespace). */
  namespace?: string;
  /** Names, for messages: `in-cluster` when read from the service account. */
  contextName: string;
  userName: string;
  /** The `Authorization` header value for the next request (tokens may rotate), if any. */
  authorization(): Promise<string | undefined>;
}

/** How to find the kubeconfig. */
export interface LoadKubeConfigOptions {
  /** An explicit file (kubectl's `--kubeconfig`); when set, no other source is read. */
  path?: string;
  /** Overrides the file's `current-context`. */
  context?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A kubeconfig that cannot be used, with what to do about it. */
export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

interface NamedEntry<T> {
  name: string;
  value: T;
  /** Directory of the file that defined it, for relative paths. */
  dir: string;
}

interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
}

interface UserEntry {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name?: string };
}

interface ContextEntry {
  cluster?: string;
  user?: string;
  namespace?: string;
}

interface MergedConfig {
  currentContext?: string;
  clusters: Map<string, NamedEntry<ClusterEntry>>;
  users: Map<string, NamedEntry<UserEntry>>;
  contexts: Map<string, NamedEntry<ContextEntry>>;
}

/** The files the loading rules name, in order; empty when none exists (then in-cluster applies). */
export function kubeconfigFiles(options: LoadKubeConfigOptions = {}): string[] {
  const env = options.env ?? process.env;
  if (options.path) return [resolve(options.path)];
  if (env.KUBECONFIG)
    return env.KUBECONFIG.split(delimiter)
      .filter(Boolean)
      .map((file) => resolve(file));
  return [join(env.HOME ?? homedir(), '.kube', 'config')];
}

/** Loads and resolves the kubeconfig per kubectl's loading rules. */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): ResolvedKubeConfig {
  const env = options.env ?? process.env;
  const files = kubeconfigFiles(options);
  const texts: { file: string; text: string }[] = [];
  for (const file of files) {
    try {
      texts.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      // kubectl ignores missing files of KUBECONFIG, but not an explicit --kubeconfig.
      if (options.path)
        throw new KubeConfigError(`cannot read kubeconfig ${file}: ${errorMessage(err)}`, {
          cause: err,
        });
    }
  }
  if (texts.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return inClusterConfig(env);
    throw new KubeConfigError(
      `no kubeconfig found (looked at ${files.join(', ')}) and not running in a cluster: pass --kubeconfig FILE or set KUBECONFIG`,
    );
  }
  return resolveContext(mergeFiles(texts), options.context);
}

/** Resolves a kubeconfig given as text (tests, and files already read). */
export function parseKubeConfig(
  text: string,
  options: { context?: string; dir?: string } = {},
): ResolvedKubeConfig {
  return resolveContext(
    mergeFiles([{ file: join(options.dir ?? process.cwd(), 'kubeconfig'), text }]),
    options.context,
  );
}

function mergeFiles(files: { file: string; text: string }[]): MergedConfig {
  const merged: MergedConfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const { file, text } of files) {
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new KubeConfigError(`kubeconfig ${file} is not valid YAML: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object') throw new KubeConfigError(`kubeconfig ${file} is not a mapping`);
    const config = doc as Record<string, unknown>;
    const dir = dirname(file);
    if (
      merged.currentContext === undefined &&
      typeof config['current-context'] === 'string' &&
      config['current-context']
    ) {
      merged.currentContext = config['current-context'];
    }
    addNamed(merged.clusters, config.clusters, 'cluster', dir, file);
    addNamed(merged.users, config.users, 'user', dir, file);
    addNamed(merged.contexts, config.contexts, 'context', dir, file);
  }
  return merged;
}

function addNamed<T>(
  target: Map<string, NamedEntry<T>>,
  list: unknown,
  field: string,
  dir: string,
  file: string,
): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file}: '${field}s' must be a list`);
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const { name, [field]: value } = item as Record<string, unknown>;
    if (typeof name !== 'string' || target.has(name)) continue;
    target.set(name, { name, value: (value ?? {}) as T, dir });
  }
}

function resolveContext(config: MergedConfig, contextOverride: string | undefined): ResolvedKubeConfig {
  const contextName = contextOverride ?? config.currentContext;
  if (!contextName)
    throw new KubeConfigError(
      'kubeconfig has no current-context: set one (kubectl config use-context NAME) or pass --context',
    );
  const context = config.contexts.get(contextName);
  if (!context)
    throw new KubeConfigError(
      `kubeconfig has no context '${contextName}' (known: ${[...config.contexts.keys()].join(', ') || 'none'})`,
    );
  const clusterName = context.value.cluster;
  const cluster = clusterName ? config.clusters.get(clusterName) : undefined;
  if (!cluster)
    throw new KubeConfigError(
      `context '${contextName}' names cluster '${clusterName ?? ''}', which the kubeconfig does not define`,
    );
  if (!cluster.value.server) throw new KubeConfigError(`cluster '${cluster.name}' has no server URL`);
  const userName = context.value.user ?? '';
  const user = config.users.get(userName) ?? { name: userName, value: {}, dir: cluster.dir };
  const tls: KubeTls = {
    rejectUnauthorized: cluster.value['insecure-skip-tls-verify'] !== true,
    ca: material(
      cluster.value['certificate-authority-data'],
      cluster.value['certificate-authority'],
      cluster.dir,
    ),
    cert: material(user.value['client-certificate-data'], user.value['client-certificate'], user.dir),
    key: material(user.value['client-key-data'], user.value['client-key'], user.dir),
  };
  if (cluster.value['tls-server-name']) tls.servername = cluster.value['tls-server-name'];
  const authorization = authorizer(user, cluster.value.server);
  return {
    server: cluster.value.server.replace(/\/+$/, ''),
    tls,
    namespace: context.value.namespace || undefined,
    contextName,
    userName: user.name,
    authorization,
  };
}

/** Inline base64 data wins over a file, as in kubectl. */
function material(data: string | undefined, file: string | undefined, dir: string): string | undefined {
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (!file) return undefined;
  const path = isAbsolute(file) ? file : join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read ${path} named by the kubeconfig: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function authorizer(user: NamedEntry<UserEntry>, server: string): () => Promise<string | undefined> {
  const u = user.value;
  if (u['auth-provider']) {
    const name = u['auth-provider'].name ?? 'unknown';
    throw new KubeConfigError(
      `user '${user.name}' uses the auth-provider '${name}', which Codedance does not support: use its exec credential plugin instead (e.g. gke-gcloud-auth-plugin, kubelogin)`,
    );
  }
  if (u.token) {
    const header = `Bearer ${u.token}`;
    return async () => header;
  }
  if (u.tokenFile)
    return tokenFileAuthorizer(isAbsolute(u.tokenFile) ? u.tokenFile : join(user.dir, u.tokenFile));
  if (u.username !== undefined && u.password !== undefined) {
    const header = `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
    return async () => header;
  }
  if (u.exec) return execAuthorizer(user.name, u.exec, server);
  return async () => undefined;
}

/** Re-reads a token file at most once a minute: bound service-account tokens rotate. */
function tokenFileAuthorizer(path: string): () => Promise<string | undefined> {
  let cached: { header: string; readAt: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.readAt < 60_000) return cached.header;
    try {
      const token = (await readFile(path, 'utf8')).trim();
      cached = { header: `Bearer ${token}`, readAt: Date.now() };
      return cached.header;
    } catch (err) {
      if (cached) return cached.header;
      throw new KubeConfigError(`cannot read the token file ${path}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  };
}

interface ExecCredentialStatus {
  token?: string;
  expirationTimestamp?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
}

/** Runs an exec credential plugin, caching its token until shortly before it expires. */
function execAuthorizer(
  userName: string,
  exec: ExecConfig,
  server: string,
): () => Promise<string | undefined> {
  let cached: { header: string | undefined; expiresAt: number } | undefined;
  let pending: Promise<string | undefined> | undefined;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  const run = async (): Promise<string | undefined> => {
    const info = JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server } },
    });
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: info };
    for (const { name, value } of exec.env ?? []) env[name] = value;
    const stdout = await new Promise<string>((resolveRun, reject) => {
      execFile(
        exec.command,
        exec.args ?? [],
        { env, timeout: 60_000, maxBuffer: 1 << 20 },
        (err, out, errOut) => {
          if (err) {
            reject(
              new KubeConfigError(
                `exec plugin '${exec.command}' of user '${userName}' failed: ${String(errOut).trim() || err.message}`,
                { cause: err },
              ),
            );
          } else resolveRun(String(out));
        },
      );
    });
    let status: ExecCredentialStatus | undefined;
    try {
      status = (JSON.parse(stdout) as { status?: ExecCredentialStatus }).status;
    } catch (err) {
      throw new KubeConfigError(
        `exec plugin '${exec.command}' of user '${userName}' printed no ExecCredential JSON`,
        { cause: err },
      );
    }
    const header = status?.token ? `Bearer ${status.token}` : undefined;
    const expiry = status?.expirationTimestamp
      ? Date.parse(status.expirationTimestamp)
      : Number.POSITIVE_INFINITY;
    // Renew a little early so a request never leaves with a token about to expire.
    cached = { header, expiresAt: expiry - 30_000 };
    return header;
  };
  return async () => {
    if (cached && Date.now() < cached.expiresAt) return cached.header;
    pending ??= run().finally(() => (pending = undefined));
    return pending;
  };
}

function inClusterConfig(env: NodeJS.ProcessEnv): ResolvedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT!;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let ca: string | undefined;
  let namespace: string | undefined;
  try {
    ca = readFileSync(join(serviceAccountDir, 'ca.crt'), 'utf8');
  } catch (err) {
    throw new KubeConfigError(
      `in-cluster: cannot read ${serviceAccountDir}/ca.crt (is a service account token mounted?)`,
      { cause: err },
    );
  }
  try {
    namespace = readFileSync(join(serviceAccountDir, 'namespace'), 'utf8').trim();
  } catch {
    namespace = undefined;
  }
  return {
    server,
    tls: { ca, rejectUnauthorized: true },
    namespace,
    contextName: 'in-cluster',
    userName: 'service-account',
    authorization: tokenFileAuthorizer(join(serviceAccountDir, 'token')),
  };
}
