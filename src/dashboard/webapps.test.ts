import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { WebApp } from '../api/webapp.ts';
import type { ReleaseKind, StreamEvents, WebAppView } from './contract.ts';
import {
  dashboardHandler,
  type Caller,
  type ReleaseSource,
  type RowView,
  type WebAppSource,
} from './server.ts';
import { webAppView } from './webapp-view.ts';

function webApp(name: string, namespace: string, status?: WebApp['status']): WebApp {
  return {
    metadata: { name, namespace, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      image: `${name}:v2`,
      replicas: 3,
      release: { strategy: { type: 'Linear', stepPause: '30s' } },
    } as WebApp['spec'],
    ...(status ? { status } : {}),
  };
}

test('a WebApp reads as namespace, name, phase, image, replicas, age and the CanaryDeployment carrying its release', () => {
  const view = webAppView(
    webApp('shop', 'web', {
      phase: 'Running',
      readyReplicas: 2,
      image: 'shop:v1',
      message: 'releasing shop:v2',
      release: { name: 'shop-2', version: 'shop:v2', phase: 'Progressing' },
    }),
  );
  assert.deepEqual(view, {
    kind: 'WebApp',
    namespace: 'web',
    name: 'shop',
    phase: 'Running',
    image: 'shop:v2',
    replicas: 3,
    readyReplicas: 2,
    message: 'releasing shop:v2',
    createdAt: '2026-01-01T00:00:00Z',
    release: 'shop-2',
  } satisfies WebAppView);
});

test('a WebApp the controller has not seen yet is Pending, nothing ready, no release; an odd one does not throw', () => {
  const fresh = webAppView(webApp('new', 'web'));
  assert.equal(fresh.phase, 'Pending');
  assert.equal(fresh.readyReplicas, 0);
  assert.equal(fresh.release, undefined);
  const odd = webAppView({
    metadata: { name: 'odd', namespace: 'web' },
    status: { readyReplicas: 'many' },
  } as unknown as WebApp);
  assert.deepEqual([odd.name, odd.image, odd.replicas, odd.readyReplicas], ['odd', '', 1, 0]);
});

const release = (name: string, namespace: string): CanaryDeployment => ({
  metadata: { name, namespace },
  spec: {
    targetDeployment: name,
    canaryVersion: `${name}:v2`,
    strategy: { type: 'Linear', stepPause: '30s' },
  },
  status: { phase: 'Progressing', currentStepIndex: 0, currentWeight: 5 },
});

/** A dashboard where alice may list CanaryDeployments in shop and web, but WebApps in web only. */
async function serve(
  t: TestContext,
): Promise<{ base: string; emit: (app: WebApp, deleted?: boolean) => void; reviews: string[] }> {
  const listeners = new Set<(app: WebApp, deleted: boolean) => void>();
  const reviews: string[] = [];
  const source: ReleaseSource = {
    list: () => [release('cart', 'shop'), release('shop-2', 'web')],
    subscribe: () => () => undefined,
  };
  const webApps: WebAppSource = {
    list: () => [
      webApp('shop', 'web', { phase: 'Running', release: { name: 'shop-2', version: 'shop:v2' } }),
      webApp('cart', 'shop'),
    ],
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const handler = dashboardHandler({
    source,
    webApps,
    assets: new Map(),
    heartbeatSeconds: 3600,
    access: {
      authenticate: async () => ({ ok: true, caller: { person: { username: 'alice' }, token: undefined } }),
      mayList: async (_caller: Caller, namespace: string, kind: ReleaseKind = 'CanaryDeployment') => {
        reviews.push(`${kind}/${namespace}`);
        return kind === 'WebApp' ? namespace === 'web' : true;
      },
      act: async () => ({ ok: true, message: '' }),
      events: async () => ({ ok: true, events: [] }),
    },
  });
  const server = createServer(
    (req, res) => void handler.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    emit: (app, deleted = false) => {
      for (const fn of listeners) fn(app, deleted);
    },
    reviews,
  };
}

test('the list holds the WebApps of namespaces where the person may list webapps, reviewed apart from canarydeployments', async (t) => {
  const { base, reviews } = await serve(t);
  const rows = (await (await fetch(`${base}/api/releases`)).json()) as RowView[];
  assert.deepEqual(
    rows.map((r) => `${r.kind ?? 'CanaryDeployment'} ${r.namespace}/${r.name}`),
    ['CanaryDeployment shop/cart', 'CanaryDeployment web/shop-2', 'WebApp web/shop'],
    'shop/cart the WebApp is left out: alice may list releases in shop but not webapps',
  );
  assert.equal((rows[2] as WebAppView).release, 'shop-2');
  assert.ok(
    reviews.includes('WebApp/shop') &&
      reviews.includes('WebApp/web') &&
      reviews.includes('CanaryDeployment/shop'),
  );
});

test('the stream carries WebApp changes and deletions the person may see, with their kind', async (t) => {
  const { base, emit } = await serve(t);
  const abort = new AbortController();
  t.after(() => abort.abort());
  const reader = (await fetch(`${base}/api/stream`, { signal: abort.signal }))
    .body!.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = '';
  while (!text.includes('event: snapshot')) text += (await reader.read()).value ?? '';
  emit(webApp('cart', 'shop', { phase: 'Failed' }));
  emit(webApp('shop', 'web', { phase: 'Creating', readyReplicas: 1 }));
  emit(webApp('shop', 'web'), true);
  while (!text.includes('event: deleted')) text += (await reader.read()).value ?? '';
  const events = text
    .split('\n\n')
    .filter((block) => block.startsWith('event: ') && !block.startsWith('event: snapshot'))
    .map((block) => ({
      event: block.split('\n')[0]!.slice(7),
      data: JSON.parse(block.split('data: ')[1]!) as unknown,
    }));
  const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(text)![1]!) as StreamEvents['snapshot'];
  assert.deepEqual(
    snapshot.filter((r) => r.kind === 'WebApp').map((r) => `${r.namespace}/${r.name}`),
    ['web/shop'],
  );
  assert.deepEqual(
    events,
    [
      {
        event: 'release',
        data: {
          ...webAppView(webApp('shop', 'web', { phase: 'Creating', readyReplicas: 1 })),
          release: undefined,
        },
      },
      { event: 'deleted', data: { kind: 'WebApp', namespace: 'web', name: 'shop' } },
    ].map((e) => JSON.parse(JSON.stringify(e)) as unknown),
    'the change in shop, where alice may not list webapps, is not sent',
  );
});
