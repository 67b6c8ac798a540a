import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { crashLabel, kwokConfigYaml } from './kwok-stages.ts';

interface StageDoc {
  kind: string;
  metadata: { name: string };
  spec: {
    resourceRef: { kind: string };
    selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] };
    next: { statusTemplate?: string; delete?: boolean };
  };
}

const stages = parseAllDocuments(kwokConfigYaml()).map((doc) => doc.toJS() as StageDoc);
const byName = (name: string): StageDoc => {
  const stage = stages.find((s) => s.metadata.name === name);
  assert.ok(stage, `stage ${name}`);
  return stage;
};

test('the config holds node and pod stages kwok can parse as YAML', () => {
  assert.deepEqual(
    stages.map((s) => `${s.spec.resourceRef.kind}/${s.metadata.name}`),
    [
      'Node/codedance-node-initialize',
      'Node/codedance-node-heartbeat',
      'Pod/codedance-pod-ready',
      'Pod/codedance-pod-crash-loop',
      'Pod/codedance-pod-delete',
    ],
  );
  for (const stage of stages) assert.equal(stage.kind, 'Stage');
});

test('crash-labelled pods go to the crash loop, never to ready', () => {
  const crashKey = `.metadata.labels["${crashLabel}"]`;
  const ready = byName('codedance-pod-ready').spec.selector.matchExpressions.find((e) => e.key === crashKey);
  assert.deepEqual(ready, { key: crashKey, operator: 'NotIn', values: ['true'] });
  const crash = byName('codedance-pod-crash-loop');
  assert.deepEqual(
    crash.spec.selector.matchExpressions.find((e) => e.key === crashKey),
    { key: crashKey, operator: 'In', values: ['true'] },
  );
  assert.match(crash.spec.next.statusTemplate ?? '', /reason: CrashLoopBackOff/);
  assert.match(crash.spec.next.statusTemplate ?? '', /restartCount: \{\{ \$restarts \}\}/);
});

test('pod IPs are allocated once, not on every replay', () => {
  for (const name of ['codedance-pod-ready', 'codedance-pod-crash-loop']) {
    assert.match(byName(name).spec.next.statusTemplate ?? '', /\{\{ if not \.status\.podIP \}\}/, name);
  }
});

test('pods marked for deletion are deleted', () => {
  assert.equal(byName('codedance-pod-delete').spec.next.delete, true);
});
