/**
 * The dashboard's HTTP side: the page, a JSON API and a live stream, answered for one
 * person at a time.
 *
 * Routes (all under the prefix the handler is mounted at):
 * - `GET /` and `GET /assets/*`: the console, the files Vite built from `web/` into
 *   `dist/console/` (./assets.ts), read once at start-up. The page needs no identity (it
 *   asks for one when the API answers 401).
 * - `GET /api/whoami`: `{ username }` of the person the request authenticates as.
 * - `GET /api/releases`: the releases the person may list, as {@link ReleaseView}s, and
 *   with a `webApps` source the WebApps they may list, as {@link WebAppView}s.
 * - `GET /api/groups`: the ReleaseGroups of those releases ({@link GroupView}s of
 *   ./group-view.ts: counts, members, summed cost), as far as the person may list them.
 * - `GET /api/stream`: server-sent events: `snapshot` (all views) on connect, then
 *   `release` (one view) on each change and `deleted` (`{kind, namespace, name}`).
 * - `GET /api/releases/<namespace>/<name>/metrics`: the release's checks over its life
 *   ({@link MetricsAnswer}), for a release in a namespace the person may list, from the
 *   Prometheus the controller would ask (./metrics.ts).
 * - `GET /api/releases/<namespace>/<name>/events`: the Kubernetes Events about the release
 *   ({@link EventsAnswer}), read with the person's identity (./events.ts).
 * - `GET /api/releases/<namespace>/<name>/backtest[?from=&to=]`: the release's policy
 *   replayed on that Prometheus' history ({@link BacktestAnswer}, ./backtest.ts), on the
 *   same terms as the metrics.
 * - `POST /api/releases/<namespace>/<name>/<command>` with a JSON object body and the
 *   {@link ActionHeader} header: promote, promote-full, pause, resume, abort or retry, written as the
 *   person (see {@link DashboardAccess.act}).
 *
 * Who may see and do what is the {@link DashboardAccess}'s business: the local dashboard
 * (`codedance dashboard`) is one person whose kubeconfig does everything; the in-cluster
 * one authenticates each request's bearer token and asks the API server
 * (SubjectAccessReview) before showing a namespace or writing.
 *
 * Guarantees: every response carries the headers of ./security.ts; at most
 * `maxStreams` streams are open at once (more get 503); a stream whose reader falls more
 * than `maxBufferedBytes` behind is closed instead of buffered; a CanaryDeployment the
 * view cannot read is listed as malformed, never breaking the list.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { groupViews } from './group-view.ts';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { WebApp } from '../api/webapp.ts';
import { SteerVerbs } from '../canary/commands.ts';
import { consoleAssets, type Asset } from './assets.ts';
import type {
  BacktestAnswer,
  CommandName,
  EventsAnswer,
  MetricsAnswer,
  ReleaseKind,
  WebAppView,
} from './contract.ts';
import type { EventsOutcome } from './events.ts';
import { releaseMetrics, type MetricsSettings } from './metrics.ts';
import { releaseBacktest } from './backtest.ts';
import { safeReleaseView, type ReleaseView } from './release-view.ts';
import { webAppView } from './webapp-view.ts';
import {
  checkAction,
  checkHost,
  pageHeaders,
  readJsonObject,
  SecurityHeaders,
  type Refusal,
  type SecurityOptions,
} from './security.ts';
import { errorMessage } from '../runtime/errors.ts';

/** Where releases come from: a snapshot and a change feed. */
export interface ReleaseSource {
  list(): CanaryDeployment[];
  /** One release, as last seen. */
  get?(namespace: string, name: string): CanaryDeployment | undefined;
  /** Calls `onChange` with the object (or `deleted` set) on every change; returns an unsubscribe. */
  subscribe(onChange: (release: CanaryDeployment, deleted: boolean) => void): () => void;
}

/** Where WebApps come from: a snapshot and a change feed, shown in the list only. */
export interface WebAppSource {
  list(): WebApp[];
  /** Calls `onChange` with the object (or `deleted` set) on every change; returns an unsubscribe. */
  subscribe(onChange: (app: WebApp, deleted: boolean) => void): () => void;
}

/** A row of the list. */
export type RowView = ReleaseView | WebAppView;

/** The buttons: exactly the verbs a person can steer a release with, and `promote-full` (the CLI's `promote --full`). */
export const DashboardCommands: readonly CommandName[] = [...SteerVerbs, 'promote-full'];
export type DashboardCommand = CommandName;

/** Result of a steering command, as shown to the person who asked. */
export interface CommandOutcome {
  ok: boolean;
  message: string;
  /** HTTP status to answer with. @default 200 when ok, else 409 */
  status?: number;
}

