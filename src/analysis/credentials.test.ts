import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCredentials, type SecretReader } from './credentials.ts';
import { parseResponse } from './prometheus.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function secrets(
  data: Record<string, string>,
  labels: Record<string, string> = { 'deploy.codedance.io/metrics': 'true' },
): SecretReader {
  return async (namespace, name) =>
    name === 'prom'
      ? {
          metadata: { namespace, name, labels },
          data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
        }
      : undefined;
}

test('no secretRef: only the spec headers, and no Secret read', async () => {
  const read: SecretReader = async () => assert.fail('no Secret may be read');
  const result = await resolveCredentials(read, 'ns', {
    headers: [{ name: 'X-Scope-OrgID', value: 'tenant-a' }],
  });
  assert.ok(result.ok);
  assert.deepEqual(result.credentials.headers, { 'x-scope-orgid': 'tenant-a' });
  assert.equal(result.credentials.ca, undefined);
});

test('a bearer token, basic auth and a CA bundle become headers and TLS settings', async () => {
  const bearer = await resolveCredentials(secrets({ token: 's3cret\n', 'ca.crt': CA }), 'ns', {
    secretRef: { name: 'prom' },
  });
  assert.ok(bearer.ok);
  assert.equal(bearer.credentials.headers['authorization'], 'Bearer s3cret');
  assert.equal(bearer.credentials.ca, CA);
  const basic = await resolveCredentials(secrets({ username: 'ci', password: 'p:w' }), 'ns', {
    secretRef: { name: 'prom' },
    headers: [{ name: 'X-Scope-OrgID', value: 't' }],
  });
  assert.ok(basic.ok);
  assert.equal(basic.credentials.headers['authorization'], `Basic ${b64('ci:p:w')}`);
  assert.equal(basic.credentials.headers['x-scope-orgid'], 't');
  assert.notEqual(
    basic.credentials.fingerprint,
    bearer.credentials.fingerprint,
    'other credentials, other pool',
  );
});

test('a Secret without the opt-in label is refused, naming the label and the command', async () => {
  const result = await resolveCredentials(secrets({ token: 'x' }, {}), 'ns', { secretRef: { name: 'prom' } });
  assert.ok(!result.ok);
  assert.equal(result.reason, 'MetricsSecretNotOptedIn');
  assert.match(result.message, /kubectl label secret prom -n ns deploy\.codedance\.io\/metrics=true/);
  const wrongValue = await resolveCredentials(
    secrets({ token: 'x' }, { 'deploy.codedance.io/metrics': 'yes' }),
    'ns',
    { secretRef: { name: 'prom' } },
  );
  assert.ok(!wrongValue.ok);
});

test('missing, unreadable and invalid Secrets are problems that never quote a value', async () => {
  const cases: Array<[SecretReader, string]> = [
    [secrets({}), 'MetricsSecretInvalid'],
    [secrets({ token: 'tok-VALUE', username: 'u' }), 'MetricsSecretInvalid'],
    [secrets({ username: 'only-user-VALUE' }), 'MetricsSecretInvalid'],
    [secrets({ 'ca.crt': 'not-a-pem-VALUE' }), 'MetricsSecretInvalid'],
    [async () => undefined, 'MetricsSecretNotFound'],
    [
      async () => {
        throw new Error('forbidden');
      },
      'MetricsSecretUnreadable',
    ],
  ];
  for (const [read, reason] of cases) {
    const result = await resolveCredentials(read, 'ns', { secretRef: { name: 'prom' } });
    assert.ok(!result.ok);
    assert.equal(result.reason, reason);
    assert.doesNotMatch(result.message, /VALUE/);
  }
});

test('401 and 403 say the credentials are the problem', () => {
  const r = parseResponse(401, 'Unauthorized\n');
  assert.ok(!r.ok);
  assert.equal(r.error.kind, 'http');
  assert.match(r.error.message, /HTTP 401.*secretRef/);
});
