import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp } from '../api/webapp.ts';
import { parseQuantity, validateWebApp } from './validate.ts';

function webapp(name: string, spec: Partial<WebApp['spec']> = {}): WebApp {
  return { metadata: { name, namespace: 'ns', uid: 'u' }, spec: { image: 'x:1', ...spec } };
}

test('a plain WebApp is fine', () => {
  assert.deepEqual(validateWebApp(webapp('shop')), []);
});

test('a name that cannot name a Service is refused', () => {
  assert.match(validateWebApp(webapp('1shop'))[0]!, /cannot name the WebApp's Service/);
  assert.match(validateWebApp(webapp('shop.v2'))[0]!, /starting with a letter/);
  assert.equal(validateWebApp(webapp('a'.repeat(64))).length, 1);
  assert.deepEqual(validateWebApp(webapp('a'.repeat(63))), []);
});

test('requests above limits are refused, per resource', () => {
  const problems = validateWebApp(
    webapp('shop', { resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '500m', memory: '2Gi' } } }),
  );
  assert.deepEqual(problems, ['resources.requests.cpu (1) is more than resources.limits.cpu (500m)']);
  assert.deepEqual(validateWebApp(webapp('shop', { resources: { requests: { memory: '1G' }, limits: { memory: '1Gi' } } })), []);
});

test('env larger than a ConfigMap holds is refused', () => {
  const env = Array.from({ length: 40 }, (_, i) => ({ name: `V${i}`, value: 'x'.repeat(30000) }));
  assert.match(validateWebApp(webapp('shop', { env }))[0]!, /more than a ConfigMap can store/);
});

test('parseQuantity reads decimal and binary suffixes', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(parseQuantity('3k'), 3000);
  assert.equal(parseQuantity('1e3'), undefined);
});
