import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGroup } from './group.ts';

test('group status: counts, limits, failed members with reasons, the summed cost', () => {
  const text = renderGroup({
    metadata: { name: 'shop', namespace: 'prod' },
    spec: { selector: { matchLabels: { fleet: 'shop' } }, maxConcurrent: 5, failureLimit: 3 },
    status: {
      phase: 'Failed',
      reason: 'MembersFailed',
      message: 'every member ended, 1 failed',
      counts: { total: 3, waiting: 0, running: 0, paused: 0, completed: 2, failed: 1 },
      failed: [{ name: 'cart', reason: 'MetricsFailed', message: 'error rate 50%' }],
      startedAt: '2026-01-01T00:00:00Z',
      completedAt: '2026-01-01T00:02:05Z',
      cost: {
        asOf: '2026-01-01T00:02:05Z',
        seconds: 7200,
        canaryPodSeconds: 3600,
        extraPodSeconds: 1800,
        cpuCoreSeconds: 360,
        memoryGiBSeconds: 180,
        canaryTrafficPercent: 40,
      },
    },
  });
  assert.match(text, /^prod\/shop {2}Failed \(MembersFailed\)/);
  assert.match(
    text,
    /members 3: 2 completed, 0 running \(0 paused\), 0 waiting, 1 failed; at most 5 at once, stop after 3 failures/,
  );
  assert.match(text, /ended 2026-01-01T00:02:05Z \(2m5s\)/);
  assert.match(
    text,
    /cost: canary 1 pod-h \(extra 0.5 pod-h\), requested 0.1 CPU core-h and 0.05 GiB-h, canary served 40% of traffic over 2h of release time/,
  );
  assert.match(text, /✗ cart: MetricsFailed — error rate 50%/);
});
