import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusAllowList } from '../analysis/allowed.ts';
import { queryTargetOf } from '../analysis/analyzer.ts';
import { builtInQuery } from '../analysis/queries.ts';
import type { RangeQuery } from '../analysis/range.ts';
import { consoleAssets } from './assets.ts';
import type { BacktestAnswer, EventsAnswer, GroupView, MetricsAnswer } from './contract.ts';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import {
  dashboardHandler,
  type Caller,
  type DashboardCommand,
  type DashboardHandler,
  type ReleaseSource,
} from './server.ts';
import type { ReleaseView } from './release-view.ts';

function release(name: string, weight: number, namespace = 'shop', message?: string): CanaryDeployment {
  return {
    metadata: { name, namespace },
    spec: {
      targetDeployment: name,
      canaryVersion: `${name}:v2`,
      strategy: { type: 'Linear', stepPause: '30s' },
      metrics: {
        successRate: { threshold: 99 },
        latency: { p99: '500ms' },
        ...(name === 'elsewhere' ? { provider: { address: 'http://prometheus.attacker.example' } } : {}),
      },
    },
    status: {
      phase: 'Progressing',
      currentStepIndex: 1,
      currentWeight: weight,
      ...(message ? { message } : {}),
      history: [{ time: '2026-01-01T00:00:00Z', event: 'Approved', by: 'alice' }],
    },
  };
}

const listeners = new Set<(r: CanaryDeployment, deleted: boolean) => void>();
const items: CanaryDeployment[] = [
  release('cart', 10),
  release('secret', 50, 'hidden'),
  release('elsewhere', 10),
  // Stored under an older schema: the view cannot read it, the list must survive it.
  {
    metadata: { name: 'broken', namespace: 'shop' },
    spec: { targetDeployment: 'b', canaryVersion: 'b:v2', strategy: { type: 'Linear', steps: 'oops' } },
  } as unknown as CanaryDeployment,
];
const source: ReleaseSource = {
  list: () => items,
  get: (namespace, name) => items.find((r) => r.metadata.namespace === namespace && r.metadata.name === name),
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};
const emit = (r: CanaryDeployment, deleted = false): void => {
  for (const fn of listeners) fn(r, deleted);
};
const acted: [string, string, string, DashboardCommand][] = [];
let server: Server;
let base: string;
let host: string;
let handler: DashboardHandler;

/** Tokens this fake access knows: `alice` sees namespace shop only. */
const tokens: Record<string, string> = { 'alice-token': 'alice' };

/** Range queries the metrics endpoint asked, answered with two points each. */
const asked: RangeQuery[] = [];

