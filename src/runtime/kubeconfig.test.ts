import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeConfigError, kubeconfigFiles, loadKubeConfig, parseKubeConfig } from './kubeconfig.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeconfig-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function config(parts: {
  current?: string;
  clusters?: unknown[];
  users?: unknown[];
  contexts?: unknown[];
}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': parts.current,
    clusters: parts.clusters ?? [],
    users: parts.users ?? [],
    contexts: parts.contexts ?? [],
  });
}

test('a token user: server without trailing slash, inline CA, the context namespace', async () => {
  const kc = parseKubeConfig(
    config({
      current: 'dev',
      clusters: [
        {
          name: 'c',
          cluster: { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64('CA PEM') },
        },
      ],
      users: [{ name: 'u', user: { token: 'secret-token' } }],
      contexts: [{ name: 'dev', context: { cluster: 'c', user: 'u', namespace: 'team-a' } }],
    }),
  );
  assert.equal(kc.server, 'https://127.0.0.1:6443');
  assert.equal(kc.tls.ca, 'CA PEM');
  assert.equal(kc.tls.rejectUnauthorized, true);
  assert.equal(kc.namespace, 'team-a');
  assert.equal(kc.userName, 'u');
  assert.equal(await kc.authorization(), 'Bearer secret-token');
});

test('client certificate files are read relative to the kubeconfig that names them', async () => {
  await writeFile(join(dir, 'client.crt'), 'CERT');
  await writeFile(join(dir, 'client.key'), 'KEY');
  await writeFile(join(dir, 'ca.crt'), 'CA');
  const file = join(dir, 'certs.kubeconfig');
  await writeFile(
    file,
    config({
      current: 'x',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: 'https://h:1',
            'certificate-authority': 'ca.crt',
            'tls-server-name': 'kubernetes',
          },
        },
      ],
      users: [
        { name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') } },
      ],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  const kc = loadKubeConfig({ path: file });
  assert.deepEqual(kc.tls, {
    ca: 'CA',
    cert: 'CERT',
    key: 'KEY',
    rejectUnauthorized: true,
    servername: 'kubernetes',
  });
  assert.equal(await kc.authorization(), undefined);
});

test('KUBECONFIG merges files: the first definition and the first current-context win', async () => {
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  await writeFile(
    first,
    config({
      clusters: [{ name: 'c', cluster: { server: 'https://first' } }],
      users: [{ name: 'u', user: { token: 'one' } }],
    }),
  );
  await writeFile(
    second,
    config({
      current: 'ctx',
      clusters: [{ name: 'c', cluster: { server: 'https://second' } }],
      users: [{ name: 'u', user: { token: 'two' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  const env = { KUBECONFIG: `${first}:${join(dir, 'missing')}:${second}` };
  assert.deepEqual(kubeconfigFiles({ env }), [first, join(dir, 'missing'), second]);
  const kc = loadKubeConfig({ env });
  assert.equal(kc.server, 'https://first');
  assert.equal(await kc.authorization(), 'Bearer one');
});

test('--context overrides current-context; an unknown context is named in the error', () => {
  const text = config({
    current: 'a',
    clusters: [
      { name: 'ca', cluster: { server: 'https://a' } },
      { name: 'cb', cluster: { server: 'https://b', 'insecure-skip-tls-verify': true } },
    ],
    users: [{ name: 'u', user: { username: 'ann', password: 'pw' } }],
    contexts: [
      { name: 'a', context: { cluster: 'ca', user: 'u' } },
      { name: 'b', context: { cluster: 'cb', user: 'u' } },
    ],
  });
  const kc = parseKubeConfig(text, { context: 'b' });
  assert.equal(kc.server, 'https://b');
  assert.equal(kc.tls.rejectUnauthorized, false);
  assert.throws(
    () => parseKubeConfig(text, { context: 'nope' }),
    (err: unknown) => err instanceof KubeConfigError && /no context 'nope' \(known: a, b\)/.test(err.message),
  );
});

test('basic auth becomes a Basic header', async () => {
  const kc = parseKubeConfig(
    config({
      current: 'a',
      clusters: [{ name: 'c', cluster: { server: 'https://a' } }],
      users: [{ name: 'u', user: { username: 'ann', password: 'pw' } }],
      contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  assert.equal(await kc.authorization(), `Basic ${b64('ann:pw')}`);
});

test('an exec plugin is run once and its token cached until it nearly expires', async () => {
  const counter = join(dir, 'exec-count');
  const script = join(dir, 'plugin.sh');
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  await writeFile(
    script,
    `#!/bin/sh\necho x >> ${counter}\necho "$KUBERNETES_EXEC_INFO" > ${join(dir, 'exec-info')}\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"${expires}"}}' "$PLUGIN_TOKEN"\n`,
    { mode: 0o755 },
  );
  const kc = parseKubeConfig(
    config({
      current: 'a',
      clusters: [{ name: 'c', cluster: { server: 'https://a' } }],
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: script,
              env: [{ name: 'PLUGIN_TOKEN', value: 'from-plugin' }],
            },
          },
        },
      ],
      contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  const [one, two] = await Promise.all([kc.authorization(), kc.authorization()]);
  assert.equal(one, 'Bearer from-plugin');
  assert.equal(two, 'Bearer from-plugin');
  assert.equal(await kc.authorization(), 'Bearer from-plugin');
  const { readFile } = await import('node:fs/promises');
  assert.equal((await readFile(counter, 'utf8')).trim().split('\n').length, 1, 'the plugin ran once');
  const info = JSON.parse(await readFile(join(dir, 'exec-info'), 'utf8')) as {
    kind: string;
    spec: { interactive: boolean };
  };
  assert.equal(info.kind, 'ExecCredential');
  assert.equal(info.spec.interactive, false);
});

test('a failing exec plugin says which plugin and what it printed', async () => {
  const kc = parseKubeConfig(
    config({
      current: 'a',
      clusters: [{ name: 'c', cluster: { server: 'https://a' } }],
      users: [
        { name: 'u', user: { exec: { command: 'sh', args: ['-c', 'echo login expired >&2; exit 1'] } } },
      ],
      contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  await assert.rejects(
    kc.authorization(),
    (err: unknown) =>
      err instanceof KubeConfigError &&
      /exec plugin 'sh' of user 'u' failed: login expired/.test(err.message),
  );
});

test('legacy auth-provider entries are refused with what to use instead', () => {
  assert.throws(
    () =>
      parseKubeConfig(
        config({
          current: 'a',
          clusters: [{ name: 'c', cluster: { server: 'https://a' } }],
          users: [{ name: 'u', user: { 'auth-provider': { name: 'gcp' } } }],
          contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }],
        }),
      ),
    /auth-provider 'gcp'.*exec credential plugin/,
  );
});

test('no file and no in-cluster environment: an error that says what to pass', () => {
  assert.throws(
    () => loadKubeConfig({ env: { HOME: join(dir, 'nohome') } }),
    /no kubeconfig found .* pass --kubeconfig FILE or set KUBECONFIG/,
  );
  assert.throws(() => loadKubeConfig({ path: join(dir, 'absent') }), /cannot read kubeconfig/);
});
