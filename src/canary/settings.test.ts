import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import { releaseSettings } from './settings.ts';

const base: CanaryDeploymentSpec = { targetDeployment: 'myapp', canaryVersion: 'myapp:v2' };
const match = [{ header: { name: 'x-canary', exact: 'yes' } }];

function problems(spec: CanaryDeploymentSpec): string[] {
  const result = releaseSettings(spec);
  return result.ok ? [] : result.problems;
}

test('a match with Replicas is refused, naming the field, why, and who can', () => {
  const [problem, ...rest] = problems({ ...base, strategy: { steps: [{ weight: 0, match, pause: '1m' }] } });
  assert.deepEqual(rest, []);
  assert.match(
    problem ?? '',
    /^strategy\.steps\[0\]\.match: traffic\.provider Replicas cannot route requests by header or cookie \(the stable Service sends each request to any of its pods/,
  );
  assert.match(problem ?? '', /use Istio, Nginx or GatewayAPI$/);
});

test('a mirror with Nginx is refused; with Istio it is planned into the step', () => {
  const nginx = problems({
    ...base,
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
    strategy: { steps: [{ weight: 0, mirror: 50, pause: '1m' }] },
  });
  assert.equal(nginx.length, 1);
  assert.match(
    nginx[0] ?? '',
    /^strategy\.steps\[0\]\.mirror: traffic\.provider Nginx cannot mirror traffic .*use Istio or GatewayAPI$/,
  );
  const istio = releaseSettings({
    ...base,
    traffic: { provider: 'Istio', istio: { virtualService: 'web' } },
    strategy: {
      steps: [{ weight: 0, mirror: 50, pause: '1m' }, { weight: 20, match, pause: '1m' }, { weight: 100 }],
    },
  });
  assert.ok(istio.ok);
  assert.equal(istio.settings.steps[0]?.mirror, 50);
  assert.deepEqual(istio.settings.steps[1]?.match, match);
  assert.equal(istio.settings.steps[2]?.match, undefined);
});

test("an experiment's match is checked and carried into its one step", () => {
  const experiment = { weight: 0, duration: '10m', match };
  assert.match(
    problems({
      ...base,
      strategy: { type: 'Experiment', experiment },
      metrics: { successRate: { threshold: 99 } },
    })[0] ?? '',
    /^strategy\.experiment\.match: traffic\.provider Replicas cannot route/,
  );
  const ok = releaseSettings({
    ...base,
    traffic: { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } },
    strategy: { type: 'Experiment', experiment },
    metrics: { successRate: { threshold: 99 } },
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.settings.steps, [{ weight: 0, match, pauseMs: 600_000, requiresApproval: false }]);
});

test('a regex that does not compile is refused with its field', () => {
  const [problem] = problems({
    ...base,
    traffic: { provider: 'Istio', istio: { virtualService: 'web' } },
    strategy: { steps: [{ weight: 10, match: [{ header: { name: 'a', regex: '([' } }] }] },
  });
  assert.match(problem ?? '', /^strategy\.steps\[0\]\.match\[0\]\.header\.regex: not a regular expression/);
});

test('BlueGreen with a provider lacking a preview is refused, naming those that have one', () => {
  const [problem] = problems({ ...base, strategy: { type: 'BlueGreen' } });
  assert.match(problem ?? '', /BlueGreen needs traffic\.provider Istio, Nginx or GatewayAPI/);
});

test('a protocol the provider does not route is refused, naming those that do', () => {
  const [problem] = problems({
    ...base,
    traffic: { provider: 'Nginx', protocol: 'GRPC', nginx: { ingress: 'web' } },
  });
  assert.equal(problem, 'traffic.protocol: Nginx does not route GRPC; use Replicas, Istio or GatewayAPI');
});

test('a TCP service is not judged on request status or latency: built-in checks are refused', () => {
  const found = problems({
    ...base,
    traffic: { provider: 'Istio', protocol: 'TCP', istio: { virtualService: 'db' } },
    metrics: { successRate: { threshold: 99 }, latency: { p99: '100ms' } },
  });
  assert.deepEqual(
    found.map((p) => p.split(':')[0]),
    ['metrics.successRate', 'metrics.latency'],
  );
  assert.match(found[0] ?? '', /use pod health \(autoRollback\) and metrics\.custom$/);
  const ok = releaseSettings({
    ...base,
    traffic: { provider: 'GatewayAPI', protocol: 'TCP', gatewayAPI: { tcpRoute: 'db' } },
    metrics: { custom: [{ name: 'conns', query: 'sum(up)', threshold: 1, compare: 'GT' }] },
  });
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.equal(ok.settings.traffic.protocol, 'TCP', 'the protocol is recorded with the traffic settings');
  assert.deepEqual(ok.settings.traffic.objects?.[0], { kind: 'TCPRoute', name: 'db' });
});