before(async () => {
  const built = mkdtempSync(join(tmpdir(), 'console-'));
  mkdirSync(join(built, 'assets'));
  writeFileSync(
    join(built, 'index.html'),
    '<!doctype html><html><head><script type="module" src="./assets/index-abc.js"></script></head></html>',
  );
  writeFileSync(join(built, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(built, 'assets', 'index-abc.js.map'), '{}');
  handler = dashboardHandler({
    source,
    assets: consoleAssets(built),
    metrics: {
      defaultAddress: 'http://prometheus.test:9090',
      allowList: prometheusAllowList('http://prometheus.test:9090'),
      query: async (q) => {
        asked.push(q);
        return {
          ok: true,
          points: [
            [q.start, 99.5],
            [q.end, 99.9],
          ],
        };
      },
    },
    maxStreams: 2,
    maxBufferedBytes: 4096,
    heartbeatSeconds: 3600,
    access: {
      async authenticate(req) {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const username = token ? tokens[token] : undefined;
        if (!username) return { ok: false, refusal: { status: 401, message: 'a bearer token is required' } };
        return { ok: true, caller: { person: { username }, token } };
      },
      mayList: async (_caller: Caller, namespace) => namespace === 'shop',
      async act(caller, namespace, name, command) {
        acted.push([caller.person.username, namespace, name, command]);
        return { ok: true, message: `${command} requested` };
      },
      // As the API server answers: alice may list Events in shop only.
      async events(caller, namespace, name) {
        if (namespace !== 'shop')
          return {
            ok: false,
            status: 403,
            message: `events is forbidden: User "${caller.person.username}" cannot list resource "events" in namespace "${namespace}"`,
          };
        return {
          ok: true,
          events: [
            {
              time: '2026-01-01T00:00:01Z',
              type: 'Normal',
              reason: 'StepReached',
              note: `${name} at 10%`,
              count: 1,
            },
          ],
        };
      },
    },
  });
  server = createServer((req, res) => {
    void handler.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `http://${host}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const auth = { authorization: 'Bearer alice-token' };
const action = { ...auth, 'content-type': 'application/json', 'x-codedance-request': 'dashboard' };

test('serves the built console with security headers; hashed files are cached for good, source maps not served', async () => {
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<script type="module" src=".\/assets\/index-abc.js">/);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self';/, 'no inline script, ever');
  // <style> elements need the page's own nonce, fresh on every load.
  const nonce = /<meta name="codedance-style-nonce" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(nonce && csp.includes(`style-src 'self' 'nonce-${nonce}' 'report-sample'`), csp);
  const again = await fetch(`${base}/`);
  assert.doesNotMatch(
    again.headers.get('content-security-policy') ?? '',
    new RegExp(nonce.replace(/[+/=]/g, '.')),
  );
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  const app = await fetch(`${base}/assets/index-abc.js`);
  assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(app.headers.get('cache-control') ?? '', /immutable/);
  assert.match(
    app.headers.get('content-security-policy') ?? '',
    /style-src 'self';/,
    'only the page carries a nonce',
  );
  assert.equal(await app.text(), 'console.log(1)');
  assert.equal((await fetch(`${base}/assets/index-abc.js.map`)).status, 404);
});

test('without a build, the page says how to make one', async () => {
  const assets = consoleAssets(join(tmpdir(), 'no-such-console-build'));
  assert.match(assets.get('/')!.body.toString(), /npm run build:console/);
});

test('metrics: the analysis PromQL over the release, only for a release the person may read', async () => {
  asked.length = 0;
  const answer = (await (
    await fetch(`${base}/api/releases/shop/cart/metrics`, { headers: auth })
  ).json()) as MetricsAnswer;
  assert.equal(answer.problem, undefined);
  assert.deepEqual(
    answer.charts.map((c) => c.name),
    ['successRate', 'latencyP99'],
  );
  const cart = items[0]!;
  const target = queryTargetOf(cart.spec, { namespace: 'shop' });
  const [success, latency] = answer.charts;
  assert.deepEqual(
    success!.lines.map((l) => [l.version, l.query]),
    [
      ['canary', builtInQuery('successRate', target)],
      ['stable', builtInQuery('successRate', target, 'stable')],
    ],
    "the same queries the analysis runs, canary's and stable's",
  );
  assert.equal(success!.threshold, 99);
  assert.equal(success!.rule, '>= 99%');
  assert.equal(latency!.threshold, 500);
  assert.equal(success!.lines[0]!.points.length, 2);
  assert.equal(answer.unreachable, undefined);
  assert.ok(asked.every((q) => q.address === 'http://prometheus.test:9090'));

  // Prometheus has no RBAC: a release in a namespace alice may not list is never asked about.
  asked.length = 0;
  const hidden = await fetch(`${base}/api/releases/hidden/secret/metrics`, { headers: auth });
  assert.equal(hidden.status, 404);
  assert.equal(asked.length, 0);
  assert.equal((await fetch(`${base}/api/releases/shop/cart/metrics`)).status, 401);
});

test('metrics: a release naming a Prometheus the allow-list does not hold is refused, not queried', async () => {
  asked.length = 0;
  const answer = (await (
    await fetch(`${base}/api/releases/shop/elsewhere/metrics`, { headers: auth })
  ).json()) as MetricsAnswer;
  assert.match(answer.problem ?? '', /not a Prometheus this controller may query/);
  assert.equal(asked.length, 0);
});

test("events: read as the person; the API server's refusal is passed on with its status", async () => {
  const answer = await fetch(`${base}/api/releases/shop/cart/events`, { headers: auth });
  assert.equal(answer.status, 200);
  assert.deepEqual(
    ((await answer.json()) as EventsAnswer).events.map((e) => [e.reason, e.note]),
    [['StepReached', 'cart at 10%']],
  );
  const refused = await fetch(`${base}/api/releases/hidden/secret/events`, { headers: auth });
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { message: string }).message, /cannot list resource "events"/);
  assert.equal((await fetch(`${base}/api/releases/shop/cart/events`)).status, 401);
});

test('backtest: the release policy replayed over a window, on the same terms as the metrics', async () => {
  asked.length = 0;
  const from = Date.parse('2026-01-01T00:00:00Z');
  const to = from + 60_000;
  const response = await fetch(
    `${base}/api/releases/shop/cart/backtest?from=${from}&to=${new Date(to).toISOString()}`,
    {
      headers: auth,
    },
  );
  assert.equal(response.status, 200);
  const answer = (await response.json()) as BacktestAnswer;
  assert.equal(answer.problem, undefined);
  assert.equal(answer.from, from);
  assert.equal(answer.to, to);
  assert.equal(answer.stepSeconds, 30, "the analysis interval's default");
  assert.equal(answer.rounds.length, 3);
  assert.equal(answer.rounds[0]?.decision, 'Continue', '99.5% at the first round passes 99%');
  assert.match(answer.outcome, /continue/);
  assert.ok(
    asked.some((q) => q.promql.includes('version="stable"')),
    "stable's side is asked for the suggestions",
  );
  assert.deepEqual(
    answer.suggestions.map((x) => x.check),
    ['successRate', 'latencyP99'],
  );
  assert.ok(asked.every((q) => q.address === 'http://prometheus.test:9090'));

  asked.length = 0;
  assert.equal((await fetch(`${base}/api/releases/hidden/secret/backtest`, { headers: auth })).status, 404);
  assert.equal((await fetch(`${base}/api/releases/shop/cart/backtest`)).status, 401);
  const bad = await fetch(`${base}/api/releases/shop/cart/backtest?from=yesterday`, { headers: auth });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /from: expected ms since the epoch/);
  const elsewhere = (await (
    await fetch(`${base}/api/releases/shop/elsewhere/backtest`, { headers: auth })
  ).json()) as BacktestAnswer;
  assert.match(elsewhere.problem ?? '', /not a Prometheus this controller may query/);
  assert.equal(asked.length, 0, 'nothing asked for a hidden or refused release');
});

test('the API needs an identity: 401 without a token, with the headers too', async () => {
  for (const path of ['/api/releases', '/api/stream', '/api/whoami']) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 401, path);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  assert.deepEqual(await (await fetch(`${base}/api/whoami`, { headers: auth })).json(), {
    username: 'alice',
  });
});

test('lists only namespaces the person may list; a malformed object is listed as such', async () => {
  const views = (await (await fetch(`${base}/api/releases`, { headers: auth })).json()) as ReleaseView[];
  assert.deepEqual(
    views.map((v) => `${v.namespace}/${v.name}`),
    ['shop/broken', 'shop/cart', 'shop/elsewhere'],
  );
  const [broken, cart] = views;
  assert.match(broken?.malformed ?? '', /\/spec\/strategy\/steps/);
  assert.match(String(broken?.actions.abort), /cannot be read/);
  assert.equal(cart?.malformed, undefined);
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
  assert.equal(cart?.history[0]?.by, 'alice');
  // Each command offered, or refused in the steering table's words (as the CLI says them).
  assert.deepEqual(cart?.actions, {
    promote: true,
    'promote-full': true,
    pause: true,
    resume: 'release "cart" is not paused',
    abort: true,
    retry: 'release "cart" is in progress: only a Failed release can be retried',
  });
});

test('streams a snapshot, then each change the person may see, in order', async () => {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/stream`, { signal: controller.signal, headers: auth });
  assert.equal(response.headers.get('content-security-policy')?.includes("frame-ancestors 'none'"), true);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('event: snapshot')) text += (await reader.read()).value ?? '';
  emit(release('secret', 75, 'hidden'));
  emit(release('cart', 25));
  emit(release('cart', 25), true);
  while (!text.includes('event: deleted')) text += (await reader.read()).value ?? '';
  const events = text
    .split('\n\n')
    .filter((block) => block.startsWith('event: ') && !block.startsWith('event: snapshot'));
  assert.deepEqual(
    events.map((block) => block.split('\n')[0]),
    ['event: release', 'event: deleted'],
    'the change in a namespace alice may not list is not sent',
  );
  assert.equal((JSON.parse(events[0]!.split('data: ')[1]!) as ReleaseView).weight, 25);
  controller.abort();
  await waitUntil(() => handler.liveStreams() === 0);
});

test('actions are non-simple requests from this origin only', async () => {
  const url = `${base}/api/releases/shop/cart/promote`;
  const cases: [string, RequestInit, number][] = [
    [
      'a cross-site form (no header, form body)',
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1',
      },
      403,
    ],
    [
      'no custom header',
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' },
      403,
    ],
    ['not JSON', { method: 'POST', headers: { ...action, 'content-type': 'text/plain' }, body: '{}' }, 415],
    ['a JSON body that is not an object', { method: 'POST', headers: action, body: '[1]' }, 400],
    [
      'another origin',
      { method: 'POST', headers: { ...action, origin: 'https://evil.example' }, body: '{}' },
      403,
    ],
    [
      'another site by fetch metadata',
      { method: 'POST', headers: { ...action, 'sec-fetch-site': 'cross-site' }, body: '{}' },
      403,
    ],
    [
      'no token',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-codedance-request': '1' },
        body: '{}',
      },
      401,
    ],
  ];
  for (const [what, init, status] of cases) {
    const response = await fetch(url, init);
    assert.equal(response.status, status, what);
  }
  assert.deepEqual(acted, [], 'none of them reached the access layer');
  const ok = await fetch(url, { method: 'POST', headers: { ...action, origin: base }, body: '{}' });
  assert.equal(ok.status, 200);
  assert.deepEqual(acted, [['alice', 'shop', 'cart', 'promote']]);
  const bad = await fetch(`${base}/api/releases/shop/cart/explode`, {
    method: 'POST',
    headers: action,
    body: '{}',
  });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /unknown command 'explode'/);
});

