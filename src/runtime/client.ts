/**
 * A small generic Kubernetes REST client.
 *
 * Authentication and TLS come from the kubeconfig (./kubeconfig.ts: tokens, client
 * certificates, exec plugins, in-cluster config); requests go through one pooled undici
 * Agent. Objects are plain JSON: timestamps stay strings.
 *
 * Guarantees:
 * - every write that changes desired state is a server-side apply with one field
 *   manager (`codedance` unless told otherwise);
 * - a 404 on `get` is `undefined`, never an exception; every other non-2xx is a
 *   {@link KubeApiError} carrying the API server's Status;
 * - every request is counted by verb and resource ({@link KubeClient.requestCounts}),
 *   so benchmarks can report API requests per release;
 * - requests are rate limited on our side, like client-go's `QPS` and `Burst`: on
 *   average `qps` per second, `burst` at once ({@link DEFAULT_KUBE_API_QPS},
 *   {@link DEFAULT_KUBE_API_BURST}; the controller's `--kube-api-qps`, `--kube-api-burst`).
 *   Opening a watch counts as one request; the events that stream back do not. So a
 *   controller gone wrong (or thousands of releases at once) queues behind its own
 *   limit instead of flooding the API server that every tenant shares.
 */
import { apiVersionOf, type ResourceKind } from './kinds.ts';
import { isNotFound } from './api-error.ts';
import { loadKubeConfig, type ResolvedKubeConfig } from './kubeconfig.ts';
import type { Desired, KubeObject, ObjectList, WatchEvent } from './object.ts';
import { createTransport } from './transport.ts';

export { loadKubeConfig, KubeConfigError, type ResolvedKubeConfig } from './kubeconfig.ts';
// The object types and the API error, where they were first declared (./object.ts, ./api-error.ts).
export * from './object.ts';
export * from './api-error.ts';

/**
 * Default request rate (per second) of a client. Far above client-go's 5 and the
 * 20-100 peers ship with (Flux 50, Flagger 100), so hundreds of releases at once are
 * not slowed; a few hundred writes a second is about what a small API server takes.
 */
export const DEFAULT_KUBE_API_QPS = 200;
/** Default burst of a client: a startup (lists, watches, one write per release) of a few hundred releases passes at once. */
export const DEFAULT_KUBE_API_BURST = 400;

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
  /**
   * Ask for metadata only (`PartialObjectMetadataList`): the API server leaves out spec,
   * data and status, so a cache of a big kind costs only names, labels and owners.
   * Items come back with `kind: PartialObjectMetadata`. @default false
   */
  metadataOnly?: boolean;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Server-side timeout; the stream ends cleanly after it. @default 300 */
  timeoutSeconds?: number;
  /** @default true */
  allowWatchBookmarks?: boolean;
  /** Stream `PartialObjectMetadata` objects only (see {@link ListOptions.metadataOnly}). @default false */
  metadataOnly?: boolean;
}

/** Accept headers asking the API server for metadata only (as controller-runtime's metadata-only watches do). */
const MetadataListAccept =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const MetadataAccept = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

