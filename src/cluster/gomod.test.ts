import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoMod, stagingModules, wrapperGoMod } from './gomod.ts';

const upstream = `// generated
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/spf13/cobra v1.10.2
	k8s.io/api v0.0.0
	k8s.io/kubectl v0.0.0 // comment
)

require go.etcd.io/bbolt v1.4.3 // indirect

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/kubectl => ./staging/src/k8s.io/kubectl
)

replace example.com/other v1.0.0 => example.com/fork v1.0.1
`;

test('parseGoMod reads block and single-line directives', () => {
  const mod = parseGoMod(upstream);
  assert.equal(mod.module, 'k8s.io/kubernetes');
  assert.equal(mod.go, '1.26.0');
  assert.deepEqual(mod.godebug, ['default=go1.26']);
  assert.deepEqual(
    mod.requires.map((r) => `${r.path}@${r.version}`),
    [
      'github.com/spf13/cobra@v1.10.2',
      'k8s.io/api@v0.0.0',
      'k8s.io/kubectl@v0.0.0',
      'go.etcd.io/bbolt@v1.4.3',
    ],
  );
  assert.equal(mod.replaces.length, 3);
});

test('stagingModules keeps only the ./staging replacements', () => {
  assert.deepEqual(stagingModules(parseGoMod(upstream)), ['k8s.io/api', 'k8s.io/kubectl']);
  assert.throws(() => stagingModules(parseGoMod('module x\n')), /no \.\/staging replacements/);
});

test('wrapperGoMod pins upstream requirements and published staging modules', () => {
  const text = wrapperGoMod({
    module: 'codedance.local/hyperkube',
    upstream: parseGoMod(upstream),
    kubernetesVersion: 'v1.36.3',
    stagingVersion: 'v0.36.3',
  });
  assert.match(text, /^module codedance\.local\/hyperkube$/m);
  assert.match(text, /^godebug default=go1\.26$/m);
  assert.match(text, /^\tk8s\.io\/kubernetes v1\.36\.3$/m);
  assert.match(text, /^\tgo\.etcd\.io\/bbolt v1\.4\.3$/m);
  assert.match(text, /^\tk8s\.io\/api => k8s\.io\/api v0\.36\.3$/m);
  assert.doesNotMatch(text, /example\.com\/fork/);
});
