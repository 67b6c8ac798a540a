import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { commandValue, parseCommand, planSteer } from './commands.ts';

const release: CanaryDeployment = {
  metadata: { name: 'cart', namespace: 'shop' },
  spec: { targetDeployment: 'cart', canaryVersion: 'cart:v2' },
  status: { phase: 'Progressing', currentStepIndex: 0, totalSteps: 3 },
};

test('a command carries its author after ;by=, and one without still parses', () => {
  assert.deepEqual(parseCommand('promote:abc'), { verb: 'promote', raw: 'promote:abc' });
  assert.deepEqual(parseCommand('abort:abc;by=system:serviceaccount:ci:deployer'), {
    verb: 'abort',
    raw: 'abort:abc;by=system:serviceaccount:ci:deployer',
    by: 'system:serviceaccount:ci:deployer',
  });
  assert.equal(parseCommand('explode:abc;by=alice'), undefined);
  assert.equal(parseCommand('promote:;by=alice'), undefined);
  assert.equal(commandValue('retry', 'x', 'alice'), 'retry:x;by=alice');
  assert.equal(
    parseCommand(commandValue('retry', 'x', 'a;by=b'))?.by,
    'a;by=b',
    'the first separator splits',
  );
});

test('planSteer writes the author into the command, and into paused-by for a pause', () => {
  const promote = planSteer(release, 'promote', false, 'alice');
  assert.equal(promote.kind, 'patch');
  if (promote.kind !== 'patch') return;
  assert.match(promote.commandValue ?? '', /^promote:[^;]+;by=alice$/);
  assert.equal(promote.patch.metadata?.annotations['deploy.codedance.io/command'], promote.commandValue);
  const pause = planSteer(release, 'pause', false, 'bob');
  assert.deepEqual(pause.kind === 'patch' && pause.patch, {
    metadata: { annotations: { 'deploy.codedance.io/paused-by': 'bob' } },
    spec: { paused: true },
  });
  const anonymous = planSteer(release, 'pause', false);
  assert.deepEqual(anonymous.kind === 'patch' && anonymous.patch.metadata, {
    annotations: { 'deploy.codedance.io/paused-by': null },
  });
});
