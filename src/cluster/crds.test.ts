import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { ensureThirdPartyCrds, thirdPartyCrdsReady, type CrdProgress } from './crds.ts';
import { crdDir } from './paths.ts';
import { gatewayApiVersion, istioApiVersion } from './versions.ts';

// A stand-in `go` on PATH answers `go env GOVERSION` and `go mod download -json M@V` with
// folders laid out like the real modules, so the fetch runs offline and is counted.
let root: string;
let calls: string;
let savedPath: string | undefined;

function crd(name: string): string {
  const [plural, ...group] = name.split('.');
  return stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: { group: group.join('.'), names: { plural, kind: plural }, scope: 'Namespaced', versions: [] },
  });
}

async function writeModules(options: { istio: string[] }): Promise<void> {
  const istio = join(root, 'modules', 'istio', 'kubernetes');
  await rm(join(root, 'modules'), { recursive: true, force: true });
  await mkdir(istio, { recursive: true });
  // A non-CRD document among them must be skipped.
  const docs = [
    ...options.istio.map(crd),
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }),
  ];
  await writeFile(
    join(istio, 'customresourcedefinitions.gen.yaml'),
    docs.map((doc) => `---\n${doc}`).join(''),
  );
  for (const channel of ['standard', 'experimental']) {
    const dir = join(root, 'modules', 'gateway-api', 'config', 'crd', channel);
    await mkdir(dir, { recursive: true });
    for (const plural of ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants', 'tcproutes']) {
      await writeFile(
        join(dir, `gateway.networking.k8s.io_${plural}.yaml`),
        `---\n${crd(`${plural}.gateway.networking.k8s.io`)}`,
      );
    }
    await writeFile(join(dir, 'kustomization.yaml'), stringify({ resources: [] }));
    if (channel === 'experimental')
      await writeFile(
        join(dir, 'gateway.networking.x-k8s.io_xmeshes.yaml'),
        crd('xmeshes.gateway.networking.x-k8s.io'),
      );
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'codedance-crds-test-'));
  calls = join(root, 'go-calls');
  const bin = join(root, 'bin');
  await mkdir(bin);
  await writeFile(
    join(bin, 'go'),
    `#!/bin/sh
echo "$*" >> '${calls}'
case "$1 $2" in
  "env GOVERSION") echo go1.26.8 ;;
  "mod download")
    case "$4" in
      istio.io/api@${istioApiVersion}) dir='${root}/modules/istio' ;;
      sigs.k8s.io/gateway-api@${gatewayApiVersion}) dir='${root}/modules/gateway-api' ;;
      *) echo "{\\"Path\\": \\"$4\\", \\"Error\\": \\"unknown module\\"}"; echo "go: $4: unknown module" >&2; exit 1 ;;
    esac
    echo "{\\"Path\\": \\"x\\", \\"Dir\\": \\"$dir\\", \\"Sum\\": \\"h1:test\\"}" ;;
  *) exit 2 ;;
esac
`,
  );
  await chmod(join(bin, 'go'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
});

after(async () => {
  process.env.PATH = savedPath;
  await rm(root, { recursive: true, force: true });
});

async function downloads(): Promise<number> {
  const text = await readFile(calls, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.startsWith('mod download')).length;
}

test('fetches the pinned CRDs once, one file per CRD, and returns what to install', async () => {
  await writeModules({
    istio: [
      'virtualservices.networking.istio.io',
      'destinationrules.networking.istio.io',
      'gateways.networking.istio.io',
      'telemetries.telemetry.istio.io',
    ],
  });
  const home = join(root, 'home-ok');
  assert.equal(await thirdPartyCrdsReady(home), false);
  const events: CrdProgress[] = [];
  const files = await ensureThirdPartyCrds({ home, onProgress: (event) => events.push(event) });

  const istio = crdDir(home, 'istio', istioApiVersion);
  const gateway = crdDir(home, 'gateway-api', gatewayApiVersion);
  assert.deepEqual(files, [
    join(istio, 'destinationrules.networking.istio.io.yaml'),
    join(istio, 'gateways.networking.istio.io.yaml'),
    join(istio, 'virtualservices.networking.istio.io.yaml'),
    ...['gatewayclasses', 'gateways', 'httproutes', 'referencegrants', 'tcproutes'].map((plural) =>
      join(gateway, 'standard', `${plural}.gateway.networking.k8s.io.yaml`),
    ),
  ]);
  for (const file of files) {
    const object = parse(await readFile(file, 'utf8')) as { kind: string; metadata: { name: string } };
    assert.equal(object.kind, 'CustomResourceDefinition');
    assert.equal(`${object.metadata.name}.yaml`, file.split('/').at(-1));
  }
  // The experimental channel is kept beside, not installed; other Istio groups are left out.
  assert.ok(
    (await readdir(join(gateway, 'experimental'))).includes('xmeshes.gateway.networking.x-k8s.io.yaml'),
  );
  assert.ok(!(await readdir(istio)).some((file) => file.startsWith('telemetries')));
  assert.deepEqual(
    events
      .filter((event) => event.type === 'done')
      .map((event) => [event.source, event.type === 'done' ? event.crds : 0]),
    [
      ['istio', 3],
      ['gateway-api', 11],
    ],
  );
  assert.equal(await downloads(), 2);
  assert.equal(await thirdPartyCrdsReady(home), true);

  // Second run: from the cache, without calling go.
  const again: CrdProgress[] = [];
  assert.deepEqual(await ensureThirdPartyCrds({ home, onProgress: (event) => again.push(event) }), files);
  assert.deepEqual(
    again.map((event) => event.type),
    ['cached', 'cached'],
  );
  assert.equal(await downloads(), 2);

  // A file lost from the cache is fetched again.
  await rm(files[0]!);
  assert.equal(await thirdPartyCrdsReady(home), false);
  await ensureThirdPartyCrds({ home });
  assert.equal(await downloads(), 3);
});

test('a module that lacks a CRD the providers need fails with what to check, and caches nothing', async () => {
  await writeModules({ istio: ['virtualservices.networking.istio.io', 'gateways.networking.istio.io'] });
  const home = join(root, 'home-missing');
  await assert.rejects(ensureThirdPartyCrds({ home }), (err: Error) => {
    assert.match(
      err.message,
      /istio\.io\/api@v[\d.]+ kubernetes\/customresourcedefinitions\.gen\.yaml lacks the CRDs destinationrules\.networking\.istio\.io/,
    );
    assert.match(err.message, /src\/cluster\/versions\.ts/);
    return true;
  });
  assert.equal(await thirdPartyCrdsReady(home), false);
  const left = await readdir(join(home, 'crds'));
  assert.ok(
    !left.includes(`istio-${istioApiVersion}`) && !left.some((name) => name.includes('partial')),
    `no istio folder, complete or partial, is left: ${left.join(', ')}`,
  );
});