/** A person, as the API server knows them (TokenReview's `user`, or SelfSubjectReview's `userInfo`). */
export interface Person {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** An authenticated request: who, and the bearer token their writes are made with (in a cluster). */
export interface Caller {
  person: Person;
  token: string | undefined;
}

/** Who may see and steer what. */
export interface DashboardAccess {
  /** The caller of `req`, or a refusal (401 without a valid identity). */
  authenticate(req: IncomingMessage): Promise<{ ok: true; caller: Caller } | { ok: false; refusal: Refusal }>;
  /** Whether the caller may list objects of `kind` (CanaryDeployments unless said) in `namespace`; false on doubt. */
  mayList(caller: Caller, namespace: string, kind?: ReleaseKind): Promise<boolean>;
  /** Steers `namespace/name` as the caller; refusals (403, 404, 409) are outcomes, not throws. */
  act(caller: Caller, namespace: string, name: string, command: DashboardCommand): Promise<CommandOutcome>;
  /** The Events about release `namespace/name`, read as the caller; the API server's refusal is an outcome. */
  events(caller: Caller, namespace: string, name: string): Promise<EventsOutcome>;
}

/** Settings of {@link dashboardHandler}. */
export interface DashboardOptions extends SecurityOptions {
  source: ReleaseSource;
  /** WebApps to list beside the releases. @default none */
  webApps?: WebAppSource | undefined;
  access: DashboardAccess;
  /** Seconds between keep-alive comments on the stream; each also re-checks the caller's identity. @default 15 */
  heartbeatSeconds?: number;
  /** Streams open at once, over all callers. @default 64 */
  maxStreams?: number;
  /** Bytes a stream may have waiting for a slow reader before it is closed. @default 1 MiB */
  maxBufferedBytes?: number;
  /** Where the charts come from; without it the metrics endpoint says it has no Prometheus. */
  metrics?: MetricsSettings | undefined;
  /** The console's files by path. @default {@link consoleAssets} of the built `dist/console/` */
  assets?: Map<string, Asset>;
  /** Told about failed checks and dropped streams. */
  onProblem?: (message: string, err?: unknown) => void;
}

/** The dashboard's request handler and its live figures. */
export interface DashboardHandler {
  /** Answers `req` when `path` is one of the dashboard's; resolves false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** Streams open now. */
  liveStreams(): number;
  /** Streams closed because their reader was too slow, since start. */
  droppedStreams(): number;
}

/** The page with its style nonce in a meta element the console reads (`web/src/main.tsx`). */
function withNonce(html: string, nonce: string): string {
  return html.replace(/<head>/i, `<head><meta name="codedance-style-nonce" content="${nonce}">`);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SecurityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, refusal: Refusal, headers: Record<string, string> = {}): void {
  sendJson(res, refusal.status, { ok: false, message: refusal.message }, headers);
}

const byKey = (a: RowView, b: RowView): number =>
  `${a.namespace}/${a.name}/${a.kind ?? ''}`.localeCompare(`${b.namespace}/${b.name}/${b.kind ?? ''}`);

/** Creates the dashboard's request handler. */
export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  const assets = options.assets ?? consoleAssets();
  const heartbeatMs = (options.heartbeatSeconds ?? 15) * 1000;
  const maxStreams = options.maxStreams ?? 64;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const { access } = options;
  let live = 0;
  let dropped = 0;

  /** The objects of `list` in namespaces the caller may list `kind` in (one review per namespace). */
  async function visible<T extends { metadata?: { namespace?: string } }>(
    caller: Caller,
    list: T[],
    kind: ReleaseKind,
  ): Promise<T[]> {
    const namespaces = [...new Set(list.map((o) => o.metadata?.namespace ?? ''))];
    const allowed = new Set<string>();
    await Promise.all(namespaces.map(async (ns) => (await mayList(caller, ns, kind)) && allowed.add(ns)));
    return list.filter((o) => allowed.has(o.metadata?.namespace ?? ''));
  }

  /** Views of the releases and WebApps the caller may list, each kind reviewed on its own. */
  async function visibleViews(caller: Caller): Promise<RowView[]> {
    const [releases, apps] = await Promise.all([
      visible(caller, options.source.list(), 'CanaryDeployment'),
      visible(caller, options.webApps?.list() ?? [], 'WebApp'),
    ]);
    return [...releases.map(safeReleaseView), ...apps.map(webAppView)].sort(byKey);
  }

  async function mayList(
    caller: Caller,
    namespace: string,
    kind: ReleaseKind = 'CanaryDeployment',
  ): Promise<boolean> {
    try {
      return await access.mayList(caller, namespace, kind);
    } catch (err) {
      options.onProblem?.(
        `cannot check whether ${caller.person.username} may list ${kind}s in namespace ${namespace}`,
        err,
      );
      return false;
    }
  }

