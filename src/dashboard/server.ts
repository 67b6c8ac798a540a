/**
 * The dashboard's HTTP side: the page, a JSON API and a live stream.
 *
 * Routes (all under the prefix the handler is mounted at):
 * - `GET /` `GET /app.js` `GET /style.css`: the page; app.js is web/app.ts with its
 *   types stripped once at start-up, so the browser code is type-checked TypeScript.
 * - `GET /api/releases`: every release as a {@link ReleaseView}.
 * - `GET /api/stream`: server-sent events: `snapshot` (all views) on connect, then
 *   `release` (one view) on each change and `deleted` (`{namespace, name}`).
 * - `POST /api/releases/<namespace>/<name>/<command>`: promote, pause, resume, abort
 *   or retry, through the same path the CLI uses.
 *
 * The handler reads releases from a {@link ReleaseSource} (the controller's cache), so a
 * page costs the API server nothing.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { SteerVerbs, type SteerVerb } from '../canary/commands.ts';
import { releaseView, type ReleaseView } from './release-view.ts';

/** Where releases come from: a snapshot and a change feed. */
export interface ReleaseSource {
  list(): CanaryDeployment[];
  /** Calls `onChange` with the object (or `deleted` set) on every change; returns an unsubscribe. */
  subscribe(onChange: (release: CanaryDeployment, deleted: boolean) => void): () => void;
}

/** The buttons: exactly the verbs a person can steer a release with. */
export const DashboardCommands = SteerVerbs;
export type DashboardCommand = SteerVerb;

/** Result of a steering command, as shown to the person who asked. */
export interface CommandOutcome {
  ok: boolean;
  message: string;
}

export interface DashboardOptions {
  source: ReleaseSource;
  sendCommand: (namespace: string, name: string, command: DashboardCommand) => Promise<CommandOutcome>;
  /** Seconds between keep-alive comments on the stream. @default 15 */
  heartbeatSeconds?: number;
}

/** A request handler: resolves true when it answered the request. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;

function asset(file: string): string {
  return readFileSync(new URL(`./web/${file}`, import.meta.url), 'utf8');
}

function loadAssets(): Record<string, { type: string; body: string }> {
  return {
    '/': { type: 'text/html; charset=utf-8', body: asset('index.html') },
    '/index.html': { type: 'text/html; charset=utf-8', body: asset('index.html') },
    '/style.css': { type: 'text/css; charset=utf-8', body: asset('style.css') },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: stripTypeScriptTypes(asset('app.ts')) },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sortedViews(source: ReleaseSource): ReleaseView[] {
  return source
    .list()
    .map(releaseView)
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** Creates the dashboard's request handler. */
export function dashboardHandler(options: DashboardOptions): RouteHandler {
  const assets = loadAssets();
  const heartbeatMs = (options.heartbeatSeconds ?? 15) * 1000;

  function stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const write = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    write('snapshot', sortedViews(options.source));
    const unsubscribe = options.source.subscribe((release, deleted) => {
      if (deleted) write('deleted', { namespace: release.metadata.namespace, name: release.metadata.name });
      else write('release', releaseView(release));
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }

  return async (req, res, path) => {
    const method = req.method ?? 'GET';
    const file = assets[path];
    if (method === 'GET' && file) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' });
      res.end(file.body);
      return true;
    }
    if (method === 'GET' && path === '/api/releases') {
      sendJson(res, 200, sortedViews(options.source));
      return true;
    }
    if (method === 'GET' && path === '/api/stream') {
      stream(req, res);
      return true;
    }
    const command = /^\/api\/releases\/([^/]+)\/([^/]+)\/([a-z]+)$/.exec(path);
    if (command && method === 'POST') {
      const [, namespace, name, verb] = command.map((part) => decodeURIComponent(part));
      if (!DashboardCommands.includes(verb as DashboardCommand)) {
        sendJson(res, 400, { ok: false, message: `unknown command '${verb}': use one of ${DashboardCommands.join(', ')}` });
        return true;
      }
      try {
        const outcome = await options.sendCommand(namespace!, name!, verb as DashboardCommand);
        sendJson(res, outcome.ok ? 200 : 409, outcome);
      } catch (err) {
        sendJson(res, 500, { ok: false, message: (err as Error).message });
      }
      return true;
    }
    return false;
  };
}
