import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp } from '../api/webapp.ts';
import { validateWebApp } from './validate.ts';

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

test('env larger than a ConfigMap holds is refused', () => {
  const env = Array.from({ length: 40 }, (_, i) => ({ name: `V${i}`, value: 'x'.repeat(30000) }));
  assert.match(validateWebApp(webapp('shop', { env }))[0]!, /more than a ConfigMap can store/);
});
