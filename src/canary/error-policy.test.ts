import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError } from '../runtime/errors.ts';
import { TrafficError, type TrafficErrorKind } from '../traffic/index.ts';
import { KubeApiError } from '../runtime/api-error.ts';
import {
  apiRefusalOf,
  apiRefusalRules,
  decideError,
  SpecCondition,
  trafficErrorRules,
  TrafficCondition,
} from './error-policy.ts';

const kinds: TrafficErrorKind[] = [
  'InvalidTarget',
  'NotFound',
  'NoRoutes',
  'UnsupportedRoute',
  'NameTaken',
  'Conflict',
  'ReadBackMismatch',
];

test('every traffic error kind has its own PascalCase reason, an outcome and advice', () => {
  assert.deepEqual(Object.keys(trafficErrorRules).sort(), [...kinds].sort());
  const reasons = new Set<string>();
  for (const kind of kinds) {
    const rule = trafficErrorRules[kind];
    assert.match(rule.reason, /^[A-Z][A-Za-z]+$/, kind);
    assert.ok(!reasons.has(rule.reason), `${kind}: reason ${rule.reason} used twice`);
    reasons.add(rule.reason);
    assert.ok(rule.advice.length > 20, `${kind}: says what to do`);
  }
  assert.equal(trafficErrorRules.InvalidTarget.then, 'stop');
  assert.ok(kinds.filter((k) => k !== 'InvalidTarget').every((k) => trafficErrorRules[k].then === 'retry'));
});

test('decideError: traffic errors carry their message and advice; an invalid spec stops; others go to the default policy', () => {
  const d = decideError(
    new TrafficError(
      'Istio',
      'UnsupportedRoute',
      'VirtualService ns/vs route #1 also sends traffic to other hosts',
    ),
  );
  assert.equal(d?.condition, TrafficCondition);
  assert.equal(d?.reason, 'TrafficUnsupportedRoute');
  assert.equal(d?.then, 'retry');
  assert.match(d?.message ?? '', /^Istio: VirtualService ns\/vs route #1 .*: nothing was written/);
  const spec = decideError(
    new TerminalError('strategy.type: BlueGreen needs ...', { reason: 'InvalidSpec' }),
  );
  assert.equal(spec?.then, 'stop');
  assert.equal(spec?.reason, 'InvalidSpec');
  assert.equal(decideError(new Error('connect ECONNREFUSED')), undefined);
});

test("decideError: the API server's refusals hold the release with the Ready condition; transient errors go to the default policy", () => {
  const quota = decideError(
    new KubeApiError(
      403,
      'deployments.apps "myapp-canary" is forbidden: exceeded quota: q, requested: count/deployments.apps=1',
    ),
  );
  assert.equal(quota?.reason, 'ApiForbidden');
  assert.equal(quota?.then, 'retry');
  assert.equal(quota?.condition, SpecCondition);
  assert.match(
    quota?.message ?? '',
    /^deployments\.apps "myapp-canary" is forbidden: exceeded quota.*: the API server forbade/,
  );
  for (const code of [400, 422]) {
    const rejected = decideError(new KubeApiError(code, 'denied by policy p'));
    assert.equal(rejected?.reason, 'ApiRejected', `HTTP ${code}`);
    assert.equal(rejected?.then, 'retry');
  }
  // Transient (unreachable, overloaded, failing) and routine (conflict) errors: the default policy.
  for (const code of [0, 404, 409, 429, 500, 503]) {
    assert.equal(decideError(new KubeApiError(code, `HTTP ${code}`)), undefined, `HTTP ${code}`);
  }
  assert.deepEqual(Object.keys(apiRefusalRules).sort(), ['Forbidden', 'Rejected']);
  assert.equal(apiRefusalOf(new Error('403')), undefined, 'only the API server says what it refused');
});
