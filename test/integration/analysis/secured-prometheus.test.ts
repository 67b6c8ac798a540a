/**
 * Credentials and TLS against a real secured Prometheus (HTTPS with its own CA and basic
 * auth through `--web.config.file`, test/support/secured-prometheus.ts):
 * - the client verifies the certificate with the CA bundle, and sends basic auth;
 * - a release whose opted-in Secret holds the right credentials and CA completes on it;
 * - a wrong password, a Secret without the opt-in label, or a missing CA hold the release
 *   with a Healthy condition that says why, and it is never promoted;
 * - the password appears nowhere in status, Events or the controller's log;
 * - behind an authenticating proxy (as Mimir or a managed Prometheus), a bearer token
 *   from the Secret and the tenant header from the spec reach the server, and a release
 *   completes; a wrong token holds it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { createPrometheusClient } from '../../../src/analysis/prometheus.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import { testCluster } from '../../support/cluster.ts';
import { startAuthProxy } from '../../support/auth-proxy.ts';
import {
  SECURED_PASSWORD,
  SECURED_USER,
  startSecuredPrometheus,
  type SecuredPrometheus,
} from '../../support/secured-prometheus.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  waitFor,
  waitPhase,
} from '../canary/support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

let secured: SecuredPrometheus;
before(async () => {
  secured = await startSecuredPrometheus(`prometheus-secured-${process.pid}`);
});
after(async () => {
  await secured.stop();
});

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

test('the client verifies the server with the CA bundle and signs in with basic auth', async () => {
  const good = createPrometheusClient({
    address: secured.url,
    ca: secured.ca,
    headers: basic(SECURED_USER, SECURED_PASSWORD),
  });
  const answer = await good.query('vector(42)');
  assert.ok(answer.ok, JSON.stringify(answer));
  assert.equal(answer.value, 42);
  await good.close();

  const wrong = createPrometheusClient({
    address: secured.url,
    ca: secured.ca,
    headers: basic(SECURED_USER, 'wrong'),
  });
  const refused = await wrong.query('up');
  assert.ok(!refused.ok);
  assert.equal(refused.error.status, 401);
  assert.match(refused.error.message, /credentials/);
  await wrong.close();

  for (const ca of [undefined, secured.otherCa]) {
    const untrusted = createPrometheusClient({
      address: secured.url,
      ...(ca ? { ca } : {}),
      headers: basic(SECURED_USER, SECURED_PASSWORD),
    });
    const r = await untrusted.query('up');
    assert.ok(!r.ok);
    assert.equal(r.error.kind, 'unreachable');
    assert.match(r.error.message, /TLS.*ca\.crt/);
    await untrusted.close();
  }
});

const analysis: CanaryDeploymentSpec['analysis'] = {
  interval: '1s',
  window: '10s',
  successThreshold: 1,
  failureThreshold: 2,
  inconclusiveLimit: 30,
  unreachableTimeout: '10m',
};

async function secret(
  admin: KubeObjectClient,
  ns: string,
  name: string,
  data: Record<string, string>,
  optIn = true,
): Promise<void> {
  await admin.create<KubeObject>(kinds.Secret, {
    metadata: {
      name,
      namespace: ns,
      ...(optIn ? { labels: { 'deploy.codedance.io/metrics': 'true' } } : {}),
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  } as KubeObject);
}
type KubeObjectClient = Awaited<ReturnType<typeof releaseEnv>>['admin'];

function release(url: string, secretName: string): CanaryDeploymentSpec {
  return {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '2s' },
        { weight: 100, pause: '0s' },
      ],
    },
    analysis,
    metrics: {
      provider: {
        address: url,
        timeout: '3s',
        secretRef: { name: secretName },
        headers: [{ name: 'X-Scope-OrgID', value: 'team-a' }],
      },
      successRate: { threshold: 95 },
      errorRate: { threshold: 5 },
    },
  };
}

test('a release reads a secured Prometheus with an opted-in Secret; bad credentials hold it with a clear condition', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t, { args: ['--allowed-prometheus-url', secured.url] });
  const cluster = await testCluster();
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    rps: 200,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` },
  });
  t.after(() => sim.stop());

  await secret(admin, ns, 'prom-good', {
    username: SECURED_USER,
    password: SECURED_PASSWORD,
    'ca.crt': secured.ca,
  });
  await secret(admin, ns, 'prom-wrong', {
    username: SECURED_USER,
    password: 'not-the-password',
    'ca.crt': secured.ca,
  });
  await secret(
    admin,
    ns,
    'prom-unlabelled',
    { username: SECURED_USER, password: SECURED_PASSWORD, 'ca.crt': secured.ca },
    false,
  );
  await secret(admin, ns, 'prom-no-ca', { username: SECURED_USER, password: SECURED_PASSWORD });

  const cases = [
    { app: 'wrong', secret: 'prom-wrong', reason: 'PrometheusUnauthorized', says: /HTTP 401/ },
    {
      app: 'unlabelled',
      secret: 'prom-unlabelled',
      reason: 'MetricsSecretNotOptedIn',
      says: /kubectl label secret prom-unlabelled/,
    },
    { app: 'noca', secret: 'prom-no-ca', reason: 'PrometheusUnreachable', says: /TLS.*ca\.crt/ },
  ];
  for (const name of ['myapp', ...cases.map((c) => c.app)]) await createApp(admin, ns, name, { replicas: 2 });
  await createRelease(admin, ns, 'myapp', release(secured.url, 'prom-good'));
  for (const c of cases)
    await createRelease(admin, ns, c.app, {
      ...release(secured.url, c.secret),
      targetDeployment: c.app,
      canaryVersion: `${c.app}:v2`,
    });

  const done = await waitPhase(admin, ns, 'myapp', 'Completed', 150_000);
  assert.equal(done.status?.analysis?.last?.decision, 'Continue');
  assert.ok(
    done.status?.analysis?.last?.metrics.some((m) => m.name === 'successRate' && typeof m.value === 'number'),
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');

  for (const c of cases) {
    const held = await waitFor(
      async () => {
        const cd = await getRelease(admin, ns, c.app);
        const healthy = cd?.status?.conditions?.find((x) => x.type === 'Healthy');
        return healthy?.reason === c.reason ? { cd, healthy } : undefined;
      },
      { describe: `${c.app}: Healthy reason ${c.reason}`, timeoutMs: 60_000 },
    );
    assert.equal(held.healthy.status, 'Unknown');
    assert.match(held.healthy.message ?? '', c.says);
    assert.equal(
      held.cd?.status?.currentStepIndex ?? 0,
      0,
      `${c.app} held on its first step, past its 2s pause`,
    );
    assert.notEqual(held.cd?.status?.phase, 'Completed');
    assert.equal(imageOf(await getDeployment(admin, ns, c.app)), `${c.app}:v1`, `${c.app} never promoted`);
  }

  // Never logged, never in status or Events.
  const statuses = JSON.stringify((await admin.list(CanaryDeploymentKind, { namespace: ns })).items);
  const events = JSON.stringify((await admin.list(kinds.Event, { namespace: ns })).items);
  const encoded = Buffer.from(`${SECURED_USER}:${SECURED_PASSWORD}`).toString('base64');
  for (const [where, text] of [
    ['status', statuses],
    ['events', events],
    ['controller log', controller?.lines.join('\n') ?? ''],
  ] as const) {
    assert.ok(
      !text.includes(SECURED_PASSWORD) && !text.includes('not-the-password') && !text.includes(encoded),
      `no credential in ${where}`,
    );
  }
});

test('a bearer token and a tenant header reach a Prometheus behind an authenticating proxy', {
  timeout: 240_000,
}, async (t) => {
  const cluster = await testCluster();
  const proxy = await startAuthProxy(cluster.prometheusUrl, 'the-token');
  t.after(() => proxy.close());
  const { admin, ns, controller } = await releaseEnv(t, { args: ['--allowed-prometheus-url', proxy.url] });
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    rps: 200,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` },
  });
  t.after(() => sim.stop());
  await secret(admin, ns, 'prom-token', { token: 'the-token' });
  await secret(admin, ns, 'prom-bad-token', { token: 'not-the-token' });
  for (const name of ['myapp', 'badtoken']) await createApp(admin, ns, name, { replicas: 2 });
  await createRelease(admin, ns, 'myapp', release(proxy.url, 'prom-token'));
  await createRelease(admin, ns, 'badtoken', {
    ...release(proxy.url, 'prom-bad-token'),
    targetDeployment: 'badtoken',
    canaryVersion: 'badtoken:v2',
  });

  await waitPhase(admin, ns, 'myapp', 'Completed', 150_000);
  assert.ok((proxy.tenants.get('team-a') ?? 0) > 0, 'queries came with X-Scope-OrgID: team-a');
  const held = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'badtoken');
      return cd?.status?.conditions?.find(
        (x) => x.type === 'Healthy' && x.reason === 'PrometheusUnauthorized',
      )
        ? cd
        : undefined;
    },
    { describe: 'badtoken: Healthy reason PrometheusUnauthorized', timeoutMs: 60_000 },
  );
  assert.equal(held.status?.currentStepIndex ?? 0, 0);
  assert.equal(imageOf(await getDeployment(admin, ns, 'badtoken')), 'badtoken:v1', 'never promoted');
  assert.ok(proxy.refused > 0);
  const everything =
    JSON.stringify((await admin.list(CanaryDeploymentKind, { namespace: ns })).items) +
    JSON.stringify((await admin.list(kinds.Event, { namespace: ns })).items) +
    (controller?.lines.join('\n') ?? '');
  assert.ok(!everything.includes('the-token'), 'the token is nowhere in status, Events or the log');
});
