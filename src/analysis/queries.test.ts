import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor } from './checks.ts';
import {
  builtInQuery,
  canaryVersionLabelOf,
  escapePromQLString,
  promDuration,
  queryFor,
  renderCustomQuery,
  stableQueryFor,
  versionLabel,
  type QueryTarget,
} from './queries.ts';

const base: QueryTarget = {
  provider: 'Istio',
  namespace: 'production',
  target: 'myapp',
  canaryName: 'myapp-canary',
  canaryVersionLabel: 'v2.0.0',
  windowMs: 60_000,
};

test('Istio queries select the canary workload as the destination reports it', () => {
  assert.equal(
    builtInQuery('successRate', base),
    '(sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="production", destination_workload="myapp-canary", response_code!~"5.."}[1m])) or on() vector(0))' +
      ' / sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="production", destination_workload="myapp-canary"}[1m])) * 100',
  );
  assert.match(builtInQuery('errorRate', base), /response_code=~"5\.\."/);
  assert.equal(
    builtInQuery('latencyP99', base),
    'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace="production", destination_workload="myapp-canary"}[1m])) by (le))',
  );
});

test('Nginx queries select canary-served requests of the user Ingress, latency in ms', () => {
  const t: QueryTarget = { ...base, provider: 'Nginx', ingress: 'myapp-web' };
  assert.match(
    builtInQuery('errorRate', t),
    /nginx_ingress_controller_requests\{namespace="production", ingress="myapp-web", canary!="", status=~"5\.\."\}\[1m\]/,
  );
  assert.equal(
    builtInQuery('latencyP50', t),
    'histogram_quantile(0.5, sum(rate(nginx_ingress_controller_response_duration_seconds_bucket{namespace="production", ingress="myapp-web", canary!=""}[1m])) by (le)) * 1000',
  );
  assert.match(builtInQuery('successRate', { ...t, ingress: undefined }), /ingress="myapp"/);
});

test('Replicas and GatewayAPI use the plain metrics of the seed, by app and version', () => {
  for (const provider of ['Replicas', 'GatewayAPI'] as const) {
    const t: QueryTarget = { ...base, provider, windowMs: 30_000 };
    assert.equal(
      builtInQuery('errorRate', t),
      '(sum(rate(http_requests_total{namespace="production", app="myapp", version="v2.0.0", status=~"5.."}[30s])) or on() vector(0))' +
        ' / sum(rate(http_requests_total{namespace="production", app="myapp", version="v2.0.0"}[30s])) * 100',
    );
    assert.match(
      builtInQuery('latencyP90', t),
      /^histogram_quantile\(0\.9, sum\(rate\(http_request_duration_seconds_bucket\{.*\}\[30s\]\)\) by \(le\)\) \* 1000$/,
    );
  }
});

