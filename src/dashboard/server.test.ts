import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Script } from 'node:vm';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { dashboardHandler, type DashboardCommand, type ReleaseSource } from './server.ts';
import type { ReleaseView } from './release-view.ts';

function release(name: string, weight: number): CanaryDeployment {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { targetDeployment: name, canaryVersion: `${name}:v2`, strategy: { type: 'Linear', stepPause: '30s' } },
    status: { phase: 'Progressing', currentStepIndex: 1, currentWeight: weight, history: [{ time: '2026-01-01T00:00:00Z', event: 'Started' }] },
  };
}

const listeners = new Set<(r: CanaryDeployment, deleted: boolean) => void>();
const items = [release('cart', 10)];
const source: ReleaseSource = {
  list: () => items,
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};
const commands: [string, string, DashboardCommand][] = [];
let server: Server;
let base: string;

before(async () => {
  const handle = dashboardHandler({
    source,
    sendCommand: async (namespace, name, command) => {
      commands.push([namespace, name, command]);
      return { ok: true, message: `${command} requested` };
    },
  });
  server = createServer((req, res) => {
    void handle(req, res, new URL(req.url ?? '/', 'http://x').pathname).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('serves the page and browser code that parses as JavaScript', async () => {
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="app.js">/);
  const app = await fetch(`${base}/app.js`);
  assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const code = await app.text();
  assert.doesNotThrow(() => new Script(code), 'stripped app.ts must be plain JavaScript');
});

test('lists releases as views with the ladder from the strategy', async () => {
  const views = (await (await fetch(`${base}/api/releases`)).json()) as ReleaseView[];
  assert.equal(views.length, 1);
  const [cart] = views;
  assert.equal(cart?.weight, 10);
  assert.deepEqual(
    cart?.steps.map((s) => [s.weight, s.state]),
    [
      [5, 'done'],
      [10, 'current'],
      [25, 'pending'],
      [50, 'pending'],
      [75, 'pending'],
      [100, 'pending'],
    ],
  );
  assert.equal(cart?.steps[0]?.pause, '30s');
  assert.deepEqual(cart?.actions, { promote: true, pause: true, resume: false, abort: true, retry: false });
});

test('streams a snapshot, then each change', async () => {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/stream`, { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('event: snapshot')) text += (await reader.read()).value ?? '';
  listeners.forEach((fn) => fn(release('cart', 25), false));
  while (!text.includes('event: release')) text += (await reader.read()).value ?? '';
  const data = text.split('event: release\ndata: ')[1]!.split('\n')[0]!;
  assert.equal((JSON.parse(data) as ReleaseView).weight, 25);
  controller.abort();
});

test('routes commands and refuses unknown ones', async () => {
  const ok = await fetch(`${base}/api/releases/shop/cart/promote`, { method: 'POST' });
  assert.equal(ok.status, 200);
  assert.deepEqual(commands, [['shop', 'cart', 'promote']]);
  const bad = await fetch(`${base}/api/releases/shop/cart/explode`, { method: 'POST' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /unknown command 'explode'/);
});