export interface ApplyOptions {
  /** Take ownership of fields another manager owns. @default true */
  force?: boolean;
  /** @default the client's field manager (`codedance`) */
  fieldManager?: string;
  /** Apply to a subresource, e.g. `status`. */
  subresource?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export interface KubeClientOptions {
  /** A resolved kubeconfig; when unset, kubectl's loading rules apply (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: ResolvedKubeConfig;
  /** Path of a kubeconfig file; ignored when `kubeConfig` is given. */
  kubeconfigPath?: string;
  /** Context to use instead of the kubeconfig's current-context. */
  context?: string;
  /** @default 'codedance' */
  fieldManager?: string;
  /** Timeout of each non-watch request, in milliseconds. @default 30000 */
  requestTimeoutMs?: number;
  /** Requests per second on average; 0 or Infinity: no limit. @default {@link DEFAULT_KUBE_API_QPS} */
  qps?: number;
  /** Requests at once above the average. @default {@link DEFAULT_KUBE_API_BURST} */
  burst?: number;
  /** Told of each request that waited for the rate limit (e.g. to log long waits). @default none */
  onThrottle?: (waitedMs: number, request: string) => void;
  /**
   * The User-Agent header: what the API server's audit log and metrics name this client
   * (the controller process says `codedance-controller/<version>`). @default 'codedance'
   */
  userAgent?: string;
}

/** The client every part of the project talks to the API server through. */
export interface KubeClient {
  readonly server: string;
  readonly fieldManager: string;
  get<T extends KubeObject>(
    kind: ResourceKind<T>,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined>;
  list<T extends KubeObject>(kind: ResourceKind<T>, options?: ListOptions): Promise<ObjectList<T>>;
  /** Opens a watch; the iterable ends when the server closes the stream or `signal` aborts. */
  watch<T extends KubeObject>(
    kind: ResourceKind<T>,
    options: WatchOptions,
    signal?: AbortSignal,
  ): AsyncIterable<WatchEvent<T>>;
  create<T extends KubeObject>(kind: ResourceKind<T>, object: T): Promise<T>;
  /** Server-side apply of `object` (which must carry metadata.name; apiVersion and kind default from `kind`): the fields its writer owns. */
  apply<T extends KubeObject>(kind: ResourceKind<T>, object: Desired<T>, options?: ApplyOptions): Promise<T>;
  patch<T extends KubeObject>(
    kind: ResourceKind<T>,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    options?: { subresource?: string },
  ): Promise<T>;
  /** Deletes; resolves false when the object was already gone. */
  delete(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): Promise<boolean>;
  /** Raw request against any API path, for the odd call the helpers above do not cover. */
  raw<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  /** Requests made so far, keyed `VERB resource` (e.g. `PATCH deployments`). */
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

/** REST path of a collection or of one object. */
export function resourcePath(
  kind: ResourceKind,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const ns = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${kind.plural}${obj}${sub}`;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** Creates a client for the cluster the kubeconfig points at. */
export async function createKubeClient(options: KubeClientOptions = {}): Promise<KubeClient> {
  const kc = options.kubeConfig ?? loadKubeConfig({ path: options.kubeconfigPath, context: options.context });
  const server = kc.server;
  const fieldManager = options.fieldManager ?? 'codedance';

  const transport = createTransport(kc, {
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    qps: options.qps ?? DEFAULT_KUBE_API_QPS,
    burst: options.burst ?? DEFAULT_KUBE_API_BURST,
    onThrottle: options.onThrottle,
    userAgent: options.userAgent ?? 'codedance',
  });
  const send = transport.send;

  async function* watch<T extends KubeObject>(
    kind: ResourceKind<T>,
    opts: WatchOptions,
    signal?: AbortSignal,
  ): AsyncIterable<WatchEvent<T>> {
    const path =
      resourcePath(kind, opts.namespace) +
      query({
        watch: true,
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        timeoutSeconds: opts.timeoutSeconds ?? 300,
        allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
      });
    for await (const line of transport.stream(path, signal, opts.metadataOnly ? MetadataAccept : undefined))
      yield JSON.parse(line) as WatchEvent<T>;
  }

  return {
    server,
    fieldManager,
    async get<T extends KubeObject>(kind: ResourceKind<T>, namespace: string | undefined, name: string) {
      try {
        return await send<T>('GET', resourcePath(kind, namespace, name));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    list<T extends KubeObject>(kind: ResourceKind<T>, opts: ListOptions = {}) {
      const path =
        resourcePath(kind, opts.namespace) +
        query({
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          resourceVersion: opts.resourceVersion,
          limit: opts.limit,
          continue: opts.continue,
        });
      return send<ObjectList<T>>(
        'GET',
        path,
        undefined,
        undefined,
        opts.metadataOnly ? MetadataListAccept : undefined,
      );
    },
    watch,
    create<T extends KubeObject>(kind: ResourceKind<T>, object: T) {
      const body = { apiVersion: apiVersionOf(kind), kind: kind.kind, ...object };
      return send<T>('POST', resourcePath(kind, object.metadata.namespace) + query({ fieldManager }), body);
    },
    apply<T extends KubeObject>(kind: ResourceKind<T>, object: Desired<T>, opts: ApplyOptions = {}) {
      const name = object.metadata.name;
      if (!name) throw new Error(`apply ${kind.kind}: metadata.name is required`);
      const body = { apiVersion: apiVersionOf(kind), kind: kind.kind, ...object };
      const path =
        resourcePath(kind, object.metadata.namespace, name, opts.subresource) +
        query({ fieldManager: opts.fieldManager ?? fieldManager, force: opts.force ?? true });
      return send<T>('PATCH', path, body, 'application/apply-patch+yaml');
    },
    patch<T extends KubeObject>(
      kind: ResourceKind<T>,
      namespace: string | undefined,
      name: string,
      patch: unknown,
      type: PatchType,
      opts: { subresource?: string } = {},
    ) {
      const path = resourcePath(kind, namespace, name, opts.subresource) + query({ fieldManager });
      return send<T>('PATCH', path, patch, patchContentTypes[type]);
    },
    async delete(kind: ResourceKind, namespace: string | undefined, name: string, opts: DeleteOptions = {}) {
      try {
        await send('DELETE', resourcePath(kind, namespace, name), {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          ...opts,
        });
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    raw<T>(method: string, path: string, body?: unknown, contentType?: string) {
      return send<T>(method, path, body, contentType);
    },
    requestCounts: transport.requestCounts,
    close: transport.close,
  };
}