  /** Serves a stream in a slot already counted in `live`, which it frees when the stream ends. */
  function stream(req: IncomingMessage, res: ServerResponse, caller: Caller, snapshot: RowView[]): void {
    if (res.destroyed) {
      live--;
      return;
    }
    res.writeHead(200, {
      ...SecurityHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    let closed = false;
    const first = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
    // A reader that does not keep up is dropped, not buffered for: the next snapshot on
    // reconnect tells it everything it missed. The snapshot itself may take its time.
    const limit = maxBuffered + Buffer.byteLength(first);
    const send = (chunk: string): void => {
      if (closed) return;
      if (res.writableLength > limit) {
        dropped++;
        options.onProblem?.(
          `dropping the stream of ${caller.person.username}: more than ${maxBuffered} bytes waiting for a slow reader`,
        );
        close();
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const event = (name: string, data: unknown): void =>
      send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    send(first);
    // Changes are checked one after another, so the reader sees them in order.
    let queue = Promise.resolve();
    const changed =
      <T extends CanaryDeployment | WebApp>(kind: ReleaseKind, view: (object: T) => RowView) =>
      (object: T, deleted: boolean): void => {
        queue = queue
          .then(async () => {
            const namespace = object.metadata?.namespace ?? '';
            if (closed || !(await mayList(caller, namespace, kind))) return;
            if (deleted) event('deleted', { kind, namespace, name: object.metadata?.name });
            else event('release', view(object));
          })
          .catch((err: unknown) => options.onProblem?.('a stream event could not be sent', err));
      };
    const unsubscribeReleases = options.source.subscribe(changed('CanaryDeployment', safeReleaseView));
    const unsubscribeApps = options.webApps?.subscribe(changed('WebApp', webAppView));
    const unsubscribe = (): void => {
      unsubscribeReleases();
      unsubscribeApps?.();
    };
    const heartbeat = setInterval(() => {
      // A token that expired or was revoked ends the stream; the page then asks again.
      access.authenticate(req).then(
        (result) => {
          if (!result.ok) {
            event('unauthorized', { message: result.refusal.message });
            close();
            res.end();
          } else send(': keep-alive\n\n');
        },
        // The API server did not answer: keep the stream; the next heartbeat asks again.
        (err: unknown) => {
          options.onProblem?.(`cannot re-check ${caller.person.username}'s token`, err);
          send(': keep-alive\n\n');
        },
      );
    }, heartbeatMs);
    function close(): void {
      if (closed) return;
      closed = true;
      live--;
      clearInterval(heartbeat);
      unsubscribe();
    }
    res.on('close', close);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    const file = assets.get(path);
    const command = /^\/api\/releases\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    const metrics = method === 'GET' && command?.[3] === 'metrics' ? command : undefined;
    const events = method === 'GET' && command?.[3] === 'events' ? command : undefined;
    const action = method === 'POST' ? command : undefined;
    const backtest = method === 'GET' && command?.[3] === 'backtest' ? command : undefined;
    const known =
      (method === 'GET' &&
        (file ||
          metrics ||
          events ||
          backtest ||
          path === '/api/whoami' ||
          path === '/api/releases' ||
          path === '/api/groups' ||
          path === '/api/stream')) ||
      action;
    if (!known) return false;

    const badHost = checkHost(req, options);
    if (badHost) {
      refuse(res, badHost);
      return true;
    }
    if (file) {
      if (file.type.startsWith('text/html')) {
        // The page gets a fresh style nonce each time (see pageHeaders): never cached.
        const nonce = randomBytes(16).toString('base64');
        res.writeHead(200, { ...pageHeaders(nonce), 'content-type': file.type, 'cache-control': 'no-store' });
        res.end(withNonce(file.body.toString('utf8'), nonce));
        return true;
      }
      // Built files have content hashes in their names: cached for good.
      res.writeHead(200, {
        ...SecurityHeaders,
        'content-type': file.type,
        'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      res.end(file.body);
      return true;
    }
    if (action) {
      // Cheap checks first: a cross-site form is refused before any review is made.
      const unsafe = checkAction(req, options);
      const body = unsafe ? undefined : await readJsonObject(req);
      const refusal = unsafe ?? (body && !body.ok ? body.refusal : undefined);
      if (refusal) {
        refuse(res, refusal);
        return true;
      }
    }
    const auth = await access.authenticate(req);
    if (!auth.ok) {
      refuse(res, auth.refusal, { 'www-authenticate': 'Bearer realm="codedance"' });
      return true;
    }
    const { caller } = auth;

    if (path === '/api/whoami') sendJson(res, 200, { username: caller.person.username });
    else if (path === '/api/releases') sendJson(res, 200, await visibleViews(caller));
    else if (path === '/api/groups') {
      const releases = await visible(caller, options.source.list(), 'CanaryDeployment');
      sendJson(res, 200, groupViews(releases.map(safeReleaseView)));
    } else if (metrics) {
      const [, namespace, name] = metrics.map((part) => decodeURIComponent(part));
      // Prometheus knows nothing of Kubernetes RBAC: the person must be allowed to read the
      // release before anything is asked of it on their behalf.
      const release = (await mayList(caller, namespace!))
        ? options.source.get?.(namespace!, name!)
        : undefined;
      if (!release)
        sendJson(res, 404, {
          ok: false,
          message: `release "${namespace}/${name}" not found, or you may not read it`,
        });
      else if (!options.metrics) {
        const none: MetricsAnswer = {
          start: Date.now(),
          end: Date.now(),
          stepSeconds: 1,
          charts: [],
          problem: 'this dashboard was started without a Prometheus (--prometheus-url)',
        };
        sendJson(res, 200, none);
      } else sendJson(res, 200, await releaseMetrics(release, options.metrics, { now: Date.now() }));
    } else if (events) {
      const [, namespace, name] = events.map((part) => decodeURIComponent(part));
      // Read with the person's own identity: the API server decides, and says why not.
      const outcome = await access.events(caller, namespace!, name!);
      if (outcome.ok) sendJson(res, 200, { events: outcome.events } satisfies EventsAnswer);
      else sendJson(res, outcome.status, { ok: false, message: outcome.message });
    } else if (backtest) {
      const [, namespace, name] = backtest.map((part) => decodeURIComponent(part));
      // As the charts: only for a release the person may read, only of an allowed Prometheus.
      const release = (await mayList(caller, namespace!))
        ? options.source.get?.(namespace!, name!)
        : undefined;
      const window = backtestWindow(req.url);
      if (!release)
        sendJson(res, 404, {
          ok: false,
          message: `release "${namespace}/${name}" not found, or you may not read it`,
        });
      else if ('message' in window) sendJson(res, 400, { ok: false, message: window.message });
      else if (!options.metrics) {
        const none: BacktestAnswer = {
          from: Date.now(),
          to: Date.now(),
          stepSeconds: 1,
          rounds: [],
          outcome: '',
          suggestions: [],
          problem: 'this dashboard was started without a Prometheus (--prometheus-url)',
        };
        sendJson(res, 200, none);
      } else
        sendJson(res, 200, await releaseBacktest(release, options.metrics, { now: Date.now(), ...window }));
    } else if (path === '/api/stream') {
      if (live >= maxStreams)
        refuse(
          res,
          { status: 503, message: `too many live streams (${maxStreams}); try again shortly` },
          { 'retry-after': '5' },
        );
      else {
        // The slot is taken before the reviews run, so concurrent requests cannot overshoot the cap.
        live++;
        let snapshot: RowView[];
        try {
          snapshot = await visibleViews(caller);
        } catch (err) {
          live--;
          throw err;
        }
        stream(req, res, caller, snapshot);
      }
    } else if (action) {
      const [, namespace, name, verb] = action.map((part) => decodeURIComponent(part));
      if (!DashboardCommands.includes(verb as DashboardCommand)) {
        sendJson(res, 400, {
          ok: false,
          message: `unknown command '${verb}': use one of ${DashboardCommands.join(', ')}`,
        });
        return true;
      }
      try {
        const outcome = await access.act(caller, namespace!, name!, verb as DashboardCommand);
        sendJson(res, outcome.status ?? (outcome.ok ? 200 : 409), {
          ok: outcome.ok,
          message: outcome.message,
        });
      } catch (err) {
        options.onProblem?.(`${verb} on ${namespace}/${name} by ${caller.person.username} failed`, err);
        sendJson(res, 500, { ok: false, message: errorMessage(err) });
      }
    }
    return true;
  }

  return { handle, liveStreams: () => live, droppedStreams: () => dropped };
}

/** `?from=&to=` of a backtest (ms since the epoch or RFC 3339), or what is wrong with them. */
export function backtestWindow(
  url: string | undefined,
): { from?: number; to?: number } | { message: string } {
  const params = new URL(url ?? '/', 'http://x').searchParams;
  const out: { from?: number; to?: number } = {};
  for (const key of ['from', 'to'] as const) {
    const text = params.get(key);
    if (text === null || text === '') continue;
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms))
      return { message: `${key}: expected ms since the epoch or RFC 3339, got '${text}'` };
    out[key] = ms;
  }
  return out;
}