test('the number of live streams is capped', async () => {
  const aborts = [new AbortController(), new AbortController()];
  for (const a of aborts)
    assert.equal((await fetch(`${base}/api/stream`, { headers: auth, signal: a.signal })).status, 200);
  const third = await fetch(`${base}/api/stream`, { headers: auth });
  assert.equal(third.status, 503);
  assert.equal(third.headers.get('retry-after'), '5');
  for (const a of aborts) a.abort();
  await waitUntil(() => handler.liveStreams() === 0);
});

test('a reader that does not read is dropped instead of buffered', async () => {
  const socket = connect(Number(host.split(':')[1]), '127.0.0.1');
  socket.pause(); // never read: the kernel buffers fill, then node's
  socket.write(`GET /api/stream HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer alice-token\r\n\r\n`);
  await waitUntil(() => handler.liveStreams() === 1);
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 2000 && handler.droppedStreams() === 0; i++) {
    emit(release('cart', 30, 'shop', big));
    if (i % 20 === 0) await sleep(5);
  }
  await waitUntil(() => handler.droppedStreams() === 1 && handler.liveStreams() === 0);
  socket.destroy();
});

test('with allowed hosts, another Host (DNS rebinding) is refused', async () => {
  const strict = dashboardHandler({
    source,
    allowedHosts: ['127.0.0.1:1'],
    access: {
      authenticate: async () => ({ ok: true, caller: { person: { username: 'me' }, token: undefined } }),
      mayList: async () => true,
      act: async () => ({ ok: true, message: '' }),
      events: async () => ({ ok: true, events: [] }),
    },
  });
  const s = createServer(
    (req, res) => void strict.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname),
  );
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const response = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/api/releases`);
  assert.equal(response.status, 421);
  s.close();
});

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10s');
    await sleep(10);
  }
}

test('a stream survives an API server that fails to re-check the token, and ends when the token is refused', async () => {
  let answer: 'ok' | 'fail' | 'refuse' = 'ok';
  const streaming = dashboardHandler({
    source,
    heartbeatSeconds: 0.05,
    access: {
      async authenticate() {
        if (answer === 'fail') throw new Error('API server unreachable');
        if (answer === 'refuse') return { ok: false, refusal: { status: 401, message: 'token expired' } };
        return { ok: true, caller: { person: { username: 'me' }, token: 't' } };
      },
      mayList: async () => true,
      act: async () => ({ ok: true, message: '' }),
      events: async () => ({ ok: true, events: [] }),
    },
  });
  const s = createServer(
    (req, res) => void streaming.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname),
  );
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/api/stream`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('keep-alive')) text += (await reader.read()).value ?? '';
    answer = 'fail';
    const seen = text.length;
    while (text.slice(seen).split('keep-alive').length < 3) text += (await reader.read()).value ?? '';
    assert.equal(streaming.liveStreams(), 1, 'still open after failed re-checks');
    answer = 'refuse';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /event: unauthorized\ndata: \{"message":"token expired"\}/);
    await waitUntil(() => streaming.liveStreams() === 0);
  } finally {
    s.closeAllConnections();
    s.close();
  }
});

