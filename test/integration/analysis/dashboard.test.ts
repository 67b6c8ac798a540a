/**
 * The Grafana dashboard and the release series against real data: a controller whose
 * /metrics the cluster's Prometheus scrapes runs a release that is judged healthy, then
 * rolled back; meanwhile every panel's query (and every variable's) is run against the
 * real Prometheus with the variables filled in, and each must return data at least once.
 * The PrometheusRule's expressions must parse there too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { dashboardQueries, grafanaDashboard, prometheusRules } from '../../../src/api/monitoring.ts';
import { registerScrapeTarget, unregisterScrapeTarget } from '../../../src/cluster/prometheus.ts';
import { testCluster } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getRelease,
  releaseEnv,
  startScrapedSimulator,
  waitFor,
  waitPhase,
} from '../canary/support.ts';

interface Answer {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

async function instant(url: string, query: string): Promise<Answer> {
  const response = await request(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }).toString(),
  });
  return (await response.body.json()) as Answer;
}

/** Grafana's `label_values(selector, label)` as the PromQL that has the same values. */
function variableQuery(query: string): string {
  const match = /^label_values\((.*), (\w+)\)$/.exec(query);
  assert.ok(match, `variable query ${query} is label_values(selector, label)`);
  return `group by (${match[2]}) (${match[1]})`;
}

test('every dashboard panel returns data during a release that is judged, then rolled back', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  const cluster = await testCluster();
  const listening = controller?.lines
    .map((l) => JSON.parse(l) as { msg?: string; port?: number })
    .find((l) => l.msg === 'http listening');
  assert.ok(listening?.port, 'the controller logs its http port');
  const job = `controller-${ns}`;
  await registerScrapeTarget(cluster.stateDir, job, `127.0.0.1:${listening.port}`);
  t.after(() => unregisterScrapeTarget(cluster.stateDir, job));

  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  const sim = await startScrapedSimulator(t, ns, 200);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 30, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis: {
      interval: '1s',
      window: '10s',
      successThreshold: 1,
      failureThreshold: 2,
      inconclusiveLimit: 30,
    },
    metrics: { successRate: { threshold: 95 }, errorRate: { threshold: 5 }, memory: { maxMiB: 512 } },
  });

  const fill = (expr: string) =>
    expr
      .replaceAll('$namespace', ns)
      .replaceAll('$release', 'myapp')
      .replaceAll('$target', 'myapp')
      .replaceAll('$__rate_interval', '30s');
  const dashboard = grafanaDashboard() as {
    templating: { list: { name: string; type: string; definition?: string }[] };
  };
  const pending = new Map<string, string>([
    ...dashboardQueries().map(({ panel, expr }) => [`panel ${panel}`, fill(expr)] as [string, string]),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => [`variable ${v.name}`, fill(variableQuery(v.definition ?? ''))] as [string, string]),
  ]);
  const check = async () => {
    for (const [name, query] of pending) {
      const answer = await instant(cluster.prometheusUrl, query);
      assert.equal(answer.status, 'success', `${name}: ${answer.error ?? ''} in ${query}`);
      if ((answer.data?.result.length ?? 0) > 0) pending.delete(name);
    }
  };

  await waitFor(
    async () => {
      await check();
      return (await getRelease(admin, ns, 'myapp'))?.status?.analysis?.last?.decision === 'Continue';
    },
    { describe: 'a healthy analysis', timeoutMs: 90_000 },
  );
  await waitFor(
    async () => {
      await check();
      return [...pending.keys()].every((name) => name === 'panel Rollbacks');
    },
    { describe: 'data for every panel but Rollbacks', timeoutMs: 60_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; no data yet: ${[...pending.keys()].join(', ')}`);
  });

  sim.setProfile({ namespace: ns, name: 'myapp', version: 'canary', errorRate: 0.5 });
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 90_000);
  assert.equal(failed.status?.reason, 'MetricsFailed');
  await waitFor(
    async () => {
      await check();
      return pending.size === 0;
    },
    { describe: 'data for every panel', timeoutMs: 60_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; no data yet: ${[...pending.keys()].join(', ')}`);
  });
  const rollbacks = await instant(
    cluster.prometheusUrl,
    `codedance_release_rollbacks_total{namespace="${ns}", reason="MetricsFailed"}`,
  );
  assert.equal(
    (rollbacks.data?.result[0] as { value: [number, string] } | undefined)?.value[1],
    '1',
    'one rollback counted, by reason',
  );

  // The alert rules' expressions are valid PromQL for this Prometheus.
  const rules = prometheusRules() as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  for (const rule of rules.spec.groups.flatMap((g) => g.rules)) {
    const answer = await instant(cluster.prometheusUrl, rule.expr);
    assert.equal(answer.status, 'success', `${rule.alert}: ${answer.error ?? ''}`);
  }
});