test('label values are escaped and cannot break out of their quotes', () => {
  const evil = { ...base, namespace: 'a"} or vector(1) #', canaryName: 'x\\"y\nz' };
  const q = builtInQuery('successRate', evil);
  assert.match(q, /destination_workload_namespace="a\\"} or vector\(1\) #"/);
  assert.match(q, /destination_workload="x\\\\\\"y\\nz"/);
  assert.equal(escapePromQLString('plain-name_1.2'), 'plain-name_1.2');
  assert.equal(escapePromQLString('tab\there\u0001'), 'tab\\there\\x01');
});

test('custom PromQL placeholders are replaced, escaped, with optional spaces', () => {
  const t = { ...base, namespace: 'ns"x', ingress: 'web' };
  assert.equal(
    renderCustomQuery(
      'sum(rate(q{namespace="{{namespace}}", app="{{ target }}", pod=~"{{canary}}-.*", v="{{version}}", i="{{ingress}}"}[{{window}}]))',
      t,
    ),
    'sum(rate(q{namespace="ns\\"x", app="myapp", pod=~"myapp-canary-.*", v="v2.0.0", i="web"}[1m]))',
  );
  assert.equal(renderCustomQuery('x{{unknown}}', t), 'x{{unknown}}');
});

test('windows become PromQL durations', () => {
  assert.equal(promDuration(60_000), '1m');
  assert.equal(promDuration(300_000), '5m');
  assert.equal(promDuration(90_000), '90s');
  assert.equal(promDuration(1500), '1500ms');
  assert.equal(promDuration(0), '1ms');
});

test('plain metrics select version="canary" unless told otherwise', () => {
  const t: QueryTarget = { ...base, provider: 'Replicas', canaryVersionLabel: undefined };
  assert.match(builtInQuery('successRate', t), /app="myapp", version="canary"/);
  assert.match(renderCustomQuery('{{version}}', t), /^canary$/);
});

test('the canary version label is the pod template label, else canary', () => {
  assert.equal(canaryVersionLabelOf(undefined), 'canary');
  assert.equal(canaryVersionLabelOf({ app: 'x' }), 'canary');
  assert.equal(canaryVersionLabelOf({ version: 'v2' }), 'v2');
});

test('versionLabel derives a label-safe value from an image', () => {
  assert.equal(versionLabel('myapp:v2.0.0'), 'v2.0.0');
  assert.equal(versionLabel('registry:5000/team/myapp:v3'), 'v3');
  assert.equal(versionLabel('registry:5000/team/myapp'), 'latest');
  assert.equal(versionLabel('myapp@sha256:0123abcd'), 'sha256-0123abcd');
  assert.equal(versionLabel(`app:${'a'.repeat(100)}`).length, 63);
  assert.equal(versionLabel('app:-_-'), 'unknown');
});

test('gRPC: a non-OK status is an error (Istio grpc_response_status, plain grpc_code)', () => {
  const istio = builtInQuery('errorRate', { ...base, protocol: 'GRPC' });
  assert.match(
    istio,
    /^\(sum\(rate\(istio_requests_total\{[^}]*destination_workload="myapp-canary", grpc_response_status!="0"\}/,
  );
  assert.match(builtInQuery('successRate', { ...base, protocol: 'GRPC' }), /grpc_response_status="0"/);
  const plain = { ...base, provider: 'GatewayAPI' as const, protocol: 'GRPC' as const };
  assert.match(
    builtInQuery('errorRate', plain),
    /grpc_server_handled_total\{namespace="production", app="myapp", version="v2\.0\.0", grpc_code!="OK"\}/,
  );
  assert.match(builtInQuery('latencyP99', plain), /grpc_server_handling_seconds_bucket.* \* 1000$/);
  assert.match(builtInQuery('errorRate', { ...base, protocol: 'HTTP' }), /response_code=~"5\.\."/);
});

test("stable's side of each check: the provider's stable series, the target's pods, none for a ratio or a plain custom query", () => {
  const { checks } = checksFor({
    successRate: { threshold: 99 },
    latency: { p99: '500ms' },
    cpu: { maxCores: 1, maxRatioToStable: 1.5 },
    custom: [{ name: 'queue', query: 'sum(queue{ns="{{namespace}}"})', threshold: 5, compare: 'LT' }],
    compare: {
      errorRate: { maxIncrease: 1 },
      custom: [{ name: 'hits', query: 'sum(hits{version="{{version}}"})', maxRatio: 1.2 }],
    },
  });
  const by = new Map(checks.map((c) => [c.name, c]));
  const stable = (name: string) => stableQueryFor(by.get(name)!, base);
  // Istio: the stable workload is the target Deployment, in place of the canary's.
  assert.equal(stable('successRate'), builtInQuery('successRate', base, 'stable'));
  assert.match(stable('successRate')!, /destination_workload="myapp"[,}]/);
  assert.doesNotMatch(stable('latencyP99')!, /myapp-canary/);
  assert.match(stable('cpu')!, /pod=~"myapp-\[a-z0-9\]\+-\[a-z0-9\]\+"/);
  assert.equal(stable('cpuVsStable'), undefined, 'a ratio to stable has no stable line of its own');
  assert.equal(stable('queue'), undefined, 'a plain custom query names no version');
  // A comparison's stable query is exactly the one the analysis runs for its stable side.
  for (const name of ['errorRateVsStable', 'hits'])
    assert.equal(stable(name), queryFor(by.get(name)!, base, 'stable'), name);
  assert.match(stable('hits')!, /version="stable"/);
  for (const provider of ['Nginx', 'Replicas', 'GatewayAPI'] as const)
    assert.notEqual(
      stableQueryFor(by.get('successRate')!, { ...base, provider }),
      queryFor(by.get('successRate')!, { ...base, provider }),
      provider,
    );
});