test('groups: the ReleaseGroups of the releases the person may list, with counts and summed cost', async () => {
  const member = (name: string, namespace: string, status: CanaryDeployment['status']): CanaryDeployment => ({
    ...release(name, 0, namespace),
    metadata: { name, namespace, labels: { 'deploy.codedance.io/group': 'fleet' } },
    status,
  });
  const cost = {
    asOf: '2026-01-01T00:01:00Z',
    seconds: 60,
    canaryPodSeconds: 60,
    extraPodSeconds: 0,
    cpuCoreSeconds: 6,
    memoryGiBSeconds: 3,
    canaryTrafficPercent: 50,
    podRequests: { cpuCores: 0.1, memoryGiB: 0.05 },
    steps: [],
  };
  const added = [
    member('m1', 'shop', { phase: 'Completed', cost }),
    member('m2', 'shop', { reason: 'WaitingForGroup' }),
    member('m3', 'shop', { phase: 'Failed', reason: 'MetricsFailed', cost }),
    member('m4', 'hidden', { phase: 'Completed', cost }),
  ];
  items.push(...added);
  try {
    const groups = (await (await fetch(`${base}/api/groups`, { headers: auth })).json()) as GroupView[];
    assert.equal(groups.length, 1, 'the hidden namespace stays hidden');
    const [fleet] = groups;
    assert.equal(fleet?.name, 'fleet');
    assert.deepEqual(fleet?.counts, { total: 3, waiting: 1, running: 0, paused: 0, completed: 1, failed: 1 });
    assert.deepEqual(
      fleet?.members.map((m) => [m.name, m.state]),
      [
        ['m1', 'completed'],
        ['m2', 'waiting'],
        ['m3', 'failed'],
      ],
    );
    assert.equal(fleet?.cost?.canaryPodSeconds, 120);
    assert.equal((await fetch(`${base}/api/groups`)).status, 401);
  } finally {
    items.splice(items.length - added.length, added.length);
  }
});
